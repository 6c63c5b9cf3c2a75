package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/urfave/cli/v2"

	"github.com/divres/divres/corrupt"
	"github.com/divres/divres/data"
	"github.com/divres/divres/ensemble"
	"github.com/divres/divres/internal/atomicfile"
	"github.com/divres/divres/plots"
	"github.com/divres/divres/torch"
)

// studyModel is one architecture of a study.
type studyModel struct {
	Arch  string  `json:"arch"`
	Width float64 `json:"width"`
	// Style is cifar (default) or imagenet.
	Style string `json:"style,omitempty"`
}

// name is the model's name in the results (ensemble.ModelName).
func (m studyModel) name() string { return ensemble.ModelName(m.Arch, m.style(), m.Width) }

func (m studyModel) style() string {
	if m.Style == "" {
		return "cifar"
	}
	return m.Style
}

// studyConfig is the recipe of a design-diversity study: the architectures, how
// they are trained (all the same way), and the corruption benchmark they are
// measured on. It is saved as RUN/study.json; a rerun with the same recipe reuses
// everything finished.
type studyConfig struct {
	Data string `json:"data"`
	// PerClass training images per class (0: the whole training set); TestSubset
	// test images, clean and under every corruption (0: the whole test set).
	PerClass   int `json:"per_class"`
	TestSubset int `json:"test_subset"`
	// InputSize is the models' input side; Fashion-MNIST's 28×28 images are
	// zero-padded to it (to 32, like the reference corruption inputs).
	InputSize int      `json:"input_size"`
	Epochs    int      `json:"epochs"`
	Batch     int      `json:"batch"`
	Optimizer string   `json:"optimizer"`
	LR        float64  `json:"lr"`
	Schedule  string   `json:"schedule"`
	Warmup    float64  `json:"warmup"`
	Augment   []string `json:"augment"`
	Seed      uint64   `json:"seed"`
	// Baseline is the arch of the baseline model (ResNet50 in the study).
	Baseline string       `json:"baseline"`
	Models   []studyModel `json:"models"`
	// Corruptions to generate and evaluate (empty: all 19), at Severities (empty:
	// 1..5), with the corruption RNG mode (default or numpy).
	Corruptions []string `json:"corruptions,omitempty"`
	Severities  []int    `json:"severities,omitempty"`
	RNG         string   `json:"rng,omitempty"`
}

// defaultStudy is the main job on the embedded default data: small, diverse
// architectures (convolutional, depthwise, dense, inception, attention and MLP
// designs) at reduced widths, trained identically on a class-balanced subset of
// Fashion-MNIST, sized to finish in minutes on two CPU cores.
func defaultStudy() studyConfig {
	return studyConfig{
		Data: "fashion-mnist", PerClass: 500, TestSubset: 250, InputSize: 32,
		Epochs: 2, Batch: 32, Optimizer: "adamw", LR: 0.003, Schedule: "onecycle", Augment: []string{"none"}, Seed: 0,
		Baseline:    "resnet50",
		Corruptions: corrupt.BenchmarkNames(),
		Models: []studyModel{
			{Arch: "resnet50", Width: 0.25},
			{Arch: "resnet18", Width: 0.25},
			{Arch: "preact_resnet18", Width: 0.125},
			{Arch: "vgg11_bn", Width: 0.25},
			{Arch: "densenet121", Width: 0.125},
			{Arch: "mobilenet_v2", Width: 0.25},
			{Arch: "squeezenet1_1", Width: 0.5},
			{Arch: "googlenet", Width: 0.0625},
			{Arch: "lenet", Width: 1},
			{Arch: "convnext_tiny", Width: 0.125},
			{Arch: "vit_small", Width: 0.25},
			{Arch: "mlp_mixer", Width: 0.25},
		},
	}
}

func (c studyConfig) validate() error {
	if c.Data == "" || len(c.Models) == 0 {
		return errors.New("study: the configuration needs data and models")
	}
	seen := map[string]bool{}
	base := false
	for _, m := range c.Models {
		if seen[m.name()] {
			return fmt.Errorf("study: model %s is listed twice", m.name())
		}
		seen[m.name()] = true
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
	return nil
}

func (c studyConfig) trainConfig(m studyModel, device string) ensemble.TrainConfig {
	return ensemble.TrainConfig{
		Arch: m.Arch, Style: m.style(), Width: m.Width, InputSize: c.InputSize, Fit: "pad",
		Data: c.Data, PerClass: c.PerClass, ValLimit: c.TestSubset,
		Epochs: c.Epochs, Batch: c.Batch, Optimizer: c.Optimizer, LR: c.LR, Nesterov: c.Optimizer == "sgd",
		Schedule: c.Schedule, Warmup: c.Warmup,
		Augment: c.Augment, Seed: c.Seed, Device: device,
	}
}

func init() {
	addCommand(&cli.Command{
		Name:  "study",
		Usage: "the reproducible experiment: train diverse architectures, measure corruption resiliency, draw the figures",
		Description: `divres study --out RUN [--config study.json]
  runs the design-diversity study: every architecture of the configuration is
  trained the same way (RUN/train/<model>), a corrupted test set is generated once
  (RUN/corruptions), every model is evaluated on it (RUN/eval/<model>/eval.json:
  clean error, E(s,c), CE, mCE and relative mCE against the baseline, ResNet50 by
  default), and the figures and summary table are drawn (RUN/figures). Without
  --config it runs the default study on Fashion-MNIST, sized for a 2-core CPU.
  Every stage's outputs are written atomically; a rerun skips what is finished and
  resumes interrupted training, and one model's failure does not stop the others.
  --print-config writes the default configuration, as a starting point for your own.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Value: "runs/default", Usage: "run `DIR`"},
			&cli.StringFlag{Name: "config", Usage: "study configuration `FILE` (JSON; default: the built-in CPU study)"},
			&cli.BoolFlag{Name: "print-config", Usage: "print the configuration and exit"},
			&cli.StringFlag{Name: "device", Value: "auto", Usage: "cpu, cuda, cuda:N or auto"},
			&cli.IntFlag{Name: "threads", Usage: "libtorch intra-op threads"},
			&cli.IntFlag{Name: "workers", Usage: "data and corruption goroutines (default: the CPUs)"},
		},
		Action: runStudy,
	})
}

func loadStudyConfig(path string) (studyConfig, error) {
	cfg := defaultStudy()
	if path == "" {
		return cfg, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return cfg, fmt.Errorf("--config: %w", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return cfg, fmt.Errorf("--config %s: %w", path, err)
	}
	return cfg, nil
}

// saveStudyConfig writes RUN/study.json, refusing to reuse a run directory that
// holds another recipe.
func saveStudyConfig(dir string, cfg studyConfig) error {
	path := filepath.Join(dir, "study.json")
	if b, err := os.ReadFile(path); err == nil {
		var prev studyConfig
		if err := json.Unmarshal(b, &prev); err != nil {
			return fmt.Errorf("study: %s: %w", path, err)
		}
		if !reflect.DeepEqual(prev, cfg) {
			return fmt.Errorf("study: %s holds a study with another configuration; choose another --out", dir)
		}
		return nil
	}
	js, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(path, append(js, '\n'))
}

// stage times a step of the study in the log.
func stage(name string) func() {
	start := time.Now()
	logrus.Infof("study: %s", name)
	return func() { logrus.Infof("study: %s done in %.1fs", name, time.Since(start).Seconds()) }
}

func runStudy(c *cli.Context) error {
	cfg, err := loadStudyConfig(c.String("config"))
	if err != nil {
		return err
	}
	if c.Bool("print-config") {
		js, _ := json.MarshalIndent(cfg, "", "  ")
		fmt.Println(string(js))
		return nil
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	dev, err := torchFlags(c)
	if err != nil {
		return err
	}
	dir := c.String("out")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := saveStudyConfig(dir, cfg); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	start := time.Now()

	// 1. Train every model the same way; finished runs are kept, interrupted ones
	// resumed.
	var failed []string
	trained := map[string]bool{}
	for i, m := range cfg.Models {
		done := stage(fmt.Sprintf("train %s (%d/%d)", m.name(), i+1, len(cfg.Models)))
		tc := cfg.trainConfig(m, dev.String())
		tc.Workers = c.Int("workers")
		_, err := ensemble.Train(ctx, tc, filepath.Join(dir, "train", m.name()),
			ensemble.TrainOptions{Resume: true, Progress: ensemble.ProgressLog})
		done()
		if ctx.Err() != nil {
			return fmt.Errorf("study: interrupted; rerun the same command to continue")
		}
		if err != nil {
			logrus.Errorf("study: %s: %v", m.name(), err)
			failed = append(failed, m.name())
			continue
		}
		trained[m.name()] = true
	}

	// 2. The corrupted test set, generated once for all models.
	done := stage("corruption set")
	_, test, err := data.Open(cfg.Data, data.OpenOptions{})
	if err != nil {
		return fmt.Errorf("study: %w", err)
	}
	if test == nil {
		return fmt.Errorf("study: %s has no test set", cfg.Data)
	}
	if cfg.TestSubset > 0 && cfg.TestSubset < test.Len() {
		test = data.FirstK(test, cfg.TestSubset)
	}
	padded, err := padTo(test, cfg.InputSize)
	if err != nil {
		return fmt.Errorf("study: %w", err)
	}
	mode, err := corrupt.ParseRNGMode(cfg.RNG)
	if err != nil {
		return fmt.Errorf("study: %w", err)
	}
	prog := newProgress("corrupt", "img", test.Len()*max(1, len(cfg.Corruptions), len(corrupt.Names))*max(1, len(cfg.Severities), 5))
	set, source, err := ensemble.GenerateSet(ctx, padded, ensemble.GenerateOptions{
		Dataset: fmt.Sprintf("%s padded to %d", cfg.Data, cfg.InputSize), Seed: cfg.Seed, RNG: mode,
		Corruptions: cfg.Corruptions, Severities: cfg.Severities, CacheDir: filepath.Join(dir, "corruptions"),
		Workers: c.Int("workers"), Progress: prog.Update,
	})
	prog.Finish()
	done()
	if err != nil {
		return fmt.Errorf("study: %w", err)
	}

	// 3. Evaluate every trained model on the clean and corrupted test sets.
	results := map[string]*corrupt.Result{}
	for _, m := range cfg.Models {
		if !trained[m.name()] {
			continue
		}
		r, err := studyEval(ctx, dir, m, padded, set, source, dev)
		if ctx.Err() != nil {
			return fmt.Errorf("study: interrupted; rerun the same command to continue")
		}
		if err != nil {
			logrus.Errorf("study: evaluate %s: %v", m.name(), err)
			failed = append(failed, m.name())
			continue
		}
		results[m.name()] = r
	}

	// 4. CE, mCE and relative mCE against the baseline.
	baseName := ""
	for _, m := range cfg.Models {
		if m.Arch == cfg.Baseline {
			baseName = m.name()
		}
	}
	if base := results[baseName]; base != nil {
		for name, r := range results {
			if err := corrupt.ComputeCE(r, base); err != nil {
				// With a partial benchmark, what could be computed is kept.
				logrus.Warnf("study: CE of %s: %v", name, err)
				if !errors.Is(err, corrupt.ErrIncomplete) {
					continue
				}
			}
			if err := corrupt.WriteResult(filepath.Join(dir, "eval", name), r); err != nil {
				return fmt.Errorf("study: %w", err)
			}
		}
	} else if baseName != "" {
		logrus.Warnf("study: the baseline %s has no result; CE and relative mCE are left out", baseName)
		baseName = ""
	}

	// 5. Figures and the summary table.
	done = stage("figures")
	rep, err := plots.RunStudy(plots.StudyOptions{Results: []string{filepath.Join(dir, "eval")},
		Out: filepath.Join(dir, "figures"), Baseline: baseName})
	done()
	if err != nil {
		return fmt.Errorf("study: figures: %w", err)
	}
	for fig, why := range rep.Skipped {
		logrus.Warnf("study: figure %s skipped: %s", fig, why)
	}
	if table, err := os.ReadFile(filepath.Join(dir, "figures", plots.TableSummary+".md")); err == nil {
		fmt.Println(string(table))
	}
	logrus.Infof("study: %d models in %s (%.1fs); figures in %s", len(results), dir, time.Since(start).Seconds(),
		filepath.Join(dir, "figures"))
	if len(failed) > 0 {
		return fmt.Errorf("study: %d model(s) failed: %s (the others' results are complete; rerun to retry)",
			len(failed), strings.Join(failed, ", "))
	}
	return nil
}

// studyEval evaluates one model, or reads its result when a previous run already
// evaluated the same checkpoint on the same corruption set.
func studyEval(ctx context.Context, dir string, m studyModel, test data.Dataset, set *corrupt.Set, source string,
	dev torch.Device) (*corrupt.Result, error) {
	outDir := filepath.Join(dir, "eval", m.name())
	model := filepath.Join(dir, "train", m.name())
	if r, err := corrupt.ReadResult(filepath.Join(outDir, "eval.json")); err == nil && r.Corruptions == source {
		if ck, err1 := os.Stat(filepath.Join(model, ensemble.ModelFile)); err1 == nil {
			if ev, err2 := os.Stat(filepath.Join(outDir, "eval.json")); err2 == nil && ev.ModTime().After(ck.ModTime()) {
				logrus.Infof("study: %s already evaluated", m.name())
				return r, nil
			}
		}
	}
	done := stage("evaluate " + m.name())
	defer done()
	net, meta, err := ensemble.LoadModel(model, dev)
	if err != nil {
		return nil, err
	}
	defer net.Close()
	prog := newProgress("evaluate "+m.name(), "slice", 1+len(set.Info.Corruptions)*len(set.Info.Severities))
	r, err := ensemble.EvaluateCorruptions(ctx, net, meta, test, set, dev,
		ensemble.EvalOptions{N: test.Len(), Source: source, Progress: prog.Update})
	prog.Finish()
	if err != nil {
		return nil, err
	}
	if err := corrupt.WriteResult(outDir, r); err != nil {
		return nil, err
	}
	return r, nil
}

// padTo returns the dataset with its images zero-padded (centred) to size×size,
// as the reference corruption inputs pad Fashion-MNIST's 28×28 to 32×32.
func padTo(d data.Dataset, size int) (data.Dataset, error) {
	c, h, w := d.Shape()
	if size <= 0 || (h == size && w == size) {
		return d, nil
	}
	if h > size || w > size {
		return nil, fmt.Errorf("images of %d×%d do not fit in %d×%d", h, w, size, size)
	}
	top, left := (size-h)/2, (size-w)/2
	n := d.Len()
	pix := make([]uint8, n*c*size*size)
	labels := make([]int32, n)
	img := make([]uint8, c*h*w)
	for i := 0; i < n; i++ {
		lab, err := d.Image(i, img)
		if err != nil {
			return nil, err
		}
		labels[i] = int32(lab)
		base := i * c * size * size
		for ch := 0; ch < c; ch++ {
			for y := 0; y < h; y++ {
				copy(pix[base+(ch*size+y+top)*size+left:], img[(ch*h+y)*w:(ch*h+y+1)*w])
			}
		}
	}
	return data.NewMemory(c, size, size, pix, labels, d.ClassNames())
}
