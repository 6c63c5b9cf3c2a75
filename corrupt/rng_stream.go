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
// word); Uniform is lo + (hi−lo)·Float64; Normal is loc + scale·g with g an exact
// standard normal from the 256-layer ziggurat of Marsaglia & Tsang (one 64-bit word
// per sample in ~99% of cases, no logarithm); IntN is uniform on [lo, hi) by
// Lemire's multiply-and-reject method (unbiased); Poisson uses numpy's legacy
// algorithms (multiplication method below λ = 10, PTRS above) on these doubles, but
// shot_noise, which needs 3072 variates per image at a few fixed rates, inverts
// tabulated Poisson CDFs with one Float64 per variate instead (poisson_table.go).
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

// xoshiroStep is one xoshiro256** step on a state held in locals (registers): it
// returns the output word and the next state. The bulk fills keep the state out of
// memory this way.
func xoshiroStep(s0, s1, s2, s3 uint64) (out, n0, n1, n2, n3 uint64) {
	out = bits.RotateLeft64(s1*5, 7) * 9
	t := s1 << 17
	s2 ^= s0
	s3 ^= s1
	s1 ^= s2
	s0 ^= s3
	s2 ^= t
	s3 = bits.RotateLeft64(s3, 45)
	return out, s0, s1, s2, s3
}

// Float64 returns a 53-bit double in [0, 1).
func (r *StreamRNG) Float64() float64 {
	return float64(r.Uint64()>>11) * (1.0 / (1 << 53))
}

// Uniform returns lo + (hi−lo)·Float64().
func (r *StreamRNG) Uniform(lo, hi float64) float64 { return lo + float64((hi-lo)*r.Float64()) }

// Normal returns loc + scale·g with g standard normal (ziggurat).
func (r *StreamRNG) Normal(loc, scale float64) float64 {
	return loc + float64(scale*r.stdNormal())
}

// Ziggurat tables for the standard normal density f(x) = exp(−x²/2), 256 layers of
// equal area zigV; zigX[0] = zigV/f(zigR) is the width of the base strip (which
// holds the tail beyond zigR = zigX[1]), zigX[256] = 0.
const (
	zigR = 3.6541528853610088
	zigV = 4.92867323399e-3
)

var zigX, zigF = func() (x [257]float64, f [257]float64) {
	x[0] = zigV / math.Exp(-0.5*zigR*zigR)
	x[1] = zigR
	for i := 1; i < 256; i++ {
		x[i+1] = math.Sqrt(-2 * math.Log(zigV/x[i]+math.Exp(-0.5*x[i]*x[i])))
	}
	x[256] = 0
	for i := range x {
		f[i] = math.Exp(-0.5 * x[i] * x[i])
	}
	return
}()

// stdNormal draws a standard normal: layer from the low 8 bits of a word, sign from
// bit 8, position from the top 53 bits; exact rejection in the wedges and the tail.
func (r *StreamRNG) stdNormal() float64 {
	for {
		u := r.Uint64()
		if x, ok := zigFast(u); ok {
			return x
		}
		if x, ok := r.zigSlow(u); ok {
			return x
		}
	}
}

// zigFast is the ziggurat's common case for the word u: the candidate x and whether
// it lies inside its layer's rectangle (accepted without further draws).
func zigFast(u uint64) (x float64, ok bool) {
	i := u & 0xff
	ax := float64(u>>11) * (1.0 / (1 << 53)) * zigX[i]
	// The sign (bit 8) goes straight into the sign bit: no unpredictable branch.
	x = math.Float64frombits(math.Float64bits(ax) ^ (u&0x100)<<55)
	return x, ax < zigX[i+1]
}

// zigSlow finishes the candidate of word u that zigFast did not accept (about 1% of
// words): the tail beyond zigR for layer 0, the wedge test otherwise, drawing further
// values from r. ok false means rejected: the caller starts again with a new word.
func (r *StreamRNG) zigSlow(u uint64) (x float64, ok bool) {
	i := u & 0xff
	x, _ = zigFast(u)
	if i == 0 {
		// Tail beyond zigR (Marsaglia's exponential method).
		for {
			e := -math.Log(1-r.Float64()) / zigR
			y := -math.Log(1 - r.Float64())
			if 2*y > e*e {
				if x < 0 {
					return -(zigR + e), true
				}
				return zigR + e, true
			}
		}
	}
	if zigF[i+1]+r.Float64()*(zigF[i]-zigF[i+1]) < math.Exp(-0.5*x*x) {
		return x, true
	}
	return 0, false
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

// bulkRNG is implemented by the package's generators to fill buffers without an
// interface call per value; the values are those of repeated Normal / Float64 calls.
type bulkRNG interface {
	fillNormal(dst []float64, loc, scale float64)
	fillFloat64(dst []float64)
}

// fillNormal draws with the state in registers; a word that the ziggurat's fast
// path rejects goes through zigSlow with the state written back, as stdNormal would.
func (r *StreamRNG) fillNormal(dst []float64, loc, scale float64) {
	s0, s1, s2, s3 := r.s[0], r.s[1], r.s[2], r.s[3]
	for i := range dst {
		for {
			var u uint64
			u, s0, s1, s2, s3 = xoshiroStep(s0, s1, s2, s3)
			x, ok := zigFast(u)
			if !ok {
				r.s = [4]uint64{s0, s1, s2, s3}
				x, ok = r.zigSlow(u)
				s0, s1, s2, s3 = r.s[0], r.s[1], r.s[2], r.s[3]
			}
			if ok {
				dst[i] = loc + float64(scale*x)
				break
			}
		}
	}
	r.s = [4]uint64{s0, s1, s2, s3}
}

// fillFloat64 draws with the state in registers.
func (r *StreamRNG) fillFloat64(dst []float64) {
	s0, s1, s2, s3 := r.s[0], r.s[1], r.s[2], r.s[3]
	for i := range dst {
		var u uint64
		u, s0, s1, s2, s3 = xoshiroStep(s0, s1, s2, s3)
		dst[i] = float64(u>>11) * (1.0 / (1 << 53))
	}
	r.s = [4]uint64{s0, s1, s2, s3}
}

func (r *NumpyRNG) fillNormal(dst []float64, loc, scale float64) {
	for i := range dst {
		dst[i] = r.Normal(loc, scale)
	}
}

func (r *NumpyRNG) fillFloat64(dst []float64) {
	for i := range dst {
		dst[i] = r.Float64()
	}
}

// fillNormal fills dst with rng.Normal(loc, scale) draws in order.
func fillNormal(rng RNG, dst []float64, loc, scale float64) {
	if b, ok := rng.(bulkRNG); ok {
		b.fillNormal(dst, loc, scale)
		return
	}
	for i := range dst {
		dst[i] = rng.Normal(loc, scale)
	}
}

// fillFloat64 fills dst with rng.Float64 draws in order.
func fillFloat64(rng RNG, dst []float64) {
	if b, ok := rng.(bulkRNG); ok {
		b.fillFloat64(dst)
		return
	}
	for i := range dst {
		dst[i] = rng.Float64()
	}
}
