package corrupt

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestFrostTexturesDecode: the original JPEG textures (testdata/frost, copies of
// frost4.jpg and frost5.jpg) decode to their sizes and to known pixels of OpenCV 4.6's
// imread (BGR reversed; frost4 is a progressive JPEG, frost5 a 4:2:0 baseline one),
// and OpenCV's INTER_LINEAR resize by 0.2 equals the [2::5, 2::5] subsample for
// them. The PNG decoder is checked against OpenCV by TestFrostPNGFormats, the
// subsamples of frost1–3.png by TestParity.
func TestFrostTexturesDecode(t *testing.T) {
	sizes := [][2]int{3: {350, 527}, 4: {495, 660}}
	small := [][2]int{3: {70, 105}, 4: {99, 132}}
	imgs := map[int]Image{}
	for i := 3; i < 5; i++ {
		img, err := LoadFrostImage(filepath.Join(parityFrostDir, FrostFiles[i]))
		if err != nil {
			t.Fatalf("frost texture missing: %v (regenerate with %s)", err, parityRegenerate)
		}
		imgs[i] = img
		if img.H != sizes[i][0] || img.W != sizes[i][1] || img.C != 3 {
			t.Fatalf("%s: %dx%dx%d", FrostFiles[i], img.H, img.W, img.C)
		}
		r := resizeLinearU8(img, 0.2, 0.2)
		if r.H != small[i][0] || r.W != small[i][1] {
			t.Fatalf("%s resized: %dx%d", FrostFiles[i], r.H, r.W)
		}
		if n, first := wxDiffU8(r.Pix, subsample5(img).Pix); n > 0 {
			t.Fatalf("%s: resize is not the subsample: %d values differ, first %s", FrostFiles[i], n, first)
		}
	}
	// Known pixels (OpenCV 4.6 imread, BGR reversed): frost1–3 have an alpha channel
	// to drop, frost4 is a progressive JPEG, frost5 a 4:2:0 baseline JPEG.
	for _, k := range []struct {
		i, y, x int
		rgb     [3]uint8
	}{
		{3, 0, 0, [3]uint8{86, 102, 115}},
		{3, 101, 333, [3]uint8{136, 151, 170}},
		{3, 349, 526, [3]uint8{86, 97, 115}},
		{4, 0, 0, [3]uint8{156, 166, 175}},
		{4, 101, 333, [3]uint8{187, 197, 207}},
		{4, 494, 659, [3]uint8{120, 132, 146}},
	} {
		img := imgs[k.i]
		got := [3]uint8{img.At(k.y, k.x, 0), img.At(k.y, k.x, 1), img.At(k.y, k.x, 2)}
		if got != k.rgb {
			t.Errorf("%s (%d,%d) = %v, want %v", FrostFiles[k.i], k.y, k.x, got, k.rgb)
		}
	}
}

// TestFrostPNGFormats: PNG variants decode like OpenCV's imread(IMREAD_COLOR)
// (testdata/gen_frost_png.py).
func TestFrostPNGFormats(t *testing.T) {
	ref := wxOpenRef(t, "testdata/frost_png_ref.npz")
	names := ref.keys("", "")
	if len(names) != 8 {
		t.Fatalf("%d reference arrays", len(names))
	}
	for _, name := range names {
		want, sh := ref.u8(name)
		img, err := LoadFrostImage(filepath.Join("testdata/frost_png", name+".png"))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if img.H != sh[0] || img.W != sh[1] || img.C != 3 {
			t.Fatalf("%s: %dx%dx%d, want %v", name, img.H, img.W, img.C, sh)
		}
		if n, first := wxDiffU8(img.Pix, want); n > 0 {
			t.Errorf("%s: %d values differ, first %s", name, n, first)
		}
	}
}

func TestLoadFrostDirErrors(t *testing.T) {
	if _, err := LoadFrostDir(filepath.Join(t.TempDir(), "nowhere")); err == nil || !strings.Contains(err.Error(), "frost1.png") {
		t.Fatalf("missing dir: err = %v", err)
	}
	dir := t.TempDir()
	for _, name := range FrostFiles {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("not an image"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := LoadFrostDir(dir); err == nil || !strings.Contains(err.Error(), "not a PNG or JPEG") {
		t.Fatalf("bad file: err = %v", err)
	}
	// A JPEG cut inside its headers (libjpeg, like ljpeg, tolerates a truncated
	// scan but not missing tables or frame).
	trunc, err := os.ReadFile(filepath.Join(parityFrostDir, "frost5.jpg"))
	if err != nil {
		t.Fatalf("frost texture missing: %v (regenerate with %s)", err, parityRegenerate)
	}
	bad := filepath.Join(dir, "bad.jpg")
	if err := os.WriteFile(bad, trunc[:40], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadFrostImage(bad); err == nil || !strings.Contains(err.Error(), "bad.jpg") {
		t.Fatalf("truncated JPEG: err = %v", err)
	}
}

// TestFrostScaleRule: the documented texture scale factors.
func TestFrostScaleRule(t *testing.T) {
	if f := frostScaleFactor(CIFAR, 32, 32); f != 0.2 {
		t.Fatalf("CIFAR 32: %v", f)
	}
	if f := frostScaleFactor(ImageNet, 224, 224); f != 1 {
		t.Fatalf("ImageNet 224: %v", f)
	}
	if f := frostScaleFactor(CIFAR, 28, 64); f != 0.4 {
		t.Fatalf("CIFAR 28×64: %v", f)
	}
	// A texture too small for the image is scaled up until it fits.
	f := frostFit(0.2, 20, 30, 32, 32)
	if math.RoundToEven(20*f) <= 32 || math.RoundToEven(30*f) <= 32 {
		t.Fatalf("fit: %v", f)
	}
	if frostFit(0.2, 600, 900, 32, 32) != 0.2 {
		t.Fatal("fit changed a factor that fits")
	}
}

// TestFrostOnDemandCrops: when the scaled set is too large to keep, crops resized
// on demand give the same output as crops of the kept scaled textures.
func TestFrostOnDemandCrops(t *testing.T) {
	small := &FrostTextures{}
	for i := 0; i < 5; i++ {
		small.Images = append(small.Images, wxTestImage(30+7*i, 45+5*i, 3, uint32(20+i)))
	}
	kept := &FrostTextures{Images: small.Images}
	old := frostScaledPerSet
	frostScaledPerSet = 0
	t.Cleanup(func() { frostScaledPerSet = old })
	for _, sz := range [][2]int{{40, 40}, {57, 23}} {
		img := wxTestImage(sz[0], sz[1], 3, 3)
		for sev := 1; sev <= 5; sev++ {
			lazy := frost(img, sev, NewNumpyRNG(uint32(sev)), &Options{Frost: small})
			if p := preparedFrost(small, CIFAR, sz[0], sz[1]); p[0].scaled.Pix != nil {
				t.Fatal("set kept despite the size limit")
			}
			frostScaledPerSet = old
			full := frost(img, sev, NewNumpyRNG(uint32(sev)), &Options{Frost: kept})
			frostScaledPerSet = 0
			if n, first := wxDiffU8(lazy.Pix, full.Pix); n > 0 {
				t.Fatalf("%v sev %d: %d values differ, first %s", sz, sev, n, first)
			}
		}
	}
}

// TestFrostImageNet: at 224×224 with ImageNet constants the crop comes from the
// full-resolution texture: out = clip(a·x + b·texture[y0:y0+224, x0:x0+224]).
func TestFrostImageNet(t *testing.T) {
	ft := mustParityFrost(t)
	img := wxTestImage(224, 224, 3, 4)
	for sev := 1; sev <= 5; sev++ {
		out := frost(img, sev, NewNumpyRNG(uint32(sev)), &Options{Params: ImageNet, Frost: ft})
		r := NewNumpyRNG(uint32(sev))
		tex := ft.Images[r.IntN(0, 5)]
		y0 := r.IntN(0, tex.H-224)
		x0 := r.IntN(0, tex.W-224)
		ab := frostParams.imagenet[sev-1]
		for y := 0; y < 224; y++ {
			for x := 0; x < 224; x++ {
				for c := 0; c < 3; c++ {
					v := ab[0]*float64(img.At(y, x, c)) + ab[1]*float64(tex.At(y0+y, x0+x, c))
					want := uint8(math.Min(v, 255))
					if got := out.At(y, x, c); got != want {
						t.Fatalf("sev %d (%d,%d,%d) = %d, want %d", sev, y, x, c, got, want)
					}
				}
			}
		}
	}
}

// TestFrostInvariants: output shape, input untouched, determinism, any size with
// either parameter set and either texture source, damage growing with severity.
func TestFrostInvariants(t *testing.T) {
	c, err := Lookup("frost")
	if err != nil {
		t.Fatal(err)
	}
	if c.Index != 8 || !c.Benchmark || !c.Random || c.Family != "weather" {
		t.Fatalf("registration %+v", *c)
	}
	type setup struct {
		ft    *FrostTextures
		sizes [][2]int
	}
	setups := []setup{
		{nil, [][2]int{{32, 32}, {224, 224}, {8, 8}, {13, 57}, {300, 20}, {28, 28}}},
		{mustParityFrost(t), [][2]int{{224, 224}, {13, 57}}},
	}
	for _, su := range setups {
		ft := su.ft
		for _, sz := range su.sizes {
			for _, ps := range []ParamSet{CIFAR, ImageNet} {
				img := wxTestImage(sz[0], sz[1], 3, 2)
				orig := img.Clone()
				opt := &Options{Params: ps, Frost: ft}
				for sev := 1; sev <= 5; sev++ {
					a := c.Apply(img, sev, NewNumpyRNG(uint32(sev)), opt)
					b := c.Apply(img, sev, NewNumpyRNG(uint32(sev)), opt)
					if a.H != img.H || a.W != img.W || a.C != 3 {
						t.Fatalf("%v %v: output %dx%dx%d", sz, ps, a.H, a.W, a.C)
					}
					if n, _ := wxDiffU8(a.Pix, b.Pix); n != 0 {
						t.Fatalf("%v %v sev %d: not deterministic", sz, ps, sev)
					}
					if n, _ := wxDiffU8(img.Pix, orig.Pix); n != 0 {
						t.Fatalf("%v %v sev %d: input modified", sz, ps, sev)
					}
				}
			}
		}
	}
	// The image shows less through the frost at each higher severity (a/b falls):
	// the correlation between input and output decreases (CIFAR constants, 32×32,
	// the same 64 texture crops at every severity). The mean absolute change does
	// not grow monotonically, because a < 1 also darkens the image.
	img := wxTestImage(32, 32, 3, 6)
	prev := 2.0
	for sev := 1; sev <= 5; sev++ {
		var sx, sy, sxx, syy, sxy, n float64
		rng := NewNumpyRNG(99)
		for k := 0; k < 64; k++ {
			out := c.Apply(img, sev, rng, nil)
			for i, v := range out.Pix {
				x, y := float64(img.Pix[i]), float64(v)
				sx, sy, sxx, syy, sxy, n = sx+x, sy+y, sxx+x*x, syy+y*y, sxy+x*y, n+1
			}
		}
		corr := (sxy/n - sx*sy/n/n) / math.Sqrt((sxx/n-sx*sx/n/n)*(syy/n-sy*sy/n/n))
		if corr >= prev {
			t.Errorf("sev %d: correlation with the input %.4f, not below sev %d (%.4f)", sev, corr, sev-1, prev)
		}
		prev = corr
	}
}

// TestProceduralFrost: sizes, determinism and caching, seeds differ, and statistics
// close to those of the originals; the textures have fine structure (crystals), not
// just smooth haze.
func TestProceduralFrost(t *testing.T) {
	a := ProceduralFrost(defaultFrostSeed)
	if ProceduralFrost(defaultFrostSeed) != a {
		t.Fatal("not cached")
	}
	if len(a.Images) != 5 {
		t.Fatalf("%d textures", len(a.Images))
	}
	for i, img := range a.Images {
		sp := frostSpecs[i]
		if img.H != sp.h || img.W != sp.w || img.C != 3 {
			t.Fatalf("texture %d: %dx%dx%d", i+1, img.H, img.W, img.C)
		}
		mean, std := wxChannelStats(img)
		for ch := 0; ch < 3; ch++ {
			if math.Abs(mean[ch]-sp.mean[ch]) > 4 || math.Abs(std[ch]/sp.std[ch]-1) > 0.15 {
				t.Errorf("texture %d channel %d: mean %.1f std %.1f, original %.1f %.1f", i+1, ch, mean[ch], std[ch], sp.mean[ch], sp.std[ch])
			}
		}
		// Fine structure: the mean absolute difference of horizontal neighbours in
		// green is a sizeable part of the standard deviation.
		var d float64
		for y := 0; y < img.H; y++ {
			for x := 1; x < img.W; x++ {
				d += math.Abs(float64(img.At(y, x, 1)) - float64(img.At(y, x-1, 1)))
			}
		}
		d /= float64(img.H * (img.W - 1))
		if d < 0.05*std[1] {
			t.Errorf("texture %d: neighbour difference %.2f, std %.1f: no fine structure", i+1, d, std[1])
		}
	}
	// Determinism: a fresh generation with the same seed gives the same pixels; another
	// seed gives another texture.
	again := generateFrost(&frostSpecs[3], frostTextureSeed(defaultFrostSeed, 3))
	if n, _ := wxDiffU8(again.Pix, a.Images[3].Pix); n != 0 {
		t.Fatalf("regeneration differs in %d values", n)
	}
	other := generateFrost(&frostSpecs[3], frostTextureSeed(defaultFrostSeed+1, 3))
	if n, _ := wxDiffU8(other.Pix, a.Images[3].Pix); n < len(other.Pix)/2 {
		t.Fatalf("another seed shares %d of %d values", len(other.Pix)-n, len(other.Pix))
	}
}

func wxChannelStats(img Image) (mean, std [3]float64) {
	n := float64(img.H * img.W)
	for ch := 0; ch < 3; ch++ {
		var s, s2 float64
		for i := ch; i < len(img.Pix); i += 3 {
			v := float64(img.Pix[i])
			s += v
			s2 += v * v
		}
		mean[ch] = s / n
		std[ch] = math.Sqrt(s2/n - mean[ch]*mean[ch])
	}
	return
}

// BenchmarkWeatherFrost: one goroutine, severity 3, 32×32, procedural textures.
func BenchmarkWeatherFrost(b *testing.B) {
	wxBenchCorruption(b, "frost", nil)
}

// BenchmarkWeatherFrostOriginal: as BenchmarkWeatherFrost with the original textures.
func BenchmarkWeatherFrostOriginal(b *testing.B) {
	wxBenchCorruption(b, "frost", &Options{Frost: mustParityFrost(b)})
}

// BenchmarkProceduralFrost: generating the five textures (uncached).
func BenchmarkProceduralFrost(b *testing.B) {
	for i := 0; i < b.N; i++ {
		var wg sync.WaitGroup
		for k := range frostSpecs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				generateFrost(&frostSpecs[k], uint64(i*5+k))
			}()
		}
		wg.Wait()
	}
}
