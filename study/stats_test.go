package study

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"
)

// errorRate is the bootstrap statistic of a 0/1 sample: the weighted mean.
func errorRate(wrong []bool) func(w []int, _ *rand.Rand) []float64 {
	return func(w []int, _ *rand.Rand) []float64 {
		var k, n int
		for i, c := range w {
			n += c
			if wrong[i] {
				k += c
			}
		}
		return []float64{float64(k) / float64(n)}
	}
}

// The 95 % interval of an error rate covers the true rate in about 95 % of
// samples drawn from a known Bernoulli population.
func TestBootstrapCoverage(t *testing.T) {
	const p, n, trials = 0.3, 300, 300
	rng := rand.New(rand.NewPCG(7, 11))
	covered := 0
	var width float64
	for trial := range trials {
		wrong := make([]bool, n)
		for i := range wrong {
			wrong[i] = rng.Float64() < p
		}
		iv := Bootstrap(n, 400, 0.95, uint64(trial), errorRate(wrong))[0]
		if iv.Low <= p && p <= iv.High {
			covered++
		}
		if !(iv.Low <= iv.Value && iv.Value <= iv.High) {
			t.Fatalf("trial %d: the estimate %v lies outside its interval %+v", trial, iv.Value, iv)
		}
		width += iv.High - iv.Low
	}
	cov := float64(covered) / trials
	if cov < 0.91 || cov > 0.98 {
		t.Errorf("coverage %.3f, want about 0.95", cov)
	}
	// The normal approximation's width: 2·1.96·sqrt(p(1−p)/n) ≈ 0.1037.
	if w := width / trials; math.Abs(w-0.1037) > 0.01 {
		t.Errorf("mean width %.4f, want about 0.1037", w)
	}
}

// The same seed gives the same intervals; another seed other ones.
func TestBootstrapSeeded(t *testing.T) {
	wrong := []bool{true, false, false, true, false, true, false, false, false, true}
	a := Bootstrap(len(wrong), 200, 0.9, 3, errorRate(wrong))[0]
	b := Bootstrap(len(wrong), 200, 0.9, 3, errorRate(wrong))[0]
	c := Bootstrap(len(wrong), 200, 0.9, 4, errorRate(wrong))[0]
	if a != b {
		t.Errorf("same seed: %+v and %+v", a, b)
	}
	if a.Value != 0.4 || c.Value != 0.4 {
		t.Errorf("point estimates %v, %v, want 0.4", a.Value, c.Value)
	}
	if a == c {
		t.Errorf("seeds 3 and 4 gave the same interval %+v", a)
	}
}

// Constructed intervals of each kind give each verdict, for claims of both
// directions; an interval touching the threshold or undefined is inconclusive.
func TestClaimDecide(t *testing.T) {
	below := Claim{Statement: "more resilient than the baseline", Threshold: 1, Below: true}
	above := Claim{Statement: "positively correlated", Threshold: 0}
	nan := math.NaN()
	for _, c := range []struct {
		claim Claim
		iv    Interval
		want  Verdict
	}{
		{below, Interval{0.8, 0.7, 0.95}, Supported},
		{below, Interval{1.2, 1.05, 1.3}, Contradicted},
		{below, Interval{0.9, 0.7, 1.1}, Inconclusive},
		{below, Interval{0.9, 0.8, 1}, Inconclusive},
		{above, Interval{0.5, 0.2, 0.8}, Supported},
		{above, Interval{-0.5, -0.8, -0.2}, Contradicted},
		{above, Interval{0.1, -0.3, 0.5}, Inconclusive},
		{above, Interval{0.1, nan, nan}, Inconclusive},
	} {
		if got := c.claim.Decide(c.iv); got != c.want {
			t.Errorf("%q with %+v: %s, want %s", c.claim.Statement, c.iv, got, c.want)
		}
	}
}

func TestKendallW(t *testing.T) {
	same := [][]float64{{1, 2, 3, 4}, {10, 20, 30, 40}, {0.1, 0.2, 0.3, 0.4}}
	if w := KendallW(same); math.Abs(w-1) > 1e-12 {
		t.Errorf("identical rankings: W = %v, want 1", w)
	}
	if w := KendallW([][]float64{{1, 2, 3}, {3, 2, 1}}); math.Abs(w) > 1e-12 {
		t.Errorf("opposite rankings: W = %v, want 0", w)
	}
	// Rank sums 4, 5, 10, 11 around 7.5: S = 37, W = 12·37 / (9·60).
	w := KendallW([][]float64{{1, 2, 3, 4}, {2, 1, 3, 4}, {1, 2, 4, 3}})
	if want := 12.0 * 37 / 540; math.Abs(w-want) > 1e-12 {
		t.Errorf("W = %v, want %v", w, want)
	}
	if !math.IsNaN(KendallW([][]float64{{1, 2}})) {
		t.Error("one rater: W is not NaN")
	}
}

// Undefined bounds go to JSON as null and come back as NaN.
func TestIntervalJSON(t *testing.T) {
	in := Interval{Value: 0.25, Low: math.NaN(), High: 0.5}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"high":0.5,"low":null,"value":0.25}` {
		t.Errorf("JSON %s", b)
	}
	var out Interval
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if out.Value != 0.25 || out.High != 0.5 || !math.IsNaN(out.Low) {
		t.Errorf("read back %+v", out)
	}
	if got := in.Format(100, 1); got != "25.0 [–, 50.0]" {
		t.Errorf("Format: %q", got)
	}
}
