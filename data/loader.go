package data

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"runtime"
	"sync"
)

// LoaderOptions configure a Loader. The zero value gives unshuffled, unaugmented
// batches of 128 images scaled to [0, 1].
type LoaderOptions struct {
	// BatchSize is the number of images per batch (default 128).
	BatchSize int
	// Shuffle visits the images in a new random order each epoch, drawn from
	// (Seed, epoch) only (see Permutation).
	Shuffle bool
	// Seed drives shuffling and augmentation; each image's random choices come from
	// (Seed, epoch, dataset index), so results do not depend on Workers.
	Seed uint64
	// DropLast drops the last batch when it is smaller than BatchSize.
	DropLast bool
	// Workers is the number of goroutines assembling batches (default GOMAXPROCS).
	Workers int
	// Prefetch is the number of batches assembled ahead of the consumer (default
	// 2·Workers, at least 2).
	Prefetch int
	// Norm normalises the output: (v/255 − Mean[c]) / Std[c]. One channel of
	// constants is repeated for every output channel. Empty means v/255.
	Norm Norm
	// Augment is applied to every image; the zero value applies nothing.
	Augment Augment
	// Channels is the number of output channels: 0 keeps the dataset's, 3 with
	// grayscale images repeats the grey channel, 1 with RGB images takes luminance.
	Channels int
	// Height and Width are the output size; 0 keeps the dataset's.
	Height, Width int
	// Fit says how images are brought to the output size (centre pad/crop or resize).
	Fit Fit
	// Alloc allocates the float32 buffer of a batch (for example in page-locked
	// memory for asynchronous device copies); nil uses make. Buffers are recycled
	// through Batch.Release, so Alloc is called about Prefetch+Workers times, from
	// the worker goroutines: it must be safe for concurrent use.
	Alloc func(n int) []float32
}

// Batch is a batch of images as float32 N×C×H×W (contiguous, channel-major) with
// int64 labels: the layout of an NCHW tensor, so converting it is one copy.
type Batch struct {
	// X holds N·C·H·W values.
	X []float32
	// Y holds the N labels.
	Y []int64
	// N, C, H, W are the batch dimensions.
	N, C, H, W int
	// Indices are the dataset indices of the N images.
	Indices []int
	// Epoch and Number say which epoch and which batch of it this is.
	Epoch, Number int

	pool     *batchPool
	released bool
	err      error
}

// Release hands the batch's buffers back to its loader for reuse. The batch must not
// be used afterwards. Releasing twice is harmless.
func (b *Batch) Release() {
	if b == nil || b.pool == nil || b.released {
		return
	}
	b.released = true
	b.pool.put(b)
}

// batchPool recycles batches of one geometry.
type batchPool struct {
	mu    sync.Mutex
	free  []*Batch
	alloc func(int) []float32
	bs    int
	chw   int
}

func (p *batchPool) get() *Batch {
	p.mu.Lock()
	if k := len(p.free); k > 0 {
		b := p.free[k-1]
		p.free = p.free[:k-1]
		p.mu.Unlock()
		b.released, b.err = false, nil
		return b
	}
	p.mu.Unlock()
	b, err := p.newBatch()
	if err != nil { // checked by NewLoader; an allocator that changes its mind gets make
		x := make([]float32, p.bs*p.chw)
		b = &Batch{X: x, Y: make([]int64, p.bs), Indices: make([]int, p.bs), pool: p}
	}
	return b
}

// newBatch allocates a batch with the pool's allocator.
func (p *batchPool) newBatch() (*Batch, error) {
	n := p.bs * p.chw
	x := p.alloc(n)
	if len(x) < n {
		return nil, fmt.Errorf("loader: Alloc(%d) returned %d floats", n, len(x))
	}
	return &Batch{X: x[:n:n], Y: make([]int64, p.bs), Indices: make([]int, p.bs), pool: p}, nil
}

func (p *batchPool) put(b *Batch) {
	p.mu.Lock()
	p.free = append(p.free, b)
	p.mu.Unlock()
}

// Loader assembles batches of a dataset in background goroutines.
type Loader struct {
	ds   Dataset
	opts LoaderOptions
	t    *transform
	pool *batchPool
}

// NewLoader checks the options against the dataset and returns a loader.
func NewLoader(ds Dataset, opts LoaderOptions) (*Loader, error) {
	if ds.Len() == 0 {
		return nil, fmt.Errorf("loader: empty dataset")
	}
	if opts.BatchSize == 0 {
		opts.BatchSize = 128
	}
	if opts.BatchSize < 0 || opts.Workers < 0 || opts.Prefetch < 0 || opts.Channels < 0 || opts.Height < 0 || opts.Width < 0 {
		return nil, fmt.Errorf("loader: negative batch size, workers, prefetch, channels or size")
	}
	if opts.Workers == 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	if opts.Prefetch == 0 {
		opts.Prefetch = max(2, 2*opts.Workers)
	}
	c, h, w := ds.Shape()
	if opts.Channels == 0 {
		opts.Channels = c
	}
	if opts.Height == 0 {
		opts.Height = h
	}
	if opts.Width == 0 {
		opts.Width = w
	}
	if opts.Alloc == nil {
		opts.Alloc = func(n int) []float32 { return make([]float32, n) }
	}
	t, err := newTransform(c, h, w, opts.Channels, opts.Height, opts.Width, opts.Fit, opts.Augment, opts.Norm, opts.Seed)
	if err != nil {
		return nil, err
	}
	chw := opts.Channels * opts.Height * opts.Width
	l := &Loader{ds: ds, opts: opts, t: t, pool: &batchPool{alloc: opts.Alloc, bs: opts.BatchSize, chw: chw}}
	if l.NumBatches() == 0 {
		return nil, fmt.Errorf("loader: %d images make no full batch of %d (DropLast)", ds.Len(), opts.BatchSize)
	}
	// The first buffer checks the allocator and stays in the pool.
	b, err := l.pool.newBatch()
	if err != nil {
		return nil, err
	}
	l.pool.free = append(l.pool.free, b)
	return l, nil
}

// Dataset returns the loader's dataset.
func (l *Loader) Dataset() Dataset { return l.ds }

// Options returns the options with defaults filled in.
func (l *Loader) Options() LoaderOptions { return l.opts }

// OutShape returns the shape of one output image.
func (l *Loader) OutShape() (c, h, w int) { return l.opts.Channels, l.opts.Height, l.opts.Width }

// NumBatches returns the number of batches per epoch.
func (l *Loader) NumBatches() int {
	n, bs := l.ds.Len(), l.opts.BatchSize
	if l.opts.DropLast {
		return n / bs
	}
	return (n + bs - 1) / bs
}

// Iterator yields the batches of one epoch in order. It must be closed (Next closes
// it at the end of the epoch or on an error).
type Iterator struct {
	l      *Loader
	epoch  int
	order  []int
	nb     int
	next   int
	slots  []chan *Batch
	tokens chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	err    error
	closed bool
}

// Epoch starts assembling the batches of an epoch in the background.
func (l *Loader) Epoch(ctx context.Context, epoch int) *Iterator {
	n := l.ds.Len()
	var order []int
	if l.opts.Shuffle {
		order = Permutation(n, l.opts.Seed, epoch)
	} else {
		order = make([]int, n)
		for i := range order {
			order[i] = i
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	pf := l.opts.Prefetch
	it := &Iterator{l: l, epoch: epoch, order: order, nb: l.NumBatches(), ctx: ctx, cancel: cancel,
		slots: make([]chan *Batch, pf), tokens: make(chan struct{}, pf)}
	for i := range it.slots {
		it.slots[i] = make(chan *Batch, 1)
	}
	jobs := make(chan int)
	// The dispatcher hands out batch numbers, never more than Prefetch ahead of the
	// consumer: batch b is dispatched only once batch b−Prefetch has been taken, so
	// slot b mod Prefetch is free when its batch arrives.
	it.wg.Add(1)
	go func() {
		defer it.wg.Done()
		defer close(jobs)
		for b := range it.nb {
			select {
			case it.tokens <- struct{}{}:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- b:
			case <-ctx.Done():
				return
			}
		}
	}()
	workers := min(l.opts.Workers, it.nb)
	for range workers {
		it.wg.Add(1)
		go func() {
			defer it.wg.Done()
			s := l.t.newScratch()
			for b := range jobs {
				it.slots[b%pf] <- l.assemble(ctx, s, epoch, b, order)
			}
		}()
	}
	return it
}

// assemble builds batch number b of the epoch.
func (l *Loader) assemble(ctx context.Context, s *scratch, epoch, b int, order []int) *Batch {
	bs := l.opts.BatchSize
	from, to := b*bs, min((b+1)*bs, len(order))
	batch := l.pool.get()
	n := to - from
	chw := l.pool.chw
	batch.N, batch.C, batch.H, batch.W = n, l.opts.Channels, l.opts.Height, l.opts.Width
	batch.X = batch.X[:n*chw]
	batch.Y = batch.Y[:n]
	batch.Indices = batch.Indices[:n]
	batch.Epoch, batch.Number = epoch, b
	for j, idx := range order[from:to] {
		if j%16 == 0 && ctx.Err() != nil {
			batch.err = ctx.Err()
			return batch
		}
		label, err := l.ds.Image(idx, s.src)
		if err != nil {
			batch.err = fmt.Errorf("loader: image %d: %w", idx, err)
			return batch
		}
		l.t.apply(s, batch.X[j*chw:(j+1)*chw], epoch, idx)
		batch.Y[j] = int64(label)
		batch.Indices[j] = idx
	}
	return batch
}

// Next returns the next batch, or io.EOF after the last one. The caller owns the
// batch and should Release it when done.
func (it *Iterator) Next() (*Batch, error) {
	if it.err != nil {
		return nil, it.err
	}
	if it.next >= it.nb {
		it.Close()
		return nil, io.EOF
	}
	select {
	case b := <-it.slots[it.next%len(it.slots)]:
		<-it.tokens
		it.next++
		if b.err != nil {
			it.err = b.err
			b.Release()
			it.Close()
			return nil, it.err
		}
		return b, nil
	case <-it.ctx.Done():
		it.err = it.ctx.Err()
		it.Close()
		return nil, it.err
	}
}

// Close stops the background work and recycles the batches not taken. It is safe to
// call more than once.
func (it *Iterator) Close() {
	if it.closed {
		return
	}
	it.closed = true
	it.cancel()
	it.wg.Wait()
	for _, s := range it.slots {
		select {
		case b := <-s:
			b.Release()
		default:
		}
	}
}

// Batches ranges over the batches of an epoch; a failure ends the range with a nil
// batch and the error. Breaking out of the loop stops the background work.
func (l *Loader) Batches(ctx context.Context, epoch int) iter.Seq2[*Batch, error] {
	return func(yield func(*Batch, error) bool) {
		it := l.Epoch(ctx, epoch)
		defer it.Close()
		for {
			b, err := it.Next()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				yield(nil, err)
				return
			}
			if !yield(b, nil) {
				return
			}
		}
	}
}
