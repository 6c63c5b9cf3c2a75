package ensemble

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/divres/divres/data"
	"github.com/divres/divres/nets"
	"github.com/divres/divres/torch"
)

// TrainOptions control how a run is carried out, beyond its recipe.
type TrainOptions struct {
	// Resume continues the unfinished run in the directory. Without it, a directory
	// holding an unfinished run is an error; a finished run with the same recipe is
	// never redone.
	Resume bool
	// Log receives the run's log lines (nil: logrus's standard logger).
	Log logrus.FieldLogger
	// Progress selects the within-epoch progress report; ProgressWriter is where a
	// bar goes (nil: stderr).
	Progress       ProgressMode
	ProgressWriter io.Writer
	// SyncEvery is the number of steps between reads of the losses back from the
	// device (each read waits for the device); 0 means 1 on the CPU and 20 on CUDA.
	// A non-finite loss is still reported with its exact step.
	SyncEvery int
	// StepHook, when set, is called after every optimizer step with the 1-based
	// epoch and the number of steps taken so far; an error stops training with that
	// error (the epoch is not saved). For tests (interruption, fault injection) and
	// monitoring.
	StepHook func(epoch, step int, members []*Member) error
}

// TrainResult describes a finished (or already finished) run.
type TrainResult struct {
	Dir     string
	Config  TrainConfig
	Meta    Meta
	History []EpochStats
	// AlreadyDone is true when the directory held the finished run and nothing was
	// done; ResumedFrom is the number of epochs that a resumed run started from.
	AlreadyDone bool
	ResumedFrom int
}

// NonFiniteLossError reports a NaN or infinite training loss.
type NonFiniteLossError struct {
	Epoch, Step, Batch int
	Loss               float64
	Dir                string
	// KeptEpoch is the epoch of the checkpoint left in Dir (0: none).
	KeptEpoch int
}

func (e *NonFiniteLossError) Error() string {
	kept := "no checkpoint was written yet"
	if e.KeptEpoch > 0 {
		kept = fmt.Sprintf("the checkpoint of epoch %d in %s is kept", e.KeptEpoch, e.Dir)
	}
	return fmt.Sprintf("training diverged: loss %v at epoch %d, step %d (batch %d of the epoch); stopped, %s (lower the learning rate or add warm-up)",
		e.Loss, e.Epoch, e.Step, e.Batch, kept)
}

// Train runs cfg in directory dir (created if needed): a fresh run, the
// continuation of an interrupted one (opts.Resume), or nothing when dir holds the
// finished run. See the package documentation for the files.
func Train(ctx context.Context, cfg TrainConfig, dir string, opts TrainOptions) (*TrainResult, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	log := opts.Log
	if log == nil {
		log = logrus.StandardLogger()
	}
	statePath := filepath.Join(dir, TrainStateFile)
	var prev *trainState
	switch pcfg, pst, err := readStateInfo(statePath); {
	case errors.Is(err, os.ErrNotExist):
		if opts.Resume {
			log.Infof("train: %s has no checkpoint to resume; starting a new run", dir)
		}
	case err != nil:
		return nil, fmt.Errorf("train: %w", err)
	default:
		if diff := recipeDiff(pcfg.WithDefaults(), cfg); len(diff) > 0 {
			return nil, fmt.Errorf("train: %s holds a run with another configuration (%s); choose another output directory",
				dir, strings.Join(diff, ", "))
		}
		if pst.Finished {
			log.Infof("train: %s already holds the finished run (%d epochs); nothing to do", dir, pst.Epoch)
			meta, _, err := ReadMeta(dir)
			if err != nil {
				return nil, fmt.Errorf("train: %w", err)
			}
			return &TrainResult{Dir: dir, Config: cfg, Meta: meta, History: pst.History, AlreadyDone: true}, nil
		}
		if !opts.Resume {
			return nil, fmt.Errorf("train: %s holds an unfinished run (%d of %d epochs done); pass --resume to continue it or choose another output directory",
				dir, pst.Epoch, cfg.Epochs)
		}
		prev = &pst
	}

	// libtorch's OpenMP thread count is per OS thread: run every libtorch call of
	// the run from this one, so that the count set here is the one used throughout.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if cfg.Threads > 0 {
		prev := torch.NumThreads()
		torch.SetNumThreads(cfg.Threads)
		defer torch.SetNumThreads(prev)
	}
	dev, err := torch.ParseDevice(cfg.Device)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	if dev.IsCUDA() && !torch.CUDAAvailable() {
		return nil, fmt.Errorf("train: device %s requested but CUDA is not available", dev)
	}
	prec, err := resolvePrecision(cfg.AMP, dev)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	td, err := prepareData(cfg)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}

	torch.ManualSeed(cfg.initSeed())
	ncfg := nets.Config{Style: nets.Style(cfg.Style), Width: cfg.Width, InChannels: int64(td.input.Channels),
		Classes: int64(len(td.classes)), Size: int64(td.input.Size)}
	net, err := nets.New(cfg.Arch, ncfg, dev)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	defer net.Close()
	member, err := newMember(ModelName(cfg.Arch, cfg.Style, cfg.Width), net, cfg)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	defer member.Opt.Close()

	t := &trainer{cfg: cfg, dir: dir, opts: opts, log: log, dev: dev, prec: prec, data: td,
		members: []*Member{member}, loss: IndependentCE{LabelSmoothing: cfg.LabelSmoothing}}
	if prec.scaler {
		t.scaler = NewLossScaler()
	}
	res := &TrainResult{Dir: dir, Config: cfg}
	if prev != nil {
		if err := loadState(statePath, t.members); err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
		t.epoch, t.step, t.history = prev.Epoch, prev.Step, prev.History
		if prev.Scaler != nil {
			t.scaler = prev.Scaler
		}
		res.ResumedFrom = prev.Epoch
		log.Infof("train: resuming %s at epoch %d of %d (step %d)", dir, prev.Epoch+1, cfg.Epochs, prev.Step)
	} else {
		js, err := cfg.marshal()
		if err != nil {
			return nil, err
		}
		if err := writeBytes(filepath.Join(dir, ConfigFile), append(js, '\n')); err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
	}
	if err := t.run(ctx); err != nil {
		return nil, err
	}
	res.Meta, res.History = t.meta(0), t.history
	return res, nil
}

// trainer holds the state of a run in progress.
type trainer struct {
	cfg     TrainConfig
	dir     string
	opts    TrainOptions
	log     logrus.FieldLogger
	dev     torch.Device
	prec    precision
	data    *trainData
	members []*Member
	loss    Loss
	scaler  *LossScaler
	epoch   int // completed epochs
	step    int
	history []EpochStats
	// mcfg and mdirs, when set, are the members' own configurations and run
	// directories (joint training).
	mcfg  []TrainConfig
	mdirs []string
}

// initSeed is the seed of the weights' initialisation.
func (c TrainConfig) initSeed() uint64 {
	if c.InitSeed != nil {
		return *c.InitSeed
	}
	return c.Seed
}

// meta returns the checkpoint metadata of member i after the completed epochs.
func (t *trainer) meta(i int) Meta {
	in := t.data.input
	m, c := t.members[i], t.cfg
	if t.mcfg != nil {
		c = t.mcfg[i]
	}
	return Meta{Model: ModelName(c.Arch, c.Style, c.Width), Arch: c.Arch, Style: c.Style, Width: c.Width, Classes: len(t.data.classes),
		ClassNames: t.data.classes, InChannels: in.Channels, InputSize: in.Size, Fit: in.Fit.String(),
		Mean: in.Norm.Mean, Std: in.Norm.Std, Dataset: t.cfg.Data, Epoch: t.epoch, Epochs: t.cfg.Epochs,
		Params: m.Net.Store.NumParams()}
}

// modelFile is the checkpoint file of member i.
func (t *trainer) modelFile(i int) string {
	if t.mdirs != nil {
		return filepath.Join(t.mdirs[i], ModelFile)
	}
	if len(t.members) == 1 {
		return filepath.Join(t.dir, ModelFile)
	}
	return filepath.Join(t.dir, "model_"+t.members[i].Name+".safetensors")
}

// run trains the remaining epochs.
func (t *trainer) run(ctx context.Context) error {
	cfg := t.cfg
	in := t.data.input
	aug := data.Augment{}
	for _, a := range cfg.Augment {
		switch a {
		case "crop":
			aug.CropPad = cfg.CropPad
		case "flip":
			aug.Flip = true
		case "cutout":
			aug.Cutout = cfg.Cutout
		}
	}
	loader, err := data.NewLoader(t.data.train, data.LoaderOptions{BatchSize: cfg.Batch, Shuffle: true, Seed: cfg.Seed,
		DropLast: true, Workers: cfg.Workers, Norm: in.Norm, Augment: aug, Channels: in.Channels,
		Height: in.Size, Width: in.Size, Fit: in.Fit})
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	var val *data.Loader
	if t.data.val != nil {
		if val, err = data.NewLoader(t.data.val, in.LoaderOptions(cfg.Batch, cfg.Workers)); err != nil {
			return fmt.Errorf("train: validation: %w", err)
		}
	}
	spe := loader.NumBatches()
	sched := makeSchedule(cfg, spe)
	if t.epoch == 0 {
		t.log.WithFields(logrus.Fields{"arch": cfg.Arch, "params": t.members[0].Net.Store.NumParams(),
			"train": t.data.train.Len(), "val": lenOrZero(t.data.val), "steps_per_epoch": spe, "device": t.dev.String(),
			"amp": cfg.AMP, "threads": torch.NumThreads()}).Info("train: start")
	}
	for t.epoch < cfg.Epochs {
		st, err := t.trainEpoch(ctx, loader, sched)
		if err != nil {
			return err
		}
		if val != nil {
			vs := time.Now()
			loss, acc, err := t.validate(ctx, val)
			if err != nil {
				return fmt.Errorf("train: validation after epoch %d: %w", st.Epoch, err)
			}
			st.ValLoss, st.ValAccuracy = &loss, &acc
			st.Seconds += time.Since(vs).Seconds()
		}
		t.epoch++
		t.history = append(t.history, st)
		if err := t.checkpoint(); err != nil {
			return err
		}
		f := logrus.Fields{"epoch": fmt.Sprintf("%d/%d", st.Epoch, cfg.Epochs), "lr": fmt.Sprintf("%.4g", st.LR),
			"loss": fmt.Sprintf("%.4f", st.TrainLoss), "acc": fmt.Sprintf("%.4f", st.TrainAccuracy),
			"img_per_s": fmt.Sprintf("%.0f", st.ImagesPerSec), "s": fmt.Sprintf("%.1f", st.Seconds)}
		if st.ValAccuracy != nil {
			f["val_loss"], f["val_acc"] = fmt.Sprintf("%.4f", *st.ValLoss), fmt.Sprintf("%.4f", *st.ValAccuracy)
		}
		t.log.WithFields(f).Info("train: epoch done")
	}
	return nil
}

func lenOrZero(d data.Dataset) int {
	if d == nil {
		return 0
	}
	return d.Len()
}

// checkpoint writes the model files, then the training state, then the history.
func (t *trainer) checkpoint() error {
	for i, m := range t.members {
		if err := m.Net.Store.Save(t.modelFile(i), t.meta(i).Strings()); err != nil {
			return fmt.Errorf("train: checkpoint: %w", err)
		}
	}
	st := trainState{Epoch: t.epoch, Step: t.step, Finished: t.epoch >= t.cfg.Epochs, Scaler: t.scaler, History: t.history}
	if err := saveState(filepath.Join(t.dir, TrainStateFile), t.members, t.cfg, st); err != nil {
		return fmt.Errorf("train: checkpoint: %w", err)
	}
	if err := writeHistory(t.dir, t.history); err != nil {
		return fmt.Errorf("train: history: %w", err)
	}
	return nil
}

// pendingStep is a step whose loss and correct count are still on the device.
type pendingStep struct {
	step, batch, n int
	loss, correct  *torch.Tensor
}

// trainEpoch runs epoch t.epoch+1.
func (t *trainer) trainEpoch(ctx context.Context, loader *data.Loader, sched torch.Schedule) (EpochStats, error) {
	epoch := t.epoch + 1
	st := EpochStats{Epoch: epoch}
	for _, m := range t.members {
		m.Net.Store.SetTraining(true)
	}
	nb := loader.NumBatches()
	prog := newEpochProgress(t.opts.Progress, t.log, t.opts.ProgressWriter, fmt.Sprintf("epoch %d/%d", epoch, t.cfg.Epochs), nb)
	defer prog.finish()
	syncEvery := t.opts.SyncEvery
	if syncEvery <= 0 {
		syncEvery = 1
		if t.dev.IsCUDA() {
			syncEvery = 20
		}
	}
	var allVars []*torch.Var
	for _, m := range t.members {
		allVars = append(allVars, m.vars...)
	}
	start := time.Now()
	var lossSum, correct float64
	images := 0
	window := torch.NewScope(torch.NoGrad())
	defer func() { window.Close() }()
	var pending []pendingStep
	flush := func() error {
		if len(pending) == 0 {
			return nil
		}
		ls, cs := make([]*torch.Tensor, len(pending)), make([]*torch.Tensor, len(pending))
		for i, p := range pending {
			ls[i], cs[i] = p.loss, p.correct
		}
		lv, err := torch.Stack(ls, 0).Float64s()
		if err != nil {
			return fmt.Errorf("train: epoch %d: %w", epoch, err)
		}
		cv, err := torch.Stack(cs, 0).Float64s()
		if err != nil {
			return fmt.Errorf("train: epoch %d: %w", epoch, err)
		}
		for i, p := range pending {
			if math.IsNaN(lv[i]) || math.IsInf(lv[i], 0) {
				return &NonFiniteLossError{Epoch: epoch, Step: p.step, Batch: p.batch, Loss: lv[i], Dir: t.dir, KeptEpoch: t.epoch}
			}
			lossSum += lv[i] * float64(p.n)
			correct += cv[i]
			images += p.n
		}
		pending = pending[:0]
		window.Close()
		window = torch.NewScope(torch.NoGrad())
		return nil
	}
	batch := 0
	for b, err := range loader.Batches(ctx, t.epoch) {
		if err != nil {
			return st, fmt.Errorf("train: epoch %d: %w", epoch, err)
		}
		lr := sched.LR(t.step)
		for _, m := range t.members {
			m.Opt.SetLR(lr)
		}
		st.LR = lr
		loss, corr, err := t.trainStep(b, allVars)
		n := b.N
		b.Release()
		batch++
		t.step++
		if err != nil {
			return st, fmt.Errorf("train: epoch %d, step %d: %w", epoch, t.step, err)
		}
		pending = append(pending, pendingStep{step: t.step, batch: batch, n: n,
			loss: loss.MoveTo(window), correct: corr.MoveTo(window)})
		if len(pending) >= syncEvery || batch == nb {
			if err := flush(); err != nil {
				return st, err
			}
			if images > 0 {
				prog.update(batch, lossSum/float64(images), correct/float64(images), float64(images)/time.Since(start).Seconds())
			}
		}
		if t.opts.StepHook != nil {
			if err := t.opts.StepHook(epoch, t.step, t.members); err != nil {
				return st, err
			}
		}
	}
	if err := flush(); err != nil {
		return st, err
	}
	if err := ctx.Err(); err != nil {
		return st, err
	}
	el := time.Since(start).Seconds()
	st.Step = t.step
	if images > 0 {
		st.TrainLoss, st.TrainAccuracy = lossSum/float64(images), correct/float64(images)
	}
	st.Seconds, st.ImagesPerSec = el, float64(images)/el
	if t.scaler != nil {
		st.SkippedSteps, st.LossScale = t.scaler.Skipped, t.scaler.Scale
	}
	return st, nil
}

// trainStep runs one optimizer step on a batch and returns the (detached) loss and
// the number of correct predictions as device tensors, owned by the caller.
func (t *trainer) trainStep(b *data.Batch, allVars []*torch.Var) (loss, correct *torch.Tensor, err error) {
	s := torch.NewScope()
	defer s.Close()
	x := torch.FromSlice(s, b.X, []int64{int64(b.N), int64(b.C), int64(b.H), int64(b.W)}, t.dev)
	y := torch.FromSlice(s, b.Y, []int64{int64(b.N)}, t.dev)
	fs := s
	if t.prec.autocast {
		fs = torch.NewScope(t.prec.scopeOptions(t.dev)...)
		defer fs.Close()
		x = x.In(fs)
	}
	for _, m := range t.members {
		if err := m.Net.Store.ZeroGrad(); err != nil {
			return nil, nil, err
		}
	}
	il, withInput := t.loss.(InputLoss)
	if withInput && il.NeedsInputGrad() {
		x = x.SetRequiresGrad(true)
	}
	outs := make([]Output, len(t.members))
	for i, m := range t.members {
		logits, feats := m.Net.Forward(x)
		outs[i] = Output{Logits: logits, Features: feats}
	}
	var l, report *torch.Tensor
	if withInput {
		l, report = il.LossInput(outs, x, y)
	} else {
		l = t.loss.Loss(outs, y)
		report = l
	}
	pred := combinedLogits(outs).Argmax(1, false)
	corr := pred.Eq(y).Sum().ToDType(torch.Float32)
	back := l
	if t.scaler != nil {
		back = l.MulScalar(t.scaler.Scale)
	}
	if err := back.In(s).Backward(); err != nil {
		return nil, nil, err
	}
	if err := fs.Err(); err != nil {
		return nil, nil, err
	}
	step := true
	if t.scaler != nil {
		if step, err = t.scaler.Unscale(allVars); err != nil {
			return nil, nil, err
		}
	}
	if step {
		for _, m := range t.members {
			if err := m.Opt.Step(); err != nil {
				return nil, nil, fmt.Errorf("member %s: %w", m.Name, err)
			}
		}
		if t.scaler != nil {
			t.scaler.Update()
		}
	}
	loss = report.Detach().ToDType(torch.Float32).MoveTo(nil)
	correct = corr.Detach().MoveTo(nil)
	if err := s.Err(); err != nil {
		return nil, nil, err
	}
	return loss, correct, loss.Err()
}

// validate returns the mean cross-entropy (without label smoothing) and the
// accuracy of the ensemble on a loader, in evaluation mode.
func (t *trainer) validate(ctx context.Context, l *data.Loader) (loss, acc float64, err error) {
	ms := make([]*nets.Net, len(t.members))
	for i, m := range t.members {
		ms[i] = m.Net
	}
	r, err := predictLoader(ctx, ms, l, t.dev, predictOptions{loss: true})
	if err != nil {
		return 0, 0, err
	}
	return r.lossSum / float64(r.n), float64(r.correct) / float64(r.n), nil
}
