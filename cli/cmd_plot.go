package main

import (
	"errors"
	"fmt"
	"maps"
	"sort"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/urfave/cli/v2"

	"github.com/divres/divres/plots"
)

func init() {
	addCommand(&cli.Command{
		Name:      "plot",
		Usage:     "draw the study's figures and summary table from evaluation results",
		ArgsUsage: "[RESULT.json|DIR ...]",
		Description: `Reads evaluation results (eval.json files; directories are searched
recursively, other JSON files in them are ignored) and writes to --out:
  relative_mce.*            relative mCE and mCE per model against the baseline (bars)
  error_vs_severity.*       error against severity per corruption family
  heatmap_error.*           model × corruption heat map of the corruption error
  heatmap_ce.*              the same for CE (percent of the baseline)
  accuracy_vs_resilience.*  relative mCE against clean error and model size
  summary.md, summary.csv   one row per model, most resilient first
Figures that need a baseline are skipped (with a warning) when none is named with
--baseline and none is found among the results (their "baseline" field, or resnet50).`,
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "results", Usage: "result `FILE`s or directories (repeatable, or comma-separated)"},
			&cli.StringFlag{Name: "out", Usage: "output `DIR` (created)", Required: true},
			&cli.StringFlag{Name: "baseline", Usage: "baseline model `NAME` (a model or architecture name)"},
			&cli.StringFlag{Name: "format", Value: "png,svg", Usage: "figure formats: png, svg, pdf (comma-separated)"},
		},
		Action: runPlot,
	})
}

func runPlot(c *cli.Context) error {
	results := append(c.StringSlice("results"), c.Args().Slice()...)
	if len(results) == 0 {
		return errors.New("plot: give result files or directories with --results")
	}
	var formats []string
	for _, f := range strings.Split(c.String("format"), ",") {
		if f = strings.TrimSpace(f); f != "" {
			formats = append(formats, f)
		}
	}
	if len(formats) == 0 {
		return errors.New("plot: --format is empty")
	}
	start := time.Now()
	prog := newProgress("plot", "files", 0)
	rep, err := plots.RunStudy(plots.StudyOptions{
		Results: results, Out: c.String("out"), Baseline: c.String("baseline"),
		Formats: formats, Progress: prog.Update,
	})
	prog.Finish()
	if err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	more, skipped, err := plots.DiversityFigures(results, c.String("out"), formats) // ensembles and diversity
	if err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	rep.Written = append(rep.Written, more...)
	maps.Copy(rep.Skipped, skipped)
	names := make([]string, 0, len(rep.Skipped))
	for name := range rep.Skipped {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		logrus.Warnf("plot: %s skipped: %s", name, rep.Skipped[name])
	}
	for _, p := range rep.Written {
		fmt.Fprintln(c.App.Writer, p)
	}
	logrus.WithFields(logrus.Fields{
		"results": rep.Results, "baseline": rep.Baseline, "files": len(rep.Written),
		"seconds": fmt.Sprintf("%.1f", time.Since(start).Seconds()),
	}).Info("figures written")
	return nil
}
