package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/divres/divres/data"
)

// TestDiversityLayerCached: diversity --members --layer computes each member's
// layer outputs once: a second run reads them from the prediction cache (the
// entries stay as written) and reports the same CKA.
func TestDiversityLayerCached(t *testing.T) {
	if _, err := os.Stat(filepath.Join(data.FashionMNISTDir, "t10k-images-idx3-ubyte.gz")); err != nil {
		t.Skip("Fashion-MNIST is not installed (build.sh installs dataset-fashion-mnist)")
	}
	dir := t.TempDir()
	var runs []string
	for _, seed := range []string{"1", "2"} {
		run := filepath.Join(dir, "lenet_s"+seed)
		if out, err := runDivres(t, "train", "--arch", "lenet", "--data", "fashion-mnist", "--out", run, "--epochs", "1",
			"--batch", "32", "--subset", "64", "--val-limit", "16", "--seed", seed, "--device", "cpu", "--progress", "off"); err != nil {
			t.Fatalf("train: %v\n%s", err, out)
		}
		runs = append(runs, run)
	}
	pred := filepath.Join(dir, "pred")
	report := func(out string) map[string]any {
		t.Helper()
		if o, err := runDivres(t, "diversity", "--members", strings.Join(runs, ","), "--layer", "conv2", "--metrics", "linear_cka",
			"--test-subset", "20", "--pred-cache", pred, "--device", "cpu", "--out", out); err != nil {
			t.Fatalf("diversity --layer: %v\n%s", err, o)
		}
		var rep map[string]any
		if err := json.Unmarshal(readTestFile(t, filepath.Join(out, "diversity.json")), &rep); err != nil {
			t.Fatal(err)
		}
		return rep
	}
	first := report(filepath.Join(dir, "d1"))
	entries, _ := filepath.Glob(filepath.Join(pred, "*", "*", "layer-conv2.npy"))
	if len(entries) != 2 {
		t.Fatalf("layer entries %v, want one per member", entries)
	}
	stamps := map[string]time.Time{}
	for _, e := range entries {
		st, err := os.Stat(e)
		if err != nil {
			t.Fatal(err)
		}
		stamps[e] = st.ModTime()
	}
	second := report(filepath.Join(dir, "d2"))
	for _, e := range entries {
		if st, err := os.Stat(e); err != nil || !st.ModTime().Equal(stamps[e]) {
			t.Errorf("%s rewritten by the second run", e)
		}
	}
	if first["layer"] != "conv2" || first["linear_cka"] == nil || first["linear_cka"] != second["linear_cka"] {
		t.Errorf("layer %v, linear CKA %v then %v", first["layer"], first["linear_cka"], second["linear_cka"])
	}
}
