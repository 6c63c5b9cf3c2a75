package ensemble

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/divres/divres/torch"
)

// Workers is the number of goroutines RunOneThread shares n independent jobs
// among on device dev: on the CPU with more than one intra-op thread, that many
// (at most n); otherwise 1.
//
// Small nets keep a core busy on their own, while splitting each operation over
// the cores spends part of the other cores' time at the operation's barriers:
// resnet18 at width 0.25 evaluated 2,900 images/s on two threads (3,700 once
// OpenBLAS's pool followed the threads) and 3,900 as two one-thread workers,
// convnext_tiny at 0.125 2,000 and 3,600.
func Workers(dev torch.Device, n int) int {
	if dev.Type != torch.DeviceCPU || torch.NumThreads() < 2 || n < 2 {
		return 1
	}
	return min(torch.NumThreads(), n)
}

// RunOneThread runs job(ctx, w, i) for i = 0…n−1, in that order of starting,
// on Workers(dev, n) goroutines (w is the worker's index, for state a worker
// keeps between its jobs). With more than one worker libtorch runs on one
// intra-op thread meanwhile, and is brought back afterwards, so that a job
// computes exactly what it computes alone on one thread. The jobs must not use
// libtorch's global random generator (training, noise-based attributions),
// whose draws would interleave. The first error stops the jobs not yet started
// and is returned.
func RunOneThread(ctx context.Context, dev torch.Device, n int, job func(ctx context.Context, worker, i int) error) error {
	workers := Workers(dev, n)
	if workers > 1 {
		prev := torch.NumThreads()
		torch.SetNumThreads(1)
		defer torch.SetNumThreads(prev)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := job(ctx, w, i); err != nil {
					cancel(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	return context.Cause(ctx)
}
