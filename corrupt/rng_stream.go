package corrupt

import (
	"math"
	"math/bits"
)

// StreamRNG is the generator of the default random mode: xoshiro256** (Blackman &
// Vigna) keyed by (seed, corruption index, severity, image index) through splitmix64,
// so every image has its own stream and the output depends neither on the other
// images nor on the number of workers. It is several times cheaper to set up and to
// draw from than MT19937.
//
// Distributions: Float64 is a 53-bit double in [0, 1) (the top 53 bits of a 64-bit
// word); Uniform is lo + (hi−lo)·Float64; Normal is the Marsaglia polar method with
// the second value cached (exact standard normals); IntN is uniform on [lo, hi) by
// Lemire's multiply-and-reject method (unbiased); Poisson uses numpy's legacy
// algorithms (multiplication method below λ = 10, PTRS above) on these doubles.
type StreamRNG struct {
	s        [4]uint64
	hasGauss bool
	gauss    float64
}

// splitmix64 advances x and returns the next splitmix64 output.
func splitmix64(x *uint64) uint64 {
	*x += 0x9e3779b97f4a7c15
	z := *x
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// NewStreamRNG returns the default-mode generator of one image.
func NewStreamRNG(seed uint64, corruption, severity, image int) *StreamRNG {
	r := &StreamRNG{}
	r.Reset(seed, corruption, severity, image)
	return r
}

// Reset rekeys r in place (no allocation) for another image.
func (r *StreamRNG) Reset(seed uint64, corruption, severity, image int) {
	// Fold the key into one 64-bit state, each part through a full splitmix round so
	// that neighbouring keys give unrelated streams.
	k := seed
	x := splitmix64(&k)
	k = x ^ (uint64(corruption)<<40 | uint64(severity)<<32) ^ 0x6469767265732d63
	x = splitmix64(&k)
	k = x ^ uint64(image)
	for i := range r.s {
		r.s[i] = splitmix64(&k)
	}
	if r.s == [4]uint64{} {
		r.s[0] = 1
	}
	r.hasGauss = false
}

// Uint64 returns the next 64-bit word.
func (r *StreamRNG) Uint64() uint64 {
	s := &r.s
	result := bits.RotateLeft64(s[1]*5, 7) * 9
	t := s[1] << 17
	s[2] ^= s[0]
	s[3] ^= s[1]
	s[1] ^= s[2]
	s[0] ^= s[3]
	s[2] ^= t
	s[3] = bits.RotateLeft64(s[3], 45)
	return result
}

// Float64 returns a 53-bit double in [0, 1).
func (r *StreamRNG) Float64() float64 {
	return float64(r.Uint64()>>11) * (1.0 / (1 << 53))
}

// Uniform returns lo + (hi−lo)·Float64().
func (r *StreamRNG) Uniform(lo, hi float64) float64 { return lo + float64((hi-lo)*r.Float64()) }

// Normal returns loc + scale·g with g standard normal (polar method, one value cached).
func (r *StreamRNG) Normal(loc, scale float64) float64 {
	if r.hasGauss {
		r.hasGauss = false
		return loc + float64(scale*r.gauss)
	}
	var x1, x2, r2 float64
	for {
		x1 = 2*r.Float64() - 1
		x2 = 2*r.Float64() - 1
		r2 = float64(x1*x1) + float64(x2*x2)
		if r2 < 1 && r2 != 0 {
			break
		}
	}
	f := math.Sqrt(-2 * math.Log(r2) / r2)
	r.gauss = f * x1
	r.hasGauss = true
	return loc + float64(scale*float64(f*x2))
}

// IntN returns an integer uniform on [lo, hi); it panics if hi <= lo.
func (r *StreamRNG) IntN(lo, hi int) int {
	if hi <= lo {
		panic("corrupt: IntN with empty range")
	}
	n := uint64(hi - lo)
	hi64, lo64 := bits.Mul64(r.Uint64(), n)
	if lo64 < n {
		thresh := -n % n
		for lo64 < thresh {
			hi64, lo64 = bits.Mul64(r.Uint64(), n)
		}
	}
	return lo + int(hi64)
}

// Poisson returns a Poisson(lam) variate (numpy's legacy algorithms).
func (r *StreamRNG) Poisson(lam float64) int64 { return legacyPoisson(r, lam) }
