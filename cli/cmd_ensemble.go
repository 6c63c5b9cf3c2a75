package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/urfave/cli/v2"

	"github.com/divres/divres/corrupt"
	"github.com/divres/divres/diversity"
	"github.com/divres/divres/ensemble"
	"github.com/divres/divres/internal/atomicfile"
)

// ensPoolFlags are the flags shared by `ensemble eval`, `ensemble pool` and
// `diversity --members` (less the corruption ones there).
func ensPoolFlags(corruptions bool) []cli.Flag {
	fs := []cli.Flag{
		&cli.StringFlag{Name: "data", Usage: "clean dataset (default: the one the members were trained on)"},
		&cli.IntFlag{Name: "test-subset", Usage: "use the first `N` test images (and the first N of each corrupted slice)"},
		&cli.StringFlag{Name: "pred-cache", Usage: "`DIR` of cached member outputs (default: " + ensemble.DefaultPredictionCacheDir() + ")"},
		deviceFlag(),
		&cli.IntFlag{Name: "batch", Value: 256},
		workersFlag(),
		threadsFlag(),
	}
	if !corruptions {
		return fs
	}
	return append(fs,
		&cli.StringFlag{Name: "corruptions", Value: "none", Usage: "corruption set `DIR`, \"generate\", or \"none\" (clean only)"},
		&cli.StringFlag{Name: "baseline", Usage: "baseline result `FILE` (eval.json) for CE, mCE and relative mCE"},
		&cli.StringFlag{Name: "severities", Value: "1-5", Usage: "severities, e.g. 1-5 or 1,3,5"},
		&cli.StringFlag{Name: "corruption-list", Value: "all", Usage: "comma-separated names, \"all\" or \"benchmark\""},
		&cli.Uint64Flag{Name: "corruption-seed", Usage: "generate: random seed of the corruptions"},
		&cli.StringFlag{Name: "rng", Value: "default", Usage: "generate: random mode, default or numpy"},
		&cli.StringFlag{Name: "frost-dir", Usage: "generate: `DIR` of the original frost images (default: procedural)"},
		&cli.StringFlag{Name: "cache", Usage: "generate: cache `DIR` of generated sets (default: " + ensemble.DefaultCacheDir() + ")"},
		&cli.StringFlag{Name: "combine", Value: "mean", Usage: "combination: mean (of softmax), logits (mean of logits), weighted, vote"},
	)
}

func init() {
	addCommand(&cli.Command{
		Name:  "ensemble",
		Usage: "ensembles of trained members: evaluate one, or score every ensemble of a pool",
		Subcommands: []*cli.Command{
			{
				Name:  "eval",
				Usage: "evaluate an ensemble like a single model (clean error, E(s,c), CE, mCE, relative mCE)",
				Description: `divres ensemble eval --members DIR[,DIR…] [--combine mean|logits|weighted|vote]
  [--corruptions generate|DIR] [--baseline EVAL.json] --out DIR
  combines the members' outputs (each member runs once per input slice; the outputs
  are cached under --pred-cache, keyed by checkpoint and input content) and writes
  OUT/eval.json and OUT/eval.csv in the format of divres eval, and each member's own
  evaluation to OUT/members/<name>/. A --members entry that is a directory of run
  directories stands for all of them.`,
				Flags: append(ensPoolFlags(true),
					&cli.StringFlag{Name: "members", Usage: "member run `DIR`s, comma-separated", Required: true},
					&cli.StringFlag{Name: "weights", Usage: "weighted: one weight per member, comma-separated"},
					&cli.StringFlag{Name: "name", Usage: "ensemble name in the result (default: the members' names joined by +)"},
					&cli.StringFlag{Name: "out", Usage: "output `DIR`", Required: true},
				),
				Action: runEnsembleEval,
			},
			{
				Name:  "pool",
				Usage: "score every k-member ensemble of a pool (or a seeded sample) and write ensembles.json for divres correlate",
				Description: `divres ensemble pool --members DIR[,DIR…] --k 2..5 [--sample N --seed S] --out DIR
  evaluates all ensembles of k members of the pool from the members' cached outputs
  (no extra forward pass per ensemble) with their diversity on the clean test set
  (--metrics), and writes OUT/ensembles.json (read by divres correlate --ensembles),
  OUT/ensembles.csv and each member's evaluation to OUT/members/<name>/. --targets
  chooses the accuracy columns (per corruption and per severity by default).
  Ensembles of one architecture (several seeds) are marked homogeneous.`,
				Flags: append(ensPoolFlags(true),
					&cli.StringFlag{Name: "members", Usage: "member run `DIR`s, comma-separated", Required: true},
					&cli.StringFlag{Name: "k", Value: "2..5", Usage: "ensemble sizes, e.g. 2..5 or 3 (capped at the pool size)"},
					&cli.IntFlag{Name: "sample", Usage: "score a seeded uniform sample of `N` ensembles instead of all"},
					&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "seed of --sample"},
					&cli.StringFlag{Name: "metrics", Value: "all", Usage: "diversity metrics: \"all\" or a comma-separated `LIST`"},
					&cli.StringFlag{Name: "rbf-thresholds", Value: "0.5,1", Usage: "RBF CKA bandwidth thresholds, comma-separated"},
					&cli.StringFlag{Name: "targets", Value: "corruption", Usage: "targets in the table: summary (accuracy, corruption accuracy, mCE, relative mCE), " +
						"corruption (also per corruption and per severity) or all (also per corruption × severity); correlate's time grows with them"},
					&cli.StringFlag{Name: "out", Usage: "output `DIR`", Required: true},
				),
				Action: runEnsemblePool,
			},
		},
	})
}

// ensMemberDirs splits a comma-separated --members list; an entry that is a directory
// without a model file but with run directories in it stands for those (sorted).
func ensMemberDirs(s string) ([]string, error) {
	var out []string
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("--members: %w", err)
		}
		if !st.IsDir() {
			out = append(out, p)
			continue
		}
		if _, err := os.Stat(filepath.Join(p, ensemble.ModelFile)); err == nil {
			out = append(out, p)
			continue
		}
		ents, err := os.ReadDir(p)
		if err != nil {
			return nil, fmt.Errorf("--members: %w", err)
		}
		var sub []string
		for _, e := range ents {
			if _, err := os.Stat(filepath.Join(p, e.Name(), ensemble.ModelFile)); e.IsDir() && err == nil {
				sub = append(sub, filepath.Join(p, e.Name()))
			}
		}
		if len(sub) == 0 {
			return nil, fmt.Errorf("--members: %s has no %s and no run directories with one", p, ensemble.ModelFile)
		}
		sort.Strings(sub)
		out = append(out, sub...)
	}
	if len(out) == 0 {
		return nil, errors.New("--members: no member given")
	}
	return out, nil
}

// ensPoolSetup reads the shared flags into an ensemble.PoolSetup.
func ensPoolSetup(c *cli.Context, corruptions bool) (ensemble.PoolSetup, error) {
	dev, err := torchFlags(c)
	if err != nil {
		return ensemble.PoolSetup{}, err
	}
	dirs, err := ensMemberDirs(c.String("members"))
	if err != nil {
		return ensemble.PoolSetup{}, err
	}
	if c.Int("test-subset") < 0 {
		return ensemble.PoolSetup{}, fmt.Errorf("--test-subset %d: want a positive number", c.Int("test-subset"))
	}
	o := ensemble.PoolSetup{Members: dirs, Data: c.String("data"), TestSubset: c.Int("test-subset"),
		CacheDir: c.String("pred-cache"), Device: dev,
		Outputs: ensemble.OutputsOptions{Batch: c.Int("batch"), Workers: c.Int("workers")}}
	if !corruptions {
		return o, nil
	}
	src := c.String("corruptions")
	switch {
	case strings.EqualFold(src, "none") || src == "":
	case strings.EqualFold(src, "generate"):
		mode, err := corrupt.ParseRNGMode(c.String("rng"))
		if err != nil {
			return o, fmt.Errorf("--rng: %w", err)
		}
		o.Generate = true
		o.Generation = ensemble.GenerateOptions{Seed: c.Uint64("corruption-seed"), RNG: mode, FrostDir: c.String("frost-dir"),
			CacheDir: c.String("cache")}
	default:
		o.Set = src
	}
	if o.Generate || o.Set != "" {
		if o.Severities, err = parseSeverities(c.String("severities")); err != nil {
			return o, err
		}
		cs, err := parseCorruptions(c.String("corruption-list"))
		if err != nil {
			return o, fmt.Errorf("--corruption-list: %s", strings.TrimPrefix(err.Error(), "--corruptions: "))
		}
		for _, cc := range cs {
			o.Corruptions = append(o.Corruptions, cc.Name)
		}
		if o.Set != "" && !c.IsSet("corruption-list") { // the set's own list
			set, err := corrupt.OpenSet(o.Set)
			if err != nil {
				return o, err
			}
			var keep []string
			for _, n := range o.Corruptions {
				for _, h := range set.Info.Corruptions {
					if h == n {
						keep = append(keep, n)
					}
				}
			}
			if len(keep) == 0 {
				return o, fmt.Errorf("the corruption set %s has none of the known corruptions", o.Set)
			}
			o.Corruptions = keep
			if !c.IsSet("severities") {
				o.Severities = set.Info.Severities
			}
		}
	}
	return o, nil
}

// ensLoadPool builds the pool of the command's members with progress reports.
func ensLoadPool(c *cli.Context, o ensemble.PoolSetup) (*ensemble.Pool, string, string, error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	gp := newProgress("corrupt", "img", 0)
	o.GenerateProgress = gp.Update
	pp := newProgress("outputs", "slices", 0)
	o.Outputs.Progress = func(done, total int) { gp.Finish(); pp.Update(done, total) }
	start := time.Now()
	p, source, dataset, passes, err := ensemble.LoadPool(ctx, o)
	gp.Finish()
	pp.Finish()
	if err != nil {
		return nil, "", "", err
	}
	logrus.WithFields(logrus.Fields{"members": len(p.Members), "slices": len(p.Slices), "forward_batches": passes,
		"seconds": fmt.Sprintf("%.1f", time.Since(start).Seconds())}).Info("ensemble: member outputs ready")
	return p, source, dataset, nil
}

func ensBaseline(c *cli.Context) (*corrupt.Result, error) {
	p := c.String("baseline")
	if p == "" {
		return nil, nil
	}
	base, err := corrupt.ReadResult(p)
	if err != nil {
		return nil, fmt.Errorf("--baseline: %w", err)
	}
	if u := corrupt.UndefinedRelativeCE(base); len(u) > 0 {
		logrus.Warnf("ensemble: relative CE undefined for %s (the baseline is not hurt by them); relative mCE averages the others",
			strings.Join(u, ", "))
	}
	return base, nil
}

func ensWeights(s string) ([]float64, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var w []float64
	for _, p := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil {
			return nil, fmt.Errorf("--weights: %q is not a number", p)
		}
		w = append(w, v)
	}
	return w, nil
}

// ensScoreMembers scores each member alone and writes OUT/members/<name>/eval.*.
func ensScoreMembers(p *ensemble.Pool, out string, o ensemble.ScoreOptions) ([]ensemble.ScoredEnsemble, error) {
	o.Diversity, o.Weights = nil, nil
	if o.Combine == ensemble.CombineWeighted {
		o.Combine = ensemble.CombineMean // one member: the same
	}
	subs := make([][]int, len(p.Members))
	for i := range subs {
		subs[i] = []int{i}
	}
	res, err := ensemble.ScoreEnsembles(p, subs, o)
	if err != nil {
		return nil, err
	}
	for i, r := range res {
		m := p.Members[i]
		r.Result.Model, r.Result.Arch, r.Result.Style, r.Result.Width = m.Name(), m.Meta.Arch, m.Meta.Style, m.Meta.Width
		if err := corrupt.WriteResult(filepath.Join(out, "members", m.Name()), r.Result); err != nil {
			return nil, err
		}
	}
	return res, nil
}

func runEnsembleEval(c *cli.Context) error {
	if c.NArg() > 0 {
		return fmt.Errorf("ensemble eval: unexpected argument %q", c.Args().First())
	}
	method, err := ensemble.ParseCombine(c.String("combine"))
	if err != nil {
		return fmt.Errorf("--combine: %w", err)
	}
	weights, err := ensWeights(c.String("weights"))
	if err != nil {
		return err
	}
	if (method == ensemble.CombineWeighted) != (weights != nil) {
		return errors.New("ensemble eval: --weights goes with --combine weighted, and that needs them")
	}
	base, err := ensBaseline(c)
	if err != nil {
		return err
	}
	setup, err := ensPoolSetup(c, true)
	if err != nil {
		return err
	}
	setup.Outputs.Logits = method == ensemble.CombineLogits
	if weights != nil && len(weights) != len(setup.Members) {
		return fmt.Errorf("ensemble eval: %d weights for %d members", len(weights), len(setup.Members))
	}
	p, source, dataset, err := ensLoadPool(c, setup)
	if err != nil {
		return err
	}
	all := make([]int, len(p.Members))
	for i := range all {
		all[i] = i
	}
	o := ensemble.ScoreOptions{Combine: method, Weights: weights, Baseline: base, Dataset: dataset, Corruptions: source,
		Workers: c.Int("workers")}
	res, err := ensemble.ScoreEnsembles(p, [][]int{all}, o)
	if err != nil {
		return err
	}
	r := res[0].Result
	if n := c.String("name"); n != "" {
		r.Model = n
	}
	out := c.String("out")
	if err := corrupt.WriteResult(out, r); err != nil {
		return err
	}
	mres, err := ensScoreMembers(p, out, o)
	if err != nil {
		return err
	}
	f := logrus.Fields{"ensemble": r.Model, "combine": method, "clean_error": fmt.Sprintf("%.4f", r.CleanError), "out": out}
	if len(r.Errors) > 0 {
		f["corruption_accuracy"] = fmt.Sprintf("%.4f", r.CorruptionAccuracy)
	}
	if r.MCE != nil {
		f["mce"] = fmt.Sprintf("%.4f", *r.MCE)
	}
	if r.RelativeMCE != nil {
		f["relative_mce"] = fmt.Sprintf("%.4f", *r.RelativeMCE)
	}
	best := math.Inf(1)
	for _, m := range mres {
		best = math.Min(best, m.Result.CleanError)
	}
	f["best_member_clean_error"] = fmt.Sprintf("%.4f", best)
	logrus.WithFields(f).Info("ensemble eval: done")
	return nil
}

// ensParseK parses "2..5", "2-5" or "3".
func ensParseK(s string) (lo, hi int, err error) {
	s = strings.TrimSpace(s)
	a, b, ok := strings.Cut(s, "..")
	if !ok {
		a, b, ok = strings.Cut(s, "-")
	}
	if !ok {
		b = a
	}
	lo, err1 := strconv.Atoi(strings.TrimSpace(a))
	hi, err2 := strconv.Atoi(strings.TrimSpace(b))
	if err1 != nil || err2 != nil || lo < 1 || hi < lo {
		return 0, 0, fmt.Errorf("--k %q: want a size or a range such as 2..5", s)
	}
	return lo, hi, nil
}

// ensRBFThresholds parses a comma-separated list of positive thresholds.
func ensRBFThresholds(s string) ([]float64, error) {
	var out []float64
	for _, t := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
		if err != nil || !(v > 0) {
			return nil, fmt.Errorf("--rbf-thresholds: %q is not a positive number", t)
		}
		out = append(out, v)
	}
	return out, nil
}

func runEnsemblePool(c *cli.Context) error {
	if c.NArg() > 0 {
		return fmt.Errorf("ensemble pool: unexpected argument %q", c.Args().First())
	}
	method, err := ensemble.ParseCombine(c.String("combine"))
	if err != nil {
		return fmt.Errorf("--combine: %w", err)
	}
	if method == ensemble.CombineWeighted {
		return errors.New("ensemble pool: --combine weighted needs per-ensemble weights; use mean, logits or vote")
	}
	klo, khi, err := ensParseK(c.String("k"))
	if err != nil {
		return err
	}
	if c.Int("sample") < 0 {
		return fmt.Errorf("--sample %d: want a positive number", c.Int("sample"))
	}
	targets := c.String("targets")
	if targets != "summary" && targets != "corruption" && targets != "all" {
		return fmt.Errorf("--targets %q: want summary, corruption or all", targets)
	}
	ths, err := ensRBFThresholds(c.String("rbf-thresholds"))
	if err != nil {
		return err
	}
	metrics := diversityMetricsFlag(c.String("metrics"))
	known := map[string]bool{}
	for _, n := range diversity.Names() {
		known[n] = true
	}
	features := metrics == nil
	for _, m := range metrics {
		if !known[m] {
			return fmt.Errorf("--metrics: unknown metric %q (known: %s)", m, strings.Join(diversity.Names(), ", "))
		}
		if strings.HasPrefix(m, "attribution_") {
			return fmt.Errorf("--metrics %s: attribution diversity per ensemble is computed by divres diversity --members --attrib-method", m)
		}
		features = features || strings.HasSuffix(m, "_cka")
	}
	base, err := ensBaseline(c)
	if err != nil {
		return err
	}
	setup, err := ensPoolSetup(c, true)
	if err != nil {
		return err
	}
	if len(setup.Members) < 2 {
		return errors.New("ensemble pool: the pool needs at least 2 members")
	}
	khi = min(khi, len(setup.Members))
	if klo > khi {
		return fmt.Errorf("--k %s: the pool has %d members", c.String("k"), len(setup.Members))
	}
	setup.Outputs.Logits = method == ensemble.CombineLogits
	setup.Outputs.Features = features
	p, source, dataset, err := ensLoadPool(c, setup)
	if err != nil {
		return err
	}
	var subs [][]int
	if n := c.Int("sample"); n > 0 {
		subs, err = ensemble.SampleSubsets(len(p.Members), klo, khi, n, c.Uint64("seed"))
	} else {
		subs, err = ensemble.Subsets(len(p.Members), klo, khi)
	}
	if err != nil {
		return fmt.Errorf("ensemble pool: %w", err)
	}
	dopt := diversity.Options{Metrics: metrics, RBFThresholds: ths}
	o := ensemble.ScoreOptions{Combine: method, Baseline: base, Dataset: dataset, Corruptions: source, Workers: c.Int("workers")}
	out := c.String("out")
	if _, err := ensScoreMembers(p, out, o); err != nil {
		return err
	}
	o.Diversity = &dopt
	prog := newProgress("score", "ensembles", len(subs))
	o.Progress = prog.Update
	start := time.Now()
	res, err := ensemble.ScoreEnsembles(p, subs, o)
	prog.Finish()
	if err != nil {
		return err
	}
	secs := time.Since(start).Seconds()
	if err := ensWriteTable(out, p, method, targets, res); err != nil {
		return err
	}
	hom := 0
	for _, e := range res {
		if e.Homogeneous {
			hom++
		}
	}
	logrus.WithFields(logrus.Fields{"ensembles": len(res), "homogeneous": hom, "seconds": fmt.Sprintf("%.2f", secs),
		"out": out}).Info("ensemble pool: done")
	return nil
}

// ensNullable marshals NaN and ±Inf as null.
type ensNullable float64

func (v ensNullable) MarshalJSON() ([]byte, error) {
	f := float64(v)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return []byte(strconv.FormatFloat(f, 'g', -1, 64)), nil
}

type ensTableRow struct {
	Name        string                 `json:"name"`
	Size        int                    `json:"size"`
	Members     []string               `json:"members"`
	Homogeneous bool                   `json:"homogeneous"`
	Metrics     map[string]ensNullable `json:"metrics"`
	Diversity   *diversity.Report      `json:"diversity"`
}

type ensPoolMemberRow struct {
	Name   string  `json:"name"`
	Dir    string  `json:"dir"`
	Arch   string  `json:"arch"`
	Style  string  `json:"style"`
	Width  float64 `json:"width"`
	Params int64   `json:"params"`
	Hash   string  `json:"sha256"`
}

// ensWriteTable writes OUT/ensembles.json (the table diversity.ReadEnsembles reads)
// and OUT/ensembles.csv (one row per ensemble: the targets and the scalar
// diversity values).
func ensWriteTable(out string, p *ensemble.Pool, method ensemble.CombineMethod, targets string, res []ensemble.ScoredEnsemble) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("ensemble pool: %w", err)
	}
	var members []ensPoolMemberRow
	for _, m := range p.Members {
		members = append(members, ensPoolMemberRow{Name: m.Name(), Dir: m.Dir, Arch: m.Meta.Arch, Style: m.Meta.Style,
			Width: m.Meta.Width, Params: m.Meta.Params, Hash: m.Hash})
	}
	rows := make([]ensTableRow, len(res))
	tkeys, dkeys := map[string]bool{}, map[string]bool{}
	for i, e := range res {
		r := ensTableRow{Name: e.Name, Size: len(e.Members), Homogeneous: e.Homogeneous, Metrics: map[string]ensNullable{},
			Diversity: e.Diversity}
		for _, m := range e.Members {
			r.Members = append(r.Members, p.Members[m].Dir)
		}
		for k, v := range ensemble.TableMetrics(e.Result) {
			if !ensKeepTarget(k, targets) {
				continue
			}
			r.Metrics[k] = ensNullable(v)
			tkeys[k] = true
		}
		if e.Diversity != nil {
			for k, v := range e.Diversity.Values {
				if _, ok := v.(float64); ok {
					dkeys[k] = true
				}
			}
		}
		rows[i] = r
	}
	doc := map[string]any{"combine": method, "pool": members, "ensembles": rows}
	b, err := json.MarshalIndent(doc, "", " ")
	if err != nil {
		return fmt.Errorf("ensemble pool: %w", err)
	}
	jp := filepath.Join(out, "ensembles.json")
	if err := atomicfile.WriteFile(jp, append(b, '\n')); err != nil {
		return fmt.Errorf("ensemble pool: write %s: %w", jp, err)
	}
	tk, dk := ensSortedSet(tkeys), ensSortedSet(dkeys)
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write(append(append([]string{"name", "size", "homogeneous"}, tk...), dk...))
	num := func(v float64, ok bool) string {
		if !ok || math.IsNaN(v) || math.IsInf(v, 0) {
			return ""
		}
		return strconv.FormatFloat(v, 'g', 10, 64)
	}
	for _, r := range rows {
		rec := []string{r.Name, strconv.Itoa(r.Size), strconv.FormatBool(r.Homogeneous)}
		for _, k := range tk {
			v, ok := r.Metrics[k]
			rec = append(rec, num(float64(v), ok))
		}
		for _, k := range dk {
			var v float64
			ok := false
			if r.Diversity != nil {
				v, ok = r.Diversity.Float(k)
			}
			rec = append(rec, num(v, ok))
		}
		w.Write(rec)
	}
	w.Flush()
	cp := filepath.Join(out, "ensembles.csv")
	if err := atomicfile.WriteFile(cp, buf.Bytes()); err != nil {
		return fmt.Errorf("ensemble pool: write %s: %w", cp, err)
	}
	return nil
}

// ensKeepTarget says whether a TableMetrics key belongs to the --targets level.
func ensKeepTarget(key, level string) bool {
	slashes := strings.Count(key, "/")
	switch level {
	case "summary":
		return slashes == 0
	case "corruption":
		return slashes <= 1 || strings.HasPrefix(key, "accuracy/severity/")
	}
	return true
}

func ensSortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
