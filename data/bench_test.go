package data

import (
	"context"
	"fmt"
	"testing"
)

// benchLoader pulls b.N batches through l, across epochs, and reports images/s.
func benchLoader(b *testing.B, l *Loader) {
	b.ReportAllocs()
	images := 0
	epoch := 0
	b.ResetTimer()
	for done := 0; done < b.N; epoch++ {
		it := l.Epoch(context.Background(), epoch)
		for done < b.N {
			batch, err := it.Next()
			if err != nil {
				break
			}
			images += batch.N
			batch.Release()
			done++
		}
		it.Close()
	}
	b.ReportMetric(float64(images)/b.Elapsed().Seconds(), "images/s")
}

func randomImages(n, size int) []uint8 {
	r := newRNG(123)
	p := make([]uint8, n*size)
	for i := range p {
		p[i] = uint8(r.next())
	}
	return p
}

// CIFAR-like: 3×32×32, batch 128, random crop (padding 4) + flip + normalisation.
func BenchmarkLoaderCIFAR(b *testing.B) {
	const n = 10240
	labels := make([]int32, n)
	for i := range labels {
		labels[i] = int32(i % 10)
	}
	d, err := NewMemory(3, 32, 32, randomImages(n, 3072), labels, CIFAR10Classes)
	if err != nil {
		b.Fatal(err)
	}
	for _, workers := range []int{1, 0} {
		name := "workers=default"
		if workers > 0 {
			name = fmt.Sprintf("workers=%d", workers)
		}
		b.Run(name, func(b *testing.B) {
			l, err := NewLoader(d, LoaderOptions{BatchSize: 128, Shuffle: true, Seed: 1, Workers: workers,
				Norm: CIFAR10Norm, Augment: Augment{CropPad: 4, Flip: true}})
			if err != nil {
				b.Fatal(err)
			}
			benchLoader(b, l)
		})
	}
}

// Fashion-MNIST (the real training set when installed) zero-padded to 32×32 and
// repeated to 3 channels, batch 128, random crop (padding 4) + flip + normalisation.
func BenchmarkLoaderFashionMNIST32(b *testing.B) {
	var d Dataset
	if IsIDXDir(FashionMNISTDir) {
		tr, _, err := LoadIDXDir(FashionMNISTDir, FashionMNISTClasses)
		if err != nil {
			b.Fatal(err)
		}
		d = tr
	} else {
		const n = 10240
		m, err := NewMemory(1, 28, 28, randomImages(n, 784), make([]int32, n), FashionMNISTClasses)
		if err != nil {
			b.Fatal(err)
		}
		d = m
	}
	l, err := NewLoader(d, LoaderOptions{BatchSize: 128, Shuffle: true, Seed: 1, Channels: 3, Height: 32, Width: 32,
		Norm: FashionMNISTNorm, Augment: Augment{CropPad: 4, Flip: true}})
	if err != nil {
		b.Fatal(err)
	}
	benchLoader(b, l)
}
