package nas

import (
	"context"
	"math"
	"testing"

	"github.com/divres/divres/corrupt"
	"github.com/divres/divres/data"
	"github.com/divres/divres/ensemble"
	"github.com/divres/divres/nets"
	"github.com/divres/divres/torch"
)

// narrowGenome chooses the narrowest width for every block at full depth.
func narrowGenome(s Space) Genome {
	g := s.Max()
	for i := range g.Width {
		for j := range g.Width[i] {
			g.Width[i][j] = len(s.WidthChoices) - 1
		}
	}
	return g
}

// TestReorderKeepsFunction: reordering by importance leaves the full network's
// outputs unchanged, sorts every block's conv2 outputs by the L1 norm of the conv3
// columns that read them, and changes what a narrow sub-network computes.
func TestReorderKeepsFunction(t *testing.T) {
	sn, e := newSuper(t, nets.CIFAR, 0.125, 3, 10, 4)
	randomizeBN(t, e)
	if err := e.SetSpace(tinySpace()); err != nil {
		t.Fatal(err)
	}
	x, shape := randImages(2, 3, 32, 5)
	before := forward(t, e, sn.Store, x, shape, false)
	if err := e.SetGenome(narrowGenome(e.Space())); err != nil {
		t.Fatal(err)
	}
	narrowBefore := forward(t, e, sn.Store, x, shape, false)
	if err := e.ReorderByImportance(); err != nil {
		t.Fatal(err)
	}
	narrowAfter := forward(t, e, sn.Store, x, shape, false)
	if err := e.SetGenome(e.Space().Max()); err != nil {
		t.Fatal(err)
	}
	after := forward(t, e, sn.Store, x, shape, false)
	scale := 0.0
	for _, v := range before {
		scale = math.Max(scale, math.Abs(float64(v)))
	}
	if d := maxAbsDiff(before, after); d > 1e-5*math.Max(1, scale) {
		t.Fatalf("full network changed by %g (outputs up to %g)", d, scale)
	}
	if d := maxAbsDiff(narrowBefore, narrowAfter); d < 1e-4 {
		t.Fatalf("narrow sub-network unchanged (%g): reordering did nothing", d)
	}
	err := torch.Do(func(s *torch.Scope) error {
		for _, st := range e.Stages {
			for _, b := range st {
				imp, err := b.Conv3.W.In(s).Abs().SumDims([]int64{0, 2, 3}, false).Float32s()
				if err != nil {
					return err
				}
				for i := 1; i < len(imp); i++ {
					if imp[i] > imp[i-1] {
						t.Fatalf("importance not descending: %v", imp)
					}
				}
			}
		}
		return nil
	}, torch.NoGrad())
	if err != nil {
		t.Fatal(err)
	}
}

// halvesDataset is a two-class task on 16×16 grey images: the bright half is the
// top (class 0) or the bottom (class 1), under noise.
func halvesDataset(t testing.TB, n int, seed uint64) (data.Dataset, ensemble.Input) {
	t.Helper()
	imgs := make([]corrupt.Image, n)
	labels := make([]int32, n)
	x, _ := randImages(n, 1, 16, seed)
	for i := range imgs {
		im := corrupt.NewImage(16, 16, 1)
		labels[i] = int32(i % 2)
		for p := range im.Pix {
			v := 70 + 50*x[i*256+p]
			if (p/16 < 8) == (labels[i] == 0) {
				v += 100
			}
			im.Pix[p] = uint8(v)
		}
		imgs[i] = im
	}
	ds, err := data.FromImages(imgs, labels, []string{"top", "bottom"})
	if err != nil {
		t.Fatal(err)
	}
	return ds, ensemble.Input{Channels: 1, Size: 16, Fit: data.FitPad, Norm: data.Norm{Mean: []float32{0.5}, Std: []float32{0.25}}}
}

// crossEntropy of predictions with probabilities.
func crossEntropy(p *ensemble.Predictions) float64 {
	s := 0.0
	for i, y := range p.Labels {
		s -= math.Log(math.Max(float64(p.Probs[i*p.Classes+y]), 1e-12))
	}
	return s / float64(p.N)
}

// TestRecalibrate: recalibration sets every running mean to the data's mean (the
// stem's, checked exactly), leaves the channels a narrow block does not use at the
// reset values, and lowers a shallow narrow sub-network's loss that the full
// network's statistics had left high.
func TestRecalibrate(t *testing.T) {
	ctx := context.Background()
	ds, in := halvesDataset(t, 64, 11)
	sn, e := newSuper(t, nets.CIFAR, 0.125, 1, 2, 6)
	if err := e.SetSpace(tinySpace()); err != nil {
		t.Fatal(err)
	}
	// Train the full network a little, so that its statistics are those of the
	// full network's activations.
	tr := &psTrainer{net: sn, e: e, dev: torch.CPU, cfg: PSConfig{Space: tinySpace()}}
	opt, err := torch.NewSGD(sn.Store.Trainable(), torch.SGDConfig{LR: 0.05, Momentum: 0.9})
	if err != nil {
		t.Fatal(err)
	}
	defer opt.Close()
	l, err := data.NewLoader(ds, data.LoaderOptions{BatchSize: 32, Shuffle: true, Seed: 1, Norm: in.Norm, Channels: 1, Height: 16, Width: 16})
	if err != nil {
		t.Fatal(err)
	}
	sn.Store.SetTraining(true)
	for ep := 0; ep < 8; ep++ {
		for b, err := range l.Batches(ctx, ep) {
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tr.step(b, opt, []Genome{e.Space().Max()}); err != nil {
				t.Fatal(err)
			}
			b.Release()
		}
	}
	g := e.Space().Min()
	if err := e.SetGenome(g); err != nil {
		t.Fatal(err)
	}
	sn.Store.SetTraining(false)
	stale, err := ensemble.Predict(ctx, sn, ds, in, torch.CPU, ensemble.PredictOptions{Probs: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := Recalibrate(ctx, sn, ds, 64, in, torch.CPU, 64, 1); err != nil {
		t.Fatal(err)
	}
	fresh, err := ensemble.Predict(ctx, sn, ds, in, torch.CPU, ensemble.PredictOptions{Probs: true})
	if err != nil {
		t.Fatal(err)
	}
	ls, lf := crossEntropy(stale), crossEntropy(fresh)
	t.Logf("narrow sub-network %s: loss %.4f → %.4f, error %.3f → %.3f after recalibration", g.Key(), ls, lf, stale.ErrorRate(), fresh.ErrorRate())
	if !(lf < ls) || fresh.ErrorRate() > stale.ErrorRate() {
		t.Fatalf("recalibration did not help: loss %.4f → %.4f, error %.3f → %.3f", ls, lf, stale.ErrorRate(), fresh.ErrorRate())
	}
	// The stem's running mean is the mean of its conv output over the 64 images.
	err = torch.Do(func(s *torch.Scope) error {
		b := firstBatch(t, ds, in, 64)
		defer b.Release()
		x := torch.FromSlice(s, b.X, []int64{int64(b.N), 1, 16, 16})
		want, err := e.Stem.Forward(x).MeanDims([]int64{0, 2, 3}, false).Float32s()
		if err != nil {
			return err
		}
		got, err := e.BN1.Mean.In(s).Float32s()
		if err != nil {
			return err
		}
		if d := maxAbsDiff(got, want); d > 1e-5 {
			t.Fatalf("stem running mean off by %g", d)
		}
		blk := e.Stages[0][0]
		m, err := blk.BN1.Mean.In(s).Float32s()
		if err != nil {
			return err
		}
		v, err := blk.BN1.Var.In(s).Float32s()
		if err != nil {
			return err
		}
		if blk.Active >= blk.Inner {
			t.Fatalf("block not narrow: %d of %d", blk.Active, blk.Inner)
		}
		for c := range m {
			used := int64(c) < blk.Active
			if used && m[c] == 0 || !used && (m[c] != 0 || v[c] != 1) {
				t.Fatalf("channel %d (active %d): running mean %g, var %g", c, blk.Active, m[c], v[c])
			}
		}
		return nil
	}, torch.NoGrad())
	if err != nil {
		t.Fatal(err)
	}
}

func firstBatch(t testing.TB, ds data.Dataset, in ensemble.Input, n int) *data.Batch {
	t.Helper()
	l, err := data.NewLoader(ds, in.LoaderOptions(n, 1))
	if err != nil {
		t.Fatal(err)
	}
	for b, err := range l.Batches(context.Background(), 0) {
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	t.Fatal("no batch")
	return nil
}
