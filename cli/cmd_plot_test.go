package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/divres/divres/corrupt"
)

// writePlotResult writes a small evaluation result for the plot command tests.
func writePlotResult(t *testing.T, dir, model string, scale float64) {
	t.Helper()
	r := corrupt.Result{Model: model, Arch: model, Params: 1_000_000, Dataset: "fashion-mnist",
		Corruptions: "generated", CleanError: 0.1, Errors: map[string][]float64{}}
	for i, c := range corrupt.Names {
		es := make([]float64, 5)
		for s := range es {
			es[s] = min(0.9, 0.1+scale*0.02*float64((s+1)*(1+i%4)))
		}
		r.Errors[c] = es
	}
	if err := r.FillCorruptionAccuracy(); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(r)
	d := filepath.Join(dir, "eval", model)
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(d, "eval.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestPlotCommand(t *testing.T) {
	run := t.TempDir()
	for i, m := range []string{"resnet50", "resnet18", "vgg11_bn"} {
		writePlotResult(t, run, m, 1+0.4*float64(i))
	}
	out := filepath.Join(run, "figures")
	stdout, err := runDivres(t, "plot", "--results", run, "--out", out, "--format", "png")
	if err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	for _, f := range []string{"relative_mce.png", "error_vs_severity.png", "heatmap_error.png",
		"heatmap_ce.png", "accuracy_vs_resilience.png", "summary.md", "summary.csv"} {
		if !strings.Contains(stdout, filepath.Join(out, f)) {
			t.Errorf("output does not list %s:\n%s", f, stdout)
		}
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	md, _ := os.ReadFile(filepath.Join(out, "summary.md"))
	// resnet18 degrades 1.4× as fast as the baseline: relative mCE 140 %.
	if !strings.Contains(string(md), "| resnet18 | resnet18 | 1.00M | 10.00 |") || !strings.Contains(string(md), "| 140.0 |") {
		t.Errorf("summary:\n%s", md)
	}
}

func TestPlotCommandErrors(t *testing.T) {
	run := t.TempDir()
	writePlotResult(t, run, "resnet18", 1)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"plot", "--out", t.TempDir()}, "--results"},
		{[]string{"plot", "--results", run, "--out", t.TempDir(), "--format", "gif"}, `"gif"`},
		{[]string{"plot", "--results", run, "--out", t.TempDir(), "--baseline", "alexnet"}, "not among the results"},
		{[]string{"plot", "--results", filepath.Join(run, "nope"), "--out", t.TempDir()}, "no such file"},
	} {
		_, err := runDivres(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want %q", tc.args, err, tc.want)
		}
	}
}
