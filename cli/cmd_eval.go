package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/sirupsen/logrus"
	"github.com/urfave/cli/v2"

	"github.com/divres/divres/corrupt"
	"github.com/divres/divres/data"
	"github.com/divres/divres/ensemble"
)

func init() {
	addCommand(&cli.Command{
		Name:  "eval",
		Usage: "measure a trained model on the corruption benchmark (clean error, E(s,c), CE, mCE, relative mCE)",
		Description: `divres eval --model CKPT --corruptions DIR|generate [--baseline RESULT.json]
  evaluates the checkpoint (a model.safetensors or its run directory) on the clean
  test set and on every corruption × severity of a CIFAR-10-C style directory, or of
  a set generated from the clean test set (--corruptions generate; cached under
  --cache, keyed by dataset, test-subset size, seed, random mode and severities, so
  that other models and runs reuse it). Writes OUT/eval.json and OUT/eval.csv.
  With --baseline (the eval.json of the baseline, e.g. ResNet50 trained the same way)
  CE, mCE, relative CE and relative mCE are added.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "model", Usage: "checkpoint `FILE` or run directory", Required: true},
			&cli.StringFlag{Name: "corruptions", Usage: "corruption set `DIR`, or \"generate\"", Required: true},
			&cli.StringFlag{Name: "data", Usage: "clean dataset (default: the one the model was trained on)"},
			&cli.StringFlag{Name: "baseline", Usage: "baseline result `FILE` (eval.json) for CE and mCE"},
			&cli.StringFlag{Name: "out", Usage: "output `DIR` (default: eval/ beside the model)"},
			&cli.StringFlag{Name: "name", Usage: "model name in the result (default: from the checkpoint)"},
			&cli.IntFlag{Name: "test-subset", Usage: "use the first `N` test images (and the first N of each corrupted slice)"},
			&cli.StringFlag{Name: "severities", Value: "1-5", Usage: "severities, e.g. 1-5 or 1,3,5"},
			&cli.StringFlag{Name: "corruption-list", Value: "all", Usage: "comma-separated names, \"all\" or \"benchmark\""},
			&cli.Uint64Flag{Name: "seed", Usage: "generate: random seed of the corruptions"},
			&cli.StringFlag{Name: "rng", Value: "default", Usage: "generate: random mode, default or numpy"},
			&cli.StringFlag{Name: "frost-dir", Usage: "generate: `DIR` of the original frost images (default: procedural)"},
			&cli.StringFlag{Name: "cache", Usage: "generate: cache `DIR` of generated sets (default: " + ensemble.DefaultCacheDir() + ")"},
			&cli.StringFlag{Name: "device", Value: "auto", Usage: "cpu, cuda, cuda:N or auto"},
			&cli.IntFlag{Name: "batch", Value: 256},
			&cli.IntFlag{Name: "workers", Value: runtime.NumCPU(), Usage: "data and corruption goroutines"},
			&cli.IntFlag{Name: "threads", Usage: "libtorch intra-op threads"},
		},
		Action: runEval,
	})
}

func runEval(c *cli.Context) error {
	if c.NArg() > 0 {
		return fmt.Errorf("eval: unexpected argument %q", c.Args().First())
	}
	dev, err := torchFlags(c)
	if err != nil {
		return err
	}
	sevs, err := parseSeverities(c.String("severities"))
	if err != nil {
		return err
	}
	cs, err := parseCorruptions(c.String("corruption-list"))
	if err != nil {
		return fmt.Errorf("--corruption-list: %s", strings.TrimPrefix(err.Error(), "--corruptions: "))
	}
	names := make([]string, len(cs))
	for i, cc := range cs {
		names[i] = cc.Name
	}
	var base *corrupt.Result
	if p := c.String("baseline"); p != "" {
		if base, err = corrupt.ReadResult(p); err != nil {
			return fmt.Errorf("--baseline: %w", err)
		}
	}

	net, meta, err := ensemble.LoadModel(c.String("model"), dev)
	if err != nil {
		return err
	}
	defer net.Close()
	if n := c.String("name"); n != "" {
		meta.Model = n
	}
	spec := c.String("data")
	if spec == "" {
		spec = meta.Dataset
	}
	_, test, err := data.Open(spec, data.OpenOptions{})
	if err != nil {
		return fmt.Errorf("eval: clean test set: %w", err)
	}
	if test == nil {
		return fmt.Errorf("eval: dataset %s has no test set", spec)
	}
	if n := c.Int("test-subset"); n > 0 {
		if n > test.Len() {
			return fmt.Errorf("--test-subset %d: the test set has %d images", n, test.Len())
		}
		test = data.FirstK(test, n)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	var set *corrupt.Set
	source := c.String("corruptions")
	if strings.EqualFold(source, "generate") {
		mode, err := corrupt.ParseRNGMode(c.String("rng"))
		if err != nil {
			return fmt.Errorf("--rng: %w", err)
		}
		gen := ensemble.GenerateOptions{Dataset: spec, Seed: c.Uint64("seed"), RNG: mode, FrostDir: c.String("frost-dir"),
			Corruptions: names, Severities: sevs, CacheDir: c.String("cache"), Workers: c.Int("workers")}
		prog := newProgress("corrupt", "img", test.Len()*len(names)*len(sevs))
		gen.Progress = prog.Update
		set, source, err = ensemble.GenerateSet(ctx, test, gen)
		prog.Finish()
		if err != nil {
			return err
		}
		logrus.WithField("dir", set.Dir).Info("eval: corruption set ready")
	} else if set, err = corrupt.OpenSet(source); err != nil {
		return err
	}
	var want []string
	for _, n := range names {
		if slices.Contains(set.Info.Corruptions, n) {
			want = append(want, n)
		} else if c.IsSet("corruption-list") {
			return fmt.Errorf("eval: the corruption set %s has no %s", set.Dir, n)
		}
	}
	if len(want) == 0 {
		return fmt.Errorf("eval: the corruption set %s has none of the corruptions asked for", set.Dir)
	}

	n := c.Int("test-subset")
	if n == 0 && set.Info.N != test.Len() {
		return fmt.Errorf("eval: the corruption set has %d images per slice, the test set %d: give --test-subset", set.Info.N, test.Len())
	}
	prog := newProgress("evaluate", "slices", 1+len(want)*len(sevs))
	r, err := ensemble.EvaluateCorruptions(ctx, net, meta, test, set, dev, ensemble.EvalOptions{Corruptions: want,
		Severities: sevs, N: n, Source: source, Batch: c.Int("batch"), Workers: c.Int("workers"), Progress: prog.Update})
	prog.Finish()
	if err != nil {
		return err
	}
	if err := r.FillCorruptionAccuracy(); err != nil {
		logrus.Warnf("eval: %v", err)
	}
	if base != nil {
		if err := corrupt.ComputeCE(r, base); err != nil {
			if !errors.Is(err, corrupt.ErrIncomplete) {
				return err
			}
			logrus.Warnf("eval: %v", err)
		}
		if u := corrupt.UndefinedRelativeCE(base); len(u) > 0 {
			logrus.Warnf("eval: relative CE undefined for %s (the baseline is not hurt by them); relative mCE averages the others",
				strings.Join(u, ", "))
		}
	}
	out := c.String("out")
	if out == "" {
		out = filepath.Join(filepath.Dir(evalModelFile(c.String("model"))), "eval")
	}
	if err := corrupt.WriteResult(out, r); err != nil {
		return err
	}
	f := logrus.Fields{"model": r.Model, "clean_error": fmt.Sprintf("%.4f", r.CleanError),
		"corruption_accuracy": fmt.Sprintf("%.4f", r.CorruptionAccuracy), "out": out}
	if r.MCE != nil {
		f["mce"] = fmt.Sprintf("%.4f", *r.MCE)
	}
	if r.RelativeMCE != nil {
		f["relative_mce"] = fmt.Sprintf("%.4f", *r.RelativeMCE)
	}
	logrus.WithFields(f).Info("eval: done")
	return nil
}

// evalModelFile resolves a run directory to its model file.
func evalModelFile(p string) string {
	if st, err := os.Stat(p); err == nil && st.IsDir() {
		return filepath.Join(p, ensemble.ModelFile)
	}
	return p
}
