package nas

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/divres/divres/data"
	"github.com/divres/divres/ensemble"
	"github.com/divres/divres/internal/atomicfile"
	"github.com/divres/divres/nets"
	"github.com/divres/divres/torch"
)

// Files of a super-network run directory.
const (
	PSConfigFile = "nas_config.json"
	SupernetFile = "supernet.safetensors"
	PSStateFile  = "ps_state.safetensors"
	PSHistory    = "ps_history.json"
)

const (
	supernetFormat = "divres-supernet"
	psStateFormat  = "divres-ps-state"
)

// Stage is one phase of progressive shrinking: which dimensions are elastic, for
// how many epochs, at which peak learning rate (cosine to 0 over the stage).
type Stage struct {
	Name   string  `json:"name"`
	Depth  bool    `json:"depth"`
	Width  bool    `json:"width"`
	Epochs int     `json:"epochs"`
	LR     float64 `json:"lr"`
}

// PSConfig is a progressive-shrinking run: the super-network starts from a trained
// ResNet50 run and is trained stage by stage, one sub-network (or, with Sandwich,
// the largest, the smallest and two random ones) per step. Zero fields take the
// defaults of their comments (see WithDefaults). Device, Workers and Threads may
// change when a run is resumed; the other fields may not.
type PSConfig struct {
	// Base is the trained resnet50 run (directory or model.safetensors) whose
	// weights, input preparation and classes the super-network takes.
	Base string `json:"base"`
	// Data is the dataset (default: the base run's); Subset / PerClass as in
	// ensemble.TrainConfig.
	Data     string `json:"data"`
	Subset   int    `json:"subset,omitempty"`
	PerClass int    `json:"per_class,omitempty"`
	// ValFraction (default 0.1) of the training images is held out: the
	// validation set of training and of the search. ValLimit caps it (0: all).
	ValFraction float64 `json:"val_fraction"`
	ValLimit    int     `json:"val_limit,omitempty"`
	// Space is the search space (default ResNet50Space).
	Space Space `json:"space"`
	// Stages (default: "depth" 2 epochs at LR 0.01, then "width" (depth and width)
	// 2 epochs at 0.005).
	Stages []Stage `json:"stages"`
	// Sandwich trains the largest, the smallest and two random sub-networks at
	// every step (gradients summed), instead of one random sub-network.
	Sandwich bool `json:"sandwich,omitempty"`
	// Batch (64), Momentum (0.9), WeightDecay (5e-4): SGD on every parameter.
	Batch       int     `json:"batch"`
	Momentum    float64 `json:"momentum"`
	WeightDecay float64 `json:"weight_decay"`
	// Augment: crop and/or flip (default none).
	Augment []string `json:"augment,omitempty"`
	// CalibImages is the number of training images BatchNorm statistics are
	// recalibrated on before a sub-network is evaluated (default 500).
	CalibImages int    `json:"calib_images"`
	Seed        uint64 `json:"seed"`
	// Device (auto), Workers and Threads: not part of the recipe.
	Device  string `json:"device"`
	Workers int    `json:"workers,omitempty"`
	Threads int    `json:"threads,omitempty"`
}

// WithDefaults fills the zero fields.
func (c PSConfig) WithDefaults() PSConfig {
	if c.ValFraction == 0 {
		c.ValFraction = 0.1
	}
	if c.Space.Blocks == nil {
		c.Space = ResNet50Space()
	}
	if c.Stages == nil {
		c.Stages = []Stage{{Name: "depth", Depth: true, Epochs: 2, LR: 0.01}, {Name: "width", Depth: true, Width: true, Epochs: 2, LR: 0.005}}
	}
	if c.Batch == 0 {
		c.Batch = 64
	}
	if c.Momentum == 0 {
		c.Momentum = 0.9
	}
	if c.WeightDecay == 0 {
		c.WeightDecay = 5e-4
	}
	if c.CalibImages == 0 {
		c.CalibImages = 500
	}
	if c.Device == "" {
		c.Device = "auto"
	}
	return c
}

// Validate checks a configuration (after WithDefaults).
func (c PSConfig) Validate() error {
	if c.Base == "" {
		return fmt.Errorf("no base run (a trained resnet50) given")
	}
	if err := c.Space.Validate(); err != nil {
		return err
	}
	if len(c.Stages) == 0 {
		return fmt.Errorf("no training stage")
	}
	for i, s := range c.Stages {
		if s.Epochs < 0 || !(s.LR > 0) || math.IsInf(s.LR, 0) {
			return fmt.Errorf("stage %d (%s): %d epochs at LR %v (want epochs ≥ 0 and LR > 0)", i+1, s.Name, s.Epochs, s.LR)
		}
	}
	switch {
	case !(c.ValFraction > 0 && c.ValFraction < 1):
		return fmt.Errorf("validation fraction %v outside (0, 1)", c.ValFraction)
	case c.Subset < 0 || c.PerClass < 0 || c.ValLimit < 0 || c.CalibImages < 0:
		return fmt.Errorf("negative subset, per-class, validation or calibration size")
	case c.Subset > 0 && c.PerClass > 0:
		return fmt.Errorf("give a subset size or a per-class count, not both")
	case c.Batch < 1:
		return fmt.Errorf("batch size %d", c.Batch)
	case c.Momentum < 0 || c.Momentum >= 1 || c.WeightDecay < 0:
		return fmt.Errorf("momentum %v or weight decay %v out of range", c.Momentum, c.WeightDecay)
	}
	for _, a := range c.Augment {
		if a != "crop" && a != "flip" {
			return fmt.Errorf("unknown augmentation %q (want crop or flip)", a)
		}
	}
	return nil
}

// PSEpoch is one epoch of progressive shrinking, with the validation error of the
// stage's largest and smallest sub-networks (after BatchNorm recalibration).
type PSEpoch struct {
	Stage     string  `json:"stage"`
	Epoch     int     `json:"epoch"` // 1-based within the stage
	Step      int     `json:"step"`
	LR        float64 `json:"lr"`
	TrainLoss float64 `json:"train_loss"`
	MaxError  float64 `json:"max_val_error"`
	MinError  float64 `json:"min_val_error"`
	Seconds   float64 `json:"seconds"`
}

// psState is the scalar part of the training state.
type psState struct {
	Stage      int       `json:"stage"`       // index of the current stage
	StageEpoch int       `json:"stage_epoch"` // epochs of it completed
	Step       int       `json:"step"`
	Finished   bool      `json:"finished"`
	History    []PSEpoch `json:"history"`
}

// SupernetMeta is the metadata of supernet.safetensors.
type SupernetMeta struct {
	// Model describes the network and its input as a model checkpoint does (Arch
	// is SupernetArch).
	Model ensemble.Meta `json:"model"`
	Space Space         `json:"space"`
	// Finished is true when progressive shrinking completed.
	Finished bool `json:"finished"`
}

// Env is what a super-network's stages share: the data and the input preparation.
type Env struct {
	Train, Val data.Dataset
	Input      ensemble.Input
	Classes    []string
}

// OpenEnv prepares the data of a configuration: the training images (subset),
// split into training and validation parts, and the base run's input preparation.
func OpenEnv(cfg PSConfig) (*Env, ensemble.Meta, error) {
	meta, _, err := ensemble.ReadMeta(cfg.Base)
	if err != nil {
		return nil, meta, err
	}
	if meta.Arch != "resnet50" {
		return nil, meta, fmt.Errorf("base run %s is a %s, not a resnet50", cfg.Base, meta.Arch)
	}
	in, err := meta.Input()
	if err != nil {
		return nil, meta, err
	}
	spec := cfg.Data
	if spec == "" {
		spec = meta.Dataset
	}
	train, err := openTrain(spec)
	if err != nil {
		return nil, meta, err
	}
	if train == nil {
		return nil, meta, fmt.Errorf("dataset %s has no training set", spec)
	}
	if !slices.Equal(train.ClassNames(), meta.ClassNames) {
		return nil, meta, fmt.Errorf("dataset %s has classes %v, the base run %v", spec, train.ClassNames(), meta.ClassNames)
	}
	switch {
	case cfg.Subset > 0:
		if cfg.Subset > train.Len() {
			return nil, meta, fmt.Errorf("subset of %d images: the training set has %d", cfg.Subset, train.Len())
		}
		train = data.FirstK(train, cfg.Subset)
	case cfg.PerClass > 0:
		train = data.RandomKPerClass(train, cfg.PerClass, cfg.Seed)
	}
	tr, va, err := data.Split(train, cfg.ValFraction, cfg.Seed)
	if err != nil {
		return nil, meta, err
	}
	env := &Env{Train: tr, Val: va, Input: in, Classes: meta.ClassNames}
	if cfg.ValLimit > 0 && va.Len() > cfg.ValLimit {
		env.Val = data.FirstK(va, cfg.ValLimit)
	}
	if env.Val.Len() == 0 || env.Train.Len() == 0 {
		return nil, meta, fmt.Errorf("%d training and %d validation images: enlarge the subset or the validation fraction", env.Train.Len(), env.Val.Len())
	}
	meta.Dataset = spec
	return env, meta, nil
}

// opened caches the training sets this process has opened (decoding a dataset
// takes seconds; search, selection and extraction open the same one repeatedly).
var opened = struct {
	sync.Mutex
	m map[string]data.Dataset
}{m: map[string]data.Dataset{}}

func openTrain(spec string) (data.Dataset, error) {
	opened.Lock()
	defer opened.Unlock()
	if d, ok := opened.m[spec]; ok {
		return d, nil
	}
	train, _, err := data.Open(spec, data.OpenOptions{})
	if err != nil {
		return nil, err
	}
	opened.m[spec] = train
	return train, nil
}

// TrainOptions control a progressive-shrinking run beyond its recipe.
type TrainOptions struct {
	// Resume continues an unfinished run in the directory.
	Resume bool
	Log    logrus.FieldLogger
	// StepHook is called after every optimizer step (tests: interruption).
	StepHook func(step int) error
}

// Train runs progressive shrinking in dir (see PSConfig): DIR/nas_config.json,
// DIR/supernet.safetensors (weights with PyTorch names and SupernetMeta, after every
// epoch), DIR/ps_state.safetensors (weights, optimizer, RNG and progress: an
// interrupted run resumes at the start of the interrupted epoch) and
// DIR/ps_history.json. Width reordering (ReorderByImportance) runs when the first
// stage with elastic width starts. A finished run with the same recipe is not redone.
func Train(ctx context.Context, cfg PSConfig, dir string, opts TrainOptions) ([]PSEpoch, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("nas train: %w", err)
	}
	log := opts.Log
	if log == nil {
		log = logrus.StandardLogger()
	}
	statePath := filepath.Join(dir, PSStateFile)
	var prev *psState
	switch pcfg, pst, err := readPSInfo(statePath); {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("nas train: %w", err)
	default:
		if diff := psDiff(pcfg.WithDefaults(), cfg); len(diff) > 0 {
			return nil, fmt.Errorf("nas train: %s holds a run with another configuration (%s); choose another output directory", dir, strings.Join(diff, ", "))
		}
		if pst.Finished {
			log.Infof("nas train: %s already holds the finished run; nothing to do", dir)
			return pst.History, nil
		}
		if !opts.Resume {
			return nil, fmt.Errorf("nas train: %s holds an unfinished run; pass --resume to continue it or choose another output directory", dir)
		}
		prev = &pst
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if cfg.Threads > 0 {
		old := torch.NumThreads()
		torch.SetNumThreads(cfg.Threads)
		defer torch.SetNumThreads(old)
	}
	dev, err := resolveDevice(cfg.Device)
	if err != nil {
		return nil, fmt.Errorf("nas train: %w", err)
	}
	env, meta, err := OpenEnv(cfg)
	if err != nil {
		return nil, fmt.Errorf("nas train: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("nas train: %w", err)
	}
	base, _, err := ensemble.ReadMeta(cfg.Base)
	if err != nil {
		return nil, fmt.Errorf("nas train: %w", err)
	}
	net, err := nets.NewUninitialized(SupernetArch, base.NetConfig(), dev)
	if err != nil {
		return nil, fmt.Errorf("nas train: %w", err)
	}
	defer net.Close()
	if _, err := net.Store.Load(modelFile(cfg.Base), true); err != nil {
		return nil, fmt.Errorf("nas train: base weights: %w", err)
	}
	e := net.Model.(*Elastic)
	if err := e.SetSpace(cfg.Space); err != nil {
		return nil, fmt.Errorf("nas train: %w", err)
	}
	t := &psTrainer{cfg: cfg, dir: dir, log: log, dev: dev, env: env, net: net, e: e, opts: opts}
	t.meta = SupernetMeta{Model: meta, Space: cfg.Space}
	t.meta.Model.Arch, t.meta.Model.Model = SupernetArch, ensemble.ModelName(SupernetArch, meta.Style, meta.Width)
	if prev != nil {
		t.st = *prev
		log.Infof("nas train: resuming %s at stage %d (%s), epoch %d", dir, prev.Stage+1, cfg.Stages[min(prev.Stage, len(cfg.Stages)-1)].Name, prev.StageEpoch+1)
	} else {
		js, _ := json.MarshalIndent(cfg, "", "  ")
		if err := atomicfile.WriteFile(filepath.Join(dir, PSConfigFile), append(js, '\n')); err != nil {
			return nil, fmt.Errorf("nas train: %w", err)
		}
	}
	if err := t.run(ctx, prev != nil); err != nil {
		return nil, err
	}
	return t.st.History, nil
}

func resolveDevice(s string) (torch.Device, error) {
	dev, err := torch.ParseDevice(s)
	if err != nil {
		return dev, err
	}
	if dev.IsCUDA() && !torch.CUDAAvailable() {
		return dev, fmt.Errorf("device %s requested but CUDA is not available", dev)
	}
	return dev, nil
}

// modelFile resolves a run directory to its model file.
func modelFile(path string) string {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return filepath.Join(path, ensemble.ModelFile)
	}
	return path
}

type psTrainer struct {
	cfg  PSConfig
	dir  string
	log  logrus.FieldLogger
	dev  torch.Device
	env  *Env
	net  *nets.Net
	e    *Elastic
	opts TrainOptions
	meta SupernetMeta
	st   psState
}

func (t *psTrainer) run(ctx context.Context, resumed bool) error {
	cfg := t.cfg
	aug := data.Augment{}
	for _, a := range cfg.Augment {
		switch a {
		case "crop":
			aug.CropPad = 4
		case "flip":
			aug.Flip = true
		}
	}
	in := t.env.Input
	loader, err := data.NewLoader(t.env.Train, data.LoaderOptions{BatchSize: cfg.Batch, Shuffle: true, Seed: cfg.Seed,
		DropLast: true, Workers: cfg.Workers, Norm: in.Norm, Augment: aug, Channels: in.Channels,
		Height: in.Size, Width: in.Size, Fit: in.Fit})
	if err != nil {
		return fmt.Errorf("nas train: %w", err)
	}
	spe := loader.NumBatches()
	if spe == 0 {
		return fmt.Errorf("nas train: %d training images, fewer than one batch of %d", t.env.Train.Len(), cfg.Batch)
	}
	widthSeen := false
	for i := 0; i < t.st.Stage && i < len(cfg.Stages); i++ {
		widthSeen = widthSeen || cfg.Stages[i].Width
	}
	for t.st.Stage < len(cfg.Stages) {
		stage := cfg.Stages[t.st.Stage]
		vars := t.net.Store.Trainable()
		opt, err := torch.NewSGD(vars, torch.SGDConfig{LR: stage.LR, Momentum: cfg.Momentum, WeightDecay: cfg.WeightDecay})
		if err != nil {
			return fmt.Errorf("nas train: %w", err)
		}
		if resumed && t.st.StageEpoch > 0 {
			if err := loadPSState(filepath.Join(t.dir, PSStateFile), t.net.Store, opt); err != nil {
				opt.Close()
				return fmt.Errorf("nas train: %w", err)
			}
		} else if resumed {
			if err := loadPSState(filepath.Join(t.dir, PSStateFile), t.net.Store, nil); err != nil {
				opt.Close()
				return fmt.Errorf("nas train: %w", err)
			}
		}
		resumed = false
		if stage.Width && !widthSeen && t.st.StageEpoch == 0 {
			// Before the optimizer has state: it is not permuted.
			if err := t.e.ReorderByImportance(); err != nil {
				opt.Close()
				return fmt.Errorf("nas train: %w", err)
			}
			t.log.Info("nas train: inner channels reordered by L1 importance")
		}
		widthSeen = widthSeen || stage.Width
		sched := torch.CosineLR{Base: stage.LR, Total: stage.Epochs * spe}
		for t.st.StageEpoch < stage.Epochs {
			ep, err := t.epoch(ctx, loader, opt, sched, stage, spe)
			if err != nil {
				opt.Close()
				return err
			}
			t.st.StageEpoch++
			t.st.History = append(t.st.History, ep)
			if err := t.checkpoint(opt, false); err != nil {
				opt.Close()
				return err
			}
			t.log.WithFields(logrus.Fields{"stage": stage.Name, "epoch": fmt.Sprintf("%d/%d", ep.Epoch, stage.Epochs),
				"loss": fmt.Sprintf("%.4f", ep.TrainLoss), "max_val_err": fmt.Sprintf("%.4f", ep.MaxError),
				"min_val_err": fmt.Sprintf("%.4f", ep.MinError), "s": fmt.Sprintf("%.1f", ep.Seconds)}).Info("nas train: epoch done")
		}
		t.st.Stage++
		t.st.StageEpoch = 0
		if t.st.Stage == len(cfg.Stages) {
			// Leave the full network's statistics in the file.
			if err := t.e.SetGenome(cfg.Space.Max()); err != nil {
				opt.Close()
				return err
			}
			if err := Recalibrate(ctx, t.net, t.env.Train, cfg.CalibImages, t.env.Input, t.dev, cfg.Batch, cfg.Workers); err != nil {
				opt.Close()
				return err
			}
			t.st.Finished = true
			t.meta.Finished = true
		}
		if err := t.checkpoint(opt, true); err != nil {
			opt.Close()
			return err
		}
		opt.Close()
	}
	return nil
}

// stepGenomes returns the sub-networks trained at a step: a function of (seed,
// step) only, so that a resumed run draws the same ones.
func (t *psTrainer) stepGenomes(stage Stage, step int) []Genome {
	rng := rand.New(rand.NewSource(int64(t.cfg.Seed)*1_000_003 + int64(step)))
	sp := t.cfg.Space
	if t.cfg.Sandwich {
		return []Genome{sp.Max(), sp.Smallest(stage.Depth, stage.Width), sp.Random(rng, stage.Depth, stage.Width), sp.Random(rng, stage.Depth, stage.Width)}
	}
	return []Genome{sp.Random(rng, stage.Depth, stage.Width)}
}

func (t *psTrainer) epoch(ctx context.Context, loader *data.Loader, opt *torch.SGD, sched torch.Schedule, stage Stage, spe int) (PSEpoch, error) {
	start := time.Now()
	ep := PSEpoch{Stage: stage.Name, Epoch: t.st.StageEpoch + 1}
	t.net.Store.SetTraining(true)
	var lossSum float64
	n := 0
	stageStep := t.st.StageEpoch * spe
	for b, err := range loader.Batches(ctx, len(t.st.History)) {
		if err != nil {
			return ep, fmt.Errorf("nas train: %w", err)
		}
		lr := sched.LR(stageStep)
		opt.SetLR(lr)
		ep.LR = lr
		loss, err := t.step(b, opt, t.stepGenomes(stage, t.st.Step))
		b.Release()
		t.st.Step++
		stageStep++
		if err != nil {
			return ep, fmt.Errorf("nas train: stage %s step %d: %w", stage.Name, t.st.Step, err)
		}
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return ep, fmt.Errorf("nas train: loss %v at step %d (stage %s): lower the learning rate", loss, t.st.Step, stage.Name)
		}
		lossSum += loss
		n++
		if t.opts.StepHook != nil {
			if err := t.opts.StepHook(t.st.Step); err != nil {
				return ep, err
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return ep, err
	}
	ep.Step, ep.TrainLoss = t.st.Step, lossSum/float64(max(n, 1))
	for i, g := range []Genome{t.cfg.Space.Max(), t.cfg.Space.Smallest(stage.Depth, stage.Width)} {
		p, err := EvaluateGenome(ctx, t.net, g, t.env, t.cfg.CalibImages, t.dev, EvalOptions{Batch: t.cfg.Batch, Workers: t.cfg.Workers})
		if err != nil {
			return ep, fmt.Errorf("nas train: validation: %w", err)
		}
		if i == 0 {
			ep.MaxError = p.ErrorRate()
		} else {
			ep.MinError = p.ErrorRate()
		}
	}
	t.net.Store.SetTraining(true)
	ep.Seconds = time.Since(start).Seconds()
	return ep, nil
}

// step sums the cross-entropy gradients of the genomes on one batch and takes an
// optimizer step; it returns the mean loss.
func (t *psTrainer) step(b *data.Batch, opt *torch.SGD, gs []Genome) (float64, error) {
	if err := t.net.Store.ZeroGrad(); err != nil {
		return 0, err
	}
	total := 0.0
	for _, g := range gs {
		if err := t.e.SetGenome(g); err != nil {
			return 0, err
		}
		err := torch.Do(func(s *torch.Scope) error {
			x := torch.FromSlice(s, b.X, []int64{int64(b.N), int64(b.C), int64(b.H), int64(b.W)}, t.dev)
			y := torch.FromSlice(s, b.Y, []int64{int64(b.N)}, t.dev)
			lg, _ := t.e.Forward(x)
			l := torch.CrossEntropy(lg, y, 0)
			if err := l.Backward(); err != nil {
				return err
			}
			v, err := l.Item()
			total += v
			return err
		})
		if err != nil {
			return 0, err
		}
	}
	return total / float64(len(gs)), opt.Step()
}

// checkpoint writes supernet.safetensors, then the training state, then the
// history.
func (t *psTrainer) checkpoint(opt *torch.SGD, stageDone bool) error {
	mj, _ := json.Marshal(t.meta)
	if err := t.net.Store.Save(filepath.Join(t.dir, SupernetFile), map[string]string{"format": supernetFormat, "meta": string(mj)}); err != nil {
		return fmt.Errorf("nas train: checkpoint: %w", err)
	}
	tensors := map[string]*torch.Tensor{}
	md := map[string]string{"format": psStateFormat}
	for name, tt := range t.net.Store.Tensors() {
		tensors["model."+name] = tt
	}
	if !stageDone {
		ot, om := opt.State()
		for name, tt := range ot {
			tensors["optim."+name] = tt
		}
		for k, v := range om {
			md["optim."+k] = v
		}
	}
	rng, err := torch.RNGState()
	if err != nil {
		return fmt.Errorf("nas train: checkpoint: %w", err)
	}
	defer rng.Free()
	tensors["rng_state"] = rng
	cj, _ := json.Marshal(t.cfg)
	sj, _ := json.Marshal(t.st)
	md["config"], md["state"] = string(cj), string(sj)
	if err := torch.SaveSafetensors(filepath.Join(t.dir, PSStateFile), tensors, md); err != nil {
		return fmt.Errorf("nas train: checkpoint: %w", err)
	}
	hj, _ := json.MarshalIndent(t.st.History, "", "  ")
	return atomicfile.WriteFile(filepath.Join(t.dir, PSHistory), append(hj, '\n'))
}

func readPSInfo(path string) (PSConfig, psState, error) {
	var cfg PSConfig
	var st psState
	md, err := readHeader(path)
	if err != nil {
		return cfg, st, err
	}
	if md["format"] != psStateFormat {
		return cfg, st, fmt.Errorf("%s: not a progressive-shrinking state", path)
	}
	if err := json.Unmarshal([]byte(md["config"]), &cfg); err != nil {
		return cfg, st, fmt.Errorf("%s: config: %w", path, err)
	}
	if err := json.Unmarshal([]byte(md["state"]), &st); err != nil {
		return cfg, st, fmt.Errorf("%s: state: %w", path, err)
	}
	return cfg, st, nil
}

// readHeader returns the metadata of a safetensors file.
func readHeader(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	h, err := torch.ReadSafetensorsHeader(f, fi.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return h.Metadata, nil
}

// loadPSState restores the weights, the optimizer state (when opt is not nil) and
// libtorch's RNG.
func loadPSState(path string, store *torch.Store, opt *torch.SGD) error {
	sc := torch.NewScope(torch.NoGrad())
	defer sc.Close()
	ts, md, err := torch.LoadSafetensors(path, sc, torch.CPU)
	if err != nil {
		return err
	}
	for _, v := range store.Vars() {
		tt, ok := ts["model."+v.Name]
		if !ok {
			return fmt.Errorf("%s: %s missing", path, v.Name)
		}
		if err := v.T.Copy_(tt); err != nil {
			return fmt.Errorf("%s: %s: %w", path, v.Name, err)
		}
	}
	if opt != nil {
		ot, om := map[string]*torch.Tensor{}, map[string]string{}
		for name, tt := range ts {
			if rest, ok := strings.CutPrefix(name, "optim."); ok {
				ot[rest] = tt
			}
		}
		for k, v := range md {
			if rest, ok := strings.CutPrefix(k, "optim."); ok {
				om[rest] = v
			}
		}
		if err := opt.LoadState(ot, om); err != nil {
			return fmt.Errorf("%s: optimizer: %w", path, err)
		}
	}
	rng, ok := ts["rng_state"]
	if !ok {
		return fmt.Errorf("%s: no RNG state", path)
	}
	return torch.SetRNGState(rng)
}

// psDiff lists the recipe fields in which two configurations differ.
func psDiff(a, b PSConfig) []string {
	var out []string
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	for i := range va.NumField() {
		f := va.Type().Field(i)
		if f.Name == "Device" || f.Name == "Workers" || f.Name == "Threads" {
			continue
		}
		if !reflect.DeepEqual(va.Field(i).Interface(), vb.Field(i).Interface()) {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			out = append(out, name)
		}
	}
	return out
}

// LoadSupernet builds the super-network of a run directory (or supernet file) on
// dev with its weights, in evaluation mode, with its search space set.
func LoadSupernet(path string, dev torch.Device) (*nets.Net, SupernetMeta, error) {
	var sm SupernetMeta
	file := path
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		file = filepath.Join(path, SupernetFile)
	}
	md, err := readHeader(file)
	if err != nil {
		return nil, sm, fmt.Errorf("load super-network: %w", err)
	}
	if md["format"] != supernetFormat {
		return nil, sm, fmt.Errorf("load super-network: %s is not a divres super-network", file)
	}
	if err := json.Unmarshal([]byte(md["meta"]), &sm); err != nil {
		return nil, sm, fmt.Errorf("load super-network %s: %w", file, err)
	}
	net, err := nets.NewUninitialized(SupernetArch, sm.Model.NetConfig(), dev)
	if err != nil {
		return nil, sm, fmt.Errorf("load super-network %s: %w", file, err)
	}
	if _, err := net.Store.Load(file, true); err != nil {
		net.Close()
		return nil, sm, fmt.Errorf("load super-network: %w", err)
	}
	if err := net.Model.(*Elastic).SetSpace(sm.Space); err != nil {
		net.Close()
		return nil, sm, fmt.Errorf("load super-network %s: %w", file, err)
	}
	net.Store.SetTraining(false)
	return net, sm, nil
}

// EvalOptions configure EvaluateGenome.
type EvalOptions struct {
	Batch, Workers int
	// Probs keeps the softmax probabilities.
	Probs bool
}

// EvaluateGenome selects genome g in the super-network, recalibrates its
// BatchNorm statistics on the first calib training images of env and predicts the
// validation set.
func EvaluateGenome(ctx context.Context, net *nets.Net, g Genome, env *Env, calib int, dev torch.Device, o EvalOptions) (*ensemble.Predictions, error) {
	e, ok := net.Model.(*Elastic)
	if !ok {
		return nil, fmt.Errorf("%s is not an elastic network", net.Spec.Name)
	}
	if err := e.SetGenome(g); err != nil {
		return nil, err
	}
	if err := Recalibrate(ctx, net, env.Train, calib, env.Input, dev, o.Batch, o.Workers); err != nil {
		return nil, err
	}
	return ensemble.Predict(ctx, net, env.Val, env.Input, dev, ensemble.PredictOptions{Batch: o.Batch, Workers: o.Workers, Probs: o.Probs})
}
