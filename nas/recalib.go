package nas

import (
	"context"
	"fmt"

	"github.com/divres/divres/data"
	"github.com/divres/divres/ensemble"
	"github.com/divres/divres/nets"
	"github.com/divres/divres/torch"
)

// Recalibrate re-estimates the BatchNorm running statistics of net (a
// super-network or a sub-network built by this package) for its active genome:
// every running mean and variance is reset (0 and 1) and then set to the average of
// the batch statistics over the first images of ds (PyTorch's cumulative average,
// momentum=None), running the network in training mode without gradients. The
// weights do not change; the network is left in evaluation mode. A sub-network's
// accuracy must be measured after it: statistics gathered with other sub-networks
// (or the full network) do not match its activations.
func Recalibrate(ctx context.Context, net *nets.Net, ds data.Dataset, images int, in ensemble.Input, dev torch.Device, batch, workers int) error {
	e, ok := net.Model.(*Elastic)
	if !ok {
		return fmt.Errorf("recalibrate: %s is not an elastic network", net.Spec.Name)
	}
	if images <= 0 || images > ds.Len() {
		images = ds.Len()
	}
	if images == 0 {
		return fmt.Errorf("recalibrate: no images")
	}
	if ds.Len() > images {
		ds = data.FirstK(ds, images)
	}
	l, err := data.NewLoader(ds, in.LoaderOptions(min(batch, images), workers))
	if err != nil {
		return fmt.Errorf("recalibrate: %w", err)
	}
	bns := e.batchNorms()
	defer func() {
		for _, bn := range bns {
			bn.Momentum = 0.1
		}
		net.Store.SetTraining(false)
	}()
	err = torch.Do(func(s *torch.Scope) error {
		for _, bn := range bns {
			if err := bn.Mean.In(s).Zero_(); err != nil {
				return err
			}
			if err := bn.Var.In(s).Fill_(1); err != nil {
				return err
			}
		}
		return nil
	}, torch.NoGrad())
	if err != nil {
		return fmt.Errorf("recalibrate: %w", err)
	}
	net.Store.SetTraining(true)
	k := 0
	for b, err := range l.Batches(ctx, 0) {
		if err != nil {
			return fmt.Errorf("recalibrate: %w", err)
		}
		for _, bn := range bns {
			bn.Momentum = 1 / float64(k+1)
		}
		err := torch.Do(func(s *torch.Scope) error {
			x := torch.FromSlice(s, b.X, []int64{int64(b.N), int64(b.C), int64(b.H), int64(b.W)}, dev)
			lg, _ := e.Forward(x)
			return lg.Err()
		}, torch.NoGrad())
		b.Release()
		if err != nil {
			return fmt.Errorf("recalibrate: %w", err)
		}
		k++
	}
	return nil
}
