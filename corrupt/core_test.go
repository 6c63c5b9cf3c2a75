package corrupt

import (
	"fmt"
	"math"
	"testing"

	"codeberg.org/sbinet/npyio/npz"
)

// Tests against testdata/core_ref.npz (made by testdata/gen_core_ref.py with the
// reference libraries): the noise, blur and digital corruptions with the ImageNet
// constants on a non-square 40×48 image, OpenCV's defocus kernels and Pillow BOX
// resizes.

func openCoreRef(t *testing.T) *npz.Reader {
	t.Helper()
	f, err := npz.Open("testdata/core_ref.npz")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func readU8(t *testing.T, f *npz.Reader, key string) []uint8 {
	t.Helper()
	var v []uint8
	if err := f.Read(key+".npy", &v); err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	return v
}

func TestCoreImageNetMatchesReference(t *testing.T) {
	f := openCoreRef(t)
	img := Image{H: 40, W: 48, C: 3, Pix: readU8(t, f, "input")}
	// Same order as P in gen_core_ref.py; seeds 1000·i + severity.
	names := []string{"gaussian_noise", "shot_noise", "impulse_noise", "speckle_noise", "gaussian_blur",
		"glass_blur", "defocus_blur", "contrast", "brightness", "saturate", "pixelate"}
	opt := &Options{Params: ImageNet}
	for i, name := range names {
		c, err := Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		for sev := 1; sev <= 5; sev++ {
			want := readU8(t, f, fmt.Sprintf("%s_%d", name, sev))
			got := c.Apply(img, sev, NewNumpyRNG(uint32(1000*i+sev)), opt)
			diff := 0
			for k := range want {
				if got.Pix[k] != want[k] {
					diff++
				}
			}
			if diff != 0 {
				t.Errorf("%s severity %d (ImageNet): %d of %d values differ", name, sev, diff, len(want))
			}
		}
	}
}

func TestDefocusKernelsMatchOpenCV(t *testing.T) {
	f := openCoreRef(t)
	ps := append(append([]defocusParam{}, defocusParams.cifar[:]...), defocusParams.imagenet[:]...)
	for i, p := range ps {
		var want []float32
		if err := f.Read(fmt.Sprintf("defocus_kernel_%d.npy", i), &want); err != nil {
			t.Fatal(err)
		}
		k := getDefocusKernel(p).k
		if len(k) != len(want) {
			t.Fatalf("kernel %v: %d weights, want %d", p, len(k), len(want))
		}
		for j := range k {
			if k[j] != want[j] {
				t.Fatalf("kernel %v [%d] = %v, want %v", p, j, k[j], want[j])
			}
		}
	}
}

// TestDefocusKernelTable checks the centre values of ../shared/corrupt/PARAMS.md's
// defocus table.
func TestDefocusKernelTable(t *testing.T) {
	want := [5][3]float32{
		{0.844973147, 0.0371255316, 0.00163118204},
		{0.619347036, 0.0838195086, 0.0113437371},
		{0.445213228, 0.111014895, 0.0276818089},
		{0.200000003, 0.199997768, 1.49064181e-06},
		{0.111111112, 0.111111112, 0.111111112},
	}
	for s, p := range defocusParams.cifar {
		dk := getDefocusKernel(p)
		n := 2*dk.radius + 1
		c := dk.radius*n + dk.radius
		got := [3]float32{dk.k[c], dk.k[c+1], dk.k[c+n+1]}
		if got != want[s] {
			t.Errorf("severity %d: centre/axis/diag = %v, want %v", s+1, got, want[s])
		}
	}
}

func TestBoxResizeMatchesPillow(t *testing.T) {
	f := openCoreRef(t)
	src := Image{H: 23, W: 37, C: 3, Pix: readU8(t, f, "box_src")}
	for _, wh := range [][2]int{{17, 29}, {37, 11}, {5, 23}, {74, 46}, {36, 22}, {1, 1}} {
		want := readU8(t, f, fmt.Sprintf("box_%dx%d", wh[0], wh[1]))
		got := boxResize(src, wh[0], wh[1])
		if got.W != wh[0] || got.H != wh[1] {
			t.Fatalf("size %dx%d, want %dx%d", got.W, got.H, wh[0], wh[1])
		}
		for k := range want {
			if got.Pix[k] != want[k] {
				t.Fatalf("box %dx%d: value %d = %d, want %d", wh[0], wh[1], k, got.Pix[k], want[k])
			}
		}
	}
}

func TestHSVRoundTripAndTies(t *testing.T) {
	// Grey: hue 0, saturation 0.
	if h, s, v := rgbToHSV(0.5, 0.5, 0.5); h != 0 || s != 0 || v != 0.5 {
		t.Errorf("grey → (%v, %v, %v)", h, s, v)
	}
	// Ties: blue wins over green and red (4 + (r−g)/Δ).
	if h, _, _ := rgbToHSV(0.2, 0.8, 0.8); h != pyMod1((4+(0.2-0.8)/0.6)/6) {
		t.Errorf("green/blue tie hue %v", h)
	}
	// Pure colours.
	for _, c := range []struct{ r, g, b, h float64 }{{1, 0, 0, 0}, {0, 1, 0, 1.0 / 3}, {0, 0, 1, 2.0 / 3}} {
		if h, s, v := rgbToHSV(c.r, c.g, c.b); h != c.h || s != 1 || v != 1 {
			t.Errorf("rgb(%v,%v,%v) → (%v,%v,%v)", c.r, c.g, c.b, h, s, v)
		}
	}
	// Round trip within 1e-12 on the 8-bit grid.
	for r := 0; r < 256; r += 15 {
		for g := 0; g < 256; g += 17 {
			for b := 0; b < 256; b += 19 {
				x, y, z := hsvToRGB(rgbToHSV(inv255[r], inv255[g], inv255[b]))
				if d := max(abs64(x-inv255[r]), abs64(y-inv255[g]), abs64(z-inv255[b])); d > 1e-12 {
					t.Fatalf("round trip of (%d,%d,%d) off by %g", r, g, b, d)
				}
			}
		}
	}
}

func abs64(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}

// rgbToHSV is skimage's rgb2hsv for one pixel with components in [0, 1], the
// reference of rgb8ToHSV (../shared/corrupt/PARAMS.md §3.4): V = max, S = Δ/V (0 when
// Δ = 0), and the hue sector chosen by the last channel equal to the max (blue over
// green over red), H = (H′/6) mod 1.
func rgbToHSV(r, g, b float64) (h, s, v float64) {
	v = math.Max(r, math.Max(g, b))
	mn := math.Min(r, math.Min(g, b))
	d := v - mn
	if d == 0 {
		return 0, 0, v
	}
	s = d / v
	var hp float64
	switch {
	case b == v:
		hp = 4 + (r-g)/d
	case g == v:
		hp = 2 + (b-r)/d
	default:
		hp = (g - b) / d
	}
	h = pyMod1(hp / 6)
	return h, s, v
}
