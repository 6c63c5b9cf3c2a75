package study

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/divres/divres/corrupt"
	"github.com/divres/divres/ensemble"
	"github.com/divres/divres/internal/atomicfile"
)

// Model is one architecture of a study.
type Model struct {
	Arch  string  `json:"arch"`
	Width float64 `json:"width"`
	// Style is cifar (default) or imagenet.
	Style string `json:"style,omitempty"`
}

// Name is the model's name in the results (ensemble.ModelName).
func (m Model) Name() string { return ensemble.ModelName(m.Arch, m.style(), m.Width) }

func (m Model) style() string {
	if m.Style == "" {
		return "cifar"
	}
	return m.Style
}

// Config is the recipe of a design-diversity study: the architectures, how they
// are trained (all the same way), and the corruption benchmark they are measured
// on. It is saved as RUN/study.json.
type Config struct {
	Data string `json:"data"`
	// PerClass training images per class (0: the whole training set); TestSubset
	// test images, clean and under every corruption (0: the whole test set).
	PerClass   int `json:"per_class"`
	TestSubset int `json:"test_subset"`
	// InputSize is the models' input side; Fashion-MNIST's 28×28 images are
	// zero-padded to it (to 32, like the reference corruption inputs).
	InputSize int     `json:"input_size"`
	Epochs    int     `json:"epochs"`
	Batch     int     `json:"batch"`
	Optimizer string  `json:"optimizer"`
	LR        float64 `json:"lr"`
	Schedule  string  `json:"schedule"`
	Warmup    float64 `json:"warmup"`
	// WeightDecay of the optimizer (0: the trainer's default, 5e-4).
	WeightDecay float64  `json:"weight_decay,omitempty"`
	Augment     []string `json:"augment"`
	// Seed is the first training seed; every architecture is trained with Seeds
	// seeds (Seed, Seed+1, ...; 0 counts as 1), and per-model figures are the
	// mean over them. Seed also seeds the corruptions and the bootstrap.
	Seed  uint64 `json:"seed"`
	Seeds int    `json:"seeds"`
	// Bootstrap is the number of bootstrap resamples (over test images and seeds)
	// of the intervals (0: 1000).
	Bootstrap int `json:"bootstrap,omitempty"`
	// Baseline is the arch of the baseline model (ResNet50 in the study).
	Baseline string  `json:"baseline"`
	Models   []Model `json:"models"`
	// Corruptions to generate and evaluate (empty: all 19), at Severities (empty:
	// 1..5), with the corruption RNG mode (default or numpy).
	Corruptions []string `json:"corruptions,omitempty"`
	Severities  []int    `json:"severities,omitempty"`
	RNG         string   `json:"rng,omitempty"`
	// Ensembles is the recipe of stage 2 (nil: the defaults of EnsembleRecipe).
	Ensembles *EnsembleRecipe `json:"ensembles,omitempty"`
	// NAS is the recipe of stage 3 (nil: the defaults of NASRecipe).
	NAS *NASRecipe `json:"nas,omitempty"`
	// NCL is the recipe of stage 4 (nil: the defaults of NCLRecipe).
	NCL *NCLRecipe `json:"ncl,omitempty"`
}

// Default is the main job on the embedded default data (the "quick" preset):
// seven small, diverse architectures (residual, plain, LeNet, ConvNeXt,
// attention and MLP designs, and the reduced ResNet50 baseline) at reduced
// widths, each trained identically with three seeds on a class-balanced subset
// of Fashion-MNIST and evaluated on 1,000 test images, clean and under the 15
// benchmark corruptions at severity 3 (CE and mCE over that severity), sized so
// that all five stages finish in about a quarter of an hour on two CPU cores.
// The joint-training stage uses the three cheapest architectures (LeNet,
// ResNet18, VGG11) and λ ∈ {0, 0.5, 1}. The light families are left to the
// cifar10 preset: SqueezeNet 1.1 stays at chance accuracy in this recipe (62
// steps), and ShuffleNet V2, which learns, costs ~50 s of the quarter hour
// (depthwise convolutions: 920 images/s on one core against ResNet18's 2,800).
func Default() Config {
	return Config{
		Data: "fashion-mnist", PerClass: 100, TestSubset: 1000, InputSize: 32,
		Epochs: 2, Batch: 32, Optimizer: "adamw", LR: 0.003, Schedule: "onecycle", Augment: []string{"none"}, Seed: 0, Seeds: 3,
		Baseline:    "resnet50",
		Corruptions: corrupt.BenchmarkNames(),
		Severities:  []int{3},
		Models: []Model{
			{Arch: "resnet50", Width: 0.25},
			{Arch: "resnet18", Width: 0.25},
			{Arch: "vgg11_bn", Width: 0.25},
			{Arch: "lenet", Width: 1},
			{Arch: "convnext_tiny", Width: 0.125},
			{Arch: "vit_small", Width: 0.125},
			{Arch: "mlp_mixer", Width: 0.125},
		},
		NCL: &NCLRecipe{Lambdas: []float64{0, 0.5, 1},
			Members: []Model{{Arch: "lenet", Width: 1}, {Arch: "resnet18", Width: 0.25}, {Arch: "vgg11_bn", Width: 0.25}}},
	}
}

// Presets are the named recipes of Preset.
var Presets = []string{"quick", "cifar10"}

// Preset returns a named recipe: "quick" (Default: minutes on a 2-core CPU) or
// "cifar10", the full-scale recipe for a GPU: CIFAR-10 at width 1, every
// architecture trained with the recipe of huyvnphan/PyTorch_CIFAR10 (SGD with
// Nesterov momentum, learning rate 1e-2, weight decay 1e-2, batch 256, 100
// epochs, a linear warm-up over the first 30 % then cosine decay, random crop
// and flip), evaluated on the whole test set under the 15 benchmark corruptions
// at all five severities; twelve architectures, and joint training over the
// full λ grid.
func Preset(name string) (Config, error) {
	switch name {
	case "", "quick":
		return Default(), nil
	case "cifar10":
		c := Default()
		c.Data, c.PerClass, c.TestSubset, c.InputSize = "cifar10", 0, 0, 32
		c.Epochs, c.Batch, c.Optimizer, c.LR, c.WeightDecay = 100, 256, "sgd", 1e-2, 1e-2
		c.Schedule, c.Warmup, c.Augment = "cosine", 30, []string{"crop", "flip"}
		c.Severities = nil
		c.Models = []Model{{Arch: "resnet50", Width: 1}, {Arch: "resnet18", Width: 1}, {Arch: "preact_resnet18", Width: 1},
			{Arch: "vgg11_bn", Width: 1}, {Arch: "densenet121", Width: 1}, {Arch: "mobilenet_v2", Width: 1},
			{Arch: "squeezenet1_1", Width: 1}, {Arch: "shufflenet_v2_x1_0", Width: 1}, {Arch: "googlenet", Width: 1}, {Arch: "lenet", Width: 1},
			{Arch: "convnext_tiny", Width: 1}, {Arch: "vit_small", Width: 1}, {Arch: "mlp_mixer", Width: 1}}
		c.NCL = &NCLRecipe{Members: []Model{{Arch: "resnet18", Width: 1}, {Arch: "mobilenet_v2", Width: 1}, {Arch: "vgg11_bn", Width: 1}}}
		return c, nil
	}
	return Config{}, fmt.Errorf("study: no preset %q (the presets are %s)", name, strings.Join(Presets, ", "))
}

// Validate checks the recipe: data and models given, no model twice, the
// baseline among the models, known corruptions.
func (c Config) Validate() error {
	if c.Data == "" || len(c.Models) == 0 {
		return errors.New("study: the configuration needs data and models")
	}
	seen := map[string]bool{}
	base := false
	for _, m := range c.Models {
		if seen[m.Name()] {
			return fmt.Errorf("study: model %s is listed twice", m.Name())
		}
		seen[m.Name()] = true
		base = base || m.Arch == c.Baseline
	}
	if c.Baseline != "" && !base {
		return fmt.Errorf("study: the baseline %s is not among the models", c.Baseline)
	}
	for _, n := range c.Corruptions {
		if _, err := corrupt.Lookup(n); err != nil {
			return fmt.Errorf("study: %w", err)
		}
	}
	if c.Seeds < 0 || c.Bootstrap < 0 {
		return fmt.Errorf("study: seeds %d and bootstrap %d must not be negative", c.Seeds, c.Bootstrap)
	}
	return nil
}

// SeedList returns the training seeds of every architecture.
func (c Config) SeedList() []uint64 {
	out := []uint64{c.Seed}
	for k := 1; k < c.Seeds; k++ {
		out = append(out, c.Seed+uint64(k))
	}
	return out
}

func (c Config) bootstrap() int {
	if c.Bootstrap > 0 {
		return c.Bootstrap
	}
	return 1000
}

// MemberName is the name of the model trained with one seed (its directory
// under RUN/train and RUN/seeds).
func MemberName(m Model, seed uint64) string { return fmt.Sprintf("%s_s%d", m.Name(), seed) }

// TrainConfig is the training recipe of one model of the study with one seed on
// device.
func (c Config) TrainConfig(m Model, seed uint64, device string) ensemble.TrainConfig {
	return ensemble.TrainConfig{
		Arch: m.Arch, Style: m.style(), Width: m.Width, InputSize: c.InputSize, Fit: "pad",
		Data: c.Data, PerClass: c.PerClass, ValLimit: c.TestSubset,
		Epochs: c.Epochs, Batch: c.Batch, Optimizer: c.Optimizer, LR: c.LR, Nesterov: c.Optimizer == "sgd",
		Schedule: c.Schedule, Warmup: c.Warmup, WeightDecay: c.WeightDecay,
		Augment: c.Augment, Seed: seed, Device: device,
	}
}

// LoadConfig reads a recipe from a JSON file (unknown fields are an error);
// fields the file leaves out keep the values of Default. An empty path gives
// Default.
func LoadConfig(path string) (Config, error) { return LoadPreset("", path) }

// LoadPreset is LoadConfig with the fields the file leaves out taken from the
// named preset (see Preset) instead of Default.
func LoadPreset(preset, path string) (Config, error) {
	cfg, err := Preset(preset)
	if err != nil || path == "" {
		return cfg, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return cfg, fmt.Errorf("study config: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return cfg, fmt.Errorf("study config %s: %w", path, err)
	}
	return cfg, nil
}

// JSON is the recipe as indented JSON (what --print-config shows).
func (c Config) JSON() []byte {
	js, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		// A Config holds only strings, numbers and slices of them.
		panic(err)
	}
	return js
}

// saveConfig writes RUN/study.json. A run directory that holds another recipe
// takes the new one: the log names the stages whose part of the recipe changed
// (they and the stages that read them rerun) and those that are kept.
func saveConfig(dir string, cfg Config, stages []Stage) error {
	path := filepath.Join(dir, "study.json")
	if b, err := os.ReadFile(path); err == nil {
		var prev Config
		if err := json.Unmarshal(b, &prev); err != nil {
			return fmt.Errorf("study: %s: %w (move it away to start a new study in %s)", path, err, dir)
		}
		if reflect.DeepEqual(prev, cfg) {
			return nil
		}
		var changed, kept []string
		for _, s := range stages {
			name := fmt.Sprintf("%d %s", s.Number, s.Name)
			if s.Fingerprint(prev) != s.Fingerprint(cfg) {
				changed = append(changed, name)
			} else {
				kept = append(kept, name)
			}
		}
		logrus.Warnf("study: %s holds another recipe; its part changed for stage(s) %s, which rerun with the stages that read them; unchanged: %s",
			dir, orNone(changed), orNone(kept))
	}
	return atomicfile.WriteFile(path, append(cfg.JSON(), '\n'))
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// base is the recipe without the recipes of the stages after the first: what
// stage 1 depends on.
func (c Config) base() Config {
	c.Ensembles, c.NAS, c.NCL = nil, nil, nil
	return c
}
