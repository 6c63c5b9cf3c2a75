package study

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/divres/divres/attrib"
	"github.com/divres/divres/corrupt"
	"github.com/divres/divres/data"
	"github.com/divres/divres/diversity"
	"github.com/divres/divres/ensemble"
	"github.com/divres/divres/internal/atomicfile"
	"github.com/divres/divres/plots"
)

// NCLRecipe is the recipe of stage 4 (NCL): a sweep of joint training over λ
// and the diversity heuristics on one set of members. The zero value, and a
// Config without one, mean the defaults of Resolved.
//
// Every cell trains the members with ensemble.TrainJoint and the study's
// training recipe (Config.TrainConfig: the same data, epochs, batch, optimizer
// and schedule as stage 1), the loss
//
//	L = λ·(1/M)Σ CE(f_i) + (1−λ)·CE(f̄) − γ·D
//
// with D the heuristic's diversity term (ensemble.NCL). The data order is seeded
// with Config.Seed and member i's weights with Config.Seed+i, so that member 0 of
// the cell λ = 1, heuristic none (the independent baseline) is stage 1's model
// <member 0>_s<Seed>, bit for bit.
type NCLRecipe struct {
	// Lambdas are the λ values (default 0, 0.25, 0.5, 0.75, 1): λ = 1 trains
	// the members independently, λ = 0 on the ensemble's loss alone.
	Lambdas []float64 `json:"lambdas,omitempty"`
	// Heuristics are the diversity heuristics (default none, prediction,
	// attribution, activation; see ensemble.Heuristics).
	Heuristics []string `json:"heuristics,omitempty"`
	// Gamma is γ of every heuristic other than none (0: the default 0.5); none
	// has γ = 0. Each of the three default heuristics' D lies in [0, 1] (the
	// prediction term is at most 1 − 1/M), so γ = 0.5 lets diversity pull
	// against a cross-entropy of the same order without dominating it. A
	// heuristic at γ = 0 would be the cell of heuristic none: to train without
	// a diversity term, list only none.
	Gamma float64 `json:"gamma,omitempty"`
	// Members are the architectures trained jointly, at their widths (default:
	// the first three models of the Config that are not the baseline, or, when
	// fewer than two are, the first three models). The members share the first
	// member's style.
	Members []Model `json:"members,omitempty"`
}

// defaultNCLSize is the number of members of the default member set.
const defaultNCLSize = 3

// Resolved fills the defaults of the recipe for cfg.
func (n NCLRecipe) Resolved(cfg Config) NCLRecipe {
	if n.Lambdas == nil {
		n.Lambdas = []float64{0, 0.25, 0.5, 0.75, 1}
	}
	if n.Heuristics == nil {
		n.Heuristics = []string{ensemble.HeuristicNone, ensemble.HeuristicPrediction, ensemble.HeuristicAttribution,
			ensemble.HeuristicActivation}
	}
	if n.Gamma == 0 {
		n.Gamma = 0.5
	}
	if n.Members == nil {
		var others []Model
		for _, m := range cfg.Models {
			if m.Arch != cfg.Baseline {
				others = append(others, m)
			}
		}
		if len(others) < 2 {
			others = cfg.Models
		}
		n.Members = slices.Clone(others[:min(defaultNCLSize, len(others))])
	}
	return n
}

func (c Config) nclRecipe() NCLRecipe { return resolve(c.NCL, c) }

// grid returns the recipe's cells (ensemble.NCLGrid): heuristic none at γ = 0
// and every other heuristic at γ = Gamma, each at every λ.
func (n NCLRecipe) grid() ([]ensemble.NCLCell, error) {
	var lambdas, gammas []float64
	for _, l := range n.Lambdas {
		if !slices.Contains(lambdas, l) {
			lambdas = append(lambdas, l)
		}
	}
	var hs []string
	for _, h := range n.Heuristics {
		h = strings.ToLower(strings.TrimSpace(h))
		if slices.Contains(hs, h) {
			continue
		}
		hs = append(hs, h)
		if h == ensemble.HeuristicNone {
			gammas = append(gammas, 0)
		} else if !slices.Contains(gammas, n.Gamma) {
			gammas = append(gammas, n.Gamma)
		}
	}
	slices.Sort(gammas)
	gammas = slices.Compact(gammas)
	cells, err := ensemble.NCLGrid(hs, lambdas, gammas)
	if err != nil {
		return nil, fmt.Errorf("study: ncl recipe: %w", err)
	}
	return cells, nil
}

// jointMembers are the members of every cell: member i seeded with Seed+i.
func (n NCLRecipe) jointMembers(cfg Config) []ensemble.JointMember {
	out := make([]ensemble.JointMember, len(n.Members))
	for i, m := range n.Members {
		out[i] = ensemble.JointMember{Arch: m.Arch, Width: m.Width, Seed: cfg.Seed + uint64(i)}
	}
	return out
}

// The files of stage 4.
const (
	nclDir           = "ncl"
	nclTable         = "ncl"
	nclSource        = "ncl/ncl.json"
	figNCLResilience = "ncl_resilience"
	figNCLDiversity  = "ncl_diversity"
)

// nclStage is stage 4: joint training with the NCL loss over λ and heuristics
// (NCLRecipe). Each cell is its own resumable joint run,
// RUN/ncl/<heuristic>/lambda<λ>_gamma<γ> (members/<i>_<model> inside are
// ordinary run directories); every cell's mean-softmax ensemble is evaluated on
// stage 1's clean and corrupted test set (member outputs cached in
// RUN/ncl/cache) against the baseline's result, and compared with stage 2's
// heterogeneous ensembles of the same size. It writes RUN/ncl/ncl.json and
// ncl.csv (NCLTable), findings 3 and 4, and the figures ncl_resilience and
// ncl_diversity (PNG and SVG) under RUN/figures.
func nclStage() Stage {
	outs := []string{filepath.Join(nclDir, nclTable+".json"), filepath.Join(nclDir, nclTable+".csv"),
		findingPath("", 3, 4), findingPath("", 4, 4)}
	for _, f := range []string{figNCLResilience, figNCLDiversity} {
		for _, ext := range []string{".png", ".svg"} {
			outs = append(outs, filepath.Join("figures", f+ext))
		}
	}
	return Stage{
		Number: 4, Name: "ncl", Inputs: []int{1, 2}, Outputs: outs,
		// Stage 2's recipe is part of this one: it picks the architecture-diverse
		// ensembles of finding 4 and the attribution method.
		Recipe: func(c Config) any {
			return struct {
				Config
				Ensembles EnsembleRecipe `json:"ensemble_recipe"`
				Recipe    NCLRecipe      `json:"ncl_recipe"`
			}{c.base(), c.ensembleRecipe(), c.nclRecipe()}
		},
		Run: runNCL,
	}
}

// NCLCellResult is one cell of RUN/ncl/ncl.json: its loss, its members and its
// mean-softmax ensemble's metrics and diversities on the study's test set, each
// with its 95 % bootstrap interval over the test images (and, for mCE and
// relative mCE, the baseline's seeds); the interval bounds are null where the
// bootstrap does not apply (linear CKA) or a value is undefined.
//
// Metrics: accuracy and clean_error (clean test set), corruption_accuracy, mce
// and relative_mce (fractions of the baseline's; 1 = 100 %). Diversity:
// disagreement and kohavi_wolpert of the members' predictions, linear_cka of
// their penultimate features and activation_diversity = 1 − linear_cka (no
// interval), attribution_cosine_diversity = 1 − the mean pairwise cosine of
// their attribution maps.
type NCLCellResult struct {
	Heuristic string  `json:"heuristic"`
	Lambda    float64 `json:"lambda"`
	Gamma     float64 `json:"gamma"`
	// Members are the members' names; Dir is the cell's run directory relative
	// to the run directory.
	Members   []string            `json:"members"`
	Dir       string              `json:"dir"`
	Metrics   map[string]Interval `json:"metrics"`
	Diversity map[string]Interval `json:"diversity"`
}

// NCLReference is the architecture-diverse side of finding 4: the mean, over
// stage 2's heterogeneous ensembles with as many members as the NCL cells, of
// their diversities (keys of NCLCellResult.Diversity but kohavi_wolpert), with
// 95 % intervals over the test images (disagreement,
// attribution_cosine_diversity) or over the ensembles (activation_diversity and
// linear_cka, which do not split over images; undefined for one ensemble).
type NCLReference struct {
	Size      int `json:"size"`
	Ensembles int `json:"ensembles"`
	// Metrics are the mean accuracy, corruption_accuracy, mce and relative_mce
	// of those ensembles (null where undefined).
	Metrics   map[string]*float64 `json:"metrics"`
	Diversity map[string]Interval `json:"diversity"`
}

// NCLTable is RUN/ncl/ncl.json.
type NCLTable struct {
	TestImages  int             `json:"test_images"`
	Resamples   int             `json:"resamples"`
	Level       float64         `json:"level"`
	Seed        uint64          `json:"seed"`
	Baseline    string          `json:"baseline,omitempty"`
	Attribution string          `json:"attribution"`
	Cells       []NCLCellResult `json:"cells"`
	Reference   *NCLReference   `json:"reference,omitempty"`
}

// The metric and diversity keys of a cell, in table order.
var (
	nclMetricKeys    = []string{"accuracy", "clean_error", "corruption_accuracy", "mce", "relative_mce"}
	nclDiversityKeys = []string{"disagreement", "kohavi_wolpert", "linear_cka", "activation_diversity", "attribution_cosine_diversity"}
)

// nclCellEval is a trained and evaluated cell.
type nclCellEval struct {
	cell    ensemble.NCLCell
	dir     string
	members []string
	eval    *EnsembleEval
	member  *memberEval // the ensemble's outcomes, as resultFrom takes them
}

func runNCL(ctx context.Context, r *Run) error {
	cfg := r.Config
	rec := cfg.nclRecipe()
	cells, err := rec.grid()
	if err != nil {
		return err
	}
	if len(rec.Members) < 2 {
		return fmt.Errorf("study: ncl: joint training needs at least 2 members, the recipe has %d", len(rec.Members))
	}
	method, err := attrib.ParseMethod(cfg.ensembleRecipe().Attribution)
	if err != nil {
		return fmt.Errorf("study: ncl: %w", err)
	}
	out := filepath.Join(r.Dir, nclDir)
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}

	// 1. Train every cell; finished cells are kept, interrupted ones resumed.
	tc := cfg.TrainConfig(rec.Members[0], cfg.Seed, r.Opts.Device.String())
	tc.Workers = r.Opts.Workers
	members := rec.jointMembers(cfg)
	var failed []string
	var trained []*ensemble.JointResult
	var trainedCells []ensemble.NCLCell
	for i, cell := range cells {
		dir := cell.Dir(out)
		r.cell(i+1, len(cells), fmt.Sprintf("train %s λ=%g γ=%g", cell.Heuristic, cell.Lambda, cell.Gamma))
		res, err := ensemble.TrainJoint(ctx, ensemble.JointConfig{Train: tc, Members: members, Loss: cell.Loss()}, dir,
			ensemble.TrainOptions{Resume: true, Progress: ensemble.ProgressLog})
		if err == nil && res.AlreadyDone {
			r.skipped()
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			logrus.Errorf("study: ncl: %s: %v", dir, err)
			failed = append(failed, dir)
			continue
		}
		trained, trainedCells = append(trained, res), append(trainedCells, cell)
	}
	if len(trained) == 0 {
		return fmt.Errorf("study: ncl: no cell trained (%s)", strings.Join(failed, ", "))
	}

	// 2. Evaluate every cell's ensemble on the study's clean and corrupted test
	// set, from a prediction cache.
	padded, set, source, err := studyTestSet(ctx, r)
	if err != nil {
		return fmt.Errorf("study: ncl: %w", err)
	}
	ins, err := ensemble.EvalSlices(padded, set, nil, nil, padded.Len())
	if err != nil {
		return fmt.Errorf("study: ncl: %w", err)
	}
	cache, err := runCache(r.Dir)
	if err != nil {
		return fmt.Errorf("study: ncl: %w", err)
	}
	if r.Baseline == "" {
		r.Baseline = baselineName(cfg)
	}
	var base *corrupt.Result
	if r.Baseline != "" {
		if base, err = corrupt.ReadResult(filepath.Join(r.Dir, "eval", r.Baseline, "eval.json")); err != nil {
			logrus.Warnf("study: ncl: no baseline result (%v); mCE and relative mCE are left out", err)
			base = nil
		}
	}
	var evals []*nclCellEval
	for i, res := range trained {
		done := step(fmt.Sprintf("ncl: evaluate %s", res.Dir))
		ce, err := evaluateNCLCell(ctx, r, cache, ins, padded, method, base, source, res)
		done()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			logrus.Errorf("study: ncl: evaluate %s: %v", res.Dir, err)
			failed = append(failed, res.Dir)
			continue
		}
		ce.cell = trainedCells[i]
		evals = append(evals, ce)
	}
	if len(evals) == 0 {
		return fmt.Errorf("study: ncl: no cell evaluated (%s)", strings.Join(failed, ", "))
	}

	// 3. The architecture-diverse ensembles of stage 2 with as many members.
	done := step("ncl: architecture-diverse ensembles of stage 2")
	ref, err := loadNCLReference(ctx, r, ins, padded, method, len(members))
	done()
	if err != nil {
		return fmt.Errorf("study: ncl: %w", err)
	}

	// 4. One bootstrap over the test images for every interval, so that
	// differences between cells are paired (the same resamples for both).
	done = step("ncl: bootstrap")
	table, f3, f4 := nclStatistics(r, evals, baselineSeeds(r), ref, padded.Len())
	done()
	table.Attribution = string(method)
	if err := writeNCLResults(out, table); err != nil {
		return fmt.Errorf("study: ncl: %w", err)
	}
	for _, f := range []Finding{f3, f4} {
		if err := writeFinding(r.Dir, cfg, f); err != nil {
			return fmt.Errorf("study: ncl: finding %d: %w", f.Number, err)
		}
	}

	// 5. Figures: resilience against λ per heuristic, and diversity per heuristic
	// beside the architecture-diverse ensembles.
	figs := filepath.Join(r.Dir, "figures")
	if err := os.MkdirAll(figs, 0o755); err != nil {
		return err
	}
	rows := nclPlotRows(evals, ref)
	for _, f := range []struct {
		name string
		draw func([]plots.NCLRow, string) error
	}{{figNCLResilience, plots.NCLResilience}, {figNCLDiversity, plots.NCLDiversity}} {
		for _, ext := range []string{".png", ".svg"} {
			if err := f.draw(rows, filepath.Join(figs, f.name+ext)); err != nil {
				return fmt.Errorf("study: ncl: figure %s%s: %w", f.name, ext, err)
			}
		}
	}
	logrus.Infof("study: ncl: %d cells of %d members in %s", len(evals), len(members), out)
	if len(failed) > 0 {
		return fmt.Errorf("study: ncl: %d cell(s) failed: %s (the others' results are written; rerun to retry)",
			len(failed), strings.Join(failed, ", "))
	}
	return nil
}

// evaluateNCLCell evaluates one trained cell: its members' outputs on every
// slice (cached), their attribution maps on the clean test images, the
// ensemble's result and diversities.
func evaluateNCLCell(ctx context.Context, r *Run, cache *ensemble.PredictionCache, ins []ensemble.InputSlice,
	padded data.Dataset, method attrib.Method, base *corrupt.Result, source string,
	res *ensemble.JointResult) (*nclCellEval, error) {
	members, err := ensemble.OpenPoolMembers(res.MemberDirs)
	if err != nil {
		return nil, err
	}
	outs, err := cache.Outputs(ctx, members, ins, r.Opts.Device, ensemble.OutputsOptions{Features: true, Workers: r.Opts.Workers})
	if err != nil {
		return nil, err
	}
	pool := &ensemble.Pool{Members: members, Outputs: outs}
	for _, in := range ins {
		pool.Slices = append(pool.Slices, in.Slice)
	}
	maps, size, err := memberAttributions(ctx, members, padded, method, r.Opts.Device, r.Opts.Workers)
	if err != nil {
		return nil, err
	}
	ev, err := EvaluateEnsemble(pool, base, maps, size, r.Config.Data, source)
	if err != nil {
		return nil, err
	}
	rel, err := filepath.Rel(r.Dir, res.Dir)
	if err != nil {
		rel = res.Dir
	}
	ce := &nclCellEval{dir: rel, eval: ev, member: &memberEval{Outcomes: ev.Outcomes}}
	for _, m := range res.Config.Members {
		ce.members = append(ce.members, ensemble.ModelName(m.Arch, res.Config.Train.Style, m.Width))
	}
	return ce, nil
}

// nclReference holds stage 2's heterogeneous ensembles of one size: their
// members' per-image pair values on the clean slice, each ensemble's members
// (indices into the pool) and their rows of RUN/ensembles/ensembles.json.
type nclReference struct {
	size  int
	pairs pairTable
	subs  [][]int
	rows  []diversity.Ensemble
}

// loadNCLReference reads stage 2's heterogeneous ensembles of size members and
// recomputes their members' clean outputs (from stage 2's prediction cache) and
// attribution maps, the material of the per-image bootstrap. It returns nil
// when stage 2 has no such ensemble.
func loadNCLReference(ctx context.Context, r *Run, ins []ensemble.InputSlice, padded data.Dataset,
	method attrib.Method, size int) (*nclReference, error) {
	ens, err := diversity.ReadEnsembles(filepath.Join(r.Dir, ensemblesDir, ensemblesTable))
	if err != nil {
		return nil, err
	}
	ref := &nclReference{size: size}
	index := map[string]int{}
	var dirs []string
	for _, e := range ens {
		if e.Homogeneous || len(e.Members) != size {
			continue
		}
		sub := make([]int, len(e.Members))
		for j, m := range e.Members {
			d := m
			if !filepath.IsAbs(d) {
				d = filepath.Join(r.Dir, d)
			}
			k, ok := index[d]
			if !ok {
				k = len(dirs)
				index[d] = k
				dirs = append(dirs, d)
			}
			sub[j] = k
		}
		ref.subs, ref.rows = append(ref.subs, sub), append(ref.rows, e)
	}
	if len(ref.subs) == 0 {
		logrus.Warnf("study: ncl: stage 2 has no heterogeneous ensemble of %d members; finding 4 is left inconclusive", size)
		return nil, nil
	}
	members, err := ensemble.OpenPoolMembers(dirs)
	if err != nil {
		return nil, err
	}
	ci := slices.IndexFunc(ins, func(in ensemble.InputSlice) bool { return in.Slice.IsClean() })
	if ci < 0 {
		return nil, fmt.Errorf("the test set has no clean slice")
	}
	cache, err := runCache(r.Dir)
	if err != nil {
		return nil, err
	}
	outs, err := cache.Outputs(ctx, members, ins[ci:ci+1], r.Opts.Device, ensemble.OutputsOptions{Workers: r.Opts.Workers})
	if err != nil {
		return nil, err
	}
	maps, sz, err := memberAttributions(ctx, members, padded, method, r.Opts.Device, r.Opts.Workers)
	if err != nil {
		return nil, err
	}
	col := make([]*ensemble.Outputs, len(members))
	for m := range members {
		col[m] = outs[m][0]
	}
	ref.pairs, _ = cleanPairs(col, maps, sz)
	return ref, nil
}

// meanOver is the mean over the reference ensembles of their pair-mean of v
// with image multiplicities w.
func (ref *nclReference) meanOver(v [][]float64, w []int) float64 {
	if v == nil {
		return math.NaN()
	}
	// Each pair's image mean is computed once, then every ensemble averages
	// its pairs.
	pm := make([]float64, len(v))
	for p := range v {
		pm[p] = weightedImageMean(v[p], w)
	}
	var s float64
	n := 0
	for _, sub := range ref.subs {
		var es float64
		k := 0
		for a := range sub {
			for b := a + 1; b < len(sub); b++ {
				i, j := min(sub[a], sub[b]), max(sub[a], sub[b])
				if x := pm[ref.pairs.index(i, j)]; !math.IsNaN(x) {
					es += x
					k++
				}
			}
		}
		if k > 0 {
			s += es / float64(k)
			n++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return s / float64(n)
}

// rowMean is the mean over the reference ensembles of a value of their stage-2
// rows (get), NaN values left out, ensembles counted w[e] times (nil: once).
func (ref *nclReference) rowMean(get func(diversity.Ensemble) float64, w []int) float64 {
	v := make([]float64, len(ref.rows))
	for e, row := range ref.rows {
		v[e] = get(row)
	}
	return weightedImageMean(v, w)
}

func mapValue(m map[string]float64, k string) float64 {
	if v, ok := m[k]; ok {
		return v
	}
	return math.NaN()
}

// baselineSeeds reads the per-image outcomes of the baseline's seeds
// (RUN/seeds/<baseline>_s<seed>), those that stage 1 evaluated.
func baselineSeeds(r *Run) []*memberEval {
	var out []*memberEval
	for _, m := range r.Config.Models {
		if r.Baseline == "" || m.Name() != r.Baseline {
			continue
		}
		for _, s := range r.Config.SeedList() {
			if ev, err := readMemberEval(filepath.Join(r.Dir, "seeds", MemberName(m, s))); err == nil {
				out = append(out, ev)
			} else {
				logrus.Warnf("study: ncl: baseline seed %d: %v", s, err)
			}
		}
	}
	return out
}

// The components of a cell in the bootstrap statistic.
const (
	nclAccuracy = iota
	nclCleanError
	nclCorruptionAccuracy
	nclMCE
	nclRelativeMCE
	nclDisagreement
	nclKohaviWolpert
	nclAttribution
	nclComponents
)

// nclStatistics computes the table and findings 3 and 4 from one bootstrap over
// the n test images: in every resample, each cell's ensemble result from its
// per-image outcomes, the baseline's from its seeds' outcomes (the seeds
// resampled too, as in stage 1), CE, mCE and relative mCE against it, the
// diversities from the per-image pair values, and the differences the findings
// compare.
func nclStatistics(r *Run, evals []*nclCellEval, baseEvs []*memberEval, ref *nclReference, n int) (NCLTable, Finding, Finding) {
	cfg := r.Config
	table := NCLTable{TestImages: n, Resamples: cfg.bootstrap(), Level: confidence, Seed: cfg.Seed, Baseline: r.Baseline}
	var keys []sliceKey
	for _, s := range evals[0].eval.Outcomes.Slices {
		keys = append(keys, sliceKey{s.Corruption, s.Severity})
	}
	find := func(h string, lambda float64) int {
		return slices.IndexFunc(evals, func(e *nclCellEval) bool { return e.cell.Heuristic == h && e.cell.Lambda == lambda })
	}

	// Derived components: differences of two components (a − b).
	type diff struct{ a, b int }
	var diffs []diff
	var f3, f4 []Cell
	f3Primary, f4Primary := -1, -1
	add := func(cells *[]Cell, c Cell, a, b int) {
		diffs = append(diffs, diff{a, b})
		c.Source = nclSource
		*cells = append(*cells, c)
	}
	refBase := len(evals) * nclComponents // reference: disagreement, attribution
	const refDisagreement, refAttribution = 0, 1
	nComp := refBase + 2
	var heuristics []string
	for _, e := range evals {
		if !slices.Contains(heuristics, e.cell.Heuristic) {
			heuristics = append(heuristics, e.cell.Heuristic)
		}
	}
	for _, q := range []struct {
		comp     int
		quantity string
		below    bool
		what     string
	}{{nclCorruptionAccuracy, "corruption_accuracy_difference", false, "higher corruption accuracy"},
		{nclRelativeMCE, "relative_mce_difference", true, "lower relative mCE"}} {
		for _, h := range heuristics {
			half := find(h, 0.5)
			if half < 0 {
				continue
			}
			for _, other := range []float64{1, 0} {
				o := find(h, other)
				if o < 0 {
					continue
				}
				if q.comp == nclCorruptionAccuracy && h == ensemble.HeuristicNone && other == 1 {
					f3Primary = len(f3)
				}
				add(&f3, Cell{Name: fmt.Sprintf("λ=0.5 − λ=%g, heuristic %s", other, h), Quantity: q.quantity, N: n,
					Claim: Claim{Statement: fmt.Sprintf("λ = 0.5 gives %s than λ = %g (heuristic %s)", q.what, other, h), Threshold: 0, Below: q.below}},
					half*nclComponents+q.comp, o*nclComponents+q.comp)
			}
		}
	}
	var activationCells []int // finding 4's activation cells, bootstrapped over the stage-2 ensembles
	for _, h := range heuristics {
		half := find(h, 0.5)
		if half < 0 {
			continue
		}
		for _, k := range []struct {
			name, quantity string
			cell, ref      int
		}{{"prediction disagreement", "disagreement_difference (architecture-diverse − NCL; bootstrap over test images)", nclDisagreement, refDisagreement},
			{"attribution", "attribution_cosine_diversity_difference (architecture-diverse − NCL; bootstrap over test images)", nclAttribution, refAttribution},
			{"activation", "activation_diversity_difference (architecture-diverse − NCL; bootstrap over the stage-2 ensembles)", -1, -1}} {
			c := Cell{Name: fmt.Sprintf("%s: architecture-diverse − NCL λ=0.5, heuristic %s", k.name, h), Quantity: k.quantity, N: n,
				Claim: Claim{Statement: fmt.Sprintf("architecture-diverse ensembles have more %s diversity than NCL with heuristic %s", k.name, h),
					Threshold: 0}}
			if k.cell == nclDisagreement && h == ensemble.HeuristicPrediction {
				f4Primary = len(f4)
			}
			if k.cell < 0 {
				c.Source = nclSource
				activationCells = append(activationCells, len(f4))
				f4 = append(f4, c)
				continue
			}
			add(&f4, c, refBase+k.ref, half*nclComponents+k.cell)
		}
	}

	stat := func(w []int, rng *rand.Rand) []float64 {
		total := 0
		for _, c := range w {
			total += c
		}
		v := make([]float64, nComp, nComp+len(diffs))
		var baseRes *corrupt.Result
		if len(baseEvs) > 0 {
			picks := make([]int, len(baseEvs))
			for i := range picks {
				picks[i] = i
				if rng != nil {
					picks[i] = rng.IntN(len(baseEvs))
				}
			}
			baseRes = resultFrom(r.Baseline, baseEvs, picks, keys, w, total)
		}
		for c, e := range evals {
			res := resultFrom(e.eval.Name, []*memberEval{e.member}, []int{0}, keys, w, total)
			mce, rmce := math.NaN(), math.NaN()
			if baseRes != nil {
				_ = corrupt.ComputeCE(res, baseRes) // a partial benchmark leaves the means undefined
				mce, rmce = ptrValue(res.MCE), ptrValue(res.RelativeMCE)
			}
			o := v[c*nclComponents : (c+1)*nclComponents]
			o[nclAccuracy], o[nclCleanError], o[nclCorruptionAccuracy] = 1-res.CleanError, res.CleanError, res.CorruptionAccuracy
			o[nclMCE], o[nclRelativeMCE] = mce, rmce
			o[nclDisagreement] = e.eval.pairs.weightedMean(e.eval.pairs.disagree, nil, w)
			o[nclKohaviWolpert] = weightedImageMean(e.eval.kw, w)
			o[nclAttribution] = 1 - e.eval.pairs.weightedMean(e.eval.pairs.cosine, nil, w)
		}
		v[refBase+refDisagreement], v[refBase+refAttribution] = math.NaN(), math.NaN()
		if ref != nil {
			v[refBase+refDisagreement] = ref.meanOver(ref.pairs.disagree, w)
			v[refBase+refAttribution] = 1 - ref.meanOver(ref.pairs.cosine, w)
		}
		for _, d := range diffs {
			v = append(v, v[d.a]-v[d.b])
		}
		return v
	}
	ivs := Bootstrap(n, table.Resamples, confidence, cfg.Seed, stat)

	for c, e := range evals {
		o := ivs[c*nclComponents : (c+1)*nclComponents]
		row := NCLCellResult{Heuristic: e.cell.Heuristic, Lambda: e.cell.Lambda, Gamma: e.cell.Gamma, Members: e.members, Dir: e.dir,
			Metrics: map[string]Interval{"accuracy": o[nclAccuracy], "clean_error": o[nclCleanError],
				"corruption_accuracy": o[nclCorruptionAccuracy], "mce": o[nclMCE], "relative_mce": o[nclRelativeMCE]},
			Diversity: map[string]Interval{"disagreement": o[nclDisagreement], "kohavi_wolpert": o[nclKohaviWolpert],
				"attribution_cosine_diversity": o[nclAttribution], "linear_cka": pointInterval(e.eval.LinearCKA),
				"activation_diversity": pointInterval(1 - e.eval.LinearCKA)}}
		table.Cells = append(table.Cells, row)
	}
	di := 0
	for i := range f3 {
		f3[i].Estimate = ivs[nComp+di]
		di++
	}
	for i := range f4 {
		if slices.Contains(activationCells, i) {
			continue
		}
		f4[i].Estimate = ivs[nComp+di]
		di++
	}

	// Activation diversity: CKA does not split over images; its interval is over
	// the stage-2 ensembles, the NCL cell's value held fixed.
	actOf := func(e diversity.Ensemble) float64 { return 1 - mapValue(e.Diversity, "linear_cka") }
	var refAct Interval
	if ref != nil {
		act := Bootstrap(len(ref.rows), table.Resamples, confidence, cfg.Seed,
			func(w []int, _ *rand.Rand) []float64 { return []float64{ref.rowMean(actOf, w)} })
		refAct = act[0]
		if len(ref.rows) < 2 {
			// One ensemble says nothing of the spread over ensembles.
			refAct.Low, refAct.High = math.NaN(), math.NaN()
		}
		k := 0
		for _, h := range heuristics {
			half := find(h, 0.5)
			if half < 0 {
				continue
			}
			cellAct := 1 - evals[half].eval.LinearCKA
			i := activationCells[k]
			f4[i].N = len(ref.rows)
			f4[i].Estimate = Interval{Value: refAct.Value - cellAct, Low: refAct.Low - cellAct, High: refAct.High - cellAct}
			k++
		}
		table.Reference = &NCLReference{Size: ref.size, Ensembles: len(ref.rows), Metrics: map[string]*float64{},
			Diversity: map[string]Interval{"disagreement": ivs[refBase+refDisagreement],
				"attribution_cosine_diversity": ivs[refBase+refAttribution], "activation_diversity": refAct,
				"linear_cka": {Value: 1 - refAct.Value, Low: 1 - refAct.High, High: 1 - refAct.Low}}}
		for _, k := range []string{"accuracy", "corruption_accuracy", "mce", "relative_mce"} {
			table.Reference.Metrics[k] = finite(ref.rowMean(func(e diversity.Ensemble) float64 { return mapValue(e.Metrics, k) }, nil))
		}
	} else {
		nan := Interval{Value: math.NaN(), Low: math.NaN(), High: math.NaN()}
		for _, i := range activationCells {
			f4[i].Estimate = nan
		}
	}

	if f3Primary < 0 {
		logrus.Warnf("study: ncl: finding 3 has no primary cell: the sweep lacks λ = 0.5 or λ = 1 for heuristic none")
	}
	if f4Primary < 0 {
		logrus.Warnf("study: ncl: finding 4 has no primary cell: the sweep lacks heuristic prediction at λ = 0.5")
	}
	f3f := Finding{Number: 3, Stage: 4, Title: "balanced loss",
		Statement: "a balanced loss (λ = 0.5) makes ensembles more resilient than independent training (λ = 1) and than the pure ensemble loss (λ = 0)",
		Primary:   f3Primary, Cells: f3}
	f4f := Finding{Number: 4, Stage: 4, Title: "NCL diversity versus architectures",
		Statement: "NCL heuristics buy less diversity than different architectures bring",
		Primary:   f4Primary, Cells: f4}
	return table, f3f, f4f
}

// pointInterval is a value without an interval.
func pointInterval(v float64) Interval { return Interval{Value: v, Low: math.NaN(), High: math.NaN()} }

// writeNCLResults writes RUN/ncl/ncl.json and ncl.csv atomically.
func writeNCLResults(out string, t NCLTable) error {
	b, err := json.MarshalIndent(t, "", " ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(out, nclTable+".json"), append(b, '\n')); err != nil {
		return err
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	head := []string{"heuristic", "lambda", "gamma", "members", "dir"}
	for _, k := range append(slices.Clone(nclMetricKeys), nclDiversityKeys...) {
		head = append(head, k, k+"_low", k+"_high")
	}
	w.Write(head)
	f := func(v float64) string {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return ""
		}
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	for _, c := range t.Cells {
		rec := []string{c.Heuristic, f(c.Lambda), f(c.Gamma), strings.Join(c.Members, "+"), c.Dir}
		for _, k := range nclMetricKeys {
			iv := c.Metrics[k]
			rec = append(rec, f(iv.Value), f(iv.Low), f(iv.High))
		}
		for _, k := range nclDiversityKeys {
			iv := c.Diversity[k]
			rec = append(rec, f(iv.Value), f(iv.Low), f(iv.High))
		}
		w.Write(rec)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(out, nclTable+".csv"), buf.Bytes())
}

// nclPlotRows are the rows of the NCL figures: every cell, and the mean of the
// architecture-diverse ensembles as a reference.
func nclPlotRows(evals []*nclCellEval, ref *nclReference) []plots.NCLRow {
	var rows []plots.NCLRow
	for _, e := range evals {
		row := e.eval.Row()
		row.Kind, row.Heuristic, row.Lambda, row.Gamma, row.Dir = "ncl", e.cell.Heuristic, e.cell.Lambda, e.cell.Gamma, e.dir
		rows = append(rows, row)
	}
	if ref == nil {
		return rows
	}
	ptr := func(v float64) *float64 {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil
		}
		return &v
	}
	mean := func(k string) float64 {
		return ref.rowMean(func(e diversity.Ensemble) float64 { return mapValue(e.Metrics, k) }, nil)
	}
	div := func(k string) float64 {
		return ref.rowMean(func(e diversity.Ensemble) float64 { return mapValue(e.Diversity, k) }, nil)
	}
	rows = append(rows, plots.NCLRow{Kind: "reference", Heuristic: "independent", Lambda: 1,
		Members:    fmt.Sprintf("architecture-diverse, mean of %d ensembles of %d", len(ref.rows), ref.size),
		CleanError: 1 - mean("accuracy"), CorruptionError: 1 - mean("corruption_accuracy"), MCE: ptr(mean("mce")),
		RelativeMCE: ptr(mean("relative_mce")), PredictionDiversity: ptr(div("disagreement")),
		ActivationDiversity: ptr(1 - div("linear_cka")), AttributionDiversity: ptr(div("attribution_cosine_diversity"))})
	return rows
}
