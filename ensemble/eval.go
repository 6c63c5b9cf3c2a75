package ensemble

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/divres/divres/corrupt"
	"github.com/divres/divres/data"
	"github.com/divres/divres/nets"
	"github.com/divres/divres/torch"
)

// EvalOptions configure EvaluateCorruptions.
type EvalOptions struct {
	// Corruptions (nil: every corruption of the set) and Severities (nil: every
	// severity of the set) to evaluate.
	Corruptions []string
	Severities  []int
	// N is the number of images to use from the clean test set and from each slice
	// of the corruption set (0: all; the set and the test set must then have the
	// same number).
	N int
	// Source describes the corruption set in the result (default: its directory).
	Source string
	// Batch and Workers as in PredictOptions.
	Batch, Workers int
	// Progress, if set, is called after each evaluated slice (clean included) with
	// the number done and the total.
	Progress func(done, total int)
	// Slice, if set, receives the predictions of each slice: the clean test set
	// (corruption "", severity 0), then every corruption × severity.
	Slice func(corruption string, severity int, p *Predictions)
}

// EvaluateCorruptions measures net's top-1 error on the clean test set and on every
// corruption × severity of set, feeding the images as in (the model's input, the
// same as in training without augmentation). Corrupted images are used at the size
// and channel count the set has, then fitted and normalised like the clean ones (a
// grayscale set stays grayscale; see corrupt.Apply). The returned result has the
// model fields from meta, the clean error, the errors (NotEvaluated for severities
// not asked for) and the corruption accuracy (over what was evaluated when the 15
// benchmark corruptions are not all there); CE needs a baseline (corrupt.ComputeCE).
func EvaluateCorruptions(ctx context.Context, net *nets.Net, meta Meta, clean data.Dataset, set *corrupt.Set,
	dev torch.Device, o EvalOptions) (*corrupt.Result, error) {
	in, err := meta.Input()
	if err != nil {
		return nil, fmt.Errorf("evaluate: %w", err)
	}
	n := o.N
	if n == 0 {
		n = clean.Len()
		if set.Info.N != n {
			return nil, fmt.Errorf("evaluate: the corruption set %s has %d images per slice, the test set %d (limit both with a test-subset size)",
				set.Dir, set.Info.N, n)
		}
	}
	if n > clean.Len() || n > set.Info.N || n <= 0 {
		return nil, fmt.Errorf("evaluate: %d images asked; the test set has %d, the corruption set %d per slice", n, clean.Len(), set.Info.N)
	}
	if clean.Len() > n {
		clean = data.FirstK(clean, n)
	}
	names := o.Corruptions
	if names == nil {
		names = set.Info.Corruptions
	}
	for _, c := range names {
		if !slices.Contains(set.Info.Corruptions, c) {
			return nil, fmt.Errorf("evaluate: the corruption set %s has no %s", set.Dir, c)
		}
	}
	sevs := o.Severities
	if sevs == nil {
		sevs = set.Info.Severities
	}
	for _, s := range sevs {
		if s < 1 || s > corrupt.NumSeverities || !slices.Contains(set.Info.Severities, s) {
			return nil, fmt.Errorf("evaluate: the corruption set %s has no severity %d (has %v)", set.Dir, s, set.Info.Severities)
		}
	}
	labels, err := setLabels(set, clean, n)
	if err != nil {
		return nil, err
	}
	src := o.Source
	if src == "" {
		src = set.Dir
	}
	r := &corrupt.Result{Model: meta.Model, Arch: meta.Arch, Style: meta.Style, Width: meta.Width, Params: meta.Params,
		Dataset: datasetName(meta.Dataset), Corruptions: src, Errors: map[string][]float64{}}
	if r.Params == 0 {
		r.Params = net.Store.NumParams()
	}
	for _, c := range names {
		row := make([]float64, corrupt.NumSeverities)
		for i := range row {
			row[i] = corrupt.NotEvaluated
		}
		r.Errors[c] = row
	}
	total, done := 1+len(names)*len(sevs), 0
	got := func(c string, s int, p *Predictions) {
		if c == "" {
			r.CleanError = p.ErrorRate()
		} else {
			r.Errors[c][s-1] = p.ErrorRate()
		}
		if o.Slice != nil {
			o.Slice(c, s, p)
		}
		done++
		if o.Progress != nil {
			o.Progress(done, total)
		}
	}
	if err := evaluateSlices(ctx, net, clean, set, names, sevs, n, labels, in, dev, o.Batch, o.Workers, false, got); err != nil {
		return nil, err
	}
	_ = r.FillCorruptionAccuracy() // incomplete sets give the mean over what is there
	return r, nil
}

// setLabels returns the labels of the first n images of a set (from its
// labels.npy, checked against the clean test set; the clean labels when the set has
// none).
func setLabels(set *corrupt.Set, clean data.Dataset, n int) ([]int32, error) {
	out := make([]int32, n)
	for i := range out {
		out[i] = int32(clean.Label(i))
	}
	ls, err := set.Labels()
	if errors.Is(err, os.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("evaluate: %w", err)
	}
	if len(ls) < n {
		return nil, fmt.Errorf("evaluate: %s/labels.npy has %d labels, need %d", set.Dir, len(ls), n)
	}
	for i := range out {
		if ls[i] != int64(out[i]) {
			return nil, fmt.Errorf("evaluate: the labels of the corruption set %s differ from the test set's at image %d (%d vs %d): not made from this dataset?",
				set.Dir, i, ls[i], out[i])
		}
	}
	return out, nil
}

// CheckpointEval describes the evaluation of a saved model on a corruption
// benchmark (what `divres eval` does).
type CheckpointEval struct {
	// Model is a checkpoint file or run directory; Name, if set, replaces its
	// display name in the result.
	Model, Name string
	// Data is the clean dataset (default: the one the model was trained on);
	// TestSubset the number of its first test images to use (0: all; the
	// corruption set must then have as many per slice).
	Data       string
	TestSubset int
	// Set is a corruption set directory; with Generate set, the set is instead
	// generated from the clean test set with Generation (its Dataset,
	// Corruptions, Severities and Workers are filled in here).
	Set        string
	Generate   bool
	Generation GenerateOptions
	// Corruptions and Severities to evaluate. When StrictCorruptions is set, a
	// corruption the set does not have is an error; otherwise it is left out.
	Corruptions       []string
	StrictCorruptions bool
	Severities        []int
	// Baseline, if set, is the baseline's result: CE, mCE, relative CE and
	// relative mCE are added.
	Baseline *corrupt.Result
	Device   torch.Device
	// Batch and Workers as in PredictOptions.
	Batch, Workers int
	// GenerateProgress and Progress, if set, follow the generation of the set
	// (images) and the evaluation (slices).
	GenerateProgress, Progress func(done, total int)
	// Log receives the warnings (default: the standard logrus logger).
	Log logrus.FieldLogger
}

// EvaluateCheckpoint loads the model of e, opens its clean test set and the
// corruption set (generating and caching it if asked), evaluates the model on
// both and, given a baseline, computes CE and relative CE. The result is not
// written (corrupt.WriteResult).
func EvaluateCheckpoint(ctx context.Context, e CheckpointEval) (*corrupt.Result, error) {
	log := e.Log
	if log == nil {
		log = logrus.StandardLogger()
	}
	net, meta, err := LoadModel(e.Model, e.Device)
	if err != nil {
		return nil, err
	}
	defer net.Close()
	if e.Name != "" {
		meta.Model = e.Name
	}
	spec := e.Data
	if spec == "" {
		spec = meta.Dataset
	}
	test, err := data.OpenTest(spec, data.OpenOptions{})
	if err != nil {
		return nil, fmt.Errorf("eval: clean test set: %w", err)
	}
	if n := e.TestSubset; n > 0 {
		if n > test.Len() {
			return nil, fmt.Errorf("eval: a test subset of %d images: the test set has %d", n, test.Len())
		}
		test = data.FirstK(test, n)
	}

	var set *corrupt.Set
	source := e.Set
	if e.Generate {
		gen := e.Generation
		gen.Dataset, gen.Corruptions, gen.Severities, gen.Workers = spec, e.Corruptions, e.Severities, e.Workers
		gen.Progress = e.GenerateProgress
		if set, source, err = GenerateSet(ctx, test, gen); err != nil {
			return nil, err
		}
		log.WithField("dir", set.Dir).Info("eval: corruption set ready")
	} else if set, err = corrupt.OpenSet(source); err != nil {
		return nil, err
	}
	var want []string
	for _, n := range e.Corruptions {
		if slices.Contains(set.Info.Corruptions, n) {
			want = append(want, n)
		} else if e.StrictCorruptions {
			return nil, fmt.Errorf("eval: the corruption set %s has no %s", set.Dir, n)
		}
	}
	if len(want) == 0 {
		return nil, fmt.Errorf("eval: the corruption set %s has none of the corruptions asked for", set.Dir)
	}
	if e.TestSubset == 0 && set.Info.N != test.Len() {
		return nil, fmt.Errorf("eval: the corruption set has %d images per slice, the test set %d: give a test subset size",
			set.Info.N, test.Len())
	}
	r, err := EvaluateCorruptions(ctx, net, meta, test, set, e.Device, EvalOptions{Corruptions: want,
		Severities: e.Severities, N: e.TestSubset, Source: source, Batch: e.Batch, Workers: e.Workers, Progress: e.Progress})
	if err != nil {
		return nil, err
	}
	if err := r.FillCorruptionAccuracy(); err != nil {
		log.Warnf("eval: %v", err)
	}
	if base := e.Baseline; base != nil {
		if err := corrupt.ComputeCE(r, base); err != nil {
			if !errors.Is(err, corrupt.ErrIncomplete) {
				return nil, err
			}
			log.Warnf("eval: %v", err)
		}
		if u := corrupt.UndefinedRelativeCE(base); len(u) > 0 {
			log.Warnf("eval: relative CE undefined for %s (the baseline is not hurt by them); relative mCE averages the others",
				strings.Join(u, ", "))
		}
	}
	return r, nil
}

// DefaultEvalDir is where the evaluation of a model is written by default: eval/
// beside its model file (model may be the file or its run directory).
func DefaultEvalDir(model string) string {
	return filepath.Join(filepath.Dir(modelPath(model)), "eval")
}

// DefaultEvalBatch is the batch size of EvaluateCorruptions when none is given.
// Batches run across slice boundaries, so slices smaller than a batch still make
// full batches. Larger batches are not faster for every model on CPU: over the
// quick study's 1×32×32 slices, 1,024 took 10–30 % less CPU time than 256 for
// LeNet and ResNet18 (width 0.25) but up to 60 % more for ViT-small and 20 % more
// for MobileNetV2 (width 0.25), whose activations then outgrow the caches.
const DefaultEvalBatch = 256

// evaluateSlices runs net over the clean slice (the first n images of clean) and
// every corruption × severity of set, handing each slice's predictions to got in
// that order (clean first, with corruption "" and severity 0). The slices of one
// shape run as one stream of batches of batch images that cross slice boundaries
// (the clean slice joins the stream when it has the set's shape), so that small
// slices still make full batches and the per-batch costs are paid once per batch,
// not once per slice. keepLogits keeps each slice's logits.
func evaluateSlices(ctx context.Context, net *nets.Net, clean data.Dataset, set *corrupt.Set, names []string, sevs []int,
	n int, labels []int32, in Input, dev torch.Device, batch, workers int, keepLogits bool,
	got func(c string, s int, p *Predictions)) error {
	if batch <= 0 {
		batch = DefaultEvalBatch
	}
	var parts []stackSlice
	for _, c := range names {
		for _, s := range sevs {
			parts = append(parts, stackSlice{name: fmt.Sprintf("%s severity %d", c, s), corruption: c, severity: s,
				load: func() (data.Dataset, error) {
					imgs, err := set.ReadRange(c, s, 0, n)
					if err != nil {
						return nil, err
					}
					return data.FromImages(imgs, labels, clean.ClassNames())
				}})
		}
	}
	cleanPart := stackSlice{name: "clean", load: func() (data.Dataset, error) { return clean, nil }}
	emit := func(ss []stackSlice) func(k int, p *Predictions) {
		return func(k int, p *Predictions) { got(ss[k].corruption, ss[k].severity, p) }
	}
	c, h, w := clean.Shape()
	if c == set.Info.Channels && h == set.Info.Height && w == set.Info.Width {
		all := append([]stackSlice{cleanPart}, parts...)
		st := newSliceStack(all, n, c, h, w, labels, clean.ClassNames())
		if err := predictStack(ctx, net, st, in, dev, batch, workers, keepLogits, emit(all)); err != nil {
			return fmt.Errorf("evaluate %w", err)
		}
		return nil
	}
	st := newSliceStack([]stackSlice{cleanPart}, n, c, h, w, labels, clean.ClassNames())
	if err := predictStack(ctx, net, st, in, dev, batch, workers, keepLogits, emit([]stackSlice{cleanPart})); err != nil {
		return fmt.Errorf("evaluate %w", err)
	}
	if len(parts) == 0 {
		return nil
	}
	st = newSliceStack(parts, n, set.Info.Channels, set.Info.Height, set.Info.Width, labels, clean.ClassNames())
	if err := predictStack(ctx, net, st, in, dev, batch, workers, keepLogits, emit(parts)); err != nil {
		return fmt.Errorf("evaluate %w", err)
	}
	return nil
}
