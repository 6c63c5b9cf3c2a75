package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/divres/divres/corrupt"
	"github.com/divres/divres/data"
	"github.com/divres/divres/diversity"
)

// TestEnsembleCLI trains three tiny LeNets and runs ensemble eval, ensemble pool,
// correlate and diversity --members on them: a one-member ensemble scores what
// divres eval measures, the second run is served from the prediction cache, and
// the pool's table is what correlate reads.
func TestEnsembleCLI(t *testing.T) {
	if _, err := os.Stat(filepath.Join(data.FashionMNISTDir, "t10k-images-idx3-ubyte.gz")); err != nil {
		t.Fatal("Fashion-MNIST is not installed (build.sh installs dataset-fashion-mnist)")
	}
	dir := t.TempDir()
	var runs []string
	for _, seed := range []string{"1", "2", "3"} {
		run := filepath.Join(dir, "runs", "lenet_s"+seed)
		if out, err := runDivres(t, "train", "--arch", "lenet", "--data", "fashion-mnist", "--out", run, "--epochs", "1",
			"--batch", "32", "--subset", "128", "--val-limit", "16", "--lr", "0.05", "--seed", seed, "--device", "cpu",
			"--progress", "off"); err != nil {
			t.Fatalf("train: %v\n%s", err, out)
		}
		runs = append(runs, run)
	}
	common := []string{"--corruptions", "generate", "--test-subset", "20", "--cache", filepath.Join(dir, "sets"),
		"--corruption-list", "fog,contrast", "--pred-cache", filepath.Join(dir, "pred"), "--device", "cpu"}

	// One member: the same numbers as divres eval.
	if out, err := runDivres(t, "eval", "--model", runs[0], "--out", filepath.Join(dir, "single"),
		"--corruptions", "generate", "--test-subset", "20", "--cache", filepath.Join(dir, "sets"), "--corruption-list", "fog,contrast",
		"--device", "cpu"); err != nil {
		t.Fatalf("eval: %v\n%s", err, out)
	}
	if out, err := runDivres(t, append([]string{"ensemble", "eval", "--members", runs[0], "--out", filepath.Join(dir, "one")}, common...)...); err != nil {
		t.Fatalf("ensemble eval: %v\n%s", err, out)
	}
	single, err := corrupt.ReadResult(filepath.Join(dir, "single"))
	if err != nil {
		t.Fatal(err)
	}
	one, err := corrupt.ReadResult(filepath.Join(dir, "one"))
	if err != nil {
		t.Fatal(err)
	}
	if one.CleanError != single.CleanError || len(one.Errors) != 2 {
		t.Fatalf("one-member ensemble: clean error %v, divres eval %v; %d corruptions", one.CleanError, single.CleanError, len(one.Errors))
	}
	for c, es := range single.Errors {
		for s := range es {
			if math.Abs(one.Errors[c][s]-es[s]) > 1e-12 {
				t.Errorf("%s severity %d: ensemble %v, eval %v", c, s+1, one.Errors[c][s], es[s])
			}
		}
	}

	members := strings.Join(runs, ",")
	ens := filepath.Join(dir, "ens")
	args := append([]string{"ensemble", "eval", "--members", members, "--combine", "vote", "--baseline",
		filepath.Join(dir, "single", "eval.json"), "--out", ens}, common...)
	if out, err := runDivres(t, args...); err != nil {
		t.Fatalf("ensemble eval: %v\n%s", err, out)
	}
	r, err := corrupt.ReadResult(ens)
	if err != nil {
		t.Fatal(err)
	}
	if r.Model != "lenet_s1+lenet_s2+lenet_s3" || r.Arch != "ensemble" || r.CE["fog"] <= 0 {
		t.Errorf("ensemble result %+v", r)
	}
	for _, run := range runs {
		if _, err := corrupt.ReadResult(filepath.Join(ens, "members", filepath.Base(run))); err != nil {
			t.Error(err)
		}
	}

	pool := filepath.Join(dir, "pool")
	if out, err := runDivres(t, append([]string{"ensemble", "pool", "--members", filepath.Join(dir, "runs"), "--k", "2..3",
		"--out", pool}, common...)...); err != nil {
		t.Fatalf("ensemble pool: %v\n%s", err, out)
	}
	table, err := diversity.ReadEnsembles(pool)
	if err != nil {
		t.Fatal(err)
	}
	if len(table) != 4 {
		t.Fatalf("%d ensembles, want C(3,2)+C(3,3) = 4", len(table))
	}
	for _, e := range table {
		_, cell := e.Metrics["accuracy/fog/3"]
		if !e.Homogeneous || math.IsNaN(e.Metrics["accuracy"]) || math.IsNaN(e.Metrics["accuracy/fog"]) ||
			math.IsNaN(e.Metrics["accuracy/severity/3"]) || cell {
			t.Errorf("%s: homogeneous %v, metrics %v", e.Name, e.Homogeneous, e.Metrics)
		}
		if _, ok := e.Diversity["disagreement"]; !ok {
			t.Errorf("%s: no disagreement", e.Name)
		}
		if _, ok := e.Diversity["linear_cka"]; !ok {
			t.Errorf("%s: no linear CKA", e.Name)
		}
	}
	if out, err := runDivres(t, "correlate", "--ensembles", pool, "--out", filepath.Join(dir, "corr"), "--bootstrap", "20"); err != nil {
		t.Fatalf("correlate: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "corr", "correlations.csv")); err != nil {
		t.Error(err)
	}
	if _, err := runDivres(t, append([]string{"ensemble", "pool", "--members", members, "--k", "4..5", "--out", pool}, common...)...); err == nil {
		t.Error("--k beyond the pool accepted")
	}

	div := filepath.Join(dir, "div")
	if out, err := runDivres(t, "diversity", "--members", members, "--test-subset", "20", "--pred-cache", filepath.Join(dir, "pred"),
		"--device", "cpu", "--out", div); err != nil {
		t.Fatalf("diversity --members: %v\n%s", err, out)
	}
	var rep map[string]any
	if err := json.Unmarshal(readTestFile(t, filepath.Join(div, "diversity.json")), &rep); err != nil {
		t.Fatal(err)
	}
	if _, ok := rep["disagreement_matrix"]; !ok || rep["linear_cka"] == nil {
		t.Errorf("diversity.json keys: disagreement_matrix %v, linear_cka %v", ok, rep["linear_cka"])
	}
	if _, err := runDivres(t, "diversity", "--members", members, "--metrics", "attribution_cosine", "--out", div); err == nil ||
		!strings.Contains(err.Error(), "--attrib-method") {
		t.Errorf("attribution without a method: %v", err)
	}
}
