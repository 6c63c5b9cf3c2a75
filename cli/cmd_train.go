package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/sirupsen/logrus"
	"github.com/urfave/cli/v2"

	"github.com/divres/divres/ensemble"
	"github.com/divres/divres/internal/progress"
)

func init() {
	addCommand(&cli.Command{
		Name:  "train",
		Usage: "train a classifier on a dataset (checkpoint every epoch, exact --resume)",
		Description: `divres train --arch NAME --data NAME|PATH --out DIR
  writes DIR/config.json, DIR/model.safetensors (weights with PyTorch state_dict
  names and the metadata needed to rebuild and feed the model),
  DIR/train_state.safetensors (optimizer, RNG, epoch: what --resume needs) and
  DIR/history.json/.csv after every epoch, each file atomically.
  A killed run continues exactly with --resume; rerunning a finished run does
  nothing. A NaN or infinite loss stops training and keeps the last checkpoint.`,
		Flags: append(append([]cli.Flag{
			&cli.StringFlag{Name: "arch", Usage: "architecture (see divres nets list)", Required: true},
			&cli.StringFlag{Name: "data", Usage: "dataset: fashion-mnist, mnist, cifar10, cifar100 or a `PATH`", Required: true},
			&cli.StringFlag{Name: "out", Usage: "run `DIR`", Required: true},
			&cli.StringFlag{Name: "style", Value: "cifar", Usage: "cifar or imagenet"},
			&cli.Float64Flag{Name: "width", Value: 1, Usage: "channel width multiplier"},
		}, recipeFlags()...), []cli.Flag{
			&cli.Uint64Flag{Name: "seed", Usage: "seed of weights, data order, subsets and augmentation"},
			&cli.Uint64Flag{Name: "init-seed", Usage: "seed of the weights alone (default: --seed); a jointly trained member's seed"},
			deviceFlag(), ampFlag(), workersFlag(), threadsFlag(),
			&cli.BoolFlag{Name: "resume", Usage: "continue the unfinished run in --out"},
			allowNonFiniteFlag("resume (--resume)"),
			&cli.StringFlag{Name: "progress", Value: "auto", Usage: "auto, bar, log or off"},
		}...),
		Action: runTrain,
	})
}

// trainParseProgress parses a --progress value (auto, bar, log or off).
func trainParseProgress(s string) (ensemble.ProgressMode, error) {
	mode, err := progress.ParseMode(s)
	if err != nil {
		return mode, fmt.Errorf("--progress: %w", err)
	}
	return mode, nil
}

// trainSplitList splits a comma-separated flag value.
func trainSplitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func trainConfigFromFlags(c *cli.Context) ensemble.TrainConfig {
	cfg := ensemble.TrainConfig{
		Arch: c.String("arch"), Data: c.String("data"), Style: c.String("style"), Width: c.Float64("width"),
		InChannels: c.Int("in-channels"), InputSize: c.Int("size"), Fit: c.String("fit"),
		Epochs: c.Int("epochs"), Batch: c.Int("batch"), Optimizer: c.String("optimizer"), LR: c.Float64("lr"), Momentum: c.Float64("momentum"),
		Nesterov: c.Bool("nesterov"), WeightDecay: c.Float64("wd"), NoDecayBNBias: c.Bool("no-decay-bn-bias"),
		Schedule: c.String("schedule"), Warmup: c.Float64("warmup"), LabelSmoothing: c.Float64("label-smoothing"),
		Subset: c.Int("subset"), PerClass: c.Int("per-class"), ValFraction: c.Float64("val-fraction"),
		ValLimit: c.Int("val-limit"), Augment: trainSplitList(c.String("augment")), Seed: c.Uint64("seed"),
		Device: c.String("device"), AMP: c.String("amp"), Workers: c.Int("workers"), Threads: c.Int("threads"),
	}
	if c.IsSet("init-seed") {
		s := c.Uint64("init-seed")
		cfg.InitSeed = &s
	}
	cfg.NoMomentum = c.IsSet("momentum") && cfg.Momentum == 0
	cfg.NoWeightDecay = c.IsSet("wd") && cfg.WeightDecay == 0
	if cfg.Schedule == "step" {
		cfg.StepEpochs, cfg.StepGamma = c.Int("step-epochs"), c.Float64("step-gamma")
	}
	for _, a := range cfg.Augment {
		switch strings.ToLower(a) {
		case "crop":
			cfg.CropPad = c.Int("crop-pad")
		case "cutout":
			cfg.Cutout = c.Int("cutout")
		}
	}
	return cfg
}

func runTrain(c *cli.Context) error {
	if c.NArg() > 0 {
		return fmt.Errorf("train: unexpected argument %q", c.Args().First())
	}
	mode, err := trainParseProgress(c.String("progress"))
	if err != nil {
		return err
	}
	cfg := trainConfigFromFlags(c)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	out := c.String("out")
	if c.Bool("resume") {
		if err := checkFiniteWeights(filepath.Join(out, ensemble.TrainStateFile), c.Bool("allow-nonfinite"), "resumes from"); err != nil {
			return err
		}
	}
	res, err := ensemble.Train(ctx, cfg, out, ensemble.TrainOptions{Resume: c.Bool("resume"), Progress: mode})
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return fmt.Errorf("train: interrupted; the last completed epoch is saved in %s: continue with --resume", out)
		}
		return err
	}
	if res.AlreadyDone {
		return nil
	}
	f := logrus.Fields{"out": out, "model": res.Meta.Model, "params": res.Meta.Params, "epochs": len(res.History)}
	if n := len(res.History); n > 0 {
		last := res.History[n-1]
		f["train_acc"] = fmt.Sprintf("%.4f", last.TrainAccuracy)
		if last.ValAccuracy != nil {
			f["val_acc"] = fmt.Sprintf("%.4f", *last.ValAccuracy)
		}
	}
	logrus.WithFields(f).Info("train: finished")
	return nil
}
