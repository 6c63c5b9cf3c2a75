package corrupt

import (
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"strconv"
	"testing"
)

// Benchmarks. Compare with ../shared/corrupt/throughput_reference_1thread.csv (the
// original's images/s per corruption at severity 3 on 32×32 images, one thread):
//
//	go test -run '^$' -bench 'Corruption' -benchtime 2000x ./corrupt
//	go test -run '^$' -bench 'Suite' -benchtime 1x ./corrupt
//
// BenchmarkCorruption reports images/s (wall clock), images/cpu_s (per CPU second of
// the process, which stays meaningful on a shared, busy machine) and the speed-up of
// the better of the two over the original; the suite benchmark reports
// image-corruptions/s for 19×5 corruptions of N images with 2 workers (N = 1000 by
// default, DIVRES_SUITE_N to change; the target is 10,000 images in under 30 s).

// benchInputs returns the 80 reference inputs of testdata/inputs.npy.
func benchInputs(b *testing.B) []Image { return mustParityInputs(b) }

// referenceThroughput reads the original's single-thread images/s per corruption.
func referenceThroughput() map[string]float64 {
	out := map[string]float64{}
	f, err := os.Open(sharedCorrupt + "/throughput_reference_1thread.csv")
	if err != nil {
		return out
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return out
	}
	for _, r := range rows[1:] {
		if len(r) == 5 {
			if v, err := strconv.ParseFloat(r[4], 64); err == nil {
				out[r[0]] = v
			}
		}
	}
	return out
}

func BenchmarkCorruption(b *testing.B) {
	imgs := benchInputs(b)
	ref := referenceThroughput()
	opt := &Options{Params: CIFAR, Frost: mustParityFrost(b)}
	for _, c := range All() {
		b.Run(c.Name, func(b *testing.B) {
			rng := &StreamRNG{}
			// Warm caches (kernels, textures) outside the timing.
			rng.Reset(0, c.Index, 3, 0)
			c.Apply(imgs[0], 3, rng, opt)
			b.ReportAllocs()
			cpu0 := processCPUSeconds()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				rng.Reset(0, c.Index, 3, i)
				c.Apply(imgs[i%len(imgs)], 3, rng, opt)
			}
			b.StopTimer()
			ips := float64(b.N) / b.Elapsed().Seconds()
			b.ReportMetric(ips, "images/s")
			if cpu := processCPUSeconds() - cpu0; cpu > 0 {
				b.ReportMetric(float64(b.N)/cpu, "images/cpu_s")
				ips = max(ips, float64(b.N)/cpu)
			}
			if r := ref[c.Name]; r > 0 {
				b.ReportMetric(ips/r, "x_original")
			}
		})
	}
}

func BenchmarkSuite(b *testing.B) {
	n := 1000
	if s := os.Getenv("DIVRES_SUITE_N"); s != "" {
		if v, err := strconv.Atoi(s); err == nil && v > 0 {
			n = v
		}
	}
	base := benchInputs(b)
	imgs := make([]Image, n)
	for i := range imgs {
		imgs[i] = base[i%len(base)]
	}
	opt := &Options{Params: CIFAR, Frost: mustParityFrost(b)}
	cs := All()
	cfg := RunConfig{Corruptions: cs, Severities: []int{1, 2, 3, 4, 5}, Workers: 2, Options: opt}
	cpu0 := processCPUSeconds()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		count := 0
		err := Run(context.Background(), Images(imgs), cfg, func(bt Batch) error {
			count += len(bt.Images)
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		if count != n*len(cs)*5 {
			b.Fatal(fmt.Sprintf("%d results", count))
		}
	}
	b.StopTimer()
	per := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(float64(n*len(cs)*5)/per, "imgcorr/s")
	b.ReportMetric(per*10000/float64(n)*19/float64(len(cs)), "s_per_10k_full_suite")
	if cpu := (processCPUSeconds() - cpu0) / float64(b.N); cpu > 0 {
		// CPU seconds per run spread over the 2 workers: the wall time on 2 idle cores.
		b.ReportMetric(cpu/2*10000/float64(n)*19/float64(len(cs)), "s_per_10k_2idle_cores")
	}
}
