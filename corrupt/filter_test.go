package corrupt

import (
	"fmt"
	"math"
	"testing"

	"codeberg.org/sbinet/npyio/npz"
)

// TestGaussianFilterMatchesScipy compares with scipy.ndimage.gaussian_filter outputs
// made by testdata/gen_filter_ref.py: float64 results must be bit-identical, float32
// ones too (each pass stores float32).
func TestGaussianFilterMatchesScipy(t *testing.T) {
	f, err := npz.Open("testdata/filter_ref.npz")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	shapes := map[string][3]int{"a": {9, 7, 3}, "b": {6, 11, 1}, "c": {8, 8, 3}}
	modes := map[string]Border{"nearest": BorderNearest, "reflect": BorderReflect, "mirror": BorderMirror}
	cases := [][2]float64{{0.4, 4}, {0.7, 4}, {1.0, 4}, {3.0, 4}, {1.92, 3}, {6.4, 3}, {0.05, 4}, {0.25, 4}}
	for name, sh := range shapes {
		var in []float64
		if err := f.Read("in_"+name+".npy", &in); err != nil {
			t.Fatal(err)
		}
		in32 := make([]float32, len(in))
		for i, v := range in {
			in32[i] = float32(v)
		}
		for _, c := range cases {
			for mname, mode := range modes {
				key := fmt.Sprintf("%s_f64_%s_%g_%g", name, mname, c[0], c[1])
				var want []float64
				if err := f.Read(key+".npy", &want); err != nil {
					t.Fatal(err)
				}
				got := make([]float64, len(in))
				gaussianFilter64(got, in, sh[0], sh[1], sh[2], c[0], c[1], mode)
				for i := range want {
					if got[i] != want[i] {
						t.Fatalf("%s[%d] = %v, want %v", key, i, got[i], want[i])
					}
				}
				// In place gives the same result.
				inplace := append([]float64(nil), in...)
				gaussianFilter64(inplace, inplace, sh[0], sh[1], sh[2], c[0], c[1], mode)
				for i := range want {
					if inplace[i] != want[i] {
						t.Fatalf("%s in place [%d] = %v, want %v", key, i, inplace[i], want[i])
					}
				}

				key32 := fmt.Sprintf("%s_f32_%s_%g_%g", name, mname, c[0], c[1])
				var want32 []float32
				if err := f.Read(key32+".npy", &want32); err != nil {
					t.Fatal(err)
				}
				got32 := make([]float32, len(in))
				gaussianFilter32(got32, in32, sh[0], sh[1], sh[2], c[0], c[1], mode)
				for i := range want32 {
					if got32[i] != want32[i] {
						t.Fatalf("%s[%d] = %v, want %v", key32, i, got32[i], want32[i])
					}
				}
			}
		}
	}
}

func TestBorderIndex(t *testing.T) {
	// n = 3: … reflect: c b a | a b c | c b a …, mirror: … b c | a b c | b a …
	for _, c := range []struct {
		i, want int
		mode    Border
	}{
		{-1, 0, BorderReflect}, {-3, 2, BorderReflect}, {-4, 2, BorderReflect}, {3, 2, BorderReflect}, {6, 0, BorderReflect},
		{-1, 1, BorderMirror}, {-2, 2, BorderMirror}, {-3, 1, BorderMirror}, {3, 1, BorderMirror}, {4, 0, BorderMirror},
		{-5, 0, BorderNearest}, {9, 2, BorderNearest},
	} {
		if g := borderIndex(c.i, 3, c.mode); g != c.want {
			t.Errorf("borderIndex(%d, 3, %d) = %d, want %d", c.i, c.mode, g, c.want)
		}
	}
	if g := borderIndex(-7, 1, BorderMirror); g != 0 {
		t.Errorf("mirror of a 1-pixel line = %d", g)
	}
}

func TestExpRN(t *testing.T) {
	// e^x correctly rounded, checked with Python's decimal module at 80 digits;
	// glibc's exp gives the neighbour below for the first two.
	for _, c := range []struct{ x, want float64 }{
		{-0x1.73bd6d9c2565cp+04, 0x1.653fe08ae13abp-34},
		{-0x1.e71c9af64f63ap+02, 0x1.037a9b155b888p-11},
		{1, math.E},
		{-0.5, 0.6065306597126334},
	} {
		if g := expRN(c.x); g != c.want {
			t.Errorf("expRN(%v) = %x, want %x", c.x, g, c.want)
		}
	}
}

func TestClipAndCast(t *testing.T) {
	if clip01(-0.1) != 0 || clip01(1.5) != 1 || clip01(0.25) != 0.25 {
		t.Error("clip01")
	}
	if toUint8(254.9999) != 254 || toUint8(255) != 255 || toUint8(0.99) != 0 || toUint8(math.NaN()) != 0 {
		t.Error("toUint8 must truncate")
	}
	for _, c := range []struct {
		v    float64
		want uint8
	}{{-0.5, 0}, {0, 0}, {0.5, 127}, {77.0 / 255, 77}, {1, 255}, {3, 255}, {math.NaN(), 0}, {math.Inf(-1), 0}, {math.Inf(1), 255}} {
		if g := unit8(c.v); g != c.want {
			t.Errorf("unit8(%v) = %d, want %d", c.v, g, c.want)
		}
		if c.v == c.v && unit8(c.v) != toUint8(clip01(c.v)*255) {
			t.Errorf("unit8(%v) differs from toUint8(clip01·255)", c.v)
		}
	}
}
