package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/divres/divres/data"
	"github.com/divres/divres/study"
)

// planState is the state --plan prints for cell id.
func planState(t *testing.T, run, id string) string {
	t.Helper()
	out, err := runDivres(t, "study", "--out", run, "--plan")
	if err != nil {
		t.Fatalf("--plan: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(id) + `\s+(\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("--plan does not list %s:\n%s", id, out)
	}
	return m[1]
}

// --plan lists the cells; --cell runs one (and refuses one whose dependencies
// are not done); --devices cpu:2 runs the rest; the options exclude each other.
func TestStudyCells(t *testing.T) {
	if _, err := os.Stat(filepath.Join(data.FashionMNISTDir, "t10k-images-idx3-ubyte.gz")); err != nil {
		t.Fatal("Fashion-MNIST is not installed (build.sh installs dataset-fashion-mnist)")
	}
	dir := t.TempDir()
	cfg := study.Default()
	cfg.PerClass, cfg.TestSubset, cfg.Epochs, cfg.Batch = 6, 20, 1, 20
	cfg.Baseline = "lenet"
	cfg.Models = []study.Model{{Arch: "lenet", Width: 0.5}, {Arch: "lenet", Width: 1}}
	cfg.Corruptions, cfg.Severities = []string{"contrast"}, []int{1}
	cfg.Seeds, cfg.Bootstrap = 1, 50
	js, _ := json.Marshal(cfg)
	cfgPath := filepath.Join(dir, "study.json")
	if err := os.WriteFile(cfgPath, js, 0o644); err != nil {
		t.Fatal(err)
	}
	run := filepath.Join(dir, "run")
	out, err := runDivres(t, "study", "--config", cfgPath, "--out", run, "--plan")
	if err != nil || !strings.Contains(out, "1/train/lenet_w0.5_s0") || !strings.Contains(out, "1/individual") || strings.Contains(out, " done ") {
		t.Fatalf("--plan: %v\n%s", err, out)
	}
	if _, err := os.Stat(run); err == nil {
		t.Error("--plan wrote the run directory")
	}
	cell := []string{"study", "--config", cfgPath, "--out", run, "--device", "cpu", "--cell"}
	if out, err := runDivres(t, append(cell, "1/train/lenet_w0.5_s0")...); err != nil {
		t.Fatalf("--cell: %v\n%s", err, out)
	}
	if st := planState(t, run, "1/train/lenet_w0.5_s0"); st != "done" {
		t.Errorf("after --cell, the cell is %s", st)
	}
	if _, err := runDivres(t, append(cell, "1/individual")...); err == nil || !strings.Contains(err.Error(), "needs cell 1/train/lenet_s0") {
		t.Errorf("--cell 1/individual before its training cells: %v", err)
	}
	if _, err := runDivres(t, append(cell, "9/none")...); err == nil || !strings.Contains(err.Error(), "no cell") {
		t.Errorf("--cell of an unknown cell: %v", err)
	}
	if out, err := runDivres(t, "study", "--out", run, "--devices", "cpu:2", "--device", "cpu", "--stages", "1"); err != nil {
		t.Fatalf("--devices cpu:2: %v\n%s", err, out)
	}
	for _, id := range []string{"1/train/lenet_s0", "1/individual"} {
		if st := planState(t, run, id); st != "done" {
			t.Errorf("after --devices, %s is %s", id, st)
		}
	}
	if st := planState(t, run, "2/ensembles"); st != "pending" {
		t.Errorf("stage 2, not asked for, is %s", st)
	}
	if _, err := runDivres(t, "study", "--out", run, "--plan", "--slurm"); err == nil || !strings.Contains(err.Error(), "one of") {
		t.Errorf("--plan with --slurm: %v", err)
	}
	if _, err := runDivres(t, "study", "--out", run, "--devices", "cpu:0"); err == nil || !strings.Contains(err.Error(), "--devices") {
		t.Errorf("--devices cpu:0: %v", err)
	}
}
