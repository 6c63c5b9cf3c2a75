package ensemble

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"

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
	po := PredictOptions{Batch: o.Batch, Workers: o.Workers}
	total, done := 1+len(names)*len(sevs), 0
	step := func() {
		done++
		if o.Progress != nil {
			o.Progress(done, total)
		}
	}
	cp, err := Predict(ctx, net, clean, in, dev, po)
	if err != nil {
		return nil, fmt.Errorf("evaluate clean: %w", err)
	}
	step()
	src := o.Source
	if src == "" {
		src = set.Dir
	}
	r := &corrupt.Result{Model: meta.Model, Arch: meta.Arch, Style: meta.Style, Width: meta.Width, Params: meta.Params,
		Dataset: datasetName(meta.Dataset), Corruptions: src, CleanError: cp.ErrorRate(), Errors: map[string][]float64{}}
	if r.Params == 0 {
		r.Params = net.Store.NumParams()
	}
	for _, c := range names {
		row := make([]float64, corrupt.NumSeverities)
		for i := range row {
			row[i] = corrupt.NotEvaluated
		}
		for _, s := range sevs {
			imgs, err := set.ReadRange(c, s, 0, n)
			if err != nil {
				return nil, fmt.Errorf("evaluate: %w", err)
			}
			ds, err := data.FromImages(imgs, labels, clean.ClassNames())
			if err != nil {
				return nil, fmt.Errorf("evaluate %s severity %d: %w", c, s, err)
			}
			p, err := Predict(ctx, net, ds, in, dev, po)
			if err != nil {
				return nil, fmt.Errorf("evaluate %s severity %d: %w", c, s, err)
			}
			row[s-1] = p.ErrorRate()
			step()
		}
		r.Errors[c] = row
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
