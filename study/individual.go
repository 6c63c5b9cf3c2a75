package study

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/divres/divres/corrupt"
	"github.com/divres/divres/data"
	"github.com/divres/divres/ensemble"
	"github.com/divres/divres/internal/progress"
	"github.com/divres/divres/plots"
	"github.com/divres/divres/torch"
)

// individualStage is stage 1: the individual architectures against the baseline.
func individualStage() Stage {
	return Stage{
		Number: 1, Name: "individual",
		Outputs: []string{"train", "corruptions", "seeds", "eval", filepath.Join("figures", plots.TableSummary+".md"),
			filepath.Join("stats", individualTable+".md"), filepath.Join(findingsDir, "finding1-s1.json")},
		Recipe: func(c Config) any { return c.base() },
		Run:    runIndividual,
		Resume: resumeIndividual,
		Cells:  individualCells,
	}
}

// step times a step of a stage in the log.
func step(name string) func() {
	start := time.Now()
	logrus.Infof("study: %s", name)
	return func() { logrus.Infof("study: %s done in %.1fs", name, time.Since(start).Seconds()) }
}

// baselineName is the name of the baseline model of cfg ("" when it has none).
func baselineName(cfg Config) string {
	name := ""
	for _, m := range cfg.Models {
		if m.Arch == cfg.Baseline {
			name = m.Name()
		}
	}
	return name
}

// resumeIndividual reads back the baseline of a complete stage 1 and prints its
// summary table.
func resumeIndividual(r *Run) error {
	base := baselineName(r.Config)
	if _, err := corrupt.ReadResult(filepath.Join(r.Dir, "eval", base, "eval.json")); err == nil {
		r.Baseline = base
	}
	r.printSummary()
	return nil
}

func (r *Run) printSummary() {
	if r.Opts.Out == nil {
		return
	}
	for _, p := range []string{filepath.Join("figures", plots.TableSummary+".md"), filepath.Join("stats", individualTable+".md")} {
		if table, err := os.ReadFile(filepath.Join(r.Dir, p)); err == nil {
			fmt.Fprintln(r.Opts.Out, string(table))
		}
	}
}

func runIndividual(ctx context.Context, r *Run) error {
	cfg, dir, dev := r.Config, r.Dir, r.Opts.Device
	start := time.Now()
	seeds := cfg.SeedList()

	// 1. Train every model the same way with every seed; finished runs are kept,
	// interrupted ones resumed.
	var failed []string
	trained := map[string]bool{}
	total, i := len(cfg.Models)*len(seeds), 0
	for _, m := range cfg.Models {
		for _, seed := range seeds {
			i++
			name := MemberName(m, seed)
			r.cell(i, total, "train "+name)
			already, err := trainMember(ctx, r, m, seed)
			if err == nil && already {
				r.skipped()
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if err != nil {
				logrus.Errorf("study: %s: %v", name, err)
				failed = append(failed, name)
				continue
			}
			trained[name] = true
		}
	}

	// 2. The corrupted test set, generated once for all models.
	done := step("corruption set")
	test, err := data.OpenTest(cfg.Data, data.OpenOptions{})
	if err != nil {
		return fmt.Errorf("study: %w", err)
	}
	if cfg.TestSubset > 0 && cfg.TestSubset < test.Len() {
		test = data.FirstK(test, cfg.TestSubset)
	}
	padded, err := PadTo(test, cfg.InputSize)
	if err != nil {
		return fmt.Errorf("study: %w", err)
	}
	mode, err := corrupt.ParseRNGMode(cfg.RNG)
	if err != nil {
		return fmt.Errorf("study: %w", err)
	}
	prog := progress.New("corrupt", "img",
		int64(test.Len()*max(1, len(cfg.Corruptions), len(corrupt.Names))*max(1, len(cfg.Severities), 5)), progress.Options{})
	set, source, err := ensemble.GenerateSet(ctx, padded, ensemble.GenerateOptions{
		Dataset: fmt.Sprintf("%s padded to %d", cfg.Data, cfg.InputSize), Seed: cfg.Seed, RNG: mode,
		Corruptions: cfg.Corruptions, Severities: cfg.Severities, CacheDir: filepath.Join(dir, "corruptions"),
		Workers: r.Opts.Workers, Progress: prog.Update,
	})
	prog.Finish()
	done()
	if err != nil {
		return fmt.Errorf("study: %w", err)
	}

	// 3. Evaluate every trained model on the clean and corrupted test sets; the
	// per-image outcomes are kept for the statistics.
	evals := map[string][]*memberEval{}
	for _, m := range cfg.Models {
		for _, seed := range seeds {
			name := MemberName(m, seed)
			if !trained[name] {
				continue
			}
			ev, err := evalCached(ctx, dir, name, padded, set, source, dev, r.Opts.Workers)
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if err != nil {
				logrus.Errorf("study: evaluate %s: %v", name, err)
				failed = append(failed, name)
				continue
			}
			evals[m.Name()] = append(evals[m.Name()], ev)
		}
	}

	// 4. Per model, the mean over its seeds; CE, mCE and relative mCE against the
	// baseline's mean.
	results := map[string]*corrupt.Result{}
	for name, evs := range evals {
		results[name] = meanResult(name, evs)
	}
	baseName := baselineName(cfg)
	base := results[baseName]
	if base == nil && baseName != "" {
		logrus.Warnf("study: the baseline %s has no result; CE and relative mCE are left out", baseName)
		baseName = ""
	}
	for name, res := range results {
		if base != nil {
			if err := corrupt.ComputeCE(res, base); err != nil {
				// With a partial benchmark, what could be computed is kept.
				logrus.Warnf("study: CE of %s: %v", name, err)
				if !errors.Is(err, corrupt.ErrIncomplete) {
					continue
				}
			}
		}
		if err := corrupt.WriteResult(filepath.Join(dir, "eval", name), res); err != nil {
			return fmt.Errorf("study: %w", err)
		}
	}
	r.Baseline = baseName

	// 5. Intervals, seed spread, rank stability and verdicts.
	done = step("statistics")
	st := individualStatistics(cfg, baseName, evals, test.Len(), test.NumClasses())
	err = writeIndividualStats(filepath.Join(dir, "stats"), st)
	if err == nil {
		err = writeFinding(dir, cfg, findingOne(st))
	}
	done()
	if err != nil {
		return fmt.Errorf("study: statistics: %w", err)
	}

	// 6. Figures (error bars from the intervals, bands from the seeds) and the
	// summary table.
	done = step("figures")
	rep, err := plots.RunStudy(plots.StudyOptions{Results: []string{filepath.Join(dir, "eval")},
		Out: filepath.Join(dir, "figures"), Baseline: baseName,
		Intervals: filepath.Join(dir, "stats", individualTable+".json"), Seeds: filepath.Join(dir, "seeds")})
	done()
	if err != nil {
		return fmt.Errorf("study: figures: %w", err)
	}
	for fig, why := range rep.Skipped {
		logrus.Warnf("study: figure %s skipped: %s", fig, why)
	}
	r.printSummary()
	logrus.Infof("study: %d models × %d seeds in %s (%.1fs); figures in %s", len(results), len(seeds), dir,
		time.Since(start).Seconds(), filepath.Join(dir, "figures"))
	if len(failed) > 0 {
		return fmt.Errorf("study: %d model(s) failed: %s (the others' results are complete; rerun to retry)",
			len(failed), strings.Join(failed, ", "))
	}
	return nil
}

// evalCached evaluates one trained member (RUN/train/<name>) into
// RUN/seeds/<name> (eval.json and the per-image outcomes, outcomes.json), or
// reads them back when a previous run evaluated the same checkpoint on the same
// corruption set (results newer than the checkpoint, with the same source).
func evalCached(ctx context.Context, dir, name string, test data.Dataset, set *corrupt.Set, source string,
	dev torch.Device, workers int) (*memberEval, error) {
	outDir := filepath.Join(dir, "seeds", name)
	model := filepath.Join(dir, "train", name)
	if ev, err := readMemberEval(outDir); err == nil && ev.Result.Corruptions == source && ev.Outcomes.N == test.Len() {
		if ck, err1 := os.Stat(filepath.Join(model, ensemble.ModelFile)); err1 == nil {
			if st, err2 := os.Stat(filepath.Join(outDir, outcomesFile)); err2 == nil && st.ModTime().After(ck.ModTime()) {
				logrus.Infof("study: %s already evaluated", name)
				return ev, nil
			}
		}
	}
	done := step("evaluate " + name)
	defer done()
	// Through the run's prediction cache, so that the stages after this one
	// find the member's outputs (with features) on every slice computed.
	members, err := ensemble.OpenPoolMembers([]string{model})
	if err != nil {
		return nil, err
	}
	ins, err := ensemble.EvalSlices(test, set, nil, nil, test.Len())
	if err != nil {
		return nil, err
	}
	cache, err := runCache(dir)
	if err != nil {
		return nil, err
	}
	prog := progress.New("evaluate "+name, "slice", int64(len(ins)), progress.Options{})
	outs, err := cache.Outputs(ctx, members, ins, dev, ensemble.OutputsOptions{Features: true, Workers: workers, Progress: prog.Update})
	prog.Finish()
	if err != nil {
		return nil, err
	}
	out := &Outcomes{N: test.Len()}
	slices := make([]ensemble.Slice, len(ins))
	errs := make([]float64, len(ins))
	for k, in := range ins {
		o := outs[0][k]
		p := &ensemble.Predictions{N: o.N, Classes: o.Classes, Labels: make([]int, o.N), Pred: make([]int, o.N)}
		wrong := 0
		for n := range o.N {
			p.Labels[n] = int(o.Labels[n])
			best := 0
			for c := 1; c < o.Classes; c++ {
				if o.Probs[n*o.Classes+c] > o.Probs[n*o.Classes+best] {
					best = c
				}
			}
			p.Pred[n] = best
			if best != p.Labels[n] {
				wrong++
			}
		}
		slices[k], errs[k] = in.Slice, float64(wrong)/float64(max(o.N, 1))
		out.add(in.Slice.Corruption, in.Slice.Severity, p)
	}
	meta := members[0].Meta
	info := ensemble.EnsembleInfo(members, "", source)
	info.Model, info.Arch, info.Style, info.Width, info.Params = meta.Model, meta.Arch, meta.Style, meta.Width, meta.Params
	res, _, err := ensemble.ResultFromSliceErrors(info, slices, errs, nil)
	if err != nil {
		return nil, err
	}
	if err := corrupt.WriteResult(outDir, res); err != nil {
		return nil, err
	}
	if err := out.write(filepath.Join(outDir, outcomesFile)); err != nil {
		return nil, err
	}
	return &memberEval{Result: res, Outcomes: out}, nil
}

// cacheDir is the run's prediction cache (RUN/cache): every member's outputs on
// every slice, computed once for all the stages.
const cacheDir = "cache"

// runCache opens the prediction cache of the run directory dir.
func runCache(dir string) (*ensemble.PredictionCache, error) {
	return ensemble.NewPredictionCache(filepath.Join(dir, cacheDir))
}
