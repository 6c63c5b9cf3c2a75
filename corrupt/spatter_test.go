package corrupt

import (
	"fmt"
	"testing"
)

// TestSpatterOtherSizes compares with testdata/spatter_ref.npz (gen_spatter_ref.py):
// a 48×40 image under the CIFAR constants and a 72×96 image under the ImageNet
// constants, each severity with its own numpy seed, and the no-water case.
func TestSpatterOtherSizes(t *testing.T) {
	ref := wxOpenRef(t, "testdata/spatter_ref.npz")
	for _, set := range []struct {
		name   string
		params ParamSet
		seed   uint32
	}{{"cifar", CIFAR, 100}, {"imagenet", ImageNet, 200}} {
		pix, sh := ref.u8("img_" + set.name)
		img := Image{H: sh[0], W: sh[1], C: sh[2], Pix: pix}
		for sev := 1; sev <= 5; sev++ {
			want, _ := ref.u8(fmt.Sprintf("%s_%d", set.name, sev))
			got := spatter(img, sev, NewNumpyRNG(set.seed+uint32(sev)), &Options{Params: set.params})
			if n, first := wxDiffU8(got.Pix, want); n > 0 {
				t.Errorf("%s sev %d: %d of %d values differ, first %s", set.name, sev, n, len(want), first)
			}
		}
	}
}

// TestSpatterDry: with no liquid above the threshold the original divides 0 by 0 and
// its uint8 cast turns the NaN image into zeros; spatter reproduces that.
func TestSpatterDry(t *testing.T) {
	ref := wxOpenRef(t, "testdata/spatter_ref.npz")
	pix, sh := ref.u8("img_cifar")
	img := Image{H: sh[0], W: sh[1], C: sh[2], Pix: pix}
	want, _ := ref.u8("dry")
	s := spatterPool.Get().(*spatterScratch)
	s.grow(img.H * img.W)
	rng := NewNumpyRNG(7)
	for i := range s.liquid {
		s.liquid[i] = rng.Normal(0.1, 0.01)
	}
	gaussianFilter64(s.liquid, s.liquid, img.H, img.W, 1, 0.7, 4, BorderNearest)
	for i, v := range s.liquid {
		if v < 0.7 {
			s.liquid[i] = 0
		}
	}
	out := NewImage(img.H, img.W, 3)
	spatterWaterBlend(out, img, s.liquid, spatterParam{0.1, 0.01, 0.7, 0.7, 0.5, false}, s)
	spatterPool.Put(s)
	if n, first := wxDiffU8(out.Pix, want); n > 0 {
		t.Fatalf("%d values differ, first %s", n, first)
	}
}

// TestSpatterInvariants: shapes, the input left untouched, determinism, changed
// pixels, and any image size (ImageNet 224, tiny, non-square) without panics.
func TestSpatterInvariants(t *testing.T) {
	c, err := Lookup("spatter")
	if err != nil {
		t.Fatal(err)
	}
	if c.Index != 17 || c.Benchmark || !c.Random || c.Family != "extra" {
		t.Fatalf("registration %+v", *c)
	}
	for _, sz := range [][3]int{{32, 32, 3}, {224, 224, 3}, {8, 8, 3}, {13, 57, 3}} {
		for _, ps := range []ParamSet{CIFAR, ImageNet} {
			img := wxTestImage(sz[0], sz[1], sz[2], 3)
			orig := img.Clone()
			for sev := 1; sev <= 5; sev++ {
				a := c.Apply(img, sev, NewNumpyRNG(uint32(sev)), &Options{Params: ps})
				b := c.Apply(img, sev, NewNumpyRNG(uint32(sev)), &Options{Params: ps})
				if a.H != img.H || a.W != img.W || a.C != img.C || len(a.Pix) != len(img.Pix) {
					t.Fatalf("%v %v sev %d: output %dx%dx%d", sz, ps, sev, a.H, a.W, a.C)
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
	// At 32×32 every severity changes a CIFAR-like image.
	img := wxTestImage(32, 32, 3, 9)
	for sev := 1; sev <= 5; sev++ {
		changed := 0
		for seed := uint32(0); seed < 8; seed++ {
			out := c.Apply(img, sev, NewNumpyRNG(seed), nil)
			n, _ := wxDiffU8(out.Pix, img.Pix)
			changed += n
		}
		if changed == 0 {
			t.Errorf("sev %d changes nothing", sev)
		}
	}
}

// wxTestImage is a deterministic smooth-ish test image.
func wxTestImage(h, w, c int, seed uint32) Image {
	img := NewImage(h, w, c)
	r := NewNumpyRNG(seed)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			for ch := 0; ch < c; ch++ {
				v := 40 + (x*5+y*3+ch*50)%160 + r.IntN(0, 30)
				img.Pix[(y*w+x)*c+ch] = uint8(v)
			}
		}
	}
	return img
}

// BenchmarkWeatherSpatter: one goroutine, severity 3, 32×32 (reports images/s).
func BenchmarkWeatherSpatter(b *testing.B) {
	wxBenchCorruption(b, "spatter", nil)
}

// wxBenchCorruption runs a registered corruption on a 32×32 image at severity 3
// with the default-mode generator (one stream per image, as BenchmarkCorruption).
func wxBenchCorruption(b *testing.B, name string, opt *Options) {
	c, err := Lookup(name)
	if err != nil {
		b.Fatal(err)
	}
	img := wxTestImage(32, 32, 3, 1)
	rng := &StreamRNG{}
	rng.Reset(0, c.Index, 3, 0)
	c.Apply(img, 3, rng, opt) // warm caches
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rng.Reset(0, c.Index, 3, i)
		c.Apply(img, 3, rng, opt)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
}
