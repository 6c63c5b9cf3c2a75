package diversity

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

// benchInputs is the benchmark case: 10 members, 10,000 inputs, 10 classes, 512-wide
// features (the same sizes as bench/python/diversity_bench.py).
func benchInputs(b *testing.B) Inputs {
	const m, n, c, d = 10, 10000, 10, 512
	rng := rand.New(rand.NewPCG(1, 1))
	in := randomInputs(rng, m, n, c)
	in.D = d
	in.Features = make([]float32, m*n*d)
	shared := make([]float32, n*d)
	for i := range shared {
		shared[i] = float32(rng.NormFloat64())
	}
	for i := range in.Features {
		in.Features[i] = shared[i%(n*d)] + float32(0.7*rng.NormFloat64())
	}
	return in
}

func BenchmarkDiversity(b *testing.B) {
	in := benchInputs(b)
	for _, bc := range []struct {
		name    string
		metrics []string
	}{
		{"prediction", predictionNames},
		{"linear_cka", []string{"linear_cka", "debiased_linear_cka"}},
		{"rbf_cka", []string{"rbf_cka"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				r, err := Compute(in, Options{Metrics: bc.metrics, RBFThresholds: []float64{0.5}})
				if err != nil {
					b.Fatal(err)
				}
				for _, k := range bc.metrics[:1] {
					if v, _ := r.Float(k); math.IsNaN(v) {
						b.Fatalf("%s is NaN", k)
					}
				}
			}
		})
	}
}

// BenchmarkLinearCKABatch times linear and debiased CKA of the benchmark case by row
// batch size (the libtorch products' shape).
func BenchmarkLinearCKABatch(b *testing.B) {
	in := benchInputs(b)
	for _, batch := range []int{1024, 2048, 4096} {
		b.Run(strconv.Itoa(batch), func(b *testing.B) {
			for b.Loop() {
				if _, err := linearCKAsTorch(in.Features, in.M, in.N, in.D, batch, true); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
