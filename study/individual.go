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
		Outputs: []string{"train", "corruptions", "eval", filepath.Join("figures", plots.TableSummary+".md")},
		Recipe:  func(c Config) any { return c },
		Run:     runIndividual,
		Resume:  resumeIndividual,
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
	if table, err := os.ReadFile(filepath.Join(r.Dir, "figures", plots.TableSummary+".md")); err == nil {
		fmt.Fprintln(r.Opts.Out, string(table))
	}
}

func runIndividual(ctx context.Context, r *Run) error {
	cfg, dir, dev := r.Config, r.Dir, r.Opts.Device
	start := time.Now()

	// 1. Train every model the same way; finished runs are kept, interrupted ones
	// resumed.
	var failed []string
	trained := map[string]bool{}
	for i, m := range cfg.Models {
		done := step(fmt.Sprintf("train %s (%d/%d)", m.Name(), i+1, len(cfg.Models)))
		tc := cfg.TrainConfig(m, dev.String())
		tc.Workers = r.Opts.Workers
		_, err := ensemble.Train(ctx, tc, filepath.Join(dir, "train", m.Name()),
			ensemble.TrainOptions{Resume: true, Progress: ensemble.ProgressLog})
		done()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			logrus.Errorf("study: %s: %v", m.Name(), err)
			failed = append(failed, m.Name())
			continue
		}
		trained[m.Name()] = true
	}

	// 2. The corrupted test set, generated once for all models.
	done := step("corruption set")
	_, test, err := data.Open(cfg.Data, data.OpenOptions{})
	if err != nil {
		return fmt.Errorf("study: %w", err)
	}
	if test == nil {
		return fmt.Errorf("study: %s has no test set", cfg.Data)
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

	// 3. Evaluate every trained model on the clean and corrupted test sets.
	results := map[string]*corrupt.Result{}
	for _, m := range cfg.Models {
		if !trained[m.Name()] {
			continue
		}
		res, err := evalCached(ctx, dir, m, padded, set, source, dev)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			logrus.Errorf("study: evaluate %s: %v", m.Name(), err)
			failed = append(failed, m.Name())
			continue
		}
		results[m.Name()] = res
	}

	// 4. CE, mCE and relative mCE against the baseline.
	baseName := baselineName(cfg)
	if base := results[baseName]; base != nil {
		for name, res := range results {
			if err := corrupt.ComputeCE(res, base); err != nil {
				// With a partial benchmark, what could be computed is kept.
				logrus.Warnf("study: CE of %s: %v", name, err)
				if !errors.Is(err, corrupt.ErrIncomplete) {
					continue
				}
			}
			if err := corrupt.WriteResult(filepath.Join(dir, "eval", name), res); err != nil {
				return fmt.Errorf("study: %w", err)
			}
		}
	} else if baseName != "" {
		logrus.Warnf("study: the baseline %s has no result; CE and relative mCE are left out", baseName)
		baseName = ""
	}
	r.Baseline = baseName

	// 5. Figures and the summary table.
	done = step("figures")
	rep, err := plots.RunStudy(plots.StudyOptions{Results: []string{filepath.Join(dir, "eval")},
		Out: filepath.Join(dir, "figures"), Baseline: baseName})
	done()
	if err != nil {
		return fmt.Errorf("study: figures: %w", err)
	}
	for fig, why := range rep.Skipped {
		logrus.Warnf("study: figure %s skipped: %s", fig, why)
	}
	r.printSummary()
	logrus.Infof("study: %d models in %s (%.1fs); figures in %s", len(results), dir, time.Since(start).Seconds(),
		filepath.Join(dir, "figures"))
	if len(failed) > 0 {
		return fmt.Errorf("study: %d model(s) failed: %s (the others' results are complete; rerun to retry)",
			len(failed), strings.Join(failed, ", "))
	}
	return nil
}

// evalCached evaluates one model, or reads its result when a previous run already
// evaluated the same checkpoint on the same corruption set (a result newer than
// the checkpoint, with the same corruption source).
func evalCached(ctx context.Context, dir string, m Model, test data.Dataset, set *corrupt.Set, source string,
	dev torch.Device) (*corrupt.Result, error) {
	outDir := filepath.Join(dir, "eval", m.Name())
	model := filepath.Join(dir, "train", m.Name())
	if r, err := corrupt.ReadResult(filepath.Join(outDir, "eval.json")); err == nil && r.Corruptions == source {
		if ck, err1 := os.Stat(filepath.Join(model, ensemble.ModelFile)); err1 == nil {
			if ev, err2 := os.Stat(filepath.Join(outDir, "eval.json")); err2 == nil && ev.ModTime().After(ck.ModTime()) {
				logrus.Infof("study: %s already evaluated", m.Name())
				return r, nil
			}
		}
	}
	done := step("evaluate " + m.Name())
	defer done()
	net, meta, err := ensemble.LoadModel(model, dev)
	if err != nil {
		return nil, err
	}
	defer net.Close()
	prog := progress.New("evaluate "+m.Name(), "slice", int64(1+len(set.Info.Corruptions)*len(set.Info.Severities)),
		progress.Options{})
	r, err := ensemble.EvaluateCorruptions(ctx, net, meta, test, set, dev,
		ensemble.EvalOptions{N: test.Len(), Source: source, Progress: prog.Update})
	prog.Finish()
	if err != nil {
		return nil, err
	}
	if err := corrupt.WriteResult(outDir, r); err != nil {
		return nil, err
	}
	return r, nil
}
