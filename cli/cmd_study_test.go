package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/divres/divres/corrupt"
	"github.com/divres/divres/data"
	"github.com/divres/divres/study"
)

// TestStudyPipeline runs a tiny study end to end on real Fashion-MNIST (two models,
// a few images, two corruptions), then reruns it: nothing is recomputed; then with
// another recipe in the same directory: refused.
func TestStudyPipeline(t *testing.T) {
	if _, err := os.Stat(filepath.Join(data.FashionMNISTDir, "t10k-images-idx3-ubyte.gz")); err != nil {
		t.Fatal("Fashion-MNIST is not installed (build.sh installs dataset-fashion-mnist)")
	}
	dir := t.TempDir()
	cfg := study.Default()
	cfg.PerClass, cfg.TestSubset, cfg.Epochs, cfg.Batch = 12, 24, 1, 24
	cfg.Baseline = "resnet18"
	cfg.Models = []study.Model{{Arch: "resnet18", Width: 0.125}, {Arch: "lenet", Width: 0.5}}
	cfg.Corruptions, cfg.Severities = []string{"fog", "contrast"}, []int{1, 2, 3, 4, 5}
	cfg.Seeds, cfg.Bootstrap = 2, 200
	js, _ := json.Marshal(cfg)
	cfgPath := filepath.Join(dir, "study.json")
	if err := os.WriteFile(cfgPath, js, 0o644); err != nil {
		t.Fatal(err)
	}
	run := filepath.Join(dir, "run")
	args := []string{"study", "--config", cfgPath, "--out", run, "--device", "cpu", "--stages", "1,2"}
	if out, err := runDivres(t, args...); err != nil {
		t.Fatalf("study: %v\n%s", err, out)
	}
	for _, m := range []string{"resnet18_w0.125", "lenet_w0.5"} {
		r, err := corrupt.ReadResult(filepath.Join(run, "eval", m, "eval.json"))
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Errors) != 2 || r.Errors["fog"][0] < 0 || r.Errors["fog"][4] < 0 || r.Baseline != "resnet18_w0.125" {
			t.Errorf("%s: result %+v", m, r)
		}
		if m == "resnet18_w0.125" && (r.CE["fog"] != 1 || r.CE["contrast"] != 1) {
			t.Errorf("the baseline's CE against itself is %v, want 1", r.CE)
		}
	}
	// The statistics: every point estimate is the number of the mean result, inside
	// its interval; the per-seed results are there.
	var st study.IndividualStats
	if err := json.Unmarshal(readTestFile(t, filepath.Join(run, "stats", "individual.json")), &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Models) != 2 || st.Seeds != 2 || st.TestImages != 24 || st.Baseline != "resnet18_w0.125" {
		t.Fatalf("statistics %+v", st)
	}
	for _, ms := range st.Models {
		r, err := corrupt.ReadResult(filepath.Join(run, "eval", ms.Model, "eval.json"))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			name string
			iv   study.Interval
			want float64
		}{{"clean error", ms.CleanError, r.CleanError}, {"corruption accuracy", ms.CorruptionAccuracy, r.CorruptionAccuracy}} {
			if math.Abs(c.iv.Value-c.want) > 1e-12 || !(c.iv.Low <= c.iv.Value && c.iv.Value <= c.iv.High) {
				t.Errorf("%s %s: %+v, eval.json says %v", ms.Model, c.name, c.iv, c.want)
			}
		}
		var seedMean float64
		for _, seed := range []int{0, 1} {
			sr, err := corrupt.ReadResult(filepath.Join(run, "seeds", fmt.Sprintf("%s_s%d", ms.Model, seed), "eval.json"))
			if err != nil {
				t.Fatal(err)
			}
			seedMean += sr.CleanError / 2
		}
		if math.Abs(seedMean-r.CleanError) > 1e-12 {
			t.Errorf("%s: clean error %v is not the mean %v over the seeds", ms.Model, r.CleanError, seedMean)
		}
		// A claim against the baseline for every other model that learned (the
		// tiny models may stay at chance: flagged instead).
		if (ms.Model == st.Baseline || ms.NotLearned != "") != (ms.VersusBaseline == nil) {
			t.Errorf("%s: claim against the baseline %+v (not learned: %q)", ms.Model, ms.VersusBaseline, ms.NotLearned)
		}
	}
	for _, f := range []string{"error_vs_severity.svg", "heatmap_error.png", "summary.md"} {
		if st, err := os.Stat(filepath.Join(run, "figures", f)); err != nil || st.Size() == 0 {
			t.Errorf("figure %s: %v", f, err)
		}
	}
	model := filepath.Join(run, "train", "lenet_w0.5_s1", "model.safetensors")
	before, err := os.Stat(model)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	if out, err := runDivres(t, args...); err != nil {
		t.Fatalf("rerun: %v\n%s", err, out)
	}
	if after, _ := os.Stat(model); !after.ModTime().Equal(before.ModTime()) {
		t.Error("a rerun retrained a finished model")
	}
	// A changed recipe of stage 2 reruns stage 2 and keeps stage 1.
	ens := filepath.Join(run, "ensembles", "ensembles.json")
	ensBefore, err := os.Stat(ens)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Ensembles = &study.EnsembleRecipe{KMax: 2}
	js, _ = json.Marshal(cfg)
	os.WriteFile(cfgPath, js, 0o644)
	if out, err := runDivres(t, args...); err != nil {
		t.Fatalf("rerun with another stage-2 recipe: %v\n%s", err, out)
	}
	if after, _ := os.Stat(model); !after.ModTime().Equal(before.ModTime()) {
		t.Error("a change of stage 2's recipe retrained a model of stage 1")
	}
	if after, _ := os.Stat(ens); after.ModTime().Equal(ensBefore.ModTime()) {
		t.Error("a change of stage 2's recipe did not rerun stage 2")
	}
}
