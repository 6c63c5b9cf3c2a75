package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/divres/divres/bench"
	"github.com/divres/divres/corrupt"
	"github.com/divres/divres/data"
)

// TestTrainEvalBenchCLI runs divres train, eval (generated corruptions, then with
// the result as its own baseline) and bench on a few real Fashion-MNIST images.
func TestTrainEvalBenchCLI(t *testing.T) {
	if _, err := os.Stat(filepath.Join(data.FashionMNISTDir, "t10k-images-idx3-ubyte.gz")); err != nil {
		t.Fatal("Fashion-MNIST is not installed (build.sh installs dataset-fashion-mnist)")
	}
	dir := t.TempDir()
	run := filepath.Join(dir, "lenet")
	args := []string{"train", "--arch", "lenet", "--data", "fashion-mnist", "--out", run, "--epochs", "1", "--batch", "32",
		"--subset", "256", "--val-limit", "32", "--lr", "0.05", "--augment", "crop,flip", "--device", "cpu", "--progress", "off"}
	if out, err := runDivres(t, args...); err != nil {
		t.Fatalf("train: %v\n%s", err, out)
	}
	var cfg map[string]any
	if err := json.Unmarshal(readTestFile(t, filepath.Join(run, "config.json")), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg["arch"] != "lenet" || cfg["crop_pad"] != 4.0 || cfg["momentum"] != 0.9 {
		t.Errorf("config.json %v", cfg)
	}
	if out, err := runDivres(t, args...); err != nil {
		t.Fatalf("rerun of a finished run: %v\n%s", err, out)
	}
	if _, err := runDivres(t, "train", "--arch", "lenet", "--data", "fashion-mnist", "--out", run, "--lr", "-1"); err == nil {
		t.Error("negative learning rate accepted")
	}

	cache := filepath.Join(dir, "cache")
	eval := []string{"eval", "--model", run, "--corruptions", "generate", "--test-subset", "20", "--cache", cache,
		"--corruption-list", "fog,contrast", "--device", "cpu"}
	if out, err := runDivres(t, eval...); err != nil {
		t.Fatalf("eval: %v\n%s", err, out)
	}
	r, err := corrupt.ReadResult(filepath.Join(run, "eval"))
	if err != nil {
		t.Fatal(err)
	}
	if r.Model != "lenet" || len(r.Errors) != 2 || r.Errors["fog"][4] < 0 || r.CE != nil {
		t.Errorf("result %+v", r)
	}
	other := filepath.Join(dir, "other")
	if out, err := runDivres(t, append(eval, "--baseline", filepath.Join(run, "eval", "eval.json"), "--out", other,
		"--name", "copy")...); err != nil {
		t.Fatalf("eval with a baseline: %v\n%s", err, out)
	}
	r, err = corrupt.ReadResult(filepath.Join(other, "eval.json"))
	if err != nil {
		t.Fatal(err)
	}
	if r.Model != "copy" || r.Baseline != "lenet" || r.CE["fog"] != 1 || r.MCE != nil {
		t.Errorf("against itself: model %s baseline %s CE %v mCE %v (15 corruptions are needed for mCE)", r.Model, r.Baseline, r.CE, r.MCE)
	}

	out, err := runDivres(t, "bench", "train", "--arch", "lenet", "--batch", "8", "--steps", "3", "--warmup", "1", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var b bench.Stats
	if err := json.Unmarshal([]byte(out), &b); err != nil {
		t.Fatalf("%v in %q", err, out)
	}
	if b.Mode != "train" || b.Steps != 3 || !(b.MinMS <= b.MedianMS && b.MedianMS <= b.MaxMS) || b.ImagesPerSec <= 0 {
		t.Errorf("bench %+v", b)
	}
}

func readTestFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
