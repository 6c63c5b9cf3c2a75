package ensemble

import (
	"cmp"
	"context"
	"fmt"
	"sync"

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

// stackSlice is one slice of a sliceStack: its name in errors, what it is, and
// how to load its images.
type stackSlice struct {
	name       string
	corruption string
	severity   int
	load       func() (data.Dataset, error)
}

// sliceStack is several slices of n images each, all of one shape and with the
// same labels, as one dataset: image k·n+i is image i of slice k. A slice is
// loaded when its first image is asked for and dropped once its n images have
// been read, so that only the slices of the batches in flight are held in memory.
type sliceStack struct {
	parts   []stackSlice
	n       int
	c, h, w int
	labels  []int32
	classes []string

	mu     sync.Mutex
	loaded []data.Dataset
	reads  []int
	err    error // the first load failure, naming its slice
}

func newSliceStack(parts []stackSlice, n, c, h, w int, labels []int32, classes []string) *sliceStack {
	return &sliceStack{parts: parts, n: n, c: c, h: h, w: w, labels: labels, classes: classes,
		loaded: make([]data.Dataset, len(parts)), reads: make([]int, len(parts))}
}

func (s *sliceStack) Len() int               { return len(s.parts) * s.n }
func (s *sliceStack) Shape() (c, h, w int)   { return s.c, s.h, s.w }
func (s *sliceStack) NumClasses() int        { return len(s.classes) }
func (s *sliceStack) ClassNames() []string   { return s.classes }
func (s *sliceStack) Label(i int) int        { return int(s.labels[i%s.n]) }
func (s *sliceStack) failed(err error) error { s.err = cmp.Or(s.err, err); return err }

// slice returns slice k, loading it on first use.
func (s *sliceStack) slice(k int) (data.Dataset, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ds := s.loaded[k]; ds != nil {
		return ds, nil
	}
	p := s.parts[k]
	ds, err := p.load()
	if err != nil {
		return nil, s.failed(fmt.Errorf("%s: %w", p.name, err))
	}
	if c, h, w := ds.Shape(); c != s.c || h != s.h || w != s.w || ds.Len() < s.n {
		return nil, s.failed(fmt.Errorf("%s: %d images of %d×%d×%d, want %d of %d×%d×%d", p.name, ds.Len(), c, h, w, s.n, s.c, s.h, s.w))
	}
	s.loaded[k] = ds
	return ds, nil
}

// loadErr returns the first failure to load or read a slice (nil when none).
func (s *sliceStack) loadErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Image implements data.Dataset.
func (s *sliceStack) Image(i int, dst []uint8) (int, error) {
	k, j := i/s.n, i%s.n
	ds, err := s.slice(k)
	if err != nil {
		return 0, err
	}
	if _, err := ds.Image(j, dst); err != nil {
		s.mu.Lock()
		defer s.mu.Unlock()
		return 0, s.failed(fmt.Errorf("%s: image %d: %w", s.parts[k].name, j, err))
	}
	s.mu.Lock()
	if s.reads[k]++; s.reads[k] == s.n {
		s.loaded[k] = nil
	}
	s.mu.Unlock()
	return int(s.labels[j]), nil
}

// predictStack runs net (in evaluation mode, inference scope) over every image of
// st in batches of batch images, which may span slices, and hands emit the
// predictions of each slice (with its logits when keepLogits is set) as soon as
// its last batch is done, in slice order. Errors name the slice when they have
// one.
func predictStack(ctx context.Context, net *nets.Net, st *sliceStack, in Input, dev torch.Device, batch, workers int,
	keepLogits bool, emit func(k int, p *Predictions)) error {
	defer net.Store.SetTraining(net.Store.Training())
	net.Store.SetTraining(false)
	l, err := data.NewLoader(st, in.LoaderOptions(batch, workers))
	if err != nil {
		return fmt.Errorf("%s: %w", st.parts[0].name, err)
	}
	n := st.n
	pred := make([]int, st.Len())
	var logits []float32
	classes, done, next := 0, 0, 0
	shape := make([]int64, 4)
	for b, err := range l.Batches(ctx, 0) {
		if err != nil {
			if lerr := st.loadErr(); lerr != nil {
				return lerr
			}
			return fmt.Errorf("%s: %w", st.parts[min(done/n, len(st.parts)-1)].name, err)
		}
		shape[0], shape[1], shape[2], shape[3] = int64(b.N), int64(b.C), int64(b.H), int64(b.W)
		err := torch.Do(func(s *torch.Scope) error {
			out, _ := net.Forward(torch.FromSlice(s, b.X, shape, dev))
			out = out.ToDType(torch.Float32)
			p, err := out.Argmax(1, false).Int64s()
			if err != nil {
				return err
			}
			classes = int(out.Size(1))
			for i, v := range p {
				pred[b.Indices[i]] = int(v)
			}
			if keepLogits {
				v, err := out.Float32s()
				if err != nil {
					return err
				}
				logits = append(logits, v...)
			}
			return nil
		}, torch.Inference())
		done += b.N
		b.Release()
		if err != nil {
			return fmt.Errorf("%s: predict: %w", st.parts[min((done-1)/n, len(st.parts)-1)].name, err)
		}
		for ; next < len(st.parts) && done >= (next+1)*n; next++ {
			p := &Predictions{N: n, Classes: classes, Labels: make([]int, n), Pred: pred[next*n : (next+1)*n : (next+1)*n]}
			for i := range p.Labels {
				p.Labels[i] = int(st.labels[i])
			}
			if keepLogits {
				p.Logits = logits[next*n*classes : (next+1)*n*classes : (next+1)*n*classes]
			}
			emit(next, p)
		}
	}
	return nil
}
