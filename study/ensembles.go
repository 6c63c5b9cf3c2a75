package study

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
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
	"github.com/divres/divres/internal/progress"
	"github.com/divres/divres/plots"
	"github.com/divres/divres/torch"
)

// EnsembleRecipe is the recipe of stage 2 (ensembles). The zero value, and a
// Config without one, mean the defaults of Resolved.
type EnsembleRecipe struct {
	// KMin and KMax bound the ensemble sizes (default 2 and 3).
	KMin int `json:"k_min,omitempty"`
	KMax int `json:"k_max,omitempty"`
	// Homogeneous lists the architectures whose further seeds join the pool, so
	// that ensembles of one architecture (homogeneous) are scored beside the
	// ensembles of different architectures (heterogeneous, from each
	// architecture's first seed). Default: the baseline and the first other
	// model.
	Homogeneous []string `json:"homogeneous,omitempty"`
	// Attribution is the attribution method of attribution diversity (default
	// saliency).
	Attribution string `json:"attribution,omitempty"`
}

// Resolved fills the defaults of the recipe for cfg.
func (e EnsembleRecipe) Resolved(cfg Config) EnsembleRecipe {
	if e.KMin <= 0 {
		e.KMin = 2
	}
	if e.KMax <= 0 {
		e.KMax = 3
	}
	if e.Attribution == "" {
		e.Attribution = string(attrib.Saliency)
	}
	if e.Homogeneous == nil {
		e.Homogeneous = []string{}
		if cfg.Baseline != "" {
			e.Homogeneous = append(e.Homogeneous, cfg.Baseline)
		}
		for _, m := range cfg.Models {
			if m.Arch != cfg.Baseline {
				e.Homogeneous = append(e.Homogeneous, m.Arch)
				break
			}
		}
	}
	return e
}

func (c Config) ensembleRecipe() EnsembleRecipe { return resolve(c.Ensembles, c) }

// resolve is a stage's recipe p (nil: the zero recipe) with the defaults of its
// Resolved filled in for c.
func resolve[R interface{ Resolved(Config) R }](p *R, c Config) R {
	var r R
	if p != nil {
		r = *p
	}
	return r.Resolved(c)
}

// The files of stage 2 under RUN/ensembles.
const (
	ensemblesDir      = "ensembles"
	ensemblesTable    = "ensembles.json"
	correlationsFile  = "correlations"
	findingTwoFile    = "finding2"
	figEnsDiversityAc = "ensembles_accuracy_vs_diversity"
	figEnsDiversityRM = "ensembles_relative_mce_vs_diversity"
)

// findingTwoMeasures are the prediction and attribution diversity measures of
// finding 2, and findingTwoTargets the ensemble qualities they are correlated
// with.
var (
	findingTwoMeasures = []string{"disagreement", "kohavi_wolpert", "attribution_cosine_diversity"}
	findingTwoTargets  = []string{"accuracy", "corruption_accuracy", "relative_mce"}
)

// ensemblesStage is stage 2: ensembles of the stage-1 models.
func ensemblesStage() Stage {
	return Stage{
		Number: 2, Name: "ensembles", Inputs: []int{1},
		Outputs: []string{filepath.Join(ensemblesDir, ensemblesTable), filepath.Join(ensemblesDir, correlationsFile+".json"),
			filepath.Join(ensemblesDir, findingTwoFile+".json"), filepath.Join(findingsDir, "finding2-s2.json")},
		Recipe: func(c Config) any {
			return struct {
				Config
				Recipe EnsembleRecipe `json:"ensemble_recipe"`
			}{c.base(), c.ensembleRecipe()}
		},
		Run: runEnsembles,
	}
}

// studyTestSet reopens the padded clean test set and the corruption set of stage
// 1 (generated then and read back from RUN/corruptions).
func studyTestSet(ctx context.Context, r *Run) (data.Dataset, *corrupt.Set, string, error) {
	cfg := r.Config
	test, err := data.OpenTest(cfg.Data, data.OpenOptions{})
	if err != nil {
		return nil, nil, "", err
	}
	if cfg.TestSubset > 0 && cfg.TestSubset < test.Len() {
		test = data.FirstK(test, cfg.TestSubset)
	}
	padded, err := PadTo(test, cfg.InputSize)
	if err != nil {
		return nil, nil, "", err
	}
	mode, err := corrupt.ParseRNGMode(cfg.RNG)
	if err != nil {
		return nil, nil, "", err
	}
	set, source, err := ensemble.GenerateSet(ctx, padded, ensemble.GenerateOptions{
		Dataset: fmt.Sprintf("%s padded to %d", cfg.Data, cfg.InputSize), Seed: cfg.Seed, RNG: mode,
		Corruptions: cfg.Corruptions, Severities: cfg.Severities, CacheDir: filepath.Join(r.Dir, "corruptions"),
		Workers: r.Opts.Workers,
	})
	return padded, set, source, err
}

// poolLayout is the pool of stage 2: each architecture's first seed, then the
// further seeds of the homogeneous architectures.
type poolLayout struct {
	dirs []string
	// hetero are the pool indices of the first seeds; homo the pool indices of
	// every seed of each homogeneous architecture.
	hetero []int
	homo   [][]int
}

func ensemblePool(r *Run, rec EnsembleRecipe) (poolLayout, error) {
	var p poolLayout
	seeds := r.Config.SeedList()
	trained := func(m Model, seed uint64) (string, bool) {
		d := filepath.Join(r.Dir, "train", MemberName(m, seed))
		_, err := os.Stat(filepath.Join(d, ensemble.ModelFile))
		return d, err == nil
	}
	first := map[string]int{}
	for _, m := range r.Config.Models {
		if d, ok := trained(m, seeds[0]); ok {
			first[m.Arch] = len(p.dirs)
			p.hetero = append(p.hetero, len(p.dirs))
			p.dirs = append(p.dirs, d)
		} else {
			logrus.Warnf("study: ensembles: %s has no trained model; left out", MemberName(m, seeds[0]))
		}
	}
	for _, arch := range rec.Homogeneous {
		i, ok := first[arch]
		if !ok {
			continue
		}
		group := []int{i}
		for _, m := range r.Config.Models {
			if m.Arch != arch {
				continue
			}
			for _, s := range seeds[1:] {
				if d, ok := trained(m, s); ok {
					group = append(group, len(p.dirs))
					p.dirs = append(p.dirs, d)
				}
			}
			break
		}
		if len(group) >= 2 {
			p.homo = append(p.homo, group)
		}
	}
	if len(p.hetero) < 2 {
		return p, fmt.Errorf("study: ensembles need at least two trained architectures, have %d", len(p.hetero))
	}
	return p, nil
}

// subsets are the ensembles scored: every k-member subset of the first seeds and
// of each homogeneous group, KMin <= k <= KMax.
func (p poolLayout) subsets(rec EnsembleRecipe) ([][]int, error) {
	var out [][]int
	add := func(idx []int) error {
		hi := min(rec.KMax, len(idx))
		if rec.KMin > hi {
			return nil
		}
		subs, err := ensemble.Subsets(len(idx), rec.KMin, hi)
		if err != nil {
			return err
		}
		for _, s := range subs {
			m := make([]int, len(s))
			for j, k := range s {
				m[j] = idx[k]
			}
			out = append(out, m)
		}
		return nil
	}
	if err := add(p.hetero); err != nil {
		return nil, err
	}
	for _, g := range p.homo {
		if err := add(g); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// memberAttributions computes every pool member's attribution maps of the true
// class on the clean test set, with respect to the unnormalised pixels:
// maps[m] holds N×size values.
func memberAttributions(ctx context.Context, ms []ensemble.PoolMember, ds data.Dataset, method attrib.Method,
	dev torch.Device, workers int) (maps [][]float32, size int, err error) {
	maps = make([][]float32, len(ms))
	sizes := make([]int, len(ms))
	one := func(ctx context.Context, _, i int) error {
		v, sz, err := memberAttribution(ctx, ms[i], ds, method, dev, workers)
		if err != nil {
			return fmt.Errorf("attributions of %s: %w", ms[i].Name(), err)
		}
		maps[i], sizes[i] = v, sz
		return nil
	}
	if deterministicMethods[method] {
		// Members side by side on one thread each (the maps are those of a
		// one-thread run).
		err = ensemble.RunOneThread(ctx, dev, len(ms), one)
	} else {
		for i := range ms {
			if err = one(ctx, 0, i); err != nil {
				break
			}
		}
	}
	if err != nil {
		return nil, 0, err
	}
	for i, m := range ms {
		if size != 0 && sizes[i] != size {
			return nil, 0, fmt.Errorf("attributions of %s: maps of %d values, the other members' %d", m.Name(), sizes[i], size)
		}
		size = sizes[i]
		if len(maps[i]) != ds.Len()*size {
			return nil, 0, fmt.Errorf("attributions of %s: %d values for %d images", m.Name(), len(maps[i]), ds.Len())
		}
	}
	return maps, size, nil
}

// deterministicMethods are the attribution methods that draw no random numbers
// (with the study's options), so that members' maps may be computed side by side.
var deterministicMethods = map[attrib.Method]bool{attrib.Saliency: true, attrib.SaliencySigned: true,
	attrib.InputXGradient: true, attrib.IG: true, attrib.GradCAM: true}

// memberAttribution computes one member's maps of method on every image of ds
// (the target its label), flattened: the maps and the values per map.
func memberAttribution(ctx context.Context, m ensemble.PoolMember, ds data.Dataset, method attrib.Method,
	dev torch.Device, workers int) ([]float32, int, error) {
	in, err := m.Meta.Input()
	if err != nil {
		return nil, 0, err
	}
	in.Norm = data.Norm{}
	for range in.Channels {
		in.Norm.Mean = append(in.Norm.Mean, 0)
		in.Norm.Std = append(in.Norm.Std, 1)
	}
	net, meta, err := ensemble.LoadModel(m.Dir, dev)
	if err != nil {
		return nil, 0, err
	}
	defer net.Close()
	model, err := attrib.Normalized(attrib.FromNet(net), meta.Mean, meta.Std)
	if err != nil {
		return nil, 0, err
	}
	l, err := data.NewLoader(ds, in.LoaderOptions(64, workers))
	if err != nil {
		return nil, 0, err
	}
	var all []float32
	sz := 0
	for b, err := range l.Batches(ctx, 0) {
		if err != nil {
			return nil, 0, err
		}
		err = torch.Do(func(s *torch.Scope) error {
			x := torch.FromSlice(s, b.X, []int64{int64(b.N), int64(b.C), int64(b.H), int64(b.W)}, dev)
			res, err := attrib.Attribute(s, model, x, attrib.Labels(b.Y[:b.N]), attrib.Options{Method: method, Upsample: "bilinear"})
			if err != nil {
				return err
			}
			v, err := res.Maps.Reshape([]int64{int64(b.N), -1}).Float32s()
			if err != nil {
				return err
			}
			sz = len(v) / b.N
			all = append(all, v...)
			return nil
		})
		b.Release()
		if err != nil {
			return nil, 0, err
		}
	}
	return all, sz, nil
}

// nullable marshals NaN and ±Inf as null.
type nullable float64

func (v nullable) MarshalJSON() ([]byte, error) {
	f := float64(v)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return []byte(strconv.FormatFloat(f, 'g', -1, 64)), nil
}

// EnsembleRow is one ensemble of RUN/ensembles/ensembles.json (the table
// diversity.ReadEnsembles reads): its members (run directories), its targets
// (clean accuracy, corruption accuracy, mCE, relative mCE and accuracy per
// corruption) and its scalar diversity values.
type EnsembleRow struct {
	Name        string              `json:"name"`
	Size        int                 `json:"size"`
	Members     []string            `json:"members"`
	Homogeneous bool                `json:"homogeneous"`
	Metrics     map[string]nullable `json:"metrics"`
	Diversity   map[string]nullable `json:"diversity"`
}

func runEnsembles(ctx context.Context, r *Run) error {
	rec := r.Config.ensembleRecipe()
	method, err := attrib.ParseMethod(rec.Attribution)
	if err != nil {
		return fmt.Errorf("study: ensembles: %w", err)
	}
	out := filepath.Join(r.Dir, ensemblesDir)
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	lay, err := ensemblePool(r, rec)
	if err != nil {
		return err
	}
	subs, err := lay.subsets(rec)
	if err != nil {
		return fmt.Errorf("study: ensembles: %w", err)
	}
	members, err := ensemble.OpenPoolMembers(lay.dirs)
	if err != nil {
		return fmt.Errorf("study: ensembles: %w", err)
	}
	padded, set, source, err := studyTestSet(ctx, r)
	if err != nil {
		return fmt.Errorf("study: ensembles: %w", err)
	}

	// Member outputs on every slice, cached per checkpoint and input.
	done := step(fmt.Sprintf("ensembles: outputs of %d members", len(members)))
	ins, err := ensemble.EvalSlices(padded, set, nil, nil, padded.Len())
	if err != nil {
		return fmt.Errorf("study: ensembles: %w", err)
	}
	cache, err := runCache(r.Dir)
	if err != nil {
		return fmt.Errorf("study: ensembles: %w", err)
	}
	prog := progress.New("outputs", "slices", 0, progress.Options{})
	outs, err := cache.Outputs(ctx, members, ins, r.Opts.Device, ensemble.OutputsOptions{Features: true, Workers: r.Opts.Workers,
		Progress: prog.Update})
	prog.Finish()
	done()
	if err != nil {
		return fmt.Errorf("study: ensembles: %w", err)
	}
	pool := &ensemble.Pool{Members: members, Outputs: outs}
	for _, in := range ins {
		pool.Slices = append(pool.Slices, in.Slice)
	}

	var base *corrupt.Result
	if r.Baseline == "" {
		r.Baseline = baselineName(r.Config)
	}
	if r.Baseline != "" {
		if base, err = corrupt.ReadResult(filepath.Join(r.Dir, "eval", r.Baseline, "eval.json")); err != nil {
			logrus.Warnf("study: ensembles: no baseline result (%v); mCE and relative mCE are left out", err)
			base = nil
		}
	}

	// Accuracy, mCE and prediction and activation diversity of every ensemble.
	done = step(fmt.Sprintf("ensembles: score %d ensembles", len(subs)))
	var dopt diversity.Options
	for _, n := range diversity.Names() {
		if !strings.HasPrefix(n, "attribution_") {
			dopt.Metrics = append(dopt.Metrics, n)
		}
	}
	scored, err := ensemble.ScoreEnsembles(pool, subs, ensemble.ScoreOptions{Combine: ensemble.CombineMean, Baseline: base,
		Diversity: &dopt, Dataset: r.Config.Data, Corruptions: source, Workers: r.Opts.Workers})
	done()
	if err != nil {
		return fmt.Errorf("study: ensembles: %w", err)
	}

	// Attribution diversity from each member's maps.
	done = step("ensembles: attribution maps")
	maps, size, err := memberAttributions(ctx, members, padded, method, r.Opts.Device, r.Opts.Workers)
	done()
	if err != nil {
		return fmt.Errorf("study: ensembles: %w", err)
	}
	clean := slices.Index(pool.Slices, ensemble.CleanSlice)
	if clean < 0 {
		return fmt.Errorf("study: ensembles: the pool has no clean slice")
	}
	// The pool's pairwise attribution similarities, once: an ensemble's value is
	// the mean over its pairs (as diversity.Compute defines it).
	var all []float32
	for _, mp := range maps {
		all = append(all, mp...)
	}
	n := padded.Len()
	for i, v := range all {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("study: ensembles: attribution map value %d of member %s is %v", i%(n*size), members[i/(n*size)].Name(), v)
		}
	}
	sims := map[string][][]float64{}
	for _, meth := range []string{"cosine", "spearman"} {
		sims[meth], _ = diversity.AttributionSimilarity(all, len(members), n, size, meth)
	}
	rows := make([]EnsembleRow, len(scored))
	for i, e := range scored {
		row := EnsembleRow{Name: e.Name, Size: len(e.Members), Homogeneous: e.Homogeneous,
			Metrics: map[string]nullable{}, Diversity: map[string]nullable{}}
		for _, m := range e.Members {
			rel, err := filepath.Rel(r.Dir, pool.Members[m].Dir)
			if err != nil {
				rel = pool.Members[m].Dir
			}
			row.Members = append(row.Members, rel)
		}
		for k, v := range ensemble.TableMetrics(e.Result) {
			if strings.Count(k, "/") <= 1 {
				row.Metrics[k] = nullable(v)
			}
		}
		if rep := e.Diversity; rep != nil {
			for _, k := range rep.Keys() {
				if v, ok := rep.Float(k); ok && !strings.HasSuffix(k, "_threshold") {
					row.Diversity[k] = nullable(v)
				}
			}
		}
		for meth, sim := range sims {
			v := meanPairs(sim, e.Members)
			row.Diversity["attribution_"+meth] = nullable(v)
			row.Diversity["attribution_"+meth+"_diversity"] = nullable(1 - v)
		}
		rows[i] = row
	}
	if err := writeEnsembleTable(out, rows); err != nil {
		return err
	}
	ens, err := diversity.ReadEnsembles(filepath.Join(out, ensemblesTable))
	if err != nil {
		return fmt.Errorf("study: ensembles: %w", err)
	}

	// Correlations of every diversity measure with every target, and finding 2.
	done = step("ensembles: correlations")
	co := diversity.CorrOptions{Bootstrap: r.Config.bootstrap(), Seed: r.Config.Seed}
	table := diversity.CorrelationTable(ens, co)
	err = writeCorrelations(filepath.Join(out, correlationsFile), table)
	done()
	if err != nil {
		return err
	}
	if err := writeFindingTwo(filepath.Join(out, findingTwoFile), table); err != nil {
		return err
	}
	if err := writeFinding(r.Dir, r.Config, findingTwo(table)); err != nil {
		return err
	}

	// Figures.
	figs := filepath.Join(r.Dir, "figures")
	if err := os.MkdirAll(figs, 0o755); err != nil {
		return err
	}
	for target, name := range map[string]string{"accuracy": figEnsDiversityAc, "relative_mce": figEnsDiversityRM} {
		if target == "relative_mce" && base == nil {
			continue
		}
		for _, ext := range []string{".png", ".svg"} {
			if err := plots.DiversityScatter(ens, target, findingTwoMeasures, filepath.Join(figs, name+ext), co); err != nil {
				logrus.Warnf("study: figure %s%s: %v", name, ext, err)
			}
		}
	}
	logrus.Infof("study: %d ensembles of %d members in %s", len(rows), len(members), out)
	return nil
}

func writeEnsembleTable(out string, rows []EnsembleRow) error {
	b, err := json.MarshalIndent(map[string]any{"combine": ensemble.CombineMean, "ensembles": rows}, "", " ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(out, ensemblesTable), append(b, '\n')); err != nil {
		return err
	}
	tk, dk := map[string]bool{}, map[string]bool{}
	for _, r := range rows {
		for k := range r.Metrics {
			tk[k] = true
		}
		for k := range r.Diversity {
			dk[k] = true
		}
	}
	tks, dks := sortedKeys(tk), sortedKeys(dk)
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write(append(append([]string{"name", "size", "homogeneous"}, tks...), dks...))
	for _, r := range rows {
		rec := []string{r.Name, strconv.Itoa(r.Size), strconv.FormatBool(r.Homogeneous)}
		for _, k := range tks {
			rec = append(rec, csvNum(r.Metrics, k))
		}
		for _, k := range dks {
			rec = append(rec, csvNum(r.Diversity, k))
		}
		w.Write(rec)
	}
	w.Flush()
	return atomicfile.WriteFile(filepath.Join(out, "ensembles.csv"), buf.Bytes())
}

func csvNum(m map[string]nullable, k string) string {
	v, ok := m[k]
	if !ok || math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
		return ""
	}
	return strconv.FormatFloat(float64(v), 'g', -1, 64)
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// writeCorrelations writes PATH.json (the rows as diversity.CorrRow encodes
// them) and PATH.csv.
func writeCorrelations(path string, rows []diversity.CorrRow) error {
	b, err := json.MarshalIndent(rows, "", " ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(path+".json", append(b, '\n')); err != nil {
		return err
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write([]string{"diversity", "target", "n", "pearson", "pearson_low", "pearson_high", "pearson_p",
		"spearman", "spearman_low", "spearman_high", "spearman_p", "kendall_tau_b", "kendall_low", "kendall_high", "kendall_p", "reason"})
	f := func(v float64) string {
		if math.IsNaN(v) {
			return ""
		}
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	for _, r := range rows {
		rec := []string{r.Diversity, r.Target, strconv.Itoa(r.N)}
		for _, e := range []diversity.Estimate{r.Pearson, r.Spearman, r.KendallTauB} {
			rec = append(rec, f(e.Value), f(e.Low), f(e.High), f(e.P))
		}
		w.Write(append(rec, r.Reason))
	}
	w.Flush()
	return atomicfile.WriteFile(path+".csv", buf.Bytes())
}

// FindingCell is one correlation a finding rests on: the Spearman ρ of a
// diversity measure with an ensemble target over N ensembles, its bootstrap
// interval, and the verdict of the claim that the two go together (ρ above 0
// for accuracies, below 0 for relative mCE, where lower is better).
type FindingCell struct {
	Diversity string   `json:"diversity"`
	Target    string   `json:"target"`
	N         int      `json:"n"`
	Rho       Interval `json:"spearman"`
	Claim     Claim    `json:"claim"`
	Verdict   Verdict  `json:"verdict"`
}

// findingTwoCells picks the cells of finding 2 from the correlation table.
func findingTwoCells(table []diversity.CorrRow) []FindingCell {
	var cells []FindingCell
	for _, d := range findingTwoMeasures {
		for _, t := range findingTwoTargets {
			for _, row := range table {
				if row.Diversity != d || row.Target != t {
					continue
				}
				below := t == "relative_mce"
				cl := Claim{Statement: fmt.Sprintf("%s goes with better %s", d, t), Threshold: 0, Below: below}
				iv := Interval{Value: row.Spearman.Value, Low: row.Spearman.Low, High: row.Spearman.High}
				cells = append(cells, FindingCell{Diversity: d, Target: t, N: row.N, Rho: iv, Claim: cl, Verdict: cl.Decide(iv)})
			}
		}
	}
	return cells
}

func writeFindingTwo(path string, table []diversity.CorrRow) error {
	b, err := json.MarshalIndent(findingTwoCells(table), "", " ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(path+".json", append(b, '\n'))
}

// findingTwo is finding 2 from the correlation table: prediction and attribution
// diversity go with ensemble accuracy and resilience (primary: Spearman ρ of the
// disagreement with clean accuracy over the ensembles).
func findingTwo(table []diversity.CorrRow) Finding {
	f := Finding{Number: 2, Stage: 2, Title: "Diversity and ensemble accuracy",
		Statement: "The more diverse an ensemble's members in their predictions and in their attributions, the more accurate and resilient the ensemble, clean and under corruptions."}
	for _, c := range findingTwoCells(table) {
		if c.Diversity == "disagreement" && c.Target == "accuracy" {
			f.Primary = len(f.Cells)
		}
		f.Cells = append(f.Cells, Cell{Name: c.Diversity + " ~ " + c.Target, Quantity: "spearman_rho", N: c.N,
			Estimate: c.Rho, Claim: c.Claim, Source: filepath.Join(ensemblesDir, correlationsFile+".json")})
	}
	return f
}

// meanPairs is the mean of sim over the unordered pairs of members (NaN with
// fewer than two).
func meanPairs(sim [][]float64, members []int) float64 {
	var s float64
	k := 0
	for a := range members {
		for b := a + 1; b < len(members); b++ {
			s += sim[members[a]][members[b]]
			k++
		}
	}
	if k == 0 {
		return math.NaN()
	}
	return s / float64(k)
}
