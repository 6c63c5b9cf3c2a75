package corrupt

import (
	"syscall"
	"testing"
	"time"
)

// Benchmark helper of motion_blur, zoom_blur, snow, fog and elastic_transform
// (BenchmarkGeo*). Parity with ../shared/corrupt/reference.npz is checked by
// TestParity (against the hashes in testdata/parity_sha256.txt); other sizes and the ImageNet constants by TestGeoSizesMatchOriginal.
//
//	go test -run '^$' -bench Geo ./corrupt
//
// Compare images/s with ../shared/corrupt/throughput_reference_1thread.csv (the
// original, one thread, severity 3, 32×32).

// geoBench measures one corruption at severity 3 on the 32×32 reference inputs, one
// goroutine, with the default (stream) and the numpy generator, and reports images/s
// (wall clock) and images per CPU-second.
func geoBench(b *testing.B, name string) {
	c, err := Lookup(name)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("default", func(b *testing.B) { geoBenchRNG(b, c, NewStreamRNG(1, c.Index, 3, 0)) })
	b.Run("numpy", func(b *testing.B) { geoBenchRNG(b, c, NewNumpyRNG(1)) })
}

func geoBenchRNG(b *testing.B, c *Corruption, rng RNG) {
	imgs := benchInputs(b)
	opt := &Options{Params: CIFAR}
	cpu0 := geoCPUTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.Apply(imgs[i%len(imgs)], 3, rng, opt)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
	// On a shared machine the wall clock includes time other processes held the
	// CPU; the process's CPU time per image is the steadier figure.
	if cpu := geoCPUTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "images/cpu-s")
	}
}

// geoCPUTime is the process's user+system CPU time.
func geoCPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
