package study

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/divres/divres/corrupt"
	"github.com/divres/divres/data"
	"github.com/divres/divres/diversity"
	"github.com/divres/divres/ensemble"
	"github.com/divres/divres/torch"
)

// The default member set is the first three non-baseline models; the grid has
// heuristic none at γ = 0 and the other heuristics at γ, no cell twice.
func TestNCLRecipeDefaults(t *testing.T) {
	cfg := Default()
	cfg.NCL = nil // the recipe's own defaults, not the quick preset's
	rec := cfg.nclRecipe()
	want := []Model{cfg.Models[1], cfg.Models[2], cfg.Models[3]}
	if !reflect.DeepEqual(rec.Members, want) || rec.Gamma != 0.5 || len(rec.Lambdas) != 5 || len(rec.Heuristics) != 4 {
		t.Fatalf("recipe %+v", rec)
	}
	cells, err := rec.grid()
	if err != nil {
		t.Fatal(err)
	}
	if len(cells) != 5+3*5 {
		t.Fatalf("%d cells, want 20", len(cells))
	}
	seen := map[ensemble.NCLCell]bool{}
	for _, c := range cells {
		if seen[c] || (c.Heuristic == ensemble.HeuristicNone) != (c.Gamma == 0) {
			t.Errorf("cell %+v twice or with the wrong γ", c)
		}
		seen[c] = true
	}
	cfg.Models = cfg.Models[:2]
	if got := cfg.nclRecipe().Members; len(got) != 2 || got[0] != cfg.Models[0] {
		t.Errorf("with one non-baseline model the members are %v, want both models", got)
	}
	// The stage's fingerprint follows its recipe; stages 1 and 2 do not.
	a, c := Default(), Default()
	a.NCL = nil
	c.NCL = &NCLRecipe{Gamma: 0.25}
	if nclStage().Fingerprint(a) == nclStage().Fingerprint(c) {
		t.Error("another γ, the same fingerprint of stage 4")
	}
	if individualStage().Fingerprint(a) != individualStage().Fingerprint(c) || ensemblesStage().Fingerprint(a) != ensemblesStage().Fingerprint(c) {
		t.Error("the NCL recipe changed the fingerprint of stage 1 or 2")
	}
	c.NCL = &NCLRecipe{Gamma: 0.5}
	if nclStage().Fingerprint(a) != nclStage().Fingerprint(c) {
		t.Error("the default γ spelt out changed the fingerprint")
	}
	bad := NCLRecipe{Heuristics: []string{"dropout"}}.Resolved(Default())
	if _, err := bad.grid(); err == nil {
		t.Error("an unknown heuristic was accepted")
	}
}

// TestNCLStage runs a tiny study through stages 1, 2 and 4: the table, the
// figures and findings 3 and 4 are written, every interval holds its value, the
// λ = 1 / none cell's first member is stage 1's model, and a rerun skips the
// stage.
func TestNCLStage(t *testing.T) {
	if _, err := os.Stat(filepath.Join(data.FashionMNISTDir, "t10k-images-idx3-ubyte.gz")); err != nil {
		t.Skip("Fashion-MNIST is not installed")
	}
	prev := torch.NumThreads()
	torch.SetNumThreads(1)
	defer torch.SetNumThreads(prev)
	cfg := Default()
	cfg.PerClass, cfg.TestSubset, cfg.Epochs, cfg.Batch = 4, 16, 1, 20
	cfg.Seeds, cfg.Bootstrap = 1, 50
	cfg.Baseline = "resnet18"
	cfg.Models = []Model{{Arch: "resnet18", Width: 0.0625}, {Arch: "lenet", Width: 0.5}}
	cfg.Corruptions, cfg.Severities = []string{"gaussian_noise", "contrast"}, []int{1}
	cfg.NCL = &NCLRecipe{Lambdas: []float64{0.5, 1}, Heuristics: []string{"none", "prediction"},
		Members: []Model{{Arch: "lenet", Width: 0.5}, {Arch: "resnet18", Width: 0.0625}}}
	dir := t.TempDir()
	stages := []Stage{individualStage(), ensemblesStage(), nclStage()}
	opts := Options{Device: torch.CPU, Workers: 1}
	if err := execute(context.Background(), cfg, dir, opts, stages); err != nil {
		t.Fatal(err)
	}
	for _, o := range nclStage().Outputs {
		if _, err := os.Stat(filepath.Join(dir, o)); err != nil {
			t.Error(err)
		}
	}
	var table NCLTable
	b, err := os.ReadFile(filepath.Join(dir, nclSource))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &table); err != nil {
		t.Fatal(err)
	}
	if len(table.Cells) != 4 || table.TestImages != 16 || table.Reference == nil || table.Reference.Ensembles != 1 {
		t.Fatalf("table: %d cells, %d images, reference %+v", len(table.Cells), table.TestImages, table.Reference)
	}
	inside := func(what string, iv Interval) {
		t.Helper()
		if math.IsNaN(iv.Value) || !(iv.Low <= iv.Value+1e-12 && iv.Value <= iv.High+1e-12) {
			t.Errorf("%s: %+v does not hold its value", what, iv)
		}
	}
	for _, c := range table.Cells {
		for _, k := range []string{"accuracy", "corruption_accuracy"} {
			inside(c.Dir+" "+k, c.Metrics[k])
		}
		for _, k := range []string{"disagreement", "kohavi_wolpert", "attribution_cosine_diversity"} {
			inside(c.Dir+" "+k, c.Diversity[k])
		}
		if a := c.Metrics["accuracy"].Value; math.Abs(a+c.Metrics["clean_error"].Value-1) > 1e-12 {
			t.Errorf("%s: accuracy %v and clean error %v", c.Dir, a, c.Metrics["clean_error"].Value)
		}
	}
	// The reference is stage 2's one heterogeneous ensemble: the per-image
	// recomputation gives its diversities.
	ens, err := diversity.ReadEnsembles(filepath.Join(dir, ensemblesDir, ensemblesTable))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"disagreement", "attribution_cosine_diversity"} {
		if got, want := table.Reference.Diversity[k].Value, ens[0].Diversity[k]; math.Abs(got-want) > 1e-9 {
			t.Errorf("reference %s %v, stage 2 says %v", k, got, want)
		}
	}
	// The independent cell's first member is stage 1's model of that seed.
	indep := modelBytes(t, filepath.Join(dir, "ncl", "none", "lambda1_gamma0", "members", "0_lenet_w0.5"))
	if !bytes.Equal(indep, modelBytes(t, filepath.Join(dir, "train", "lenet_w0.5_s0"))) {
		t.Error("the λ = 1, heuristic none cell's member 0 differs from stage 1's independently trained model")
	}

	fs, err := ReadFindings(dir)
	if err != nil {
		t.Fatal(err)
	}
	fs = slices.DeleteFunc(fs, func(f Finding) bool { return f.Stage != 4 })
	if len(fs) != 2 || fs[0].Number != 3 || fs[1].Number != 4 {
		t.Fatalf("findings of stage 4: %+v", fs)
	}
	for _, f := range fs {
		if f.Primary < 0 || f.Primary >= len(f.Cells) {
			t.Fatalf("finding %d: primary %d of %d cells", f.Number, f.Primary, len(f.Cells))
		}
		for _, c := range f.Cells {
			if c.Source != nclSource {
				t.Errorf("finding %d cell %s: source %q", f.Number, c.Name, c.Source)
			}
			if c.Quantity == "relative_mce_difference" || c.N < 2 {
				// Relative mCE needs the whole benchmark (TestNCLStatistics checks
				// it); an interval over one stage-2 ensemble is undefined.
				continue
			}
			inside(c.Name, c.Estimate)
		}
	}
	// Finding 3: λ=0.5 − λ=1 for none and prediction, corruption accuracy and
	// relative mCE; its primary is the none cell of corruption accuracy, the
	// difference of the two cells' table values.
	f3 := fs[0]
	if len(f3.Cells) != 4 || f3.Cells[f3.Primary].Name != "λ=0.5 − λ=1, heuristic none" {
		t.Fatalf("finding 3 cells %+v", f3.Cells)
	}
	cell := func(h string, l float64) NCLCellResult {
		for _, c := range table.Cells {
			if c.Heuristic == h && c.Lambda == l {
				return c
			}
		}
		t.Fatalf("no cell %s λ=%g", h, l)
		return NCLCellResult{}
	}
	d := cell("none", 0.5).Metrics["corruption_accuracy"].Value - cell("none", 1).Metrics["corruption_accuracy"].Value
	if math.Abs(f3.Cells[f3.Primary].Estimate.Value-d) > 1e-12 {
		t.Errorf("finding 3 primary %v, table difference %v", f3.Cells[f3.Primary].Estimate.Value, d)
	}
	// Finding 4: two λ=0.5 cells × three diversity kinds; primary prediction
	// disagreement of heuristic prediction.
	f4 := fs[1]
	p := f4.Cells[f4.Primary]
	want := table.Reference.Diversity["disagreement"].Value - cell("prediction", 0.5).Diversity["disagreement"].Value
	if len(f4.Cells) != 6 || math.Abs(p.Estimate.Value-want) > 1e-12 {
		t.Errorf("finding 4: %d cells, primary %+v, want value %v", len(f4.Cells), p, want)
	}

	// A rerun skips the stage: nothing is retrained or rewritten.
	st, err := os.Stat(filepath.Join(dir, nclSource))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	if err := execute(context.Background(), cfg, dir, opts, stages); err != nil {
		t.Fatal(err)
	}
	if st2, err := os.Stat(filepath.Join(dir, nclSource)); err != nil || !st2.ModTime().Equal(st.ModTime()) {
		t.Errorf("the rerun rewrote %s (%v)", nclSource, err)
	}
}

// modelBytes reads the weights file of a run directory.
func modelBytes(t *testing.T, dir string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, ensemble.ModelFile))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestNCLStatistics: on synthetic per-image outcomes over the whole benchmark,
// two cells with the same outcomes differ by exactly 0 with a zero-width
// interval (the bootstrap is paired), a cell that is right more often under
// corruption is supported by finding 3, and relative mCE is the one of
// corrupt.ComputeCE against the baseline.
func TestNCLStatistics(t *testing.T) {
	const n = 24
	rng := rand.New(rand.NewPCG(1, 2))
	outcomes := func(clean, corr float64) *Outcomes {
		o := &Outcomes{N: n}
		slice := func(c string, s int, p float64) {
			var b strings.Builder
			for range n {
				if rng.Float64() < p {
					b.WriteByte('1')
				} else {
					b.WriteByte('0')
				}
			}
			o.Slices = append(o.Slices, SliceOutcome{Corruption: c, Severity: s, Wrong: b.String()})
		}
		slice("", 0, clean)
		for _, c := range corrupt.BenchmarkNames() {
			for s := 1; s <= corrupt.NumSeverities; s++ {
				slice(c, s, corr)
			}
		}
		return o
	}
	cell := func(h string, l float64, o *Outcomes) *nclCellEval {
		ev := &EnsembleEval{Name: h, Outcomes: o, LinearCKA: 0.5, kw: make([]float64, n),
			pairs: pairTable{m: 2, disagree: [][]float64{make([]float64, n)}}}
		return &nclCellEval{cell: ensemble.NCLCell{Heuristic: h, Lambda: l}, eval: ev, member: &memberEval{Outcomes: o}}
	}
	same, better := outcomes(0.1, 0.5), outcomes(0.1, 0.15)
	evals := []*nclCellEval{cell("none", 0.5, same), cell("none", 1, same), cell("prediction", 0.5, better), cell("prediction", 1, same)}
	base := []*memberEval{{Outcomes: outcomes(0.1, 0.6)}}
	r := &Run{Config: Default(), Baseline: "base"}
	r.Config.Bootstrap = 200
	table, f3, f4 := nclStatistics(r, evals, base, nil, n)
	if len(table.Cells) != 4 || len(f3.Cells) != 4 || f3.Primary != 0 || f4.Primary != 3 {
		t.Fatalf("%d cells, finding 3 %+v, finding 4 primary %d", len(table.Cells), f3, f4.Primary)
	}
	for _, c := range f3.Cells {
		iv := c.Estimate
		switch {
		case strings.HasSuffix(c.Name, "none"):
			if iv.Value != 0 || iv.Low != 0 || iv.High != 0 {
				t.Errorf("%s %s: %+v, want exactly 0 for equal outcomes", c.Name, c.Quantity, iv)
			}
		case c.Quantity == "corruption_accuracy_difference":
			if judgeCell(c).Verdict != Supported {
				t.Errorf("%s: %+v not supported", c.Name, iv)
			}
		case c.Quantity == "relative_mce_difference":
			if judgeCell(c).Verdict != Supported || !(iv.Low <= iv.Value && iv.Value <= iv.High) {
				t.Errorf("%s: %+v: a lower error under corruption is not a lower relative mCE", c.Name, iv)
			}
		}
	}
	ones := make([]int, n)
	for i := range ones {
		ones[i] = 1
	}
	var keys []sliceKey
	for _, s := range same.Slices {
		keys = append(keys, sliceKey{s.Corruption, s.Severity})
	}
	res := resultFrom("x", []*memberEval{evals[2].member}, []int{0}, keys, ones, n)
	if err := corrupt.ComputeCE(res, resultFrom("base", base, []int{0}, keys, ones, n)); err != nil {
		t.Fatal(err)
	}
	if got := table.Cells[2].Metrics["relative_mce"].Value; res.RelativeMCE == nil || math.Abs(got-*res.RelativeMCE) > 1e-12 {
		t.Errorf("relative mCE %v, ComputeCE says %v", got, res.RelativeMCE)
	}
}
