// Package bench times what the benchmarks of bench/python and bench/cpp time, in
// divres: the median training step (forward, cross-entropy, backward, SGD step with
// momentum 0.9 and weight decay 5e-4) or inference forward pass of an
// architecture on random inputs. It lives beside those reference implementations
// so that the three stay comparable; `divres bench` is its command.
package bench

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/divres/divres/nets"
	"github.com/divres/divres/torch"
)

// Config is one benchmark.
type Config struct {
	Arch  string
	Style nets.Style
	Width float64
	// InChannels and Classes of the network; Size the input side (0: the style's
	// default).
	InChannels, Classes, Size int
	Batch                     int
	// Steps are timed after Warmup untimed ones.
	Steps, Warmup int
	// Train times training steps; otherwise inference passes (evaluation mode,
	// inference scope).
	Train  bool
	Device torch.Device
	// Forward are extra options of the forward pass's scope (autocast).
	Forward []torch.ScopeOption
}

// Stats summarises the step times of a benchmark.
type Stats struct {
	Arch         string  `json:"arch"`
	Mode         string  `json:"mode"`
	Batch        int     `json:"batch"`
	Size         int     `json:"size"`
	Threads      int     `json:"threads"`
	Device       string  `json:"device"`
	Steps        int     `json:"steps"`
	MedianMS     float64 `json:"median_ms"`
	MinMS        float64 `json:"min_ms"`
	P25MS        float64 `json:"p25_ms"`
	P75MS        float64 `json:"p75_ms"`
	MaxMS        float64 `json:"max_ms"`
	ImagesPerSec float64 `json:"images_per_sec"`
}

// String is the one-line summary `divres bench` prints.
func (r Stats) String() string {
	return fmt.Sprintf("%s %s batch %d %dx%d threads %d %s: median %.2f ms/step (min %.2f, p25 %.2f, p75 %.2f, max %.2f; %d steps) %.1f images/s",
		r.Arch, r.Mode, r.Batch, r.Size, r.Size, r.Threads, r.Device, r.MedianMS, r.MinMS, r.P25MS, r.P75MS, r.MaxMS, r.Steps, r.ImagesPerSec)
}

// Quantile returns the q-quantile of sorted values (linear interpolation, as
// numpy's default); NaN for no values.
func Quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	pos := q * float64(len(sorted)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(sorted)-1)
	return sorted[lo] + (pos-float64(lo))*(sorted[hi]-sorted[lo])
}

// Run builds the network (seed 0) and times its steps.
func Run(c Config) (Stats, error) {
	size := int64(c.Size)
	if size == 0 {
		size = c.Style.DefaultSize()
	}
	batch := int64(c.Batch)
	if batch < 1 || c.Steps < 1 || c.Warmup < 0 {
		return Stats{}, fmt.Errorf("bench: the batch and the steps must be positive, the warm-up steps not negative")
	}
	if c.InChannels < 1 || c.Classes < 1 {
		return Stats{}, fmt.Errorf("bench: %d input channels, %d classes: both must be positive", c.InChannels, c.Classes)
	}
	dev := c.Device
	torch.ManualSeed(0)
	classes := int64(c.Classes)
	net, err := nets.New(c.Arch, nets.Config{Style: c.Style, Width: c.Width, InChannels: int64(c.InChannels), Classes: classes}, dev)
	if err != nil {
		return Stats{}, err
	}
	defer net.Close()
	net.Store.SetTraining(c.Train)
	opt, err := torch.NewSGD(net.Store.Trainable(), torch.SGDConfig{LR: 0.01, Momentum: 0.9, WeightDecay: 5e-4})
	if err != nil {
		return Stats{}, err
	}
	defer opt.Close()
	keep := torch.NewScope(torch.NoGrad())
	defer keep.Close()
	x := torch.Randn(keep, []int64{batch, int64(c.InChannels), size, size}, dev)
	y := torch.Randint(keep, 0, classes, []int64{batch}, dev)
	if err := keep.Err(); err != nil {
		return Stats{}, err
	}
	sync := func() error {
		if dev.IsCUDA() {
			return torch.CUDASynchronize(max(dev.Index, 0))
		}
		return nil
	}
	trainStep := func() error {
		if err := net.Store.ZeroGrad(); err != nil {
			return err
		}
		err := torch.Do(func(s *torch.Scope) error {
			fs := s
			if c.Forward != nil {
				fs = torch.NewScope(c.Forward...)
				defer fs.Close()
			}
			logits, _ := net.Forward(x.In(fs))
			if err := torch.CrossEntropy(logits, y, 0).In(s).Backward(); err != nil {
				return err
			}
			return fs.Err()
		})
		if err != nil {
			return err
		}
		return opt.Step()
	}
	inferStep := func() error {
		return torch.Do(func(s *torch.Scope) error {
			logits, _ := net.Forward(x.In(s))
			return logits.Err()
		}, append([]torch.ScopeOption{torch.Inference()}, c.Forward...)...)
	}
	step := func() error {
		run := inferStep
		if c.Train {
			run = trainStep
		}
		if err := run(); err != nil {
			return err
		}
		return sync()
	}
	for range c.Warmup {
		if err := step(); err != nil {
			return Stats{}, fmt.Errorf("bench: %w", err)
		}
	}
	times := make([]float64, c.Steps)
	for i := range times {
		t0 := time.Now()
		if err := step(); err != nil {
			return Stats{}, fmt.Errorf("bench: %w", err)
		}
		times[i] = float64(time.Since(t0).Microseconds()) / 1000
	}
	sort.Float64s(times)
	mode := "infer"
	if c.Train {
		mode = "train"
	}
	r := Stats{Arch: c.Arch, Mode: mode, Batch: int(batch), Size: int(size), Threads: torch.NumThreads(),
		Device: dev.String(), Steps: c.Steps, MedianMS: Quantile(times, 0.5), MinMS: times[0], P25MS: Quantile(times, 0.25),
		P75MS: Quantile(times, 0.75), MaxMS: times[len(times)-1]}
	r.ImagesPerSec = float64(batch) / (r.MedianMS / 1000)
	return r, nil
}
