package corrupt

import (
	"math"
	"sync"
)

// mtN and mtM are MT19937's state size and shift.
const (
	mtN = 624
	mtM = 397
)

// NumpyRNG reproduces numpy's legacy RandomState: the MT19937 generator and the
// legacy samplers (53-bit doubles, Marsaglia polar normals with one cached value,
// masked-rejection randint, multiplication/PTRS Poisson). Seeded with Seed it
// produces the same numbers as np.random.seed(n) followed by the same calls.
type NumpyRNG struct {
	mt       [mtN]uint32
	pos      int
	hasGauss bool
	gauss    float64
}

// NewNumpyRNG returns a generator seeded like np.random.seed(seed).
func NewNumpyRNG(seed uint32) *NumpyRNG {
	r := &NumpyRNG{}
	r.Seed(seed)
	return r
}

// Seed re-initialises the state like np.random.seed(seed) (init_genrand) and clears the
// cached normal.
func (r *NumpyRNG) Seed(seed uint32) {
	r.mt[0] = seed
	for i := 1; i < mtN; i++ {
		r.mt[i] = 1812433253*(r.mt[i-1]^(r.mt[i-1]>>30)) + uint32(i)
	}
	r.pos = mtN
	r.hasGauss = false
}

func (r *NumpyRNG) twist() {
	mt := &r.mt
	// Three runs so that no index needs reducing modulo mtN.
	for i := 0; i < mtN-mtM; i++ {
		mt[i] = mt[i+mtM] ^ mtMix(mt[i], mt[i+1])
	}
	for i := mtN - mtM; i < mtN-1; i++ {
		mt[i] = mt[i+mtM-mtN] ^ mtMix(mt[i], mt[i+1])
	}
	mt[mtN-1] = mt[mtM-1] ^ mtMix(mt[mtN-1], mt[0])
	r.pos = 0
}

// mtMix is MT19937's twist of the upper bit of a and the lower bits of b.
func mtMix(a, b uint32) uint32 {
	const upper, lower, matrixA = 0x80000000, 0x7fffffff, 0x9908b0df
	y := (a & upper) | (b & lower)
	return y>>1 ^ (-(y & 1) & matrixA)
}

// Uint32 returns the next tempered 32-bit word.
func (r *NumpyRNG) Uint32() uint32 {
	if r.pos >= mtN {
		r.twist()
	}
	y := r.mt[r.pos]
	r.pos++
	y ^= y >> 11
	y ^= (y << 7) & 0x9d2c5680
	y ^= (y << 15) & 0xefc60000
	y ^= y >> 18
	return y
}

// Float64 returns numpy's random_sample(): a 53-bit double in [0, 1) from two words.
func (r *NumpyRNG) Float64() float64 {
	a := r.Uint32() >> 5
	b := r.Uint32() >> 6
	return (float64(a)*67108864.0 + float64(b)) / 9007199254740992.0
}

// Uniform returns lo + (hi−lo)·Float64().
func (r *NumpyRNG) Uniform(lo, hi float64) float64 { return lo + float64((hi-lo)*r.Float64()) }

// Normal returns loc + scale·g, g from the Marsaglia polar method; the second value
// of each pair is cached for the next call, as numpy's legacy gauss does.
func (r *NumpyRNG) Normal(loc, scale float64) float64 {
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

// IntN returns numpy's randint(lo, hi): a value in [lo, hi), drawing one 32-bit word
// per candidate, masked to the smallest all-ones mask covering the range and rejected
// when out of range. It panics if hi <= lo, like numpy raises.
func (r *NumpyRNG) IntN(lo, hi int) int {
	if hi <= lo {
		panic("corrupt: IntN with empty range")
	}
	rng := uint64(hi - lo - 1)
	if rng == 0 {
		return lo
	}
	if rng > math.MaxUint32 {
		panic("corrupt: IntN range exceeds 32 bits")
	}
	if rng == math.MaxUint32 {
		return lo + int(r.Uint32())
	}
	mask := rng
	mask |= mask >> 1
	mask |= mask >> 2
	mask |= mask >> 4
	mask |= mask >> 8
	mask |= mask >> 16
	for {
		v := uint64(r.Uint32()) & mask
		if v <= rng {
			return lo + int(v)
		}
	}
}

// Poisson returns numpy's legacy poisson(lam): 0 for lam = 0, the multiplication
// method for lam < 10 and Hörmann's PTRS transformed rejection otherwise.
func (r *NumpyRNG) Poisson(lam float64) int64 { return legacyPoisson(r, lam) }

// uniformSource is a generator of 53-bit doubles in [0, 1).
type uniformSource interface{ Float64() float64 }

// legacyPoisson is numpy's legacy poisson sampler on the doubles of r.
func legacyPoisson(r uniformSource, lam float64) int64 {
	pc := newPoissonConsts(lam)
	return pc.sample(r)
}

// poissonConsts are the per-λ constants of numpy's legacy Poisson samplers, so that
// repeated draws with the same λ (one per pixel value in shot noise) compute them once.
// Sampling with them gives exactly the values of legacyPoisson.
type poissonConsts struct {
	lam                      float64
	enlam                    float64 // e^−λ (multiplication method, λ < 10)
	loglam, a, b, vr, logInv float64 // PTRS (λ ≥ 10)
}

func newPoissonConsts(lam float64) poissonConsts {
	pc := poissonConsts{lam: lam}
	switch {
	case lam >= 10:
		slam := math.Sqrt(lam)
		pc.loglam = math.Log(lam)
		pc.b = 0.931 + float64(2.53*slam)
		pc.a = -0.059 + float64(0.02483*pc.b)
		pc.logInv = math.Log(1.1239 + 1.1328/(pc.b-3.4))
		pc.vr = 0.9277 - 3.6224/(pc.b-2)
	case lam > 0:
		pc.enlam = math.Exp(-lam)
	}
	return pc
}

// sample draws one Poisson(λ) variate.
func (pc *poissonConsts) sample(r uniformSource) int64 {
	switch {
	case pc.lam >= 10:
		return pc.ptrs(r)
	case pc.lam == 0:
		return 0
	}
	var x int64
	prod := 1.0
	for {
		prod *= r.Float64()
		if prod > pc.enlam {
			x++
		} else {
			return x
		}
	}
}

// ptrs is Hörmann's PTRS transformed rejection with numpy's constants.
func (pc *poissonConsts) ptrs(r uniformSource) int64 {
	lam, a, b := pc.lam, pc.a, pc.b
	for {
		u := r.Float64() - 0.5
		v := r.Float64()
		us := 0.5 - math.Abs(u)
		k := int64(math.Floor(float64((2*a/us+b)*u) + lam + 0.43))
		if us >= 0.07 && v <= pc.vr {
			return k
		}
		if k < 0 || (us < 0.013 && v > us) {
			continue
		}
		if math.Log(v)+pc.logInv-math.Log(a/(us*us)+b) <= -lam+float64(float64(k)*pc.loglam)-logFactorial(k) {
			return k
		}
	}
}

// logFactTable caches logGamma(k+1) for small k (the same values, computed once).
var logFactTable = sync.OnceValue(func() []float64 {
	t := make([]float64, 4096)
	for k := range t {
		t[k] = logGamma(float64(k + 1))
	}
	return t
})

// logFactorial returns logGamma(k+1), numpy's log k!.
func logFactorial(k int64) float64 {
	if t := logFactTable(); k < int64(len(t)) {
		return t[k]
	}
	return logGamma(float64(k + 1))
}

// logGamma is numpy's log-gamma helper used by the PTRS Poisson sampler (a Stirling
// series with shift to x > 7); it differs from math.Lgamma in the last bits.
func logGamma(x float64) float64 {
	coef := [10]float64{
		8.333333333333333e-02, -2.777777777777778e-03,
		7.936507936507937e-04, -5.952380952380952e-04,
		8.417508417508418e-04, -1.917526917526918e-03,
		6.410256410256410e-03, -2.955065359477124e-02,
		1.796443723688307e-01, -1.39243221690590e+00,
	}
	if x == 1 || x == 2 {
		return 0
	}
	x0 := x
	n := 0
	if x <= 7 {
		n = int(7 - x)
		x0 = x + float64(n)
	}
	x2 := 1 / (x0 * x0)
	gl0 := coef[9]
	for k := 8; k >= 0; k-- {
		gl0 = float64(gl0*x2) + coef[k]
	}
	gl := gl0/x0 + float64(0.5*math.Log(2*math.Pi)) + float64((x0-0.5)*math.Log(x0)) - x0
	if x <= 7 {
		for k := 1; k <= n; k++ {
			gl -= math.Log(x0 - 1)
			x0--
		}
	}
	return gl
}
