package corrupt

import (
	"math"
	"testing"
)

// numpy's arange lengths and last values (printed by numpy 1.24) for the factor lists.
func TestNpArange(t *testing.T) {
	for _, c := range []struct {
		r    zoomRange
		n    int
		last []float64
	}{
		{zoomRange{1, 1.06, 0.01}, 7, []float64{1.04, 1.05, 1.06}},
		{zoomRange{1, 1.11, 0.01}, 12, []float64{1.09, 1.1, 1.11}},
		{zoomRange{1, 1.16, 0.01}, 16, []float64{1.1300000000000001, 1.1400000000000001, 1.1500000000000001}},
		{zoomRange{1, 1.21, 0.01}, 21, []float64{1.1800000000000002, 1.1900000000000002, 1.2000000000000002}},
		{zoomRange{1, 1.26, 0.01}, 26, []float64{1.2300000000000002, 1.2400000000000002, 1.2500000000000002}},
		{zoomRange{1, 1.21, 0.02}, 11, []float64{1.1600000000000001, 1.1800000000000002, 1.2000000000000002}},
		{zoomRange{1, 1.26, 0.02}, 13, []float64{1.2000000000000002, 1.2200000000000002, 1.2400000000000002}},
		{zoomRange{1, 1.31, 0.03}, 11, []float64{1.2400000000000002, 1.2700000000000002, 1.3000000000000003}},
	} {
		f := npArange(c.r.start, c.r.stop, c.r.step)
		if len(f) != c.n {
			t.Fatalf("%v: %d values, want %d", c.r, len(f), c.n)
		}
		for i, w := range c.last {
			if g := f[c.n-3+i]; g != w {
				t.Errorf("%v: [%d] = %v, want %v", c.r, c.n-3+i, g, w)
			}
		}
	}
}

// The clipped_zoom size table of ../shared/corrupt/PARAMS.md §3.2 (32-pixel axis).
func TestClippedZoomSizes(t *testing.T) {
	f := npArange(1, 1.26, 0.01)
	ch := []int{32, 32, 32, 32, 31, 31, 31, 30, 30, 30, 30, 29, 29, 29, 29, 28, 28, 28, 28, 27, 27, 27, 27, 27, 26, 26}
	top := []int{0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3}
	out := []int{32, 32, 33, 33, 32, 33, 33, 32, 32, 33, 33, 32, 32, 33, 33, 32, 32, 33, 33, 32, 32, 33, 33, 33, 32, 33}
	for i, z := range f {
		a := zoomAxisFor(32, z)
		if a.crop != ch[i] || a.top != top[i] || a.out != out[i] || a.trim != 0 {
			t.Errorf("z=%v: crop %d top %d out %d trim %d, want %d %d %d 0", z, a.crop, a.top, a.out, a.trim, ch[i], top[i], out[i])
		}
		if a.identity != (i < 2) {
			t.Errorf("z=%v: identity %v", z, a.identity)
		}
	}
	for _, c := range []struct {
		z                    float64
		crop, top, out, trim int
	}{{1, 32, 0, 32, 0}, {1.75, 19, 6, 33, 0}, {2.25, 15, 8, 34, 1}, {1.25, 26, 3, 32, 0}} {
		a := zoomAxisFor(32, c.z)
		if a.crop != c.crop || a.top != c.top || a.out != c.out || a.trim != c.trim {
			t.Errorf("snow z=%v: %d %d %d %d, want %d %d %d %d", c.z, a.crop, a.top, a.out, a.trim, c.crop, c.top, c.out, c.trim)
		}
	}
	// Rounding puts the last output coordinate of 30 → 36 beyond sample 29: scipy
	// gives 0 there (checked with scipy 1.10).
	if a := zoomAxisFor(36, npArange(1, 1.21, 0.01)[20]); !a.zero[35] || a.zero[34] {
		t.Errorf("36 at z=1.2: zero flags %v %v, want false true", a.zero[34], a.zero[35])
	}
}

// Interpolation weights are 1−frac and 1−(1−frac), so w0+w1 is 1 up to rounding and a
// constant plane stays constant within a few ulp (not exactly: scipy doesn't either).
func TestClippedZoomConstant(t *testing.T) {
	for _, z := range []float64{1.03, 1.17, 1.75, 2.25} {
		src := make([]float64, 32*20*2)
		for i := range src {
			src[i] = 0.3
		}
		dst := make([]float64, len(src))
		clippedZoom(dst, src, 32, 20, 2, z, false)
		for i, v := range dst {
			if math.Abs(v-0.3) > 1e-15 {
				t.Fatalf("z=%v: dst[%d] = %v", z, i, v)
			}
		}
	}
}

func BenchmarkGeoZoomBlur(b *testing.B) { geoBench(b, "zoom_blur") }

// Factors with the same crop and zoomed lengths share one table (zoom_blur computes
// their zoom once): 1.02 and 1.03 on 32 pixels, but not 1.03 and 1.04.
func TestZoomAxisShared(t *testing.T) {
	f := npArange(1, 1.26, 0.01)
	if zoomAxisFor(32, f[2]) != zoomAxisFor(32, f[3]) {
		t.Error("1.02 and 1.03 do not share a table")
	}
	if zoomAxisFor(32, f[3]) == zoomAxisFor(32, f[4]) {
		t.Error("1.03 and 1.04 share a table")
	}
	p := zoomPlanFor(32, 32, zoomRange{1, 1.16, 0.01})
	distinct := map[*zoomAxis]bool{}
	for _, a := range p.ay {
		distinct[a] = true
	}
	if len(p.ay) != 16 || len(distinct) != 9 { // identity + 8 zooms
		t.Errorf("severity 3 plan: %d factors, %d distinct tables; want 16, 9", len(p.ay), len(distinct))
	}
}
