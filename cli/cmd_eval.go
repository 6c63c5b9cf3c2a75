package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"

	"github.com/sirupsen/logrus"
	"github.com/urfave/cli/v2"

	"github.com/divres/divres/corrupt"
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
			&cli.IntFlag{Name: "batch", Value: ensemble.DefaultEvalBatch, Usage: "images per forward pass (batches run across slices)"},
			allowNonFiniteFlag("evaluate"),
			deviceFlag(), threadsFlag(), workersFlag(),
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
	workers, err := workersFlagValue(c)
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
	if c.Int("test-subset") < 0 {
		return fmt.Errorf("--test-subset %d: must not be negative", c.Int("test-subset"))
	}
	e := ensemble.CheckpointEval{Model: c.String("model"), Name: c.String("name"), Data: c.String("data"),
		TestSubset: c.Int("test-subset"), Set: c.String("corruptions"), Severities: sevs,
		StrictCorruptions: c.IsSet("corruption-list"), Device: dev, Batch: c.Int("batch"), Workers: workers}
	for _, cc := range cs {
		e.Corruptions = append(e.Corruptions, cc.Name)
	}
	if p := c.String("baseline"); p != "" {
		if e.Baseline, err = corrupt.ReadResult(p); err != nil {
			return fmt.Errorf("--baseline: %w", err)
		}
	}
	if strings.EqualFold(e.Set, "generate") {
		mode, err := corrupt.ParseRNGMode(c.String("rng"))
		if err != nil {
			return fmt.Errorf("--rng: %w", err)
		}
		e.Generate = true
		e.Generation = ensemble.GenerateOptions{Seed: c.Uint64("seed"), RNG: mode, FrostDir: c.String("frost-dir"),
			CacheDir: c.String("cache")}
	}
	if err := checkFiniteWeights(e.Model, c.Bool("allow-nonfinite"), "evaluates"); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	gen, prog := newProgress("corrupt", "img", 0), newProgress("evaluate", "slices", 0)
	e.GenerateProgress, e.Progress = gen.Update, prog.Update
	r, err := ensemble.EvaluateCheckpoint(ctx, e)
	gen.Finish()
	prog.Finish()
	if err != nil {
		return err
	}
	out := c.String("out")
	if out == "" {
		out = ensemble.DefaultEvalDir(e.Model)
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
