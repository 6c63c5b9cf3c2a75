package study

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/divres/divres/corrupt"
	"github.com/divres/divres/diversity"
	"github.com/divres/divres/internal/atomicfile"
)

// individualTable is the base name of stage 1's statistics table under RUN/stats.
const individualTable = "individual"

// confidence is the level of every interval of the study.
const confidence = 0.95

// MarshalJSON writes undefined bounds (NaN) as null.
func (iv Interval) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]*float64{"value": finite(iv.Value), "low": finite(iv.Low), "high": finite(iv.High)})
}

// UnmarshalJSON reads what MarshalJSON writes (null as NaN).
func (iv *Interval) UnmarshalJSON(b []byte) error {
	var m map[string]*float64
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	iv.Value, iv.Low, iv.High = ptrValue(m["value"]), ptrValue(m["low"]), ptrValue(m["high"])
	return nil
}

// finite is v, or nil when v is NaN or infinite.
func finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// ClaimResult is a claim with the interval it was judged on and the verdict.
type ClaimResult struct {
	Claim
	Estimate Interval `json:"estimate"`
	Verdict  Verdict  `json:"verdict"`
	// Settle says, for an inconclusive verdict, what would settle it.
	Settle string `json:"settle,omitempty"`
}

// ModelStats are one architecture's statistics over its seeds and the test
// images. Error rates and accuracies are fractions; mCE and relative mCE are
// fractions of the baseline's (1 = 100 %).
type ModelStats struct {
	Model              string   `json:"model"`
	Seeds              int      `json:"seeds"`
	CleanError         Interval `json:"clean_error"`
	CorruptionAccuracy Interval `json:"corruption_accuracy"`
	MCE                Interval `json:"mce"`
	RelativeMCE        Interval `json:"relative_mce"`
	// CleanErrorSD and RelativeMCESD are the standard deviations over the seeds
	// (each seed against the baseline's model of the same seed); nil with one seed.
	CleanErrorSD  *float64 `json:"clean_error_sd"`
	RelativeMCESD *float64 `json:"relative_mce_sd"`
	// VersusBaseline is the claim that the model is more resilient than the
	// baseline (nil for the baseline itself, without one, or for a model that
	// did not learn).
	VersusBaseline *ClaimResult `json:"versus_baseline,omitempty"`
	// NotLearned says why the model counts as not trained (clean accuracy
	// below twice chance); such a model errs about as much on clean images as on
	// corrupted ones, so its relative mCE is near 0 — "resilient" for the wrong
	// reason — and it is left out of the correlation and the claims.
	NotLearned string `json:"not_learned,omitempty"`
}

// IndividualStats are stage 1's statistics (RUN/stats/individual.json).
type IndividualStats struct {
	TestImages int     `json:"test_images"`
	Seeds      int     `json:"seeds"`
	Epochs     int     `json:"epochs"`
	Resamples  int     `json:"resamples"`
	Level      float64 `json:"level"`
	Seed       uint64  `json:"seed"`
	Baseline   string  `json:"baseline,omitempty"`
	// Models in the order of the configuration.
	Models []ModelStats `json:"models"`
	// Correlation is the claim that relative mCE rises with clean error
	// (Spearman ρ over the models that learned > 0).
	Correlation ClaimResult `json:"correlation"`
	// Correlated is the number of models in the correlation.
	Correlated int `json:"correlated"`
	// RankAgreement is Kendall's W of the models' relative mCE across the seeds
	// (nil with one seed).
	RankAgreement *float64 `json:"rank_agreement"`
}

// weightedError is the error rate of per-image outcomes with multiplicities w
// summing to total.
func weightedError(wrong []bool, w []int, total int) float64 {
	s := 0
	for i, x := range wrong {
		if x {
			s += w[i]
		}
	}
	return float64(s) / float64(total)
}

// resultFrom builds the result of a model from its members' outcomes: the mean
// over the members picked (indices into evs) of the error on every slice, each
// image counted w[i] times.
func resultFrom(name string, evs []*memberEval, picks []int, keys []sliceKey, w []int, total int) *corrupt.Result {
	r := &corrupt.Result{Model: name, Errors: map[string][]float64{}}
	k := float64(len(picks))
	for _, key := range keys {
		e := 0.0
		for _, p := range picks {
			wrong := evs[p].wrongOn(key)
			if wrong == nil {
				e = math.NaN()
				break
			}
			e += weightedError(wrong, w, total)
		}
		e /= k
		if key == (sliceKey{}) {
			r.CleanError = e
			continue
		}
		row := r.Errors[key.corruption]
		if row == nil {
			row = []float64{corrupt.NotEvaluated, corrupt.NotEvaluated, corrupt.NotEvaluated, corrupt.NotEvaluated, corrupt.NotEvaluated}
			r.Errors[key.corruption] = row
		}
		if !math.IsNaN(e) {
			row[key.severity-1] = e
		}
	}
	_ = r.FillCorruptionAccuracy()
	return r
}

func ptrValue(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

// individualStatistics computes stage 1's statistics from the members'
// outcomes: a bootstrap over the n test images (the same images for every model)
// and, within each resample, over each model's seeds.
// learnedFactor is how many times chance a model's clean accuracy must reach for
// it to count as trained.
const learnedFactor = 2

// notLearned returns why a model whose members have these evaluations counts as
// not trained on a task of classes classes ("" when it learned): its clean
// accuracy, averaged over the seeds, is below learnedFactor × chance.
func notLearned(evs []*memberEval, classes int) string {
	if classes < 2 || len(evs) == 0 {
		return ""
	}
	var acc float64
	for _, e := range evs {
		acc += 1 - e.Result.CleanError
	}
	acc /= float64(len(evs))
	chance := 1 / float64(classes)
	if acc >= learnedFactor*chance {
		return ""
	}
	return fmt.Sprintf("clean accuracy %.1f %% is below %g× chance (%.1f %%): the model did not learn in this recipe",
		100*acc, float64(learnedFactor), 100*chance)
}

func individualStatistics(cfg Config, baseName string, evals map[string][]*memberEval, n, classes int) IndividualStats {
	st := IndividualStats{TestImages: n, Seeds: len(cfg.SeedList()), Epochs: cfg.Epochs, Resamples: cfg.bootstrap(),
		Level: confidence, Seed: cfg.Seed, Baseline: baseName}
	var names []string
	var members [][]*memberEval
	baseIdx := -1
	for _, m := range cfg.Models {
		if evs := evals[m.Name()]; len(evs) > 0 {
			if m.Name() == baseName {
				baseIdx = len(names)
			}
			names = append(names, m.Name())
			members = append(members, evs)
		}
	}
	if len(names) == 0 || n == 0 {
		return st
	}
	why := make([]string, len(names))
	for a, evs := range members {
		why[a] = notLearned(evs, classes)
		if why[a] != "" {
			logrus.Warnf("study: %s: %s; it is left out of finding 1", names[a], why[a])
		}
	}
	var keys []sliceKey
	for _, s := range members[0][0].Outcomes.Slices {
		keys = append(keys, sliceKey{s.Corruption, s.Severity})
	}
	const perModel = 4
	stat := func(w []int, rng *rand.Rand) []float64 {
		total := 0
		for _, c := range w {
			total += c
		}
		res := make([]*corrupt.Result, len(names))
		for a, evs := range members {
			picks := make([]int, len(evs))
			for i := range picks {
				picks[i] = i
				if rng != nil {
					picks[i] = rng.IntN(len(evs))
				}
			}
			res[a] = resultFrom(names[a], evs, picks, keys, w, total)
		}
		if baseIdx >= 0 {
			for a := range res {
				_ = corrupt.ComputeCE(res[a], res[baseIdx]) // a partial benchmark leaves mCE undefined
			}
		}
		out := make([]float64, 0, perModel*len(res)+1)
		var rmce, clean []float64
		for a, r := range res {
			out = append(out, r.CleanError, r.CorruptionAccuracy, ptrValue(r.MCE), ptrValue(r.RelativeMCE))
			if r.RelativeMCE != nil && why[a] == "" {
				rmce, clean = append(rmce, *r.RelativeMCE), append(clean, r.CleanError)
			}
		}
		rho := math.NaN()
		if len(rmce) >= 3 {
			rho = diversity.Spearman(clean, rmce)
		}
		return append(out, rho)
	}
	ivs := Bootstrap(n, st.Resamples, confidence, cfg.Seed, stat)
	settle := func(iv Interval) string {
		return fmt.Sprintf("the interval %s contains the threshold: more seeds (now %d), more test images (now %d) or more epochs (now %d) would narrow it",
			iv.Format(1, 3), st.Seeds, n, cfg.Epochs)
	}
	judge := func(c Claim, iv Interval) *ClaimResult {
		cr := &ClaimResult{Claim: c, Estimate: iv, Verdict: c.Decide(iv)}
		if cr.Verdict == Inconclusive {
			cr.Settle = settle(iv)
		}
		return cr
	}

	// Per-seed values: each seed against the baseline's model of the same seed
	// (or its first seed when it has fewer).
	ones := make([]int, n)
	for i := range ones {
		ones[i] = 1
	}
	perSeed := make([][]*corrupt.Result, len(names))
	for a, evs := range members {
		for k := range evs {
			perSeed[a] = append(perSeed[a], resultFrom(names[a], evs, []int{k}, keys, ones, n))
		}
	}
	if baseIdx >= 0 {
		for a := range perSeed {
			for k, r := range perSeed[a] {
				b := perSeed[baseIdx][min(k, len(perSeed[baseIdx])-1)]
				if a == baseIdx {
					b = r
				}
				_ = corrupt.ComputeCE(r, b)
			}
		}
	}
	for a, name := range names {
		ms := ModelStats{Model: name, Seeds: len(members[a]), CleanError: ivs[perModel*a], CorruptionAccuracy: ivs[perModel*a+1],
			MCE: ivs[perModel*a+2], RelativeMCE: ivs[perModel*a+3], NotLearned: why[a]}
		var ce, rm []float64
		for _, r := range perSeed[a] {
			ce, rm = append(ce, r.CleanError), append(rm, ptrValue(r.RelativeMCE))
		}
		ms.CleanErrorSD, ms.RelativeMCESD = finite(sd(ce)), finite(sd(rm))
		if baseIdx >= 0 && a != baseIdx && why[a] == "" {
			ms.VersusBaseline = judge(Claim{Statement: fmt.Sprintf("%s is more resilient than %s (relative mCE below 100 %%)", name, baseName),
				Threshold: 1, Below: true}, ms.RelativeMCE)
		}
		st.Models = append(st.Models, ms)
	}
	st.Correlation = *judge(Claim{Statement: "relative mCE rises with clean error (Spearman ρ above 0)", Threshold: 0},
		ivs[len(ivs)-1])
	for a := range names {
		if why[a] == "" && baseIdx >= 0 {
			st.Correlated++
		}
	}

	// Rank agreement across the seeds that every model has.
	seeds := len(members[0])
	for _, evs := range members {
		seeds = min(seeds, len(evs))
	}
	if seeds >= 2 && baseIdx >= 0 {
		var scores [][]float64
		for k := range seeds {
			row := make([]float64, len(names))
			for a := range names {
				row[a] = ptrValue(perSeed[a][k].RelativeMCE)
			}
			scores = append(scores, row)
		}
		st.RankAgreement = finite(KendallW(scores))
	}
	return st
}

// sd is the sample standard deviation (NaN for fewer than two values or any NaN).
func sd(v []float64) float64 {
	if len(v) < 2 {
		return math.NaN()
	}
	var m float64
	for _, x := range v {
		m += x / float64(len(v))
	}
	var ss float64
	for _, x := range v {
		ss += (x - m) * (x - m)
	}
	return math.Sqrt(ss / float64(len(v)-1))
}

// writeIndividualStats writes RUN/stats/individual.{json,csv,md}.
func writeIndividualStats(dir string, st IndividualStats) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	js, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, individualTable+".json"), append(js, '\n')); err != nil {
		return err
	}
	var cb bytes.Buffer
	cw := csv.NewWriter(&cb)
	head := []string{"model", "seeds"}
	for _, f := range []string{"clean_error", "corruption_accuracy", "mce", "relative_mce"} {
		head = append(head, f, f+"_low", f+"_high")
	}
	head = append(head, "clean_error_sd", "relative_mce_sd", "verdict_versus_baseline")
	_ = cw.Write(head)
	num := func(v float64) string {
		if math.IsNaN(v) {
			return ""
		}
		return strconv.FormatFloat(v, 'g', 10, 64)
	}
	for _, m := range st.Models {
		row := []string{m.Model, strconv.Itoa(m.Seeds)}
		for _, iv := range []Interval{m.CleanError, m.CorruptionAccuracy, m.MCE, m.RelativeMCE} {
			row = append(row, num(iv.Value), num(iv.Low), num(iv.High))
		}
		verdict := ""
		if m.VersusBaseline != nil {
			verdict = string(m.VersusBaseline.Verdict)
		}
		row = append(row, num(ptrValue(m.CleanErrorSD)), num(ptrValue(m.RelativeMCESD)), verdict)
		_ = cw.Write(row)
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, individualTable+".csv"), cb.Bytes()); err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dir, individualTable+".md"), []byte(individualMarkdown(st)))
}

// individualMarkdown is the statistics table as Markdown.
func individualMarkdown(st IndividualStats) string {
	var b strings.Builder
	b.WriteString("## Individual architectures: intervals and verdicts\n\n")
	fmt.Fprintf(&b, "Values `value [low, high]`: the estimate (mean over %d seed(s)) and its %.0f %% percentile bootstrap interval over the %d test images and the seeds (%d resamples, seed %d). ",
		st.Seeds, 100*st.Level, st.TestImages, st.Resamples, st.Seed)
	b.WriteString("Errors and accuracies in percent")
	if st.Baseline != "" {
		fmt.Fprintf(&b, "; mCE and relative mCE in percent of the baseline %s", st.Baseline)
	}
	b.WriteString(". A verdict is supported or contradicted only when the interval excludes the other side.\n\n")
	fmt.Fprintf(&b, "| model | seeds | clean error | corruption accuracy | mCE | relative mCE | seed sd of relative mCE | more resilient than %s? |\n",
		baselineLabel(st.Baseline))
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---|\n")
	for _, m := range st.Models {
		verdict := "–"
		if m.VersusBaseline != nil {
			verdict = string(m.VersusBaseline.Verdict)
		}
		sdText := "–"
		if m.RelativeMCESD != nil {
			sdText = fmt.Sprintf("%.1f", 100**m.RelativeMCESD)
		}
		if m.NotLearned != "" {
			verdict = "not learned¹"
		}
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %s | %s | %s |\n", m.Model, m.Seeds, m.CleanError.Format(100, 1),
			m.CorruptionAccuracy.Format(100, 1), m.MCE.Format(100, 1), m.RelativeMCE.Format(100, 1), sdText, verdict)
	}
	for _, m := range st.Models {
		if m.NotLearned != "" {
			fmt.Fprintf(&b, "\n¹ %s: %s; left out of the correlation and the comparison with the baseline.\n", m.Model, m.NotLearned)
		}
	}
	c := st.Correlation
	fmt.Fprintf(&b, "\nSpearman ρ of relative mCE against clean error: %s: %s", c.Estimate.Format(1, 2), c.Verdict)
	if c.Settle != "" {
		fmt.Fprintf(&b, " (%s)", c.Settle)
	}
	b.WriteString(".\n")
	if st.RankAgreement != nil {
		fmt.Fprintf(&b, "\nAgreement of the architectures' relative-mCE ranking across the %d seeds (Kendall's W, 1 = the same ranking): %.2f.\n",
			st.Seeds, *st.RankAgreement)
	}
	return b.String()
}

func baselineLabel(s string) string {
	if s == "" {
		return "the baseline"
	}
	return s
}

// findingOne is finding 1 from stage 1's statistics: the architectures' resilience
// goes with their accuracy (primary: Spearman ρ of relative mCE against clean
// error), with each architecture's comparison with the baseline beside it.
func findingOne(st IndividualStats) Finding {
	src := filepath.Join("stats", individualTable+".json")
	f := Finding{Number: 1, Stage: 1, Title: "Individual architectures",
		Statement: "Architectures differ in resilience to corruptions, and the less accurate an architecture, the less resilient it is (relative mCE rises with clean error).",
		Cells: []Cell{{Name: "relative mCE ~ clean error over the architectures that learned", Quantity: "spearman_rho", N: st.Correlated,
			Estimate: st.Correlation.Estimate, Claim: st.Correlation.Claim, Source: src}}}
	for _, m := range st.Models {
		if m.VersusBaseline == nil {
			continue
		}
		f.Cells = append(f.Cells, Cell{Name: m.Model + " against " + st.Baseline, Quantity: "relative_mce", N: st.TestImages,
			Estimate: m.VersusBaseline.Estimate, Claim: m.VersusBaseline.Claim, Source: src})
	}
	return f
}
