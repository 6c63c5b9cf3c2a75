package ensemble

import (
	"context"
	"fmt"

	"github.com/divres/divres/data"
	"github.com/divres/divres/nets"
	"github.com/divres/divres/torch"
)

// Predictions are the outputs of a model (or an ensemble) on a dataset, in dataset
// order.
type Predictions struct {
	N, Classes int
	// Labels are the true labels, Pred the predicted classes.
	Labels, Pred []int
	// Logits (N×Classes, row-major) are kept when asked: a single model's logits,
	// or for several models the mean of their softmax probabilities.
	Logits []float32
	// Probs (N×Classes) are the softmax probabilities (the ensemble's mean
	// probabilities for several models), when asked.
	Probs []float32
}

// ErrorRate returns the fraction of wrong predictions.
func (p *Predictions) ErrorRate() float64 {
	if p.N == 0 {
		return 0
	}
	wrong := 0
	for i := range p.Pred {
		if p.Pred[i] != p.Labels[i] {
			wrong++
		}
	}
	return float64(wrong) / float64(p.N)
}

// PredictOptions configure Predict.
type PredictOptions struct {
	// Batch is the batch size (default 256); Workers the loader goroutines.
	Batch, Workers int
	// Logits and Probs keep the full outputs (otherwise only the predictions).
	Logits, Probs bool
}

// Predict runs net (in evaluation mode, inference scope) over every image of ds,
// prepared as in describes, on device dev.
func Predict(ctx context.Context, net *nets.Net, ds data.Dataset, in Input, dev torch.Device, o PredictOptions) (*Predictions, error) {
	return PredictEnsemble(ctx, []*nets.Net{net}, ds, in, dev, o)
}

// PredictEnsemble is Predict for several models fed the same input: the prediction
// is the argmax of the mean of their softmax probabilities.
func PredictEnsemble(ctx context.Context, ms []*nets.Net, ds data.Dataset, in Input, dev torch.Device, o PredictOptions) (*Predictions, error) {
	if len(ms) == 0 {
		return nil, fmt.Errorf("predict: no model")
	}
	if o.Batch <= 0 {
		o.Batch = 256
	}
	l, err := data.NewLoader(ds, in.LoaderOptions(o.Batch, o.Workers))
	if err != nil {
		return nil, fmt.Errorf("predict: %w", err)
	}
	r, err := predictLoader(ctx, ms, l, dev, predictOptions{keep: true, logits: o.Logits, probs: o.Probs})
	if err != nil {
		return nil, err
	}
	return &Predictions{N: r.n, Classes: r.k, Labels: r.labels, Pred: r.pred, Logits: r.logits, Probs: r.probs}, nil
}

type predictOptions struct {
	loss          bool // sum the cross-entropy
	keep          bool // keep labels and predictions
	logits, probs bool
}

type predictResult struct {
	n, k, correct int
	lossSum       float64
	labels, pred  []int
	logits, probs []float32
}

// predictLoader runs the models over the loader's epoch 0 in evaluation mode and
// restores their training flags afterwards.
func predictLoader(ctx context.Context, ms []*nets.Net, l *data.Loader, dev torch.Device, o predictOptions) (*predictResult, error) {
	for _, m := range ms {
		defer m.Store.SetTraining(m.Store.Training())
		m.Store.SetTraining(false)
	}
	r := &predictResult{}
	for b, err := range l.Batches(ctx, 0) {
		if err != nil {
			return nil, fmt.Errorf("predict: %w", err)
		}
		err := torch.Do(func(s *torch.Scope) error {
			x := torch.FromSlice(s, b.X, []int64{int64(b.N), int64(b.C), int64(b.H), int64(b.W)}, dev)
			var out, probs *torch.Tensor
			if len(ms) == 1 {
				out, _ = ms[0].Forward(x)
				out = out.ToDType(torch.Float32)
			} else {
				for _, m := range ms {
					lg, _ := m.Forward(x)
					p := lg.ToDType(torch.Float32).Softmax(1)
					if probs == nil {
						probs = p
					} else {
						probs = probs.Add(p)
					}
				}
				probs = probs.MulScalar(1 / float64(len(ms)))
				out = probs
			}
			pred, err := out.Argmax(1, false).Int64s()
			if err != nil {
				return err
			}
			r.k = int(out.Size(1))
			for i, p := range pred {
				if int64(p) == b.Y[i] {
					r.correct++
				}
				if o.keep {
					r.pred = append(r.pred, int(p))
					r.labels = append(r.labels, int(b.Y[i]))
				}
			}
			if o.loss {
				y := torch.FromSlice(s, b.Y, []int64{int64(b.N)}, dev)
				var l *torch.Tensor
				if probs == nil {
					l = torch.CrossEntropyPerSample(out, y, 0).Sum()
				} else {
					l = torch.Nll(probs.Log(), y).MulScalar(float64(b.N))
				}
				v, err := l.Item()
				if err != nil {
					return err
				}
				r.lossSum += v
			}
			if o.logits {
				v, err := out.Float32s()
				if err != nil {
					return err
				}
				r.logits = append(r.logits, v...)
			}
			if o.probs {
				if probs == nil {
					probs = out.Softmax(1)
				}
				v, err := probs.Float32s()
				if err != nil {
					return err
				}
				r.probs = append(r.probs, v...)
			}
			return nil
		}, torch.Inference())
		r.n += b.N
		b.Release()
		if err != nil {
			return nil, fmt.Errorf("predict: %w", err)
		}
	}
	return r, nil
}
