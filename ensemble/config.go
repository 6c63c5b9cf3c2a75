package ensemble

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/divres/divres/data"
	"github.com/divres/divres/nets"
)

// TrainConfig describes a training run. The zero value of a field takes the default
// given in its comment (see WithDefaults). It is stored as DIR/config.json and in the
// training state; a resumed run must have the same configuration except for the
// fields marked "not part of the recipe".
type TrainConfig struct {
	// Arch is the architecture name (nets.Names); Style cifar (default) or
	// imagenet; Width the channel multiplier (1).
	Arch  string  `json:"arch"`
	Style string  `json:"style"`
	Width float64 `json:"width"`
	// InChannels is the number of input channels of the model (0: the dataset's;
	// 3 with a grayscale dataset repeats the grey channel).
	InChannels int `json:"in_channels"`
	// InputSize is the side of the model's input (0: the style's, 32 or 224). Images
	// of another size are brought to it as Fit says: "pad" (centre, zero padding or
	// cropping), "resize" (bilinear) or "" (pad when the image is at most 8 pixels
	// smaller, as 28→32, else resize).
	InputSize int    `json:"input_size"`
	Fit       string `json:"fit"`

	// Data is a dataset name or path (data.Open).
	Data string `json:"data"`
	// Subset keeps the first Subset training images; PerClass keeps PerClass random
	// images of each class (seeded); 0 keeps all.
	Subset   int `json:"subset,omitempty"`
	PerClass int `json:"per_class,omitempty"`
	// ValFraction holds out this stratified fraction of the training images for
	// validation; 0 validates on the test set.
	ValFraction float64 `json:"val_fraction,omitempty"`
	// ValLimit evaluates only the first ValLimit validation images (0: all).
	ValLimit int `json:"val_limit,omitempty"`

	// Epochs (default 10) and Batch (default 128): the last incomplete batch of an
	// epoch is dropped.
	Epochs int `json:"epochs"`
	Batch  int `json:"batch"`
	// Optimizer is "sgd" (default): SGD with LR (0.1), Momentum (0.9 unless
	// NoMomentum), Nesterov and WeightDecay (5e-4 unless NoWeightDecay), applied to
	// every parameter as torch.optim.SGD does, or with NoDecayBNBias not to
	// parameters with fewer than two dimensions (biases and normalisation weights);
	// "adam" (L2 penalty) or "adamw" (decoupled decay) with betas 0.9/0.999 and eps
	// 1e-8 use LR and WeightDecay the same way (Momentum and Nesterov are ignored).
	Optimizer     string  `json:"optimizer,omitempty"`
	LR            float64 `json:"lr"`
	Momentum      float64 `json:"momentum"`
	NoMomentum    bool    `json:"no_momentum,omitempty"`
	Nesterov      bool    `json:"nesterov"`
	WeightDecay   float64 `json:"weight_decay"`
	NoWeightDecay bool    `json:"no_weight_decay,omitempty"`
	NoDecayBNBias bool    `json:"no_decay_bn_bias,omitempty"`
	// Schedule of the learning rate per optimizer step: "cosine" (default; to 0
	// after a linear warm-up of Warmup epochs), "onecycle" (PyTorch's OneCycleLR,
	// peak LR), "step" (×StepGamma every StepEpochs epochs, default 0.1 every
	// Epochs/3, after the warm-up) or "constant".
	Schedule   string  `json:"schedule"`
	Warmup     float64 `json:"warmup,omitempty"`
	StepEpochs int     `json:"step_epochs,omitempty"`
	StepGamma  float64 `json:"step_gamma,omitempty"`
	// LabelSmoothing mixes the one-hot targets with the uniform distribution.
	LabelSmoothing float64 `json:"label_smoothing,omitempty"`
	// Augment lists the training augmentations: crop (random crop after CropPad
	// zero pixels of padding, default 4), flip (horizontal), cutout (a Cutout×Cutout
	// square, default 8). Default none; "none" is also accepted.
	Augment []string `json:"augment"`
	CropPad int      `json:"crop_pad,omitempty"`
	Cutout  int      `json:"cutout,omitempty"`
	// Seed drives weights, data order, subsets, splits and augmentation.
	Seed uint64 `json:"seed"`
	// InitSeed, when set, seeds the weights' initialisation instead of Seed (the
	// seed of a jointly trained member, whose data order is the ensemble's).
	InitSeed *uint64 `json:"init_seed,omitempty"`
	// AMP is the mixed precision mode: "none" (default), "bf16" (autocast forward
	// in bfloat16, on CUDA or the CPU) or "fp16" (CUDA only, with a dynamic loss
	// scaler).
	AMP string `json:"amp"`

	// Device is cpu, cuda, cuda:N or auto (default). Not part of the recipe.
	Device string `json:"device"`
	// Workers is the number of data-loading goroutines (0: GOMAXPROCS). Not part of
	// the recipe.
	Workers int `json:"workers,omitempty"`
	// Threads is libtorch's intra-op thread count (0: leave as is). Not part of the
	// recipe.
	Threads int `json:"threads,omitempty"`
}

// runtimeFields are the TrainConfig fields that may change when a run is resumed.
var runtimeFields = map[string]bool{"Device": true, "Workers": true, "Threads": true}

// Augmentations the configuration accepts.
var augmentNames = []string{"crop", "flip", "cutout"}

// WithDefaults returns the configuration with every zero field replaced by its
// default and names normalised.
func (c TrainConfig) WithDefaults() TrainConfig {
	c.Arch = strings.ToLower(strings.TrimSpace(c.Arch))
	if c.Style == "" {
		c.Style = string(nets.CIFAR)
	}
	c.Style = strings.ToLower(c.Style)
	if c.Width == 0 {
		c.Width = 1
	}
	if c.InputSize == 0 {
		if st, err := nets.ParseStyle(c.Style); err == nil {
			c.InputSize = int(st.DefaultSize())
		}
	}
	if c.Epochs == 0 {
		c.Epochs = 10
	}
	if c.Batch == 0 {
		c.Batch = 128
	}
	if c.Optimizer == "" {
		c.Optimizer = "sgd"
	}
	c.Optimizer = strings.ToLower(c.Optimizer)
	if c.LR == 0 {
		c.LR = 0.1
	}
	if c.NoMomentum {
		c.Momentum = 0
	} else if c.Momentum == 0 {
		c.Momentum = 0.9
	}
	if c.NoWeightDecay {
		c.WeightDecay = 0
	} else if c.WeightDecay == 0 {
		c.WeightDecay = 5e-4
	}
	if c.Schedule == "" {
		c.Schedule = "cosine"
	}
	c.Schedule = strings.ToLower(c.Schedule)
	if c.Schedule == "step" {
		if c.StepEpochs == 0 {
			c.StepEpochs = max(1, c.Epochs/3)
		}
		if c.StepGamma == 0 {
			c.StepGamma = 0.1
		}
	}
	var aug []string
	for _, a := range c.Augment {
		a = strings.ToLower(strings.TrimSpace(a))
		if a != "" && a != "none" && !slices.Contains(aug, a) {
			aug = append(aug, a)
		}
	}
	sort.Strings(aug)
	c.Augment = aug
	if slices.Contains(aug, "crop") && c.CropPad == 0 {
		c.CropPad = 4
	}
	if slices.Contains(aug, "cutout") && c.Cutout == 0 {
		c.Cutout = 8
	}
	if c.AMP == "" {
		c.AMP = "none"
	}
	c.AMP = strings.ToLower(c.AMP)
	if c.Device == "" {
		c.Device = "auto"
	}
	return c
}

// Validate checks a configuration (after WithDefaults).
func (c TrainConfig) Validate() error {
	spec, err := nets.Lookup(c.Arch)
	if err != nil {
		return err
	}
	st, err := nets.ParseStyle(c.Style)
	if err != nil {
		return err
	}
	if !spec.Supports(st) {
		return fmt.Errorf("%s has no %s style", c.Arch, st)
	}
	if c.Data == "" {
		return fmt.Errorf("no dataset given")
	}
	if _, err := data.ParseFit(c.Fit); err != nil {
		return err
	}
	bad := func(name string, v any) error { return fmt.Errorf("invalid %s %v", name, v) }
	switch {
	case !(c.Width > 0) || math.IsInf(c.Width, 0):
		return bad("width", c.Width)
	case c.InChannels < 0:
		return bad("input channels", c.InChannels)
	case c.InputSize < 1:
		return bad("input size", c.InputSize)
	case int64(c.InputSize) < spec.MinInput(st):
		return fmt.Errorf("%s (%s style) needs inputs of at least %d pixels, not %d", c.Arch, st, spec.MinInput(st), c.InputSize)
	case c.Subset < 0 || c.PerClass < 0 || c.ValLimit < 0:
		return fmt.Errorf("negative subset, per-class or validation size")
	case c.Subset > 0 && c.PerClass > 0:
		return fmt.Errorf("give a subset size or a per-class count, not both")
	case math.IsNaN(c.ValFraction) || c.ValFraction < 0 || c.ValFraction >= 1:
		return bad("validation fraction", c.ValFraction)
	case c.Epochs < 1:
		return bad("epoch count", c.Epochs)
	case c.Batch < 1:
		return bad("batch size", c.Batch)
	case c.Optimizer != "sgd" && c.Optimizer != "adam" && c.Optimizer != "adamw":
		return fmt.Errorf("unknown optimizer %q (want sgd, adam or adamw)", c.Optimizer)
	case !(c.LR > 0) || math.IsInf(c.LR, 0):
		return bad("learning rate", c.LR)
	case c.Momentum < 0 || c.Momentum >= 1:
		return bad("momentum", c.Momentum)
	case c.Nesterov && c.Momentum == 0:
		return fmt.Errorf("Nesterov momentum needs a momentum > 0")
	case c.WeightDecay < 0 || math.IsNaN(c.WeightDecay):
		return bad("weight decay", c.WeightDecay)
	case c.Warmup < 0 || math.IsNaN(c.Warmup) || c.Warmup > float64(c.Epochs):
		return bad("warm-up (epochs)", c.Warmup)
	case c.LabelSmoothing < 0 || c.LabelSmoothing >= 1 || math.IsNaN(c.LabelSmoothing):
		return bad("label smoothing", c.LabelSmoothing)
	case c.CropPad < 0 || c.Cutout < 0:
		return fmt.Errorf("negative crop padding or cutout size")
	case c.Workers < 0 || c.Threads < 0:
		return fmt.Errorf("negative worker or thread count")
	}
	switch c.Schedule {
	case "cosine", "onecycle", "constant":
	case "step":
		if c.StepEpochs < 1 || !(c.StepGamma > 0) {
			return fmt.Errorf("step schedule needs step epochs ≥ 1 and gamma > 0")
		}
	default:
		return fmt.Errorf("unknown schedule %q (want cosine, onecycle, step or constant)", c.Schedule)
	}
	if c.Schedule == "onecycle" && c.Warmup > 0 {
		return fmt.Errorf("the onecycle schedule has its own warm-up; drop --warmup")
	}
	for _, a := range c.Augment {
		if !slices.Contains(augmentNames, a) {
			return fmt.Errorf("unknown augmentation %q (want %s)", a, strings.Join(augmentNames, ", "))
		}
	}
	switch c.AMP {
	case "none", "bf16", "fp16":
	default:
		return fmt.Errorf("unknown mixed-precision mode %q (want none, bf16 or fp16)", c.AMP)
	}
	return nil
}

// recipeDiff lists the fields (JSON names) in which two configurations differ,
// ignoring those that may change on resume.
func recipeDiff(a, b TrainConfig) []string {
	var out []string
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	t := va.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if runtimeFields[f.Name] {
			continue
		}
		if !reflect.DeepEqual(va.Field(i).Interface(), vb.Field(i).Interface()) {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			out = append(out, fmt.Sprintf("%s (%v → %v)", name, va.Field(i).Interface(), vb.Field(i).Interface()))
		}
	}
	return out
}

// ModelName is the display name of a model: the architecture, with "_w<width>" when
// the width is not 1 and "_<style>" for the ImageNet style.
func ModelName(arch, style string, width float64) string {
	n := arch
	if style == string(nets.ImageNet) {
		n += "_imagenet"
	}
	if width != 1 && width != 0 {
		n += fmt.Sprintf("_w%g", width)
	}
	return n
}

func (c TrainConfig) marshal() ([]byte, error) { return json.MarshalIndent(c, "", "  ") }
