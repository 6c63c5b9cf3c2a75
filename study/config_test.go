package study

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The cifar10 preset is the full-scale recipe; a config file overrides a
// preset field by field; an unknown preset names the known ones.
func TestPresets(t *testing.T) {
	c, err := Preset("cifar10")
	if err != nil {
		t.Fatal(err)
	}
	tc := c.TrainConfig(c.Models[1], 0, "cpu").WithDefaults()
	if c.Data != "cifar10" || c.TestSubset != 0 || tc.Optimizer != "sgd" || !tc.Nesterov || tc.LR != 1e-2 || tc.WeightDecay != 1e-2 ||
		tc.Batch != 256 || tc.Warmup != 0.3*float64(tc.Epochs) || tc.Width != 1 || strings.Join(tc.Augment, ",") != "crop,flip" {
		t.Fatalf("cifar10 preset trains with %+v", tc)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "s.json")
	if err := os.WriteFile(path, []byte(`{"epochs": 7}`), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err = LoadPreset("cifar10", path)
	if err != nil || c.Epochs != 7 || c.Data != "cifar10" || c.Batch != 256 {
		t.Fatalf("cifar10 preset with epochs 7: %+v, %v", c, err)
	}
	if q, _ := LoadConfig(path); q.Data != Default().Data || q.Epochs != 7 {
		t.Fatalf("quick preset with epochs 7: %+v", q)
	}
	if _, err := Preset("imagenet"); err == nil || !strings.Contains(err.Error(), "cifar10") {
		t.Fatalf("unknown preset: %v", err)
	}
}
