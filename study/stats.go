package study

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/divres/divres/diversity"
)

// Interval is an estimate with the bounds of its bootstrap percentile interval.
// Low and High are NaN when no resample gave a value.
type Interval struct {
	Value float64 `json:"value"`
	Low   float64 `json:"low"`
	High  float64 `json:"high"`
}

// Format writes the interval as "value [low, high]", each multiplied by scale and
// printed with digits decimals.
func (iv Interval) Format(scale float64, digits int) string {
	f := func(v float64) string {
		if math.IsNaN(v) {
			return "–"
		}
		return fmt.Sprintf("%.*f", digits, v*scale)
	}
	return f(iv.Value) + " [" + f(iv.Low) + ", " + f(iv.High) + "]"
}

// Bootstrap draws resamples of n items with replacement and returns, for every
// component of stat, its value on the full sample and the central level
// percentile interval over the resamples. stat receives the multiplicity of each
// item (all 1 for the full sample) and, on resamples, the random source (for a
// second level of resampling such as the training seeds; nil on the full
// sample). A component that is NaN on a resample is left out of that
// component's interval. The same seed gives the same intervals.
func Bootstrap(n, resamples int, level float64, seed uint64, stat func(w []int, rng *rand.Rand) []float64) []Interval {
	ones := make([]int, n)
	for i := range ones {
		ones[i] = 1
	}
	point := stat(ones, nil)
	samples := make([][]float64, len(point))
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	w := make([]int, n)
	for range resamples {
		clear(w)
		for range n {
			w[rng.IntN(n)]++
		}
		for k, v := range stat(w, rng) {
			if !math.IsNaN(v) {
				samples[k] = append(samples[k], v)
			}
		}
	}
	out := make([]Interval, len(point))
	alpha := (1 - level) / 2
	for k := range point {
		out[k] = Interval{Value: point[k], Low: math.NaN(), High: math.NaN()}
		if s := samples[k]; len(s) > 0 {
			slices.Sort(s)
			out[k].Low, out[k].High = quantile(s, alpha), quantile(s, 1-alpha)
		}
	}
	return out
}

// quantile is the q-quantile of sorted values (linear interpolation).
func quantile(sorted []float64, q float64) float64 {
	pos := q * float64(len(sorted)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(sorted)-1)
	return sorted[lo] + (pos-float64(lo))*(sorted[hi]-sorted[lo])
}

// Verdict is what an interval says about a claim.
type Verdict string

const (
	// Supported: the whole interval lies on the claim's side of the threshold.
	Supported Verdict = "supported"
	// Contradicted: the whole interval lies on the other side.
	Contradicted Verdict = "contradicted"
	// Inconclusive: the interval contains the threshold (or is undefined).
	Inconclusive Verdict = "inconclusive at this scale"
)

// Claim is a statement that a quantity lies below (Below) or above a threshold.
type Claim struct {
	Statement string  `json:"statement"`
	Threshold float64 `json:"threshold"`
	Below     bool    `json:"below"`
}

// Decide judges the claim by the interval: supported or contradicted only when
// the interval excludes the other side of the threshold.
func (c Claim) Decide(iv Interval) Verdict {
	if math.IsNaN(iv.Low) || math.IsNaN(iv.High) || math.IsNaN(iv.Value) {
		return Inconclusive
	}
	below, above := iv.High < c.Threshold, iv.Low > c.Threshold
	switch {
	case below && c.Below, above && !c.Below:
		return Supported
	case above && c.Below, below && !c.Below:
		return Contradicted
	}
	return Inconclusive
}

// KendallW is Kendall's coefficient of concordance of several rankings of the
// same items: scores[r][i] is rater r's score of item i (ties get mean ranks; no
// tie correction). 1 means every rater ranks the items alike, 0 no agreement.
// NaN with fewer than two raters or items.
func KendallW(scores [][]float64) float64 {
	m := len(scores)
	if m < 2 || len(scores[0]) < 2 {
		return math.NaN()
	}
	n := len(scores[0])
	sum := make([]float64, n)
	for _, s := range scores {
		if len(s) != n {
			return math.NaN()
		}
		for i, r := range diversity.Ranks(s) {
			sum[i] += r
		}
	}
	mean := float64(m) * float64(n+1) / 2
	var ss float64
	for _, r := range sum {
		ss += (r - mean) * (r - mean)
	}
	return 12 * ss / (float64(m*m) * (float64(n*n*n) - float64(n)))
}
