package main

import (
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/divres/divres/data"
	"github.com/divres/divres/plots"
)

// TestNCLGrid: γ = 0 cells are trained once (heuristic none), every other
// heuristic gets every λ at every γ > 0; bad values are one line.
func TestNCLGrid(t *testing.T) {
	cells, err := nclGrid([]string{"prediction", "gncl", "none"}, []float64{0, 1}, []float64{0, 0.1})
	if err != nil {
		t.Fatal(err)
	}
	want := []nclCell{{"none", 0, 0}, {"none", 1, 0}, {"prediction", 0, 0.1}, {"prediction", 1, 0.1}, {"gncl", 0, 0.1}, {"gncl", 1, 0.1}}
	if len(cells) != len(want) {
		t.Fatalf("cells %v", cells)
	}
	for i := range want {
		if cells[i] != want[i] {
			t.Errorf("cell %d = %v, want %v", i, cells[i], want[i])
		}
	}
	if got := cells[2].dir("o"); got != filepath.Join("o", "prediction", "lambda0_gamma0.1") {
		t.Errorf("dir %s", got)
	}
	if _, err := nclGrid([]string{"none"}, []float64{0.5}, []float64{0.1}); err == nil {
		t.Error("an empty grid was accepted")
	}
}

// TestNCLBadInput: λ outside [0, 1], γ < 0, an unknown heuristic, one member or a
// bad width stop the command with one clear line before anything is written.
func TestNCLBadInput(t *testing.T) {
	out := filepath.Join(t.TempDir(), "sweep")
	base := []string{"ncl", "--data", "fashion-mnist", "--corruptions", "generate", "--out", out}
	for want, extra := range map[string][]string{
		"ncl: lambda 1.5 outside [0, 1]":                         {"--members", "lenet,lenet", "--lambda", "0.5,1.5"},
		"ncl: gamma -0.1 must be >= 0":                           {"--members", "lenet,lenet", "--gamma", "0,-0.1"},
		`unknown heuristic "dropout"`:                            {"--members", "lenet,lenet", "--heuristic", "dropout"},
		"needs at least 2 members, got 1":                        {"--members", "lenet"},
		`--members: width "x" of lenet is not a positive number`: {"--members", "lenet:x,lenet"},
		`--lambda: "a" is not a number`:                          {"--members", "lenet,lenet", "--lambda", "a"},
	} {
		_, err := runDivres(t, append(append([]string(nil), base...), extra...)...)
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("want one line with %q, got %v", want, err)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("the sweep directory was created")
	}
}

// TestNCLCLI: a 2×… sweep of two tiny LeNets on real Fashion-MNIST writes the
// table, the figures and one ordinary run directory per member; a rerun redoes
// nothing and writes the same table.
func TestNCLCLI(t *testing.T) {
	if _, err := os.Stat(filepath.Join(data.FashionMNISTDir, "t10k-images-idx3-ubyte.gz")); err != nil {
		t.Skip("Fashion-MNIST not installed")
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "sweep")
	ref := filepath.Join(out, "none", "lambda0.5_gamma0", "members")
	args := []string{"ncl", "--members", "lenet,lenet:0.5", "--data", "fashion-mnist", "--subset", "128", "--val-limit", "32",
		"--epochs", "1", "--batch", "64", "--lr", "0.05", "--lambda", "0.5", "--gamma", "0,0.5", "--heuristic", "prediction",
		"--corruptions", "generate", "--test-subset", "64", "--corruption-list", "gaussian_noise", "--severities", "1",
		"--cache", filepath.Join(dir, "sets"), "--prediction-cache", filepath.Join(dir, "preds"), "--diversity-images", "32",
		"--compare", filepath.Join(ref, "0_lenet") + "," + filepath.Join(ref, "1_lenet_w0.5"),
		"--device", "cpu", "--threads", "1", "--progress", "off", "--out", out}
	if o, err := runDivres(t, args...); err != nil {
		t.Fatalf("ncl: %v\n%s", err, o)
	}
	table, err := os.ReadFile(filepath.Join(out, "ncl.csv"))
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(table)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 4 || strings.Join(recs[0], ",") != strings.Join(plots.NCLColumns, ",") {
		t.Fatalf("table:\n%s", table)
	}
	if recs[1][1] != "none" || recs[2][1] != "prediction" || recs[3][0] != "reference" {
		t.Errorf("rows:\n%s", table)
	}
	// The reference is the none cell's own members: the same numbers.
	for _, col := range []int{5, 6, 9, 10, 11} {
		if recs[1][col] != recs[3][col] || recs[1][col] == "" {
			t.Errorf("column %s: cell %q, the same members as reference %q", recs[0][col], recs[1][col], recs[3][col])
		}
	}
	for _, f := range []string{"ncl.json", "ncl_resilience.png", "ncl_diversity.png",
		"none/lambda0.5_gamma0/members/0_lenet/model.safetensors", "prediction/lambda0.5_gamma0.5/members/1_lenet_w0.5/config.json"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	js := readTestFile(t, filepath.Join(out, "ncl.json"))
	if o, err := runDivres(t, args...); err != nil {
		t.Fatalf("rerun: %v\n%s", err, o)
	}
	if !bytes.Equal(js, readTestFile(t, filepath.Join(out, "ncl.json"))) {
		t.Error("the rerun changed the table")
	}
}
