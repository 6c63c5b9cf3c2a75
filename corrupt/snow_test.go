package corrupt

import (
	"math"
	"math/big"
	"testing"
)

// fma32Exact rounds a·b + c once to float32 with big-float arithmetic.
func fma32Exact(a, b, c float32) float32 {
	p := new(big.Float).SetPrec(200).SetFloat64(float64(a))
	p.Mul(p, new(big.Float).SetFloat64(float64(b)))
	p.Add(p, new(big.Float).SetFloat64(float64(c)))
	f, _ := p.Float32()
	return f
}

// fma32RN rounds once: random operands, and constructed cases where the float64 sum
// lands exactly halfway between two float32 values (double rounding would tie to
// even there).
func TestFMA32(t *testing.T) {
	r := NewNumpyRNG(11)
	for i := 0; i < 200000; i++ {
		a := float32(r.Float64()*4 - 2)
		b := float32(r.Float64())
		c := float32(r.Float64()*2 - 1)
		if i%3 == 0 {
			a, b, c = snowIn32[r.IntN(0, 256)], 0.587, float32(snowIn32[r.IntN(0, 256)]*0.299)
		}
		if g, w := fma32RN(a, b, c), fma32Exact(a, b, c); g != w {
			t.Fatalf("fma32RN(%v, %v, %v) = %v, want %v", a, b, c, g, w)
		}
	}
	// a = 1 + 2^-12: a·a = 1 + 2^-11 + 2^-24 lies exactly halfway between two float32
	// values; c = ±2^-70 vanishes in the float64 sum but decides the rounding.
	a := float32(1 + math.Ldexp(1, -12))
	for _, c := range []float32{float32(math.Ldexp(1, -70)), float32(-math.Ldexp(1, -70)), 0} {
		if g, w := fma32RN(a, a, c), fma32Exact(a, a, c); g != w {
			t.Errorf("midpoint case c=%g: fma32RN = %v, want %v", c, g, w)
		}
	}
}

// OpenCV's RGB2GRAY on the reference machine: values printed by cv2.cvtColor
// (OpenCV 4.6, AVX2/FMA CPU) for float32 inputs v/255 in a 4000-pixel row (SIMD loop)
// and in a 4000×1 column (scalar tail loop), chosen where the two orders differ.
func TestRGBToGray32(t *testing.T) {
	for _, c := range []struct {
		r, g, b uint8
		simd    bool
		want    float32
	}{
		{255, 255, 255, true, 1},
		{255, 255, 255, false, 1},
		{0, 0, 0, true, 0},
		{88, 81, 165, true, 0.36340785026550293},
		{208, 243, 197, true, 0.8913372755050659},
		{193, 9, 185, true, 0.3297255039215088},
		{127, 32, 31, true, 0.23643530905246735},
		{202, 244, 151, true, 0.8660392165184021},
		{88, 81, 165, false, 0.3634078800678253},
		{208, 243, 197, false, 0.8913372159004211},
		{193, 9, 185, false, 0.3297254741191864},
		{127, 32, 31, false, 0.23643529415130615},
		{202, 244, 151, false, 0.8660392761230469},
	} {
		if g := rgbToGray32(snowIn32[c.r], snowIn32[c.g], snowIn32[c.b], c.simd); g != c.want {
			t.Errorf("gray(%d,%d,%d, simd %v) = %v, want %v", c.r, c.g, c.b, c.simd, g, c.want)
		}
	}
}

func BenchmarkGeoSnow(b *testing.B) { geoBench(b, "snow") }
