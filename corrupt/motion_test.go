package corrupt

import (
	"math"
	"testing"
)

// The sample weights ../shared/corrupt/PARAMS.md gives for severities 1 and 5 (4
// decimals).
func TestMotionWeightsKnown(t *testing.T) {
	for _, c := range []struct {
		radius, sigma float64
		width         int
		want          []float64
	}{
		{6, 1, 13, []float64{0.5703, 0.3459, 0.0772, 0.0063, 0.0002}},
		{9, 2.5, 19, []float64{0.2752, 0.2541, 0.1999, 0.134, 0.0765, 0.0372, 0.0155}},
	} {
		k := motionWeights(c.radius, c.sigma)
		if len(k) != c.width {
			t.Fatalf("radius %v: width %d, want %d", c.radius, len(k), c.width)
		}
		sum := 0.0
		for i, v := range k {
			sum += v
			if i > 0 && v > k[i-1] {
				t.Errorf("weights not decreasing at %d", i)
			}
		}
		if math.Abs(sum-1) > 1e-15 {
			t.Errorf("sum %v", sum)
		}
		for i, w := range c.want {
			if math.Abs(k[i]-w) > 0.5e-4 {
				t.Errorf("radius %v sigma %v: w[%d] = %.6f, want %.4f", c.radius, c.sigma, i, k[i], w)
			}
		}
	}
}

// Offsets along the axes and the diagonal.
func TestMotionOffsets(t *testing.T) {
	dx, dy := make([]int, 7), make([]int, 7)
	motionOffsets(dx, dy, 0)
	for i := range dx {
		if dx[i] != i || dy[i] != 0 {
			t.Fatalf("angle 0 tap %d: (%d,%d)", i, dx[i], dy[i])
		}
	}
	motionOffsets(dx, dy, -90)
	for i := range dx {
		if dx[i] != 0 || dy[i] != -i {
			t.Fatalf("angle -90 tap %d: (%d,%d)", i, dx[i], dy[i])
		}
	}
	motionOffsets(dx, dy, 45)
	// i·cos45 = 0, .707, 1.414, 2.12, 2.83, 3.54, 4.24 → ceil(v−0.5) = 0,1,1,2,3,4,4
	want := []int{0, 1, 1, 2, 3, 4, 4}
	for i := range dx {
		if dx[i] != want[i] || dy[i] != want[i] {
			t.Fatalf("angle 45 tap %d: (%d,%d), want %d", i, dx[i], dy[i], want[i])
		}
	}
}

// A constant image stays constant (every weight set sums to 1 within an ulp, and
// floor(q+0.5) absorbs it), and the 16→8-bit step truncates.
func TestMotionConstantAndQuantum(t *testing.T) {
	for _, v := range []uint8{0, 1, 77, 128, 254, 255} {
		img := NewImage(12, 9, 3)
		for i := range img.Pix {
			img.Pix[i] = v
		}
		out := NewImage(12, 9, 3)
		imMotionBlur(out.Pix, img.Pix, 12, 9, 3, 9, 2.5, 17.3)
		for i, p := range out.Pix {
			if p != v {
				t.Fatalf("constant %d: pixel %d = %d", v, i, p)
			}
		}
	}
	if g := quantumTo8(257*200 - 0.6); g != 199 {
		t.Errorf("quantumTo8 just below 200·257 = %d, want 199 (truncation)", g)
	}
	if g := quantumTo8(257*200 - 0.4); g != 200 {
		t.Errorf("quantumTo8 rounds to quantum first: %d, want 200", g)
	}
}

func BenchmarkGeoMotionBlur(b *testing.B) { geoBench(b, "motion_blur") }

// motionNaive is the textbook form of imMotionBlur: per pixel, taps in order,
// coordinates clamped.
func motionNaive(src []uint8, h, w, c int, radius, sigma, angle float64) []uint8 {
	wts := motionWeights(radius, sigma)
	dx, dy := make([]int, len(wts)), make([]int, len(wts))
	motionOffsets(dx, dy, angle)
	out := make([]uint8, len(src))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			for ch := 0; ch < c; ch++ {
				s := 0.0
				for i, wi := range wts {
					xx := min(max(x+dx[i], 0), w-1)
					yy := min(max(y+dy[i], 0), h-1)
					s += float64(wi * float64(257*int(src[(yy*w+xx)*c+ch])))
				}
				out[(y*w+x)*c+ch] = quantumTo8(s)
			}
		}
	}
	return out
}

// The padded gather loops (one and three channels) and the sparse scatter path give
// the textbook result bit for bit.
func TestMotionPathsAgree(t *testing.T) {
	r := NewNumpyRNG(9)
	for _, c := range []int{1, 3} {
		for _, density := range []float64{1, 0.1} {
			h, w := 23, 31
			src := make([]uint8, h*w*c)
			for i := range src {
				if r.Float64() < density {
					src[i] = uint8(r.IntN(1, 256))
				}
			}
			for _, angle := range []float64{-130, -45, 0, 12.5, 44.9, 90} {
				want := motionNaive(src, h, w, c, 10, 4, angle)
				got := make([]uint8, len(src))
				imMotionBlur(got, src, h, w, c, 10, 4, angle)
				for i := range got {
					if got[i] != want[i] {
						t.Fatalf("c=%d density %v angle %v: element %d = %d, want %d", c, density, angle, i, got[i], want[i])
					}
				}
			}
		}
	}
}
