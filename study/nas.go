package study

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"image/color"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/sirupsen/logrus"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/divres/divres/attrib"
	"github.com/divres/divres/corrupt"
	"github.com/divres/divres/diversity"
	"github.com/divres/divres/ensemble"
	"github.com/divres/divres/internal/atomicfile"
	"github.com/divres/divres/internal/progress"
	"github.com/divres/divres/nas"
	"github.com/divres/divres/plots"
)

// NASRecipe is the recipe of stage 3 (NAS ensembles): a short progressive
// shrinking of the super-network made from the study's trained baseline
// ResNet50, a small NSGA-II search of its sub-networks (validation error against
// MACs), and K-member ensembles of Pareto sub-networks chosen by accuracy, by
// prediction diversity and by attribution diversity. The zero value, and a
// Config without one, mean the defaults of Resolved.
type NASRecipe struct {
	// DepthEpochs and WidthEpochs are the epochs of the two phases of
	// progressive shrinking (elastic depth, then depth and width; default 1 and
	// 1), at the peak learning rates DepthLR (0.005) and WidthLR (0.002): low, so
	// that the short run keeps the accuracy of the full network.
	DepthEpochs int     `json:"depth_epochs,omitempty"`
	WidthEpochs int     `json:"width_epochs,omitempty"`
	DepthLR     float64 `json:"depth_lr,omitempty"`
	WidthLR     float64 `json:"width_lr,omitempty"`
	// Divisor rounds the inner widths of narrowed blocks (default 8, the
	// search space's).
	Divisor int `json:"divisor,omitempty"`
	// Batch of training and evaluation (default 64).
	Batch int `json:"batch,omitempty"`
	// ValFraction of the study's training images is held out as the validation
	// set of the search and the selection (default 0.1); ValLimit caps it
	// (default 128).
	ValFraction float64 `json:"val_fraction,omitempty"`
	ValLimit    int     `json:"val_limit,omitempty"`
	// CalibImages training images recalibrate BatchNorm before a sub-network is
	// evaluated (default 128).
	CalibImages int `json:"calib_images,omitempty"`
	// Population (default 12) and Generations (default 4) of NSGA-II.
	Population  int `json:"population,omitempty"`
	Generations int `json:"generations,omitempty"`
	// K members per ensemble (default 3).
	K int `json:"k,omitempty"`
	// Margin: a member's validation accuracy must reach the best sub-network's
	// minus Margin (default 0.1). The members are chosen on the Pareto front,
	// widened by the next non-dominated fronts until PoolSize sub-networks
	// (default 2K) reach that floor; when fewer than K do, the floor is lowered
	// to the K-th best accuracy.
	Margin   float64 `json:"margin,omitempty"`
	PoolSize int     `json:"pool_size,omitempty"`
	// AttribImages held-out images whose saliency maps the attribution selection
	// compares (default 64).
	AttribImages int `json:"attrib_images,omitempty"`
	// Attribution is the attribution method of the ensembles' attribution
	// diversity on the test set (default saliency).
	Attribution string `json:"attribution,omitempty"`
}

// Resolved fills the defaults of the recipe.
func (n NASRecipe) Resolved(Config) NASRecipe {
	def := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	deff := func(p *float64, v float64) {
		if *p == 0 {
			*p = v
		}
	}
	def(&n.DepthEpochs, 1)
	def(&n.WidthEpochs, 1)
	deff(&n.DepthLR, 0.005)
	deff(&n.WidthLR, 0.002)
	def(&n.Divisor, nas.ResNet50Space().Divisor)
	def(&n.Batch, 64)
	deff(&n.ValFraction, 0.1)
	def(&n.ValLimit, 128)
	def(&n.CalibImages, 128)
	def(&n.Population, 12)
	def(&n.Generations, 4)
	def(&n.K, 3)
	deff(&n.Margin, 0.1)
	def(&n.PoolSize, 2*n.K)
	def(&n.AttribImages, 64)
	if n.Attribution == "" {
		n.Attribution = string(attrib.Saliency)
	}
	return n
}

func (c Config) nasRecipe() NASRecipe { return resolve(c.NAS, c) }

// The files of stage 3 under RUN/nas, and its figures.
const (
	nasDir           = "nas"
	nasTable         = "nas"
	nasCells         = "cells.json"
	nasInputsFile    = "inputs.json"
	figNASPareto     = "nas_pareto"
	figNASResilience = "nas_resilience"
)

// nasMethods are the selection methods of stage 3, the first the reference the
// others are compared with.
var nasMethods = []string{nas.ByAccuracy, nas.ByDiversity, nas.ByAttribution}

// nasStage is stage 3: ensembles of sub-networks of a super-network made from
// the study's baseline ResNet50.
func nasStage() Stage {
	var outs []string
	for _, f := range []string{nasTable + ".json", nasTable + ".csv", nasCells} {
		outs = append(outs, filepath.Join(nasDir, f))
	}
	outs = append(outs, filepath.Join(findingsDir, "finding2-s3.json"))
	for _, f := range []string{figNASPareto, figNASResilience} {
		outs = append(outs, filepath.Join("figures", f+".png"), filepath.Join("figures", f+".svg"))
	}
	return Stage{
		Number: 3, Name: "nas", Inputs: []int{1}, Outputs: outs,
		Recipe: func(c Config) any {
			return struct {
				Config
				Recipe NASRecipe `json:"nas_recipe"`
			}{c.base(), c.nasRecipe()}
		},
		Run: runNAS,
	}
}

// NASMember is a member of a NAS ensemble: a sub-network of the search, extracted
// as a standalone model run.
type NASMember struct {
	Key string `json:"key"`
	// Dir is the extracted run, relative to the run directory.
	Dir      string  `json:"dir"`
	ValError float64 `json:"val_error"`
	MACs     int64   `json:"macs"`
	// Rank is the sub-network's non-dominated rank among the evaluated ones (0:
	// the Pareto front).
	Rank int `json:"rank"`
}

// NASEnsemble is one NAS ensemble of RUN/nas/nas.json: how it was chosen, its
// members, and its evaluation on the study's clean and corrupted test set (mean
// of softmax). Accuracies are fractions, mCE and relative mCE fractions of the
// baseline's; the intervals are 95 % percentile bootstrap intervals over the
// test images.
type NASEnsemble struct {
	Method  string      `json:"method"`
	Name    string      `json:"name"`
	Members []NASMember `json:"members"`
	// SelectionDiversity is the members' mean pairwise value of the selection
	// measure on the validation images (prediction disagreement, or 1 − cosine of
	// saliency maps); ValError the ensemble's validation error.
	SelectionDiversity float64  `json:"selection_diversity"`
	ValError           float64  `json:"val_error"`
	CleanAccuracy      Interval `json:"clean_accuracy"`
	CorruptionAccuracy Interval `json:"corruption_accuracy"`
	MCE                Interval `json:"mce"`
	RelativeMCE        Interval `json:"relative_mce"`
	// Metrics are the ensemble's targets as stage 2 reports them
	// (ensemble.TableMetrics); Diversity its prediction, activation and
	// attribution diversity on the clean test images.
	Metrics   map[string]nullable `json:"metrics"`
	Diversity map[string]nullable `json:"diversity"`
}

// NASResult is RUN/nas/nas.json.
type NASResult struct {
	Recipe NASRecipe `json:"recipe"`
	// Supernet and Search are directories relative to the run directory; Base the
	// trained ResNet50 run the super-network started from.
	Base     string `json:"base"`
	Supernet string `json:"supernet"`
	Search   string `json:"search"`
	// The members were chosen among the PoolSize sub-networks of the first
	// PoolFronts non-dominated fronts (1: the Pareto front alone) whose
	// validation accuracy reaches Floor (see NASRecipe.PoolSize).
	PoolFronts  int     `json:"pool_fronts"`
	PoolSize    int     `json:"pool_size"`
	Floor       float64 `json:"floor"`
	Candidates  int     `json:"candidates"`
	ParetoSize  int     `json:"pareto_size"`
	FullMACs    int64   `json:"full_macs"`
	FullError   float64 `json:"full_val_error"`
	Hypervolume float64 `json:"hypervolume"`
	// MaxError and MinError are the validation errors of the largest and the
	// smallest sub-network after progressive shrinking.
	MaxError   float64 `json:"supernet_max_val_error"`
	MinError   float64 `json:"supernet_min_val_error"`
	TestImages int     `json:"test_images"`
	Resamples  int     `json:"resamples"`
	Level      float64 `json:"level"`
	Seed       uint64  `json:"seed"`
	Baseline   string  `json:"baseline,omitempty"`
	// Ensembles in the order of the methods: accuracy, diversity, attribution.
	Ensembles []NASEnsemble `json:"ensembles"`
	// diffs are the paired bootstrap intervals of the corruption accuracy of
	// Ensembles[1:] minus Ensembles[0] (the cells).
	diffs []Interval
}

// nasInputs is RUN/nas/inputs.json: what the super-network was trained from. When
// it changes, the super-network, the search and the selections are redone.
type nasInputs struct {
	PS       nas.PSConfig `json:"ps"`
	BaseHash string       `json:"base_sha256"`
}

func runNAS(ctx context.Context, r *Run) error {
	cfg := r.Config
	rec := cfg.nasRecipe()
	method, err := attrib.ParseMethod(rec.Attribution)
	if err != nil {
		return fmt.Errorf("study: nas: %w", err)
	}
	out := filepath.Join(r.Dir, nasDir)
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	// The super-network starts from the baseline when it is a ResNet50, else from
	// the first ResNet50 of the study.
	var bm *Model
	for i, m := range cfg.Models {
		if m.Arch == "resnet50" && (bm == nil || m.Name() == baselineName(cfg)) {
			bm = &cfg.Models[i]
		}
	}
	if bm == nil {
		return errors.New("study: nas: the super-network needs a resnet50 among the models")
	}
	baseDir := filepath.Join(r.Dir, "train", MemberName(*bm, cfg.SeedList()[0]))
	dev, workers := r.Opts.Device.String(), r.Opts.Workers

	// 1. The super-network, by progressive shrinking from the trained ResNet50.
	space := nas.ResNet50Space()
	space.Divisor = rec.Divisor
	psc := nas.PSConfig{Base: baseDir, Data: cfg.Data, PerClass: cfg.PerClass, ValFraction: rec.ValFraction, ValLimit: rec.ValLimit,
		Space: space, Stages: []nas.Stage{{Name: "depth", Depth: true, Epochs: rec.DepthEpochs, LR: rec.DepthLR},
			{Name: "width", Depth: true, Width: true, Epochs: rec.WidthEpochs, LR: rec.WidthLR}},
		Batch: rec.Batch, CalibImages: rec.CalibImages, Seed: cfg.Seed, Device: dev, Workers: workers}
	supDir, searchDir := filepath.Join(out, "supernet"), filepath.Join(out, "search")
	methodDirs := map[string]string{}
	for _, m := range nasMethods {
		methodDirs[m] = filepath.Join(out, m)
	}
	if err := nasCheckInputs(out, psc, baseDir, append([]string{supDir, searchDir}, mapValues(methodDirs)...)); err != nil {
		return fmt.Errorf("study: nas: %w", err)
	}
	done := step("nas: progressive shrinking")
	hist, err := nas.Train(ctx, psc, supDir, nas.TrainOptions{Resume: true})
	done()
	if err != nil {
		return fmt.Errorf("study: nas: %w", err)
	}

	// 2. NSGA-II over the sub-networks: validation error against MACs.
	sc := nas.SearchConfig{Population: rec.Population, Generations: rec.Generations, Seed: int64(cfg.Seed),
		CalibImages: rec.CalibImages, ValLimit: rec.ValLimit, Batch: rec.Batch, Workers: workers, Device: dev}
	sr, err := nas.ReadSearch(searchDir)
	if err != nil || !sameJSON(sr.Config, sc.WithDefaults()) {
		done = step("nas: search")
		sr, err = nas.Search(ctx, supDir, sc, searchDir, nil)
		done()
		if err != nil {
			return fmt.Errorf("study: nas: %w", err)
		}
	} else {
		logrus.Infof("study: nas: search of %d sub-networks already done", len(sr.Candidates))
	}

	// 3. The ensembles: K members by accuracy, prediction and attribution
	// diversity.
	pool, rank, fronts, floor, err := nasPool(sr, rec)
	if err != nil {
		return fmt.Errorf("study: nas: %w", err)
	}
	within := *sr
	within.Pareto = pool
	sels := map[string]*nas.Selection{}
	for _, m := range nasMethods {
		ec := nas.EnsembleConfig{K: rec.K, Method: m, Metric: "disagreement", Floor: floor,
			AttribImages: rec.AttribImages, CalibImages: rec.CalibImages, Batch: rec.Batch, Workers: workers, Device: dev}
		if sel, ok := readSelection(methodDirs[m], ec); ok {
			logrus.Infof("study: nas: %s ensemble already chosen", m)
			sels[m] = sel
			continue
		}
		done = step("nas: choose the ensemble by " + m)
		sel, err := nas.SelectEnsemble(ctx, supDir, &within, ec, methodDirs[m])
		done()
		if err != nil {
			return fmt.Errorf("study: nas: %w", err)
		}
		sels[m] = sel
	}

	// 4. Evaluate the ensembles on the study's test set like stage 2.
	res := &NASResult{Recipe: rec, PoolFronts: fronts, PoolSize: len(pool), Floor: floor, Candidates: len(sr.Candidates),
		ParetoSize: len(sr.Pareto), FullMACs: sr.FullMACs, FullError: sr.FullError, Hypervolume: sr.Hypervolume,
		Resamples: cfg.bootstrap(), Level: confidence, Seed: cfg.Seed}
	res.Base, res.Supernet, res.Search = relTo(r.Dir, baseDir), relTo(r.Dir, supDir), relTo(r.Dir, searchDir)
	if len(hist) > 0 {
		res.MaxError, res.MinError = hist[len(hist)-1].MaxError, hist[len(hist)-1].MinError
	}
	if err := evaluateNAS(ctx, r, res, sels, rank, methodDirs, method); err != nil {
		return fmt.Errorf("study: nas: %w", err)
	}
	cells := nasCellsOf(res)
	if err := writeNAS(out, res, cells); err != nil {
		return err
	}
	// The cells join finding 2 (stated by stage 2).
	if err := writeFinding(r.Dir, r.Config, Finding{Number: 2, Stage: 3, Primary: -1, Cells: cells}); err != nil {
		return err
	}

	// 5. Figures.
	figs := filepath.Join(r.Dir, "figures")
	if err := os.MkdirAll(figs, 0o755); err != nil {
		return err
	}
	pts, err := plots.ReadParetoPoints(searchDir)
	if err != nil {
		return fmt.Errorf("study: nas: %w", err)
	}
	for _, ext := range []string{".png", ".svg"} {
		if err := plots.ParetoFront(pts, "", filepath.Join(figs, figNASPareto+ext)); err != nil {
			return fmt.Errorf("study: nas: figure: %w", err)
		}
		if err := nasResilienceFigure(res, filepath.Join(figs, figNASResilience+ext)); err != nil {
			return fmt.Errorf("study: nas: figure: %w", err)
		}
	}
	for _, e := range res.Ensembles {
		logrus.Infof("study: nas: %s ensemble: clean accuracy %s, corruption accuracy %s, relative mCE %s", e.Method,
			e.CleanAccuracy.Format(100, 1), e.CorruptionAccuracy.Format(100, 1), e.RelativeMCE.Format(100, 1))
	}
	return nil
}

// nasCheckInputs compares what the super-network is trained from with
// RUN/nas/inputs.json and, when it changed, removes the stale directories, then
// records the current inputs.
func nasCheckInputs(out string, psc nas.PSConfig, baseDir string, stale []string) error {
	ms, err := ensemble.OpenPoolMembers([]string{baseDir})
	if err != nil {
		return err
	}
	rec := psc.WithDefaults()
	rec.Device, rec.Workers, rec.Threads = "", 0, 0
	cur := nasInputs{PS: rec, BaseHash: ms[0].Hash}
	path := filepath.Join(out, nasInputsFile)
	if b, err := os.ReadFile(path); err == nil {
		var prev nasInputs
		if json.Unmarshal(b, &prev) == nil && sameJSON(prev, cur) {
			return nil
		}
		logrus.Infof("study: nas: the base model or the recipe changed; the super-network, search and ensembles are redone")
	}
	for _, d := range stale {
		if err := os.RemoveAll(d); err != nil {
			return err
		}
	}
	js, err := json.MarshalIndent(cur, "", " ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(path, append(js, '\n'))
}

// nasPool returns the sub-networks the members are chosen from, with their
// non-dominated rank (0: the Pareto front) and the accuracy floor. The pool is
// the first non-dominated fronts of every evaluated sub-network (the Pareto
// front, then the front of the rest, ...) until PoolSize of them reach the
// floor, the best validation accuracy minus Margin; the floor is lowered to the
// K-th best accuracy of the pool when fewer reach it.
func nasPool(sr *nas.SearchResult, rec NASRecipe) ([]nas.Candidate, map[string]int, int, float64, error) {
	cs := sr.Candidates
	if len(cs) < rec.K {
		return nil, nil, 0, 0, fmt.Errorf("the search evaluated %d sub-networks, fewer than the %d members asked", len(cs), rec.K)
	}
	objs := make([][]float64, len(cs))
	best := math.Inf(1)
	for i, c := range cs {
		objs[i] = []float64{c.Error, float64(c.MACs)}
		best = min(best, c.Error)
	}
	floor := 1 - best - rec.Margin
	var pool []nas.Candidate
	rank := map[string]int{}
	fronts, eligible := 0, 0
	for r, f := range nas.NonDominatedSort(objs) {
		fronts = r + 1
		for _, i := range f {
			pool = append(pool, cs[i])
			rank[cs[i].Key] = r
			if 1-cs[i].Error >= floor {
				eligible++
			}
		}
		if eligible >= rec.PoolSize {
			break
		}
	}
	errs := make([]float64, len(pool))
	for i, c := range pool {
		errs[i] = c.Error
	}
	slices.Sort(errs)
	floor = min(floor, 1-errs[rec.K-1])
	// A floor of 0 would mean nas's default; anything at or below it admits every
	// sub-network with some accuracy.
	return pool, rank, fronts, max(floor, 1e-9), nil
}

// readSelection reads a previous selection of the same configuration whose
// members are all extracted.
func readSelection(dir string, ec nas.EnsembleConfig) (*nas.Selection, bool) {
	b, err := os.ReadFile(filepath.Join(dir, nas.SelectionFile))
	if err != nil {
		return nil, false
	}
	var sel nas.Selection
	if json.Unmarshal(b, &sel) != nil || !sameJSON(sel.Config, ec) || len(sel.Members) != ec.K {
		return nil, false
	}
	for _, m := range sel.Members {
		if _, err := os.Stat(filepath.Join(dir, "members", m.Key, ensemble.ModelFile)); err != nil {
			return nil, false
		}
	}
	return &sel, true
}

func sameJSON(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(ja, jb)
}

func mapValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}

func relTo(dir, path string) string {
	if rel, err := filepath.Rel(dir, path); err == nil {
		return rel
	}
	return path
}

// evaluateNAS scores the ensembles of sels on the study's clean and corrupted
// test set from cached member outputs and fills res: targets, diversity, and the
// bootstrap intervals over the test images.
func evaluateNAS(ctx context.Context, r *Run, res *NASResult, sels map[string]*nas.Selection, rank map[string]int,
	dirs map[string]string, method attrib.Method) error {
	// The pool: every distinct member of the three ensembles.
	var poolDirs, keys []string
	var subs [][]int
	for _, m := range nasMethods {
		var sub []int
		for _, c := range sels[m].Members {
			i := slices.Index(keys, c.Key)
			if i < 0 {
				i = len(keys)
				keys = append(keys, c.Key)
				poolDirs = append(poolDirs, filepath.Join(dirs[m], "members", c.Key))
			}
			sub = append(sub, i)
		}
		slices.Sort(sub)
		subs = append(subs, sub)
	}
	members, err := ensemble.OpenPoolMembers(poolDirs)
	if err != nil {
		return err
	}
	padded, set, source, err := studyTestSet(ctx, r)
	if err != nil {
		return err
	}
	res.TestImages = padded.Len()
	done := step(fmt.Sprintf("nas: outputs of %d sub-networks", len(members)))
	ins, err := ensemble.EvalSlices(padded, set, nil, nil, padded.Len())
	if err != nil {
		return err
	}
	cache, err := runCache(r.Dir)
	if err != nil {
		return err
	}
	prog := progress.New("outputs", "slices", 0, progress.Options{})
	outs, err := cache.Outputs(ctx, members, ins, r.Opts.Device, ensemble.OutputsOptions{Features: true, Workers: r.Opts.Workers,
		Progress: prog.Update})
	prog.Finish()
	done()
	if err != nil {
		return err
	}
	pool := &ensemble.Pool{Members: members, Outputs: outs}
	for _, in := range ins {
		pool.Slices = append(pool.Slices, in.Slice)
	}
	if r.Baseline == "" {
		r.Baseline = baselineName(r.Config)
	}
	var base *corrupt.Result
	if r.Baseline != "" {
		if base, err = corrupt.ReadResult(filepath.Join(r.Dir, "eval", r.Baseline, "eval.json")); err != nil {
			logrus.Warnf("study: nas: no baseline result (%v); mCE and relative mCE are left out", err)
			base = nil
		} else {
			res.Baseline = r.Baseline
		}
	}
	var dopt diversity.Options
	for _, n := range diversity.Names() {
		if !strings.HasPrefix(n, "attribution_") {
			dopt.Metrics = append(dopt.Metrics, n)
		}
	}
	scored, err := ensemble.ScoreEnsembles(pool, subs, ensemble.ScoreOptions{Combine: ensemble.CombineMean, Baseline: base,
		Diversity: &dopt, Dataset: r.Config.Data, Corruptions: source, Workers: r.Opts.Workers})
	if err != nil {
		return err
	}
	done = step("nas: attribution maps")
	maps, size, err := memberAttributions(ctx, members, padded, method, r.Opts.Device, r.Opts.Workers)
	done()
	if err != nil {
		return err
	}
	clean := slices.Index(pool.Slices, ensemble.CleanSlice)
	if clean < 0 {
		return errors.New("the pool has no clean slice")
	}

	// Per-image outcomes of each ensemble on every slice, for the bootstrap.
	comb, err := ensemble.NewCombiner(ensemble.CombineMean, nil, 0)
	if err != nil {
		return err
	}
	evs := make([]*memberEval, len(subs))
	var sliceKeys []sliceKey
	for _, s := range pool.Slices {
		sliceKeys = append(sliceKeys, sliceKey{s.Corruption, s.Severity})
	}
	for e, sub := range subs {
		o := &Outcomes{N: padded.Len()}
		col := make([]*ensemble.Outputs, len(sub))
		for s, sl := range pool.Slices {
			for j, m := range sub {
				col[j] = pool.Outputs[m][s]
			}
			pred, _, err := comb.Combine(col)
			if err != nil {
				return err
			}
			var b strings.Builder
			for i, p := range pred {
				b.WriteByte("01"[boolInt(int64(p) != col[0].Labels[i])])
			}
			o.Slices = append(o.Slices, SliceOutcome{Corruption: sl.Corruption, Severity: sl.Severity, Wrong: b.String()})
		}
		evs[e] = &memberEval{Outcomes: o}
	}
	baseEvs := nasBaselineEvals(r, sliceKeys, padded.Len())
	ivs := nasBootstrap(r.Config, evs, baseEvs, sliceKeys, padded.Len())

	for e, m := range nasMethods {
		sel, sc := sels[m], scored[e]
		ne := NASEnsemble{Method: m, Name: fmt.Sprintf("nas_%s_k%d", m, len(sel.Members)), SelectionDiversity: sel.Diversity,
			ValError: sel.ValError, Metrics: map[string]nullable{}, Diversity: map[string]nullable{}}
		for _, c := range sel.Members {
			ne.Members = append(ne.Members, NASMember{Key: c.Key, Dir: relTo(r.Dir, filepath.Join(dirs[m], "members", c.Key)),
				ValError: c.Error, MACs: c.MACs, Rank: rank[c.Key]})
		}
		ne.CleanAccuracy, ne.CorruptionAccuracy, ne.MCE, ne.RelativeMCE = ivs[4*e], ivs[4*e+1], ivs[4*e+2], ivs[4*e+3]
		for k, v := range ensemble.TableMetrics(sc.Result) {
			if strings.Count(k, "/") <= 1 {
				ne.Metrics[k] = nullable(v)
			}
		}
		col := make([]*ensemble.Outputs, len(sc.Members))
		var a []float32
		for j, mi := range sc.Members {
			col[j] = pool.Outputs[mi][clean]
			a = append(a, maps[mi]...)
		}
		in := ensemble.DiversityInputs(col)
		in.Features, in.D = nil, 0
		in.Attributions, in.AttrSize = a, size
		ar, err := diversity.Compute(in, diversity.Options{Metrics: []string{"attribution_cosine", "attribution_spearman"}})
		if err != nil {
			return fmt.Errorf("attribution diversity of the %s ensemble: %w", m, err)
		}
		for _, rep := range []*diversity.Report{sc.Diversity, ar} {
			if rep == nil {
				continue
			}
			for _, k := range rep.Keys() {
				if v, ok := rep.Float(k); ok && !strings.HasSuffix(k, "_threshold") {
					ne.Diversity[k] = nullable(v)
				}
			}
		}
		res.Ensembles = append(res.Ensembles, ne)
	}
	res.diffs = ivs[4*len(subs):]
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// nasBaselineEvals reads the baseline's per-image outcomes of every seed (nil
// when some seed or slice is missing: the relative intervals are then left
// undefined).
func nasBaselineEvals(r *Run, keys []sliceKey, n int) []*memberEval {
	var bm *Model
	for i, m := range r.Config.Models {
		if m.Name() == r.Baseline {
			bm = &r.Config.Models[i]
		}
	}
	if bm == nil {
		return nil
	}
	var evs []*memberEval
	for _, seed := range r.Config.SeedList() {
		ev, err := readMemberEval(filepath.Join(r.Dir, "seeds", MemberName(*bm, seed)))
		if err != nil || ev.Outcomes.N != n {
			logrus.Warnf("study: nas: no per-image outcomes of the baseline %s (seed %d): mCE intervals are left out", r.Baseline, seed)
			return nil
		}
		for _, k := range keys {
			if ev.wrongOn(k) == nil {
				logrus.Warnf("study: nas: the baseline's outcomes lack %s/%d: mCE intervals are left out", k.corruption, k.severity)
				return nil
			}
		}
		evs = append(evs, ev)
	}
	return evs
}

// nasBootstrap resamples the test images: for each ensemble its clean accuracy,
// corruption accuracy, mCE and relative mCE (against the baseline, the mean of
// its seeds on the same resample), then the paired differences of corruption
// accuracy of every other ensemble minus the first.
func nasBootstrap(cfg Config, evs, baseEvs []*memberEval, keys []sliceKey, n int) []Interval {
	allSeeds := make([]int, len(baseEvs))
	for i := range allSeeds {
		allSeeds[i] = i
	}
	stat := func(w []int, _ *rand.Rand) []float64 {
		total := 0
		for _, c := range w {
			total += c
		}
		var base *corrupt.Result
		if len(baseEvs) > 0 {
			base = resultFrom("baseline", baseEvs, allSeeds, keys, w, total)
		}
		var out, corr []float64
		for _, ev := range evs {
			r := resultFrom("ensemble", []*memberEval{ev}, []int{0}, keys, w, total)
			if base != nil {
				_ = corrupt.ComputeCE(r, base) // a partial benchmark leaves mCE undefined
			}
			out = append(out, 1-r.CleanError, r.CorruptionAccuracy, ptrValue(r.MCE), ptrValue(r.RelativeMCE))
			corr = append(corr, r.CorruptionAccuracy)
		}
		for _, c := range corr[1:] {
			out = append(out, c-corr[0])
		}
		return out
	}
	return Bootstrap(n, cfg.bootstrap(), confidence, cfg.Seed, stat)
}

// nasCellsOf are the cells stage 3 adds to finding 2: the corruption accuracy of
// the diversity-chosen and of the attribution-chosen ensemble minus that of the
// accuracy-chosen one.
func nasCellsOf(res *NASResult) []Cell {
	var cells []Cell
	for i, e := range res.Ensembles[1:] {
		c := Cell{Name: fmt.Sprintf("NAS ensemble by %s − by %s", e.Method, res.Ensembles[0].Method),
			Quantity: "corruption_accuracy_difference", N: res.TestImages, Estimate: res.diffs[i],
			Claim: Claim{Statement: fmt.Sprintf("the NAS ensemble chosen by %s is more accurate under corruption than the one chosen by accuracy", e.Method),
				Threshold: 0, Below: false},
			Source: filepath.Join(nasDir, nasTable+".json")}
		cells = append(cells, judgeCell(c))
	}
	return cells
}

// writeNAS writes RUN/nas/nas.json, nas.csv and cells.json.
func writeNAS(out string, res *NASResult, cells []Cell) error {
	b, err := json.MarshalIndent(res, "", " ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(out, nasTable+".json"), append(b, '\n')); err != nil {
		return err
	}
	if b, err = json.MarshalIndent(cells, "", " "); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(out, nasCells), append(b, '\n')); err != nil {
		return err
	}
	dk := map[string]bool{}
	for _, e := range res.Ensembles {
		for k := range e.Diversity {
			dk[k] = true
		}
	}
	dks := sortedKeys(dk)
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	head := []string{"method", "name", "members", "val_error"}
	for _, f := range []string{"clean_accuracy", "corruption_accuracy", "mce", "relative_mce"} {
		head = append(head, f, f+"_low", f+"_high")
	}
	_ = w.Write(append(head, dks...))
	num := func(v float64) string {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return ""
		}
		return strconv.FormatFloat(v, 'g', 10, 64)
	}
	for _, e := range res.Ensembles {
		keys := make([]string, len(e.Members))
		for i, m := range e.Members {
			keys[i] = m.Key
		}
		row := []string{e.Method, e.Name, strings.Join(keys, "+"), num(e.ValError)}
		for _, iv := range []Interval{e.CleanAccuracy, e.CorruptionAccuracy, e.MCE, e.RelativeMCE} {
			row = append(row, num(iv.Value), num(iv.Low), num(iv.High))
		}
		for _, k := range dks {
			row = append(row, csvNum(e.Diversity, k))
		}
		_ = w.Write(row)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(out, nasTable+".csv"), buf.Bytes())
}

// errPoints are points with vertical error bars.
type errPoints struct {
	plotter.XYs
	plotter.YErrors
}

// nasResilienceFigure draws the three ensembles' clean and corruption accuracy
// and, beside them, their relative mCE, each with its bootstrap interval.
func nasResilienceFigure(res *NASResult, path string) error {
	var names []string
	for _, e := range res.Ensembles {
		names = append(names, "by "+e.Method)
	}
	panel := func(title, ylabel string, series []string, ref float64, get func(NASEnsemble, int) Interval) (*plot.Plot, bool, error) {
		p := plot.New()
		p.Title.Text, p.Y.Label.Text = title, ylabel
		p.NominalX(names...)
		p.Add(plotter.NewGrid())
		// Intervals reaching far beyond the estimates (relative mCE, whose
		// denominator can nearly vanish in a resample) are clipped to a window
		// around them.
		vmin, vmax := math.Inf(1), math.Inf(-1)
		for s := range series {
			for _, e := range res.Ensembles {
				if v := 100 * get(e, s).Value; !math.IsNaN(v) {
					vmin, vmax = min(vmin, v), max(vmax, v)
				}
			}
		}
		span := max(50, 3*(vmax-vmin))
		clipped := false
		clip := func(v float64) float64 {
			c := min(max(v, vmin-span), vmax+span)
			clipped = clipped || c != v
			return c
		}
		lo, hi := math.Inf(1), math.Inf(-1)
		for s, label := range series {
			var pts errPoints
			for i, e := range res.Ensembles {
				iv := get(e, s)
				if math.IsNaN(iv.Value) {
					continue
				}
				v, l, h := 100*iv.Value, 100*iv.Low, 100*iv.High
				if math.IsNaN(l) || math.IsNaN(h) {
					l, h = v, v
				}
				l, h = clip(l), clip(h)
				lo, hi = min(lo, l), max(hi, h)
				x := float64(i) + 0.15*(float64(s)-float64(len(series)-1)/2)
				pts.XYs = append(pts.XYs, plotter.XY{X: x, Y: v})
				pts.YErrors = append(pts.YErrors, struct{ Low, High float64 }{v - l, h - v})
			}
			if len(pts.XYs) == 0 {
				continue
			}
			sc, err := plotter.NewScatter(pts.XYs)
			if err != nil {
				return nil, false, err
			}
			col := seriesColor(s)
			sc.GlyphStyle = draw.GlyphStyle{Color: col, Radius: vg.Points(3.5), Shape: draw.CircleGlyph{}}
			eb, err := plotter.NewYErrorBars(pts)
			if err != nil {
				return nil, false, err
			}
			eb.LineStyle.Color, eb.LineStyle.Width = col, vg.Points(1.2)
			p.Add(eb, sc)
			if len(series) > 1 {
				p.Legend.Add(label, sc)
			}
		}
		if math.IsInf(lo, 0) {
			return p, false, nil
		}
		if clipped {
			p.Title.Text += ", clipped"
		}
		if !math.IsNaN(ref) {
			ln, err := plotter.NewLine(plotter.XYs{{X: -0.5, Y: ref}, {X: float64(len(names)) - 0.5, Y: ref}})
			if err != nil {
				return nil, false, err
			}
			ln.LineStyle = draw.LineStyle{Color: color.Gray{Y: 90}, Width: vg.Points(1), Dashes: []vg.Length{vg.Points(4), vg.Points(3)}}
			p.Add(ln)
			lo, hi = min(lo, ref), max(hi, ref)
		}
		pad := max((hi-lo)*0.08, 0.5)
		// Room below the points for the legend.
		p.Y.Min, p.Y.Max = lo-pad-boolFloat(len(series) > 1)*(hi-lo)*0.25, hi+pad
		p.Y.Tick.Marker = niceTicker{}
		p.Legend.Left, p.Legend.Top = true, false
		p.X.Min, p.X.Max = -0.5, float64(len(names))-0.5
		return p, true, nil
	}
	acc, _, err := panel("accuracy (95 % bootstrap intervals)", "accuracy (%)", []string{"clean", "corrupted"}, math.NaN(),
		func(e NASEnsemble, s int) Interval {
			if s == 0 {
				return e.CleanAccuracy
			}
			return e.CorruptionAccuracy
		})
	if err != nil {
		return err
	}
	row := []*plot.Plot{acc}
	rel, ok, err := panel("relative mCE (lower is better)", "relative mCE (% of "+baselineLabel(res.Baseline)+")",
		[]string{"relative mCE"}, 100, func(e NASEnsemble, _ int) Interval { return e.RelativeMCE })
	if err != nil {
		return err
	}
	if ok {
		row = append(row, rel)
	}
	w, h := vg.Length(len(row))*3.8*vg.Inch, 3.6*vg.Inch
	var c vg.CanvasWriterTo
	switch filepath.Ext(path) {
	case ".png":
		c = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(150))}
	case ".svg":
		c = vgsvg.New(w, h)
	default:
		return fmt.Errorf("%s: want a .png or .svg file", path)
	}
	dc := draw.New(c)
	cs := plot.Align([][]*plot.Plot{row}, draw.Tiles{Rows: 1, Cols: len(row), PadX: vg.Points(16), PadTop: vg.Points(6),
		PadBottom: vg.Points(4), PadLeft: vg.Points(4), PadRight: vg.Points(8)}, dc)
	for i, p := range row {
		p.Draw(cs[0][i])
	}
	return atomicfile.Write(path, func(w io.Writer) error {
		_, err := c.WriteTo(w)
		return err
	})
}

// seriesColor is the colour of the s-th series (Okabe–Ito blue, vermilion,
// green).
func seriesColor(s int) color.RGBA {
	cols := []color.RGBA{{0, 114, 178, 255}, {213, 94, 0, 255}, {0, 158, 115, 255}}
	return cols[s%len(cols)]
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// niceTicker puts about five ticks at multiples of 1, 2 or 5 times a power of
// ten, labelled without trailing zeros.
type niceTicker struct{}

// Ticks returns the ticks of [lo, hi].
func (niceTicker) Ticks(lo, hi float64) []plot.Tick {
	if !(hi > lo) {
		return []plot.Tick{{Value: lo, Label: strconv.FormatFloat(lo, 'g', 4, 64)}}
	}
	raw := (hi - lo) / 5
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	digits := max(0, -int(math.Floor(math.Log10(step)+1e-9)))
	var ts []plot.Tick
	for k := math.Ceil(lo / step); k*step <= hi+step*1e-9; k++ {
		v := k * step
		if v == 0 {
			v = 0
		}
		ts = append(ts, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', digits, 64)})
	}
	return ts
}
