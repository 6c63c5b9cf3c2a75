package main

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/divres/divres/cuda"
	"github.com/divres/divres/nets"
	"github.com/divres/divres/torch"
)

func init() {
	flags := func() []cli.Flag {
		return []cli.Flag{
			&cli.StringFlag{Name: "arch", Value: "resnet18", Usage: "architecture"},
			&cli.IntFlag{Name: "batch", Value: 128},
			&cli.IntFlag{Name: "steps", Value: 20, Usage: "timed steps"},
			&cli.IntFlag{Name: "warmup", Value: 3, Usage: "untimed steps first"},
			&cli.Float64Flag{Name: "width", Value: 1},
			&cli.StringFlag{Name: "style", Value: "cifar"},
			&cli.IntFlag{Name: "in-channels", Value: 3},
			&cli.IntFlag{Name: "classes", Value: 10},
			&cli.IntFlag{Name: "size", Usage: "input side (default: the style's)"},
			&cli.StringFlag{Name: "device", Value: "cpu", Usage: "cpu, cuda, cuda:N or auto"},
			&cli.IntFlag{Name: "threads", Usage: "libtorch intra-op threads (default: as configured)"},
			&cli.StringFlag{Name: "amp", Value: "none", Usage: "autocast the forward pass: none, bf16 or fp16"},
			&cli.BoolFlag{Name: "json", Usage: "print the statistics as JSON"},
		}
	}
	addCommand(&cli.Command{
		Name:  "bench",
		Usage: "time training steps or inference of an architecture (compare with bench/python/train_step.py)",
		Subcommands: []*cli.Command{
			{
				Name:  "train",
				Usage: "median time of a training step: forward, cross-entropy, backward, SGD step (momentum 0.9, weight decay 5e-4)",
				Flags: flags(), Action: func(c *cli.Context) error { return runBench(c, true) },
			},
			{
				Name:  "infer",
				Usage: "median time of an inference forward pass (evaluation mode, inference scope)",
				Flags: flags(), Action: func(c *cli.Context) error { return runBench(c, false) },
			},
		},
	})
}

// benchStats summarises step times.
type benchStats struct {
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

// benchQuantile returns the q-quantile of sorted values (linear interpolation, as
// numpy's default).
func benchQuantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	pos := q * float64(len(sorted)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(sorted)-1)
	return sorted[lo] + (pos-float64(lo))*(sorted[hi]-sorted[lo])
}

func runBench(c *cli.Context, train bool) error {
	dev, err := torchFlags(c)
	if err != nil {
		return err
	}
	st, err := nets.ParseStyle(c.String("style"))
	if err != nil {
		return err
	}
	size := int64(c.Int("size"))
	if size == 0 {
		size = st.DefaultSize()
	}
	batch, steps, warm := int64(c.Int("batch")), c.Int("steps"), c.Int("warmup")
	if batch < 1 || steps < 1 || warm < 0 {
		return fmt.Errorf("bench: --batch and --steps must be positive, --warmup not negative")
	}
	var fwdOpts []torch.ScopeOption
	switch c.String("amp") {
	case "none":
	case "bf16":
		fwdOpts = append(fwdOpts, torch.Autocast(dev.Type, torch.BFloat16))
	case "fp16":
		if !dev.IsCUDA() {
			return fmt.Errorf("--amp fp16 needs a CUDA device")
		}
		fwdOpts = append(fwdOpts, torch.Autocast(dev.Type, torch.Float16))
	default:
		return fmt.Errorf("--amp: want none, bf16 or fp16")
	}
	torch.ManualSeed(0)
	classes := int64(c.Int("classes"))
	net, err := nets.New(c.String("arch"), nets.Config{Style: st, Width: c.Float64("width"),
		InChannels: int64(c.Int("in-channels")), Classes: classes}, dev)
	if err != nil {
		return err
	}
	defer net.Close()
	net.Store.SetTraining(train)
	opt, err := torch.NewSGD(net.Store.Trainable(), torch.SGDConfig{LR: 0.01, Momentum: 0.9, WeightDecay: 5e-4})
	if err != nil {
		return err
	}
	defer opt.Close()
	keep := torch.NewScope(torch.NoGrad())
	defer keep.Close()
	x := torch.Randn(keep, []int64{batch, int64(c.Int("in-channels")), size, size}, dev)
	y := torch.Randint(keep, 0, classes, []int64{batch}, dev)
	if err := keep.Err(); err != nil {
		return err
	}
	sync := func() error {
		if dev.IsCUDA() {
			return cuda.Synchronize(max(dev.Index, 0))
		}
		return nil
	}
	step := func() error {
		if train {
			if err := net.Store.ZeroGrad(); err != nil {
				return err
			}
			err := torch.Do(func(s *torch.Scope) error {
				fs := s
				if fwdOpts != nil {
					fs = torch.NewScope(fwdOpts...)
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
			if err := opt.Step(); err != nil {
				return err
			}
		} else {
			err := torch.Do(func(s *torch.Scope) error {
				logits, _ := net.Forward(x.In(s))
				return logits.Err()
			}, append([]torch.ScopeOption{torch.Inference()}, fwdOpts...)...)
			if err != nil {
				return err
			}
		}
		return sync()
	}
	for range warm {
		if err := step(); err != nil {
			return fmt.Errorf("bench: %w", err)
		}
	}
	times := make([]float64, steps)
	for i := range times {
		t0 := time.Now()
		if err := step(); err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		times[i] = float64(time.Since(t0).Microseconds()) / 1000
	}
	sort.Float64s(times)
	mode := "infer"
	if train {
		mode = "train"
	}
	r := benchStats{Arch: c.String("arch"), Mode: mode, Batch: int(batch), Size: int(size), Threads: torch.NumThreads(),
		Device: dev.String(), Steps: steps, MedianMS: benchQuantile(times, 0.5), MinMS: times[0], P25MS: benchQuantile(times, 0.25),
		P75MS: benchQuantile(times, 0.75), MaxMS: times[len(times)-1]}
	r.ImagesPerSec = float64(batch) / (r.MedianMS / 1000)
	if c.Bool("json") {
		return json.NewEncoder(c.App.Writer).Encode(r)
	}
	_, err = fmt.Fprintf(c.App.Writer, "%s %s batch %d %dx%d threads %d %s: median %.2f ms/step (min %.2f, p25 %.2f, p75 %.2f, max %.2f; %d steps) %.1f images/s\n",
		r.Arch, r.Mode, r.Batch, r.Size, r.Size, r.Threads, r.Device, r.MedianMS, r.MinMS, r.P25MS, r.P75MS, r.MaxMS, r.Steps, r.ImagesPerSec)
	return err
}
