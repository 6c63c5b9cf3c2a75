package main

import (
	"encoding/json"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/divres/divres/bench"
	"github.com/divres/divres/nets"
)

func init() {
	flags := func() []cli.Flag {
		return []cli.Flag{
			&cli.StringFlag{Name: "arch", Value: "resnet18", Usage: "architecture"},
			&cli.IntFlag{Name: "batch", Value: 128},
			&cli.IntFlag{Name: "steps", Value: 20, Usage: "timed steps"},
			&cli.IntFlag{Name: "warmup", Value: 3, Usage: "untimed steps first"},
			&cli.Float64Flag{Name: "width", Value: 1},
			&cli.StringFlag{Name: "style", Value: "cifar"},
			&cli.IntFlag{Name: "in-channels", Value: 3},
			&cli.IntFlag{Name: "classes", Value: 10},
			&cli.IntFlag{Name: "size", Usage: "input side (default: the style's)"},
			deviceFlag(), threadsFlag(), ampFlag(),
			&cli.BoolFlag{Name: "json", Usage: "print the statistics as JSON"},
		}
	}
	addCommand(&cli.Command{
		Name:  "bench",
		Usage: "time training steps or inference of an architecture (compare with bench/python/train_step.py)",
		Subcommands: []*cli.Command{
			{
				Name:  "train",
				Usage: "median time of a training step: forward, cross-entropy, backward, SGD step (momentum 0.9, weight decay 5e-4)",
				Flags: flags(), Action: func(c *cli.Context) error { return runBench(c, true) },
			},
			{
				Name:  "infer",
				Usage: "median time of an inference forward pass (evaluation mode, inference scope)",
				Flags: flags(), Action: func(c *cli.Context) error { return runBench(c, false) },
			},
		},
	})
}

func runBench(c *cli.Context, train bool) error {
	dev, err := torchFlags(c)
	if err != nil {
		return err
	}
	st, err := nets.ParseStyle(c.String("style"))
	if err != nil {
		return fmt.Errorf("--style: %w", err)
	}
	_, fwd, err := ampFlagValue(c, dev)
	if err != nil {
		return err
	}
	r, err := bench.Run(bench.Config{Arch: c.String("arch"), Style: st, Width: c.Float64("width"),
		InChannels: c.Int("in-channels"), Classes: c.Int("classes"), Size: c.Int("size"), Batch: c.Int("batch"),
		Steps: c.Int("steps"), Warmup: c.Int("warmup"), Train: train, Device: dev, Forward: fwd})
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return json.NewEncoder(c.App.Writer).Encode(r)
	}
	_, err = fmt.Fprintln(c.App.Writer, r.String())
	return err
}
