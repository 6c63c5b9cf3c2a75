package diversity

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

func TestMonotoneTransform(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	x := make([]float64, 30)
	y := make([]float64, 30)
	for i := range x {
		x[i] = rng.NormFloat64()
		y[i] = math.Exp(3 * x[i]) // monotone, far from linear
	}
	c, err := Correlate(x, y, CorrOptions{Bootstrap: 50, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if c.Spearman.Value != 1 || math.Abs(c.KendallTauB.Value-1) > 1e-15 {
		t.Errorf("spearman %v kendall %v", c.Spearman.Value, c.KendallTauB.Value)
	}
	if c.Pearson.Value >= 0.95 {
		t.Errorf("pearson %v should show the nonlinearity", c.Pearson.Value)
	}
	if c.Spearman.P != 0 || c.KendallTauB.P > 1e-6 {
		t.Errorf("p-values %v %v", c.Spearman.P, c.KendallTauB.P)
	}
}

func TestKnownValues(t *testing.T) {
	// Hand-checkable: x = 1..5, y = (1, 3, 2, 5, 4): Pearson 0.8 (Sxy 8, Sxx Syy 10),
	// Kendall S = 8 - 2 = 6 of 10 pairs: 0.6; Spearman = Pearson of the ranks = 0.8.
	x := []float64{1, 2, 3, 4, 5}
	y := []float64{1, 3, 2, 5, 4}
	c, err := Correlate(x, y, CorrOptions{Bootstrap: -1})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(c.Pearson.Value-0.8) > 1e-12 || math.Abs(c.Spearman.Value-0.8) > 1e-12 || math.Abs(c.KendallTauB.Value-0.6) > 1e-12 {
		t.Errorf("%+v", c)
	}
	// t = 0.8·sqrt(3/0.36) = 2.3094 with 3 degrees of freedom: two-sided p = 0.10408.
	if math.Abs(c.Pearson.P-0.10408) > 5e-5 {
		t.Errorf("pearson p %v", c.Pearson.P)
	}
	// Kendall: var S = 5·4·15/18 = 16.667, z = 6/4.0825 = 1.4697, p = 0.14164.
	if math.Abs(c.KendallTauB.P-0.14164) > 5e-5 {
		t.Errorf("kendall p %v", c.KendallTauB.P)
	}
	// Ties: x has a tied pair; τ-b = (C - D)/sqrt((n0-n1)(n0-n2)).
	xt := []float64{1, 1, 2, 3}
	yt := []float64{1, 2, 3, 4}
	// pairs: (0,1) x-tie; others concordant: 5; sqrt(5·6).
	if v := KendallTauB(xt, yt); math.Abs(v-5/math.Sqrt(30)) > 1e-12 {
		t.Errorf("tau-b with ties %v", v)
	}
	if _, err := Correlate(x, y[:4], CorrOptions{}); err == nil {
		t.Error("mismatched lengths accepted")
	}
	if _, err := Correlate([]float64{1, math.NaN(), 3}, []float64{1, 2, 3}, CorrOptions{}); err == nil {
		t.Error("NaN accepted")
	}
}

func TestBootstrapCoverage(t *testing.T) {
	// Bivariate normal with correlation 0.5: the Pearson interval covers 0.5 in about
	// 95% of trials (percentile intervals undercover a little at n = 40).
	const trials, n, rho = 200, 40, 0.5
	rng := rand.New(rand.NewPCG(7, 8))
	covered := 0
	x, y := make([]float64, n), make([]float64, n)
	for tr := 0; tr < trials; tr++ {
		for i := range x {
			a, b := rng.NormFloat64(), rng.NormFloat64()
			x[i], y[i] = a, rho*a+math.Sqrt(1-rho*rho)*b
		}
		c, err := Correlate(x, y, CorrOptions{Bootstrap: 200, Seed: uint64(tr)})
		if err != nil {
			t.Fatal(err)
		}
		if c.Pearson.Low <= rho && rho <= c.Pearson.High {
			covered++
		}
		if !(c.Spearman.Low < c.Spearman.Value && c.Spearman.Value < c.Spearman.High) {
			t.Fatalf("trial %d: spearman %v outside its interval", tr, c.Spearman)
		}
	}
	if frac := float64(covered) / trials; frac < 0.85 || frac > 0.995 {
		t.Errorf("coverage %v of nominal 0.95", frac)
	}
	// Same seed, same interval.
	a, _ := Correlate(x, y, CorrOptions{Bootstrap: 100, Seed: 42})
	b, _ := Correlate(x, y, CorrOptions{Bootstrap: 100, Seed: 42})
	if a != b {
		t.Errorf("seeded bootstrap differs: %+v %+v", a, b)
	}
}

func TestCorrelationTable(t *testing.T) {
	dir := t.TempDir()
	js := `{"ensembles": [
 {"name": "a", "members": ["r1", "r2"], "metrics": {"accuracy": 0.90, "mce": 1.0}, "diversity": {"disagreement": 0.1, "q_statistic_matrix": [[null, 1], [1, null]]}},
 {"name": "b", "members": ["r1", "r3"], "metrics": {"accuracy": 0.92, "mce": 0.9}, "diversity": {"disagreement": 0.2}},
 {"name": "c", "members": ["r2", "r3"], "metrics": {"accuracy": 0.95, "mce": null}, "diversity": {"disagreement": 0.3}},
 {"name": "d", "members": ["r1", "r4"], "metrics": {"accuracy": 0.96, "mce": 0.7}, "diversity": {"disagreement": 0.4}}]}`
	if err := os.WriteFile(filepath.Join(dir, "ensembles.json"), []byte(js), 0o644); err != nil {
		t.Fatal(err)
	}
	ens, err := ReadEnsembles(dir)
	if err != nil {
		t.Fatal(err)
	}
	rows := CorrelationTable(ens, CorrOptions{Bootstrap: 20, Seed: 1})
	if len(rows) != 2 || rows[0].Target != "accuracy" || rows[1].Target != "mce" {
		t.Fatalf("rows %+v", rows)
	}
	if rows[0].N != 4 || rows[0].Spearman.Value != 1 || rows[1].N != 3 || rows[1].Spearman.Value != -1 {
		t.Errorf("rows %+v", rows)
	}
}

// kendallCounts (O(n log n)) equals the direct count over all pairs, with ties in
// x, in y and in both.
func TestKendallCountsAgainstPairs(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := 0; trial < 50; trial++ {
		n := 1 + rng.IntN(60)
		x, y := make([]float64, n), make([]float64, n)
		for i := range x {
			x[i] = float64(rng.IntN(1 + trial%7))
			y[i] = float64(rng.IntN(1+trial%5)) + 0.5*x[i]*float64(trial%2)
		}
		var s, n1, n2 float64
		for i := 0; i < n; i++ {
			for j := i + 1; j < n; j++ {
				dx, dy := x[i]-x[j], y[i]-y[j]
				if dx != 0 {
					n1++
				}
				if dy != 0 {
					n2++
				}
				if dx != 0 && dy != 0 {
					if (dx > 0) == (dy > 0) {
						s++
					} else {
						s--
					}
				}
			}
		}
		gs, g1, g2 := kendallCounts(x, y)
		if gs != s || g1 != n1 || g2 != n2 {
			t.Fatalf("n=%d: got S=%v n1=%v n2=%v, want %v %v %v", n, gs, g1, g2, s, n1, n2)
		}
	}
}
