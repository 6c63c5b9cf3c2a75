package data

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"
)

// collect runs one epoch and returns copies of its batches.
func collect(t testing.TB, l *Loader, epoch int) []Batch {
	t.Helper()
	var out []Batch
	for b, err := range l.Batches(context.Background(), epoch) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, Batch{X: slices.Clone(b.X), Y: slices.Clone(b.Y), Indices: slices.Clone(b.Indices),
			N: b.N, C: b.C, H: b.H, W: b.W, Epoch: b.Epoch, Number: b.Number})
		b.Release()
	}
	return out
}

func TestLoaderPlain(t *testing.T) {
	d := memDataset(t, 10, 3, 4, 5, 3)
	l, err := NewLoader(d, LoaderOptions{BatchSize: 4, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	bs := collect(t, l, 0)
	if len(bs) != 3 || l.NumBatches() != 3 || bs[0].N != 4 || bs[2].N != 2 {
		t.Fatalf("%d batches", len(bs))
	}
	for k, b := range bs {
		if b.C != 3 || b.H != 4 || b.W != 5 || len(b.X) != b.N*60 || len(b.Y) != b.N || b.Number != k {
			t.Fatalf("batch %d geometry %d×%d×%d×%d", k, b.N, b.C, b.H, b.W)
		}
		for j := range b.N {
			idx := 4*k + j
			if b.Indices[j] != idx || b.Y[j] != int64(idx%3) {
				t.Fatalf("batch %d item %d: index %d label %d", k, j, b.Indices[j], b.Y[j])
			}
			for p := range 60 {
				want := float32(byte(7*idx+3*p)) / 255
				if b.X[j*60+p] != want {
					t.Fatalf("image %d value %d: %v, want %v", idx, p, b.X[j*60+p], want)
				}
			}
		}
	}
	l, _ = NewLoader(d, LoaderOptions{BatchSize: 4, DropLast: true})
	if got := collect(t, l, 0); len(got) != 2 || l.NumBatches() != 2 {
		t.Errorf("DropLast: %d batches", len(got))
	}
	if _, err := NewLoader(d, LoaderOptions{BatchSize: 11, DropLast: true}); err == nil {
		t.Error("no full batch accepted")
	}
}

func TestLoaderNormalize(t *testing.T) {
	d := memDataset(t, 3, 3, 2, 2, 2)
	l, err := NewLoader(d, LoaderOptions{Norm: CIFAR10Norm})
	if err != nil {
		t.Fatal(err)
	}
	b := collect(t, l, 0)[0]
	for j := range 3 {
		for p := range 12 {
			c := p / 4
			v := float64(byte(7*j + 3*p))
			want := (v/255 - float64(CIFAR10Norm.Mean[c])) / float64(CIFAR10Norm.Std[c])
			if math.Abs(float64(b.X[j*12+p])-want) > 1e-6 {
				t.Fatalf("image %d value %d: %v, want %v", j, p, b.X[j*12+p], want)
			}
		}
	}
	if _, err := NewLoader(d, LoaderOptions{Norm: Norm{Mean: []float32{0, 0}, Std: []float32{1, 1}}}); err == nil {
		t.Error("2-channel constants for 3-channel images accepted")
	}
	if _, err := NewLoader(d, LoaderOptions{Norm: Norm{Mean: []float32{0}, Std: []float32{0}}}); err == nil {
		t.Error("zero std accepted")
	}
}

// naiveTransform computes one output image the slow, literal way: fit (centre pad or
// crop), pad by p, crop at the drawn offset, flip, normalise, cut out.
func naiveTransform(t *transform, src []uint8, epoch, idx int, mean, std []float32) []float32 {
	// channel conversion
	mid := src
	midC := t.srcC
	if t.toGray {
		plane := t.srcH * t.srcW
		mid = make([]uint8, plane)
		for p := range plane {
			mid[p] = luma(src[p], src[plane+p], src[2*plane+p])
		}
		midC = 1
	}
	H, W := t.outH, t.outW
	at := func(img []uint8, h, w, c, y, x int) uint8 {
		if y < 0 || y >= h || x < 0 || x >= w {
			return 0
		}
		return img[c*h*w+y*w+x]
	}
	fitted := make([]uint8, midC*H*W)
	padY, padX := int(math.Floor(float64(H-t.srcH)/2)), int(math.Floor(float64(W-t.srcW)/2))
	for c := range midC {
		for y := range H {
			for x := range W {
				fitted[c*H*W+y*W+x] = at(mid, t.srcH, t.srcW, c, y-padY, x-padX)
			}
		}
	}
	p := t.aug.CropPad
	r := newRNG(t.seed, uint64(epoch), uint64(idx), tagAugment)
	oy, ox := 0, 0
	if p > 0 {
		oy, ox = r.intn(2*p+1), r.intn(2*p+1)
	}
	flip := t.aug.Flip && r.next()&1 == 1
	PH, PW := H+2*p, W+2*p
	padded := make([]uint8, midC*PH*PW)
	for c := range midC {
		for y := range PH {
			for x := range PW {
				padded[c*PH*PW+y*PW+x] = at(fitted, H, W, c, y-p, x-p)
			}
		}
	}
	out := make([]float32, t.outC*H*W)
	for c := range t.outC {
		sc := min(c, midC-1)
		for y := range H {
			for x := range W {
				xx := x
				if flip {
					xx = W - 1 - x
				}
				v := padded[sc*PH*PW+(y+oy)*PW+xx+ox]
				out[c*H*W+y*W+x] = float32((float64(v)/255 - float64(mean[c])) / float64(std[c]))
			}
		}
	}
	if s := t.aug.Cutout; s > 0 {
		cy, cx := r.intn(H), r.intn(W)
		for c := range t.outC {
			for y := range H {
				for x := range W {
					if y >= cy-s/2 && y < cy-s/2+s && x >= cx-s/2 && x < cx-s/2+s {
						out[c*H*W+y*W+x] = 0
					}
				}
			}
		}
	}
	return out
}

func TestLoaderMatchesNaive(t *testing.T) {
	type cfg struct {
		c, h, w    int
		oc, oh, ow int
		aug        Augment
	}
	cfgs := []cfg{
		{1, 28, 28, 3, 32, 32, Augment{CropPad: 4, Flip: true}},
		{3, 32, 32, 3, 32, 32, Augment{CropPad: 4, Flip: true, Cutout: 8}},
		{3, 32, 32, 3, 32, 32, Augment{}},
		{3, 5, 7, 3, 6, 4, Augment{CropPad: 3, Flip: true, Cutout: 3}},
		{3, 9, 6, 1, 9, 6, Augment{CropPad: 9, Flip: true}},
		{1, 4, 4, 1, 3, 7, Augment{CropPad: 1, Cutout: 5}},
	}
	for _, c := range cfgs {
		name := fmt.Sprintf("%dx%dx%d→%dx%dx%d %+v", c.c, c.h, c.w, c.oc, c.oh, c.ow, c.aug)
		d := memDataset(t, 40, c.c, c.h, c.w, 4)
		norm := Norm{Mean: []float32{0.1, 0.5, 0.9}[:c.oc], Std: []float32{0.3, 0.2, 0.25}[:c.oc]}
		l, err := NewLoader(d, LoaderOptions{BatchSize: 16, Shuffle: true, Seed: 9, Norm: norm, Augment: c.aug,
			Channels: c.oc, Height: c.oh, Width: c.ow})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		chw := c.oc * c.oh * c.ow
		for epoch := range 2 {
			for _, b := range collect(t, l, epoch) {
				for j, idx := range b.Indices {
					want := naiveTransform(l.t, d.Pix(idx), epoch, idx, norm.Mean, norm.Std)
					if !slices.Equal(b.X[j*chw:(j+1)*chw], want) {
						t.Fatalf("%s: epoch %d image %d differs from the naive transform", name, epoch, idx)
					}
				}
			}
		}
	}
}

func TestLoaderDeterministicAcrossWorkers(t *testing.T) {
	d := memDataset(t, 300, 3, 32, 32, 10)
	opts := LoaderOptions{BatchSize: 32, Shuffle: true, Seed: 11, Norm: CIFAR10Norm,
		Augment: Augment{CropPad: 4, Flip: true, Cutout: 8}}
	var runs [][]Batch
	for _, wp := range [][2]int{{1, 1}, {3, 2}, {4, 9}} {
		o := opts
		o.Workers, o.Prefetch = wp[0], wp[1]
		l, err := NewLoader(d, o)
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, append(collect(t, l, 3), collect(t, l, 4)...))
	}
	for k := 1; k < len(runs); k++ {
		for i := range runs[0] {
			a, b := runs[0][i], runs[k][i]
			if !slices.Equal(a.X, b.X) || !slices.Equal(a.Y, b.Y) || !slices.Equal(a.Indices, b.Indices) {
				t.Fatalf("worker setting %d: batch %d differs", k, i)
			}
		}
	}
	// Epochs 3 and 4 differ in order and augmentation.
	if slices.Equal(runs[0][0].Indices, runs[0][len(runs[0])/2].Indices) {
		t.Error("two epochs have the same order")
	}
}

// The drawn crop offsets and flips have the intended distribution: track a single
// bright pixel through the augmentation.
func TestLoaderAugmentDistribution(t *testing.T) {
	const n, p = 4000, 2
	pix := make([]uint8, n*64)
	for i := range n {
		pix[i*64+2*8+2] = 255 // pixel (2, 2) of an 8×8 image
	}
	d, err := NewMemory(1, 8, 8, pix, make([]int32, n), []string{"x"})
	if err != nil {
		t.Fatal(err)
	}
	l, err := NewLoader(d, LoaderOptions{BatchSize: 500, Seed: 3, Augment: Augment{CropPad: p, Flip: true}})
	if err != nil {
		t.Fatal(err)
	}
	var rows [5]int
	var cols [8]int
	for _, b := range collect(t, l, 0) {
		for j := range b.N {
			img := b.X[j*64 : (j+1)*64]
			k := slices.Index(img, 1)
			if k < 0 || slices.Index(img[k+1:], 1) >= 0 {
				t.Fatal("bright pixel lost or duplicated")
			}
			rows[k/8]++
			cols[k%8]++
		}
	}
	// rows 0..4 each with probability 1/5 (expected 800, σ ≈ 25); columns: unflipped
	// 0..4, flipped 3..7, so 3 and 4 get 2/10 and the others 1/10.
	for y, c := range rows {
		if c < 680 || c > 920 {
			t.Errorf("row %d: %d of %d", y, c, n)
		}
	}
	for x, c := range cols {
		want := 400
		if x == 3 || x == 4 {
			want = 800
		}
		if c < want-120 || c > want+120 {
			t.Errorf("column %d: %d, want about %d", x, c, want)
		}
	}
}

func TestLoaderPadGrayTo32(t *testing.T) {
	d := memDataset(t, 5, 1, 28, 28, 2)
	l, err := NewLoader(d, LoaderOptions{Channels: 3, Height: 32, Width: 32, Norm: FashionMNISTNorm})
	if err != nil {
		t.Fatal(err)
	}
	b := collect(t, l, 0)[0]
	zero := float32((0 - float64(FashionMNISTNorm.Mean[0])) / float64(FashionMNISTNorm.Std[0]))
	for j := range b.N {
		img := b.X[j*3072 : (j+1)*3072]
		for c := range 3 {
			for y := range 32 {
				for x := range 32 {
					v := img[c*1024+y*32+x]
					if v != img[y*32+x] {
						t.Fatalf("channel %d differs from channel 0", c)
					}
					inside := y >= 2 && y < 30 && x >= 2 && x < 30
					if !inside && v != zero {
						t.Fatalf("border (%d,%d) = %v", y, x, v)
					}
					if inside {
						src := float64(d.Pix(j)[(y-2)*28+x-2])
						want := float32((src/255 - float64(FashionMNISTNorm.Mean[0])) / float64(FashionMNISTNorm.Std[0]))
						if v != want {
							t.Fatalf("(%d,%d) = %v, want %v", y, x, v, want)
						}
					}
				}
			}
		}
	}
}

// Bilinear resize against PyTorch's interpolate (testdata/resize.json).
func TestLoaderResizeTorch(t *testing.T) {
	raw, err := os.ReadFile("testdata/resize.json")
	if err != nil {
		t.Fatal(err)
	}
	var refs map[string]struct {
		In             []uint8 `json:"in"`
		IH, IW, OH, OW int
		Out            []uint8 `json:"out"`
	}
	if err := json.Unmarshal(raw, &refs); err != nil {
		t.Fatal(err)
	}
	for name, r := range refs {
		d, err := NewMemory(1, r.IH, r.IW, r.In, []int32{0}, []string{"x"})
		if err != nil {
			t.Fatal(err)
		}
		l, err := NewLoader(d, LoaderOptions{Height: r.OH, Width: r.OW, Fit: FitResize})
		if err != nil {
			t.Fatal(err)
		}
		b := collect(t, l, 0)[0]
		exact := 0
		for i, v := range b.X {
			got := int(math.Round(float64(v) * 255))
			if diff := got - int(r.Out[i]); diff < -1 || diff > 1 {
				t.Fatalf("%s: value %d is %d, torch %d", name, i, got, r.Out[i])
			} else if diff == 0 {
				exact++
			}
		}
		if exact < len(b.X)*9/10 {
			t.Errorf("%s: only %d of %d values equal torch's", name, exact, len(b.X))
		}
	}
}

type failing struct {
	*Memory
	at int
}

func (f failing) Image(i int, dst []uint8) (int, error) {
	if i == f.at {
		return 0, errors.New("disk on fire")
	}
	return f.Memory.Image(i, dst)
}

func TestLoaderErrorAndCancel(t *testing.T) {
	base := runtime.NumGoroutine()
	d := failing{memDataset(t, 100, 1, 4, 4, 2), 57}
	l, err := NewLoader(d, LoaderOptions{BatchSize: 10, Workers: 3})
	if err != nil {
		t.Fatal(err)
	}
	it := l.Epoch(context.Background(), 0)
	var got error
	n := 0
	for {
		b, err := it.Next()
		if err != nil {
			got = err
			break
		}
		n++
		b.Release()
	}
	if n != 5 || got == nil || errors.Is(got, io.EOF) || !errors.Is(got, errors.Unwrap(got)) {
		t.Errorf("after %d batches: %v", n, got)
	}
	if _, err := it.Next(); err != got {
		t.Errorf("error not sticky: %v", err)
	}
	it.Close()

	// Breaking out of the range and cancelling stop the background work.
	l2, _ := NewLoader(memDataset(t, 1000, 3, 8, 8, 2), LoaderOptions{BatchSize: 10, Workers: 4})
	for b, err := range l2.Batches(context.Background(), 0) {
		if err != nil {
			t.Fatal(err)
		}
		b.Release()
		break
	}
	ctx, cancel := context.WithCancel(context.Background())
	it = l2.Epoch(ctx, 1)
	if b, err := it.Next(); err != nil {
		t.Fatal(err)
	} else {
		b.Release()
	}
	cancel()
	for {
		b, err := it.Next()
		if err != nil {
			if !errors.Is(err, context.Canceled) {
				t.Errorf("after cancel: %v", err)
			}
			break
		}
		b.Release()
	}
	it.Close()
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > base && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if g := runtime.NumGoroutine(); g > base {
		t.Errorf("%d goroutines left running (%d before)", g, base)
	}
}

// In the steady state an epoch allocates a fixed handful of objects (order,
// channels, goroutines), nothing per batch: buffers are recycled.
func TestLoaderSteadyStateAllocations(t *testing.T) {
	d := memDataset(t, 1000, 3, 8, 8, 10)
	var allocs atomic.Int32
	l, err := NewLoader(d, LoaderOptions{BatchSize: 10, Workers: 2, Shuffle: true, Augment: Augment{CropPad: 2, Flip: true},
		Alloc: func(n int) []float32 { allocs.Add(1); return make([]float32, n) }})
	if err != nil {
		t.Fatal(err)
	}
	epoch := 0
	run := func() {
		it := l.Epoch(context.Background(), epoch)
		epoch++
		for {
			b, err := it.Next()
			if err != nil {
				break
			}
			b.Release()
		}
	}
	run()
	perEpoch := testing.AllocsPerRun(5, run)
	// 100 batches per epoch; a per-batch allocation would show as ≥ 100.
	if perEpoch > 40 {
		t.Errorf("%.0f allocations per epoch of 100 batches", perEpoch)
	}
	if n := int(allocs.Load()); n > 2*l.Options().Prefetch+l.Options().Workers {
		t.Errorf("%d batch buffers allocated", n)
	}
	t.Logf("%.0f allocations per epoch, %d batch buffers", perEpoch, allocs.Load())
}

func TestLoaderAllocChecked(t *testing.T) {
	d := memDataset(t, 4, 1, 2, 2, 2)
	if _, err := NewLoader(d, LoaderOptions{BatchSize: 2, Alloc: func(n int) []float32 { return make([]float32, n-1) }}); err == nil {
		t.Error("short allocator accepted")
	}
}
