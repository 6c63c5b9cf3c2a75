package study

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/divres/divres/corrupt"
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

// TestIndividualStatisticsLeavesOutUntrained: a model at chance accuracy errs as
// much on clean as on corrupted images, so its relative mCE is near 0; it is
// flagged, gets no claim against the baseline, and the correlation of finding 1 is
// over the models that learned (here a perfect ρ = 1, which the untrained model
// would break).
func TestIndividualStatisticsLeavesOutUntrained(t *testing.T) {
	const n = 40
	outcomes := func(clean, corr float64) *memberEval {
		o := &Outcomes{N: n}
		slice := func(c string, s int, p float64) {
			w := []byte(strings.Repeat("0", n))
			for i := range int(math.Round(p * n)) {
				w[(i*7)%n] = '1'
			}
			o.Slices = append(o.Slices, SliceOutcome{Corruption: c, Severity: s, Wrong: string(w)})
		}
		slice("", 0, clean)
		for _, c := range corrupt.BenchmarkNames() {
			slice(c, 3, corr)
		}
		return &memberEval{Result: &corrupt.Result{CleanError: clean}, Outcomes: o}
	}
	cfg := Default()
	cfg.Bootstrap = 100
	names := []string{cfg.Models[0].Name(), cfg.Models[1].Name(), cfg.Models[2].Name(), cfg.Models[3].Name()}
	evals := map[string][]*memberEval{
		names[0]: {outcomes(0.1, 0.5)}, names[1]: {outcomes(0.2, 0.65)},
		names[2]: {outcomes(0.3, 0.8)}, names[3]: {outcomes(0.9, 0.9)},
	}
	st := individualStatistics(cfg, names[0], evals, n, 10)
	if len(st.Models) != 4 || st.Correlated != 3 {
		t.Fatalf("%d models, %d correlated; want 4 and 3", len(st.Models), st.Correlated)
	}
	for i, m := range st.Models {
		if (m.NotLearned != "") != (i == 3) {
			t.Errorf("%s: not learned %q", m.Model, m.NotLearned)
		}
		if (m.VersusBaseline != nil) != (i == 1 || i == 2) {
			t.Errorf("%s: claim against the baseline %v", m.Model, m.VersusBaseline)
		}
	}
	if rho := st.Correlation.Estimate.Value; rho != 1 {
		t.Errorf("Spearman ρ over the models that learned %v, want 1", rho)
	}
	if notLearned([]*memberEval{outcomes(0.79, 0.9)}, 10) != "" || notLearned([]*memberEval{outcomes(0.81, 0.9)}, 10) == "" {
		t.Error("the threshold is not twice chance (20 % accuracy for 10 classes)")
	}
	if f := findingOne(st); f.Cells[0].N != 3 {
		t.Errorf("finding 1's correlation cell has N %d, want 3", f.Cells[0].N)
	}
}
