package ensemble

import (
	"fmt"
	"path/filepath"

	"github.com/divres/divres/data"
)

// Input says how images are turned into model inputs: channels, size, fit and
// normalisation. It is stored in a model's metadata so that evaluation feeds the
// model exactly as training did (without the augmentation).
type Input struct {
	Channels int
	Size     int
	Fit      data.Fit
	Norm     data.Norm
}

// chooseFit resolves TrainConfig.Fit (checked by Validate) for images of side h×w.
func chooseFit(fit string, h, w, size int) data.Fit {
	if f, err := data.ParseFit(fit); fit != "" && err == nil {
		return f
	}
	if h <= size && w <= size && size-h <= 8 && size-w <= 8 {
		return data.FitPad
	}
	if h == size && w == size {
		return data.FitPad
	}
	return data.FitResize
}

// LoaderOptions returns the loader options that feed images to a model with this
// input (no shuffling, no augmentation).
func (in Input) LoaderOptions(batch, workers int) data.LoaderOptions {
	return data.LoaderOptions{BatchSize: batch, Workers: workers, Norm: in.Norm, Channels: in.Channels,
		Height: in.Size, Width: in.Size, Fit: in.Fit}
}

// expandNorm returns the constants for c channels: as they are, repeated from one
// channel, or (for RGB constants and a 1-channel input) averaged over the channels.
func expandNorm(n data.Norm, c int) data.Norm {
	switch {
	case len(n.Mean) == c:
		return n
	case len(n.Mean) == 1:
		out := data.Norm{}
		for range c {
			out.Mean = append(out.Mean, n.Mean[0])
			out.Std = append(out.Std, n.Std[0])
		}
		return out
	case c == 1 && len(n.Mean) > 1:
		var m, s float32
		for i := range n.Mean {
			m += n.Mean[i]
			s += n.Std[i]
		}
		k := float32(len(n.Mean))
		return data.Norm{Mean: []float32{m / k}, Std: []float32{s / k}}
	}
	return n
}

// trainData is the prepared data of a run.
type trainData struct {
	train, val data.Dataset
	classes    []string
	input      Input
	dataset    string // the dataset's display name
}

// datasetName is a short display name of a dataset spec: the canonical name of a
// built-in dataset, else the base name of its path.
func datasetName(spec string) string {
	if n, ok := data.CanonicalName(spec); ok {
		return n
	}
	return filepath.Base(filepath.Clean(spec))
}

// prepareData opens the dataset of cfg and applies the subset, the validation split
// and the normalisation.
func prepareData(cfg TrainConfig) (*trainData, error) {
	train, test, err := data.Open(cfg.Data, data.OpenOptions{})
	if err != nil {
		return nil, err
	}
	if train == nil {
		return nil, fmt.Errorf("dataset %s has no training set", cfg.Data)
	}
	td := &trainData{classes: train.ClassNames(), dataset: datasetName(cfg.Data)}
	full := train
	switch {
	case cfg.Subset > 0:
		if cfg.Subset > train.Len() {
			return nil, fmt.Errorf("subset of %d images: the training set has %d", cfg.Subset, train.Len())
		}
		train = data.FirstK(train, cfg.Subset)
	case cfg.PerClass > 0:
		train = data.RandomKPerClass(train, cfg.PerClass, cfg.Seed)
	}
	val := test
	if cfg.ValFraction > 0 {
		tr, va, err := data.Split(train, cfg.ValFraction, cfg.Seed)
		if err != nil {
			return nil, err
		}
		train, val = tr, va
	}
	if val != nil && cfg.ValLimit > 0 {
		val = data.FirstK(val, cfg.ValLimit)
	}
	if val != nil && val.Len() == 0 {
		val = nil
	}
	td.train, td.val = train, val

	c, h, w := full.Shape()
	in := Input{Channels: cfg.InChannels, Size: cfg.InputSize}
	if in.Channels == 0 {
		in.Channels = c
	}
	in.Fit = chooseFit(cfg.Fit, h, w, in.Size)
	norm, ok := data.NormFor(cfg.Data)
	if !ok {
		st, err := data.ComputePixelStats(train, nil)
		if err != nil {
			return nil, err
		}
		norm = st.Norm()
	}
	in.Norm = expandNorm(norm, in.Channels)
	td.input = in
	return td, nil
}
