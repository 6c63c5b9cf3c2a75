package corrupt

import (
	"math"
	"testing"
)

// TestPoissonTableDistribution compares the inversion sampler with the Poisson
// probabilities (chi-square over bins with expected count ≥ 20) and moments.
func TestPoissonTableDistribution(t *testing.T) {
	r := NewStreamRNG(11, 1, 3, 0)
	for _, lam := range []float64{0.3, 4, 9.99, 10, 37.5, 250, 500} {
		tab := newPoissonTable(lam)
		const n = 100000
		counts := map[int64]int{}
		var s, s2 float64
		for i := 0; i < n; i++ {
			k := tab.sample(r.Float64())
			counts[k]++
			s += float64(k)
			s2 += float64(k * k)
		}
		mean, variance := s/n, s2/n-(s/n)*(s/n)
		if math.Abs(mean-lam) > 5*math.Sqrt(lam/n) || math.Abs(variance-lam) > 0.05*lam+0.01 {
			t.Errorf("λ=%v: mean %v variance %v", lam, mean, variance)
		}
		chi, bins := 0.0, 0
		loglam := math.Log(lam)
		for k := int64(0); k < int64(lam+12*math.Sqrt(lam)+20); k++ {
			lg, _ := math.Lgamma(float64(k + 1))
			e := n * math.Exp(-lam+float64(k)*loglam-lg)
			if e < 20 {
				continue
			}
			d := float64(counts[k]) - e
			chi += d * d / e
			bins++
		}
		// Mean of chi-square is the number of bins; allow a generous 5-sigma margin.
		if chi > float64(bins)+5*math.Sqrt(2*float64(bins))+10 {
			t.Errorf("λ=%v: chi-square %.1f over %d bins", lam, chi, bins)
		}
	}
	if k := newPoissonTable(0).sample(0.7); k != 0 {
		t.Errorf("λ=0 gave %d", k)
	}
}
