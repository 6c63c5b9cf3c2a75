package corrupt

import (
	"math"
	"math/big"
	"sync"
)

// expRN returns e^x correctly rounded to the nearest float64.
//
// The reference libraries (numpy via glibc, scipy, ImageMagick, OpenCV) compute
// kernel weights with the C library's exp, which rounds correctly in practice, while
// Go's math.Exp is off by one ulp for about one argument in eight. Kernel weights
// decide whether a constant region keeps its exact value through a filter, so they
// are built with this function. It is slow (big-float arithmetic, a few
// microseconds): use it only for cached constants, never per pixel.
func expRN(x float64) float64 {
	switch {
	case math.IsNaN(x):
		return x
	case x == 0:
		return 1
	case x > 709.8:
		return math.Inf(1)
	case x < -745.2:
		return 0
	}
	const prec = 256
	// e^x = 2^k · e^r with r = x − k·ln2, |r| ≤ ln2/2, computed in big precision.
	k := math.Round(x / math.Ln2)
	ln2 := ln2Big()
	r := new(big.Float).SetPrec(prec).SetFloat64(x)
	kl := new(big.Float).SetPrec(prec).SetFloat64(k)
	kl.Mul(kl, ln2)
	r.Sub(r, kl)
	// Taylor series of e^r after halving r eight times, then square eight times.
	const halvings = 8
	r.SetMantExp(r, -halvings)
	sum := new(big.Float).SetPrec(prec).SetFloat64(1)
	term := new(big.Float).SetPrec(prec).SetFloat64(1)
	for i := 1; i < 60; i++ {
		term.Mul(term, r)
		term.Quo(term, new(big.Float).SetPrec(prec).SetInt64(int64(i)))
		sum.Add(sum, term)
		if term.Sign() == 0 || term.MantExp(nil)-sum.MantExp(nil) < -prec {
			break
		}
	}
	for i := 0; i < halvings; i++ {
		sum.Mul(sum, sum)
	}
	sum.SetMantExp(sum, int(k))
	v, _ := sum.Float64() // rounds to nearest even, handles subnormals
	return v
}

// ln2Big is ln 2 to 256 bits, computed once.
var ln2Big = sync.OnceValue(func() *big.Float { return bigLn2(256) })

// bigLn2 returns ln 2 to prec bits: ln2 = Σ_{n≥1} 1/(n·2^n).
func bigLn2(prec uint) *big.Float {
	sum := new(big.Float).SetPrec(prec + 16)
	pow := new(big.Float).SetPrec(prec + 16).SetFloat64(1)
	for n := int64(1); n < int64(prec)+32; n++ {
		pow.SetMantExp(pow, -1)
		t := new(big.Float).SetPrec(prec + 16).SetInt64(n)
		t.Quo(pow, t)
		sum.Add(sum, t)
	}
	return sum.SetPrec(prec)
}

// fma32RN returns a·b + c rounded once to float32, like a hardware float32 fused
// multiply-add. The product of two float32 values is exact in float64; the sum is
// formed in float64 with its exact rounding error (TwoSum), and the error breaks the
// tie when the float64 sum lies exactly halfway between two float32 values, the only
// case where rounding first to float64 and then to float32 could differ from
// rounding once. Valid for results in float32's normal range and zero.
func fma32RN(a, b, c float32) float32 {
	p := float64(a) * float64(b)
	s := p + float64(c)
	if notTie(s) {
		return float32(s) // not halfway: rounding twice is rounding once
	}
	return fma32Tie(p, float64(c), s)
}

// notTie reports whether the float64 s is not exactly halfway between two float32
// values (its 29 low mantissa bits are not 1 followed by zeros).
func notTie(s float64) bool { return math.Float64bits(s)&(1<<29-1) != 1<<28 }

// fma32Tie is fma32RN's rare case: s = p + q lies exactly halfway between two float32
// values, and the rounding error of the float64 sum decides the direction.
func fma32Tie(p, q, s float64) float32 {
	bb := s - p
	e := (p - (s - bb)) + (q - bb)
	if e == 0 || math.Float64bits(s)&(1<<29-1) != 1<<28 {
		return float32(s)
	}
	lo := float32(s)
	if float64(lo) > s {
		lo = math.Nextafter32(lo, float32(math.Inf(-1)))
	}
	if e > 0 {
		return math.Nextafter32(lo, float32(math.Inf(1)))
	}
	return lo
}
