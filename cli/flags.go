package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/divres/divres/ensemble"
	"github.com/divres/divres/nets"
	"github.com/divres/divres/torch"
)

// The flags that several commands share are defined here, once, each with one
// default; a command lists them with the constructors below and reads them with
// the matching helpers (torchFlags, workersFlagValue, ampFlagValue, modelFlagsValue).

// deviceFlag is --device: where libtorch runs.
func deviceFlag() cli.Flag {
	return &cli.StringFlag{Name: "device", Value: "auto", Usage: "cpu, cuda, cuda:N or auto (CUDA when available)"}
}

// threadsFlag is --threads: libtorch's intra-op threads (0: as configured, see the
// README's Threads section).
func threadsFlag() cli.Flag {
	return &cli.IntFlag{Name: "threads", Usage: "libtorch intra-op threads (default: as configured)"}
}

// workersFlag is --workers: goroutines that load data and generate corruptions.
func workersFlag() cli.Flag {
	return &cli.IntFlag{Name: "workers", Usage: "data and corruption goroutines (default: the CPUs)"}
}

// ampFlag is --amp: mixed precision of the forward pass.
func ampFlag() cli.Flag {
	return &cli.StringFlag{Name: "amp", Value: "none", Usage: "mixed precision: none, bf16 or fp16 (fp16 needs CUDA)"}
}

// torchFlags applies the command's --threads (when given) and parses its --device.
func torchFlags(c *cli.Context) (torch.Device, error) {
	if n := c.Int("threads"); n > 0 {
		torch.SetNumThreads(n)
	} else if n < 0 {
		return torch.CPU, fmt.Errorf("--threads %d: must not be negative", n)
	}
	dev, err := torch.ParseDevice(c.String("device"))
	if err != nil {
		return dev, fmt.Errorf("--device: %w", err)
	}
	return dev, nil
}

// workersFlagValue returns --workers after checking it; 0 (the default) stays 0,
// which every package that takes a worker count reads as "the CPUs".
func workersFlagValue(c *cli.Context) (int, error) {
	if n := c.Int("workers"); n < 0 {
		return 0, fmt.Errorf("--workers %d: must not be negative", n)
	}
	return c.Int("workers"), nil
}

// ampFlagValue checks --amp against the device and returns the options of the
// forward-pass scope that apply it (none for "none").
func ampFlagValue(c *cli.Context, dev torch.Device) (string, []torch.ScopeOption, error) {
	mode := c.String("amp")
	switch mode {
	case "none", "":
		return "none", nil, nil
	case "bf16":
		return mode, []torch.ScopeOption{torch.Autocast(dev.Type, torch.BFloat16)}, nil
	case "fp16":
		if !dev.IsCUDA() {
			return mode, nil, fmt.Errorf("--amp fp16 needs a CUDA device (use bf16 on the CPU)")
		}
		return mode, []torch.ScopeOption{torch.Autocast(dev.Type, torch.Float16)}, nil
	}
	return mode, nil, fmt.Errorf("--amp %q: want none, bf16 or fp16", mode)
}

// modelFlags name a trained model: either a divres checkpoint (--model, which
// carries its architecture) or an architecture with PyTorch-named weights (--arch,
// --style, --width, --classes, --in-channels, --weights).
func modelFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "model", Usage: "divres checkpoint `FILE` or run directory (instead of --arch and --weights)"},
		&cli.StringFlag{Name: "arch", Usage: "architecture (see divres nets list)"},
		&cli.StringFlag{Name: "style", Value: "cifar", Usage: "cifar or imagenet"},
		&cli.Float64Flag{Name: "width", Value: 1, Usage: "width multiplier the weights were trained with"},
		&cli.IntFlag{Name: "classes", Usage: "number of classes (with --arch)"},
		&cli.IntFlag{Name: "in-channels", Usage: "input channels (with --arch; default: the input's)"},
		&cli.StringFlag{Name: "weights", Usage: "safetensors `FILE` with PyTorch state_dict names (with --arch)"},
	}
}

// modelChoice is the model the modelFlags name.
type modelChoice struct {
	// Checkpoint is --model; when it is set the other fields are unused.
	Checkpoint string
	Arch       string
	Style      nets.Style
	Width      float64
	Classes    int64
	InChannels int64
	Weights    string
}

// modelFlagsValue reads and checks the modelFlags.
func modelFlagsValue(c *cli.Context) (modelChoice, error) {
	if p := c.String("model"); p != "" {
		for _, f := range []string{"arch", "weights", "classes", "in-channels", "width", "style"} {
			if c.IsSet(f) {
				return modelChoice{}, fmt.Errorf("--model carries its architecture: --%s cannot be given with it", f)
			}
		}
		return modelChoice{Checkpoint: p}, nil
	}
	if c.String("arch") == "" || c.String("weights") == "" {
		return modelChoice{}, fmt.Errorf("name the model with --model, or with --arch, --classes and --weights")
	}
	st, err := nets.ParseStyle(c.String("style"))
	if err != nil {
		return modelChoice{}, fmt.Errorf("--style: %w", err)
	}
	spec, err := nets.Lookup(c.String("arch"))
	if err != nil {
		return modelChoice{}, err
	}
	if !spec.Supports(st) {
		return modelChoice{}, fmt.Errorf("%s has no %s style", spec.Name, st)
	}
	m := modelChoice{Arch: spec.Name, Style: st, Width: c.Float64("width"), Classes: int64(c.Int("classes")),
		InChannels: int64(c.Int("in-channels")), Weights: c.String("weights")}
	if m.Classes <= 0 {
		return modelChoice{}, fmt.Errorf("--classes: give the number of classes (a positive number) with --arch")
	}
	if m.InChannels < 0 {
		return modelChoice{}, fmt.Errorf("--in-channels %d: must not be negative", m.InChannels)
	}
	if _, err := os.Stat(m.Weights); err != nil {
		return modelChoice{}, fmt.Errorf("--weights: %w", err)
	}
	return m, nil
}

// load builds the model on dev in evaluation mode. inChannels is the input's
// channel count, used when --in-channels is not given (0: 3). A checkpoint
// also returns its metadata; for --arch the metadata holds what the flags say.
// check, if set, vets the network before its weights are read (for a
// checkpoint: after).
func (m modelChoice) load(dev torch.Device, inChannels int64, check func(*nets.Net, ensemble.Meta) error) (*nets.Net, ensemble.Meta, error) {
	if m.Checkpoint != "" {
		net, meta, err := ensemble.LoadModel(m.Checkpoint, dev)
		if err == nil && check != nil {
			if err = check(net, meta); err != nil {
				net.Close()
			}
		}
		return net, meta, err
	}
	ch := m.InChannels
	if ch == 0 {
		ch = inChannels
	}
	if ch == 0 {
		ch = 3
	}
	cfg := nets.Config{Style: m.Style, Width: m.Width, InChannels: ch, Classes: m.Classes}
	meta := ensemble.Meta{Model: ensemble.ModelName(m.Arch, string(m.Style), m.Width), Arch: m.Arch, Style: string(m.Style),
		Width: m.Width, Classes: int(m.Classes), InChannels: int(ch)}
	net, err := nets.NewUninitialized(m.Arch, cfg, dev)
	if err != nil {
		return nil, meta, err
	}
	if check != nil {
		if err := check(net, meta); err != nil {
			net.Close()
			return nil, meta, err
		}
	}
	if _, err := net.Store.Load(m.Weights, true); err != nil {
		net.Close()
		return nil, meta, fmt.Errorf("weights for %s (%s style, width %g, %d classes, %d input channels): %w",
			m.Arch, m.Style, m.Width, m.Classes, ch, err)
	}
	net.Store.SetTraining(false)
	meta.Params = net.Store.NumParams()
	return net, meta, nil
}

// recipeFlags are the training-recipe flags train and ncl share: input, schedule,
// optimizer, data subset and augmentation.
func recipeFlags() []cli.Flag {
	return []cli.Flag{
		&cli.IntFlag{Name: "in-channels", Usage: "model input channels (default: the dataset's; 3 repeats a grey channel)"},
		&cli.IntFlag{Name: "size", Usage: "input side (default: 32 for cifar, 224 for imagenet)"},
		&cli.StringFlag{Name: "fit", Usage: "bring images to the input size by pad or resize (default: pad when at most 8 pixels smaller)"},
		&cli.IntFlag{Name: "epochs", Value: 10},
		&cli.IntFlag{Name: "batch", Value: 128},
		&cli.StringFlag{Name: "optimizer", Value: "sgd", Usage: "sgd, adam or adamw (each model or member its own state)"},
		&cli.Float64Flag{Name: "lr", Value: 0.1, Usage: "(peak) learning rate"},
		&cli.Float64Flag{Name: "momentum", Value: 0.9},
		&cli.BoolFlag{Name: "nesterov", Usage: "Nesterov momentum"},
		&cli.Float64Flag{Name: "wd", Value: 5e-4, Usage: "weight decay"},
		&cli.BoolFlag{Name: "no-decay-bn-bias", Usage: "exclude biases and normalisation parameters from weight decay"},
		&cli.StringFlag{Name: "schedule", Value: "cosine", Usage: "cosine, onecycle, step or constant (per optimizer step)"},
		&cli.Float64Flag{Name: "warmup", Usage: "linear warm-up `EPOCHS` (cosine, step, constant)"},
		&cli.IntFlag{Name: "step-epochs", Usage: "step schedule: epochs between decays (default epochs/3)"},
		&cli.Float64Flag{Name: "step-gamma", Value: 0.1, Usage: "step schedule: decay factor"},
		&cli.Float64Flag{Name: "label-smoothing"},
		&cli.IntFlag{Name: "subset", Usage: "train on the first `N` training images"},
		&cli.IntFlag{Name: "per-class", Usage: "train on `N` random images per class"},
		&cli.Float64Flag{Name: "val-fraction", Usage: "hold out this stratified fraction for validation (default: validate on the test set)"},
		&cli.IntFlag{Name: "val-limit", Usage: "validate on the first `N` validation images only"},
		&cli.StringFlag{Name: "augment", Value: "none", Usage: "comma-separated: crop, flip, cutout (or none)"},
		&cli.IntFlag{Name: "crop-pad", Value: 4, Usage: "padding of the random crop"},
		&cli.IntFlag{Name: "cutout", Value: 8, Usage: "side of the cutout square"},
	}
}
