package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"

	"github.com/urfave/cli/v2"

	"github.com/divres/divres/study"
)

func init() {
	addCommand(&cli.Command{
		Name:  "study",
		Usage: "the reproducible experiment: train diverse architectures, measure corruption resiliency, draw the figures",
		Description: `divres study --out RUN [--config study.json] [--stages 1,2]
  runs the design-diversity study as stages in the run directory (see the study
  package): stage 1 trains every architecture of the configuration the same way
  with each of its seeds (RUN/train/<model>_s<seed>), generates a corrupted test
  set once (RUN/corruptions), evaluates every model on it (RUN/seeds), averages
  each architecture over its seeds (RUN/eval/<model>/eval.json: clean error,
  E(s,c), CE, mCE and relative mCE against the baseline, ResNet50 by default),
  draws the figures and summary table (RUN/figures) and writes the intervals and
  verdicts (RUN/stats/individual.md). Without --config it runs the default study
  on Fashion-MNIST, sized for a 2-core CPU.
  Every stage's outputs are written atomically; a rerun skips the stages that
  completed with the same recipe, reuses what an unfinished one finished and
  resumes interrupted training, and one model's failure does not stop the others.
  --print-config writes the configuration, as a starting point for your own.
  The study is also a plan of cells (one training run per model and seed, then
  each stage): --plan lists them with their dependencies and outputs, --cell ID
  runs one, --devices cuda:0,cuda:1 (or auto, or cpu:N) runs independent cells at
  once, one per device, and --slurm submits them as Slurm job arrays chained with
  afterok (scripts and job ids in RUN/slurm), --status shows queued, running,
  done and failed cells, --retry-failed submits again what failed.`,
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "out", Value: "runs/default", Usage: "run `DIR`"},
			&cli.StringFlag{Name: "config", Usage: "study configuration `FILE` (JSON; default: the built-in CPU study)"},
			&cli.StringFlag{Name: "preset", Value: "quick", Usage: "the recipe `NAME` --config starts from: quick (2-core CPU, minutes) or cifar10 (full scale, GPU)"},
			&cli.BoolFlag{Name: "print-config", Usage: "print the configuration and exit"},
			&cli.StringFlag{Name: "stages", Usage: "run only these stages, e.g. 1 or 1,2 (default: all)"},
			deviceFlag(), threadsFlag(), workersFlag(),
		}, cellFlags()...),
		Action: runStudy,
	})
}

func runStudy(c *cli.Context) error {
	if c.NArg() > 0 {
		return fmt.Errorf("study: unexpected argument %q", c.Args().First())
	}
	cfg, err := study.LoadPreset(c.String("preset"), c.String("config"))
	if err != nil {
		return fmt.Errorf("--config: %w", err)
	}
	if c.Bool("print-config") {
		_, err := fmt.Fprintln(c.App.Writer, string(cfg.JSON()))
		return err
	}
	opts := study.Options{Out: c.App.Writer}
	if s := c.String("stages"); s != "" {
		if opts.Stages, err = study.ParseStages(s); err != nil {
			return fmt.Errorf("--stages: %w", err)
		}
	}
	if opts.Device, err = torchFlags(c); err != nil {
		return err
	}
	if opts.Workers, err = workersFlagValue(c); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if mode := cellMode(c); mode != "" {
		return runStudyCells(ctx, c, mode, cfg, opts)
	}
	return study.Execute(ctx, cfg, c.String("out"), opts)
}
