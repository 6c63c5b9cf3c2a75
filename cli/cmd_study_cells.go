package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/divres/divres/study"
)

// cellFlags are the options of divres study that run its cells apart: the
// plan, one cell, several devices, Slurm.
func cellFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "plan", Usage: "print the study's cells (dependencies, outputs, done or pending) and exit"},
		&cli.StringFlag{Name: "cell", Usage: "run only the cell `ID` (what a Slurm job or a device worker runs; the recipe is RUN/study.json)"},
		&cli.StringFlag{Name: "devices", Usage: "run independent cells at once, one per device: `LIST` cuda:0,cuda:1, auto (every GPU, else the CPU) or cpu:N (N CPU slots)"},
		&cli.BoolFlag{Name: "slurm", Usage: "submit the cells to Slurm as job arrays (scripts and jobs.json in RUN/slurm)"},
		&cli.StringFlag{Name: "partition", Usage: "Slurm partition `P` (with --slurm or --retry-failed)"},
		&cli.StringFlag{Name: "gres", Usage: "Slurm generic resources per cell, e.g. gpu:1"},
		&cli.StringFlag{Name: "time", Usage: "Slurm time limit per cell, e.g. 2:00:00"},
		&cli.StringFlag{Name: "account", Usage: "Slurm account `A`"},
		&cli.BoolFlag{Name: "status", Usage: "show each cell's state under Slurm: done, running, queued, blocked, failed"},
		&cli.BoolFlag{Name: "retry-failed", Usage: "submit again to Slurm the cells that failed and those blocked behind them (with the Slurm and device options of the last submission unless given)"},
	}
}

// cellMode is the one of --plan, --cell, --devices, --slurm, --status and
// --retry-failed given ("" for none; "conflict" for several).
func cellMode(c *cli.Context) string {
	var set []string
	for _, f := range []string{"plan", "cell", "devices", "slurm", "status", "retry-failed"} {
		if c.IsSet(f) {
			set = append(set, f)
		}
	}
	switch len(set) {
	case 0:
		return ""
	case 1:
		return set[0]
	}
	return "conflict: --" + strings.Join(set, ", --")
}

func runStudyCells(ctx context.Context, c *cli.Context, mode string, cfg study.Config, opts study.Options) error {
	if strings.HasPrefix(mode, "conflict") {
		return fmt.Errorf("study: give one of %s", strings.TrimPrefix(mode, "conflict: "))
	}
	out := c.String("out")
	// Without --config or --preset, the cells are those of the study already in
	// RUN, with its recipe as saved (a cell, the status and a retry need one).
	if !c.IsSet("config") && !c.IsSet("preset") {
		_, err := os.Stat(filepath.Join(out, "study.json"))
		if err == nil || mode == "cell" || mode == "status" || mode == "retry-failed" {
			if cfg, err = study.LoadRunConfig(out); err != nil {
				return err
			}
		}
	}
	plan, err := study.NewPlan(cfg, out, opts)
	if err != nil {
		return err
	}
	so := study.SlurmOptions{Partition: c.String("partition"), Gres: c.String("gres"), Time: c.String("time"),
		Account: c.String("account")}
	for _, f := range []string{"device", "threads", "workers"} {
		if c.IsSet(f) {
			so.Args = append(so.Args, "--"+f, c.String(f))
		}
	}
	switch mode {
	case "plan":
		return plan.WriteTable(c.App.Writer)
	case "cell":
		return plan.RunCell(ctx, c.String("cell"), opts.Device)
	case "devices":
		slots, err := study.ParseDevices(c.String("devices"))
		if err != nil {
			return fmt.Errorf("--devices: %w", err)
		}
		return plan.Schedule(ctx, slots)
	case "status":
		cells, err := plan.SlurmStatus(ctx, so)
		if err != nil {
			return err
		}
		return study.WriteSlurmStatus(c.App.Writer, cells)
	}
	submit := plan.SubmitSlurm
	if mode == "retry-failed" {
		submit = plan.RetrySlurm
	}
	jobs, err := submit(ctx, so)
	for _, j := range jobs {
		fmt.Fprintf(c.App.Writer, "job %s: stage %d, %d cells (%s)\n", j.ID, j.Stage, len(j.Cells), j.Dependency)
	}
	if err == nil && len(jobs) == 0 {
		fmt.Fprintln(c.App.Writer, "nothing to submit: every cell is done, queued or running")
	}
	return err
}
