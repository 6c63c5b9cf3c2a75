package torchblas

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/blas/gonum"

	"github.com/divres/divres/diversity"
)

// Dgemm through libtorch equals gonum's for every transpose combination, leading
// dimensions wider than the matrices, alpha and beta, above and below the size
// threshold.
func TestDgemmMatchesGonum(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	fill := func(n int) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = rng.NormFloat64()
		}
		return v
	}
	for _, sz := range [][3]int{{3, 4, 5}, {70, 65, 80}} {
		m, n, k := sz[0], sz[1], sz[2]
		for _, tA := range []blas.Transpose{blas.NoTrans, blas.Trans} {
			for _, tB := range []blas.Transpose{blas.NoTrans, blas.Trans} {
				ar, ac := m, k
				if tA == blas.Trans {
					ar, ac = k, m
				}
				br, bc := k, n
				if tB == blas.Trans {
					br, bc = n, k
				}
				lda, ldb, ldc := ac+3, bc, n+2
				a, b := fill(ar*lda), fill(br*ldb)
				c0 := fill(m * ldc)
				want := append([]float64(nil), c0...)
				got := append([]float64(nil), c0...)
				gonum.Implementation{}.Dgemm(tA, tB, m, n, k, 0.7, a, lda, b, ldb, 0.3, want, ldc)
				Implementation{}.Dgemm(tA, tB, m, n, k, 0.7, a, lda, b, ldb, 0.3, got, ldc)
				for i := range want {
					if math.Abs(got[i]-want[i]) > 1e-12*(1+math.Abs(want[i])) {
						t.Fatalf("%v %v %d×%d×%d: c[%d] = %v, want %v", tA, tB, m, n, k, i, got[i], want[i])
					}
				}
				// beta = 0 ignores what C held (even NaN), as BLAS defines.
				for i := range got {
					got[i] = math.NaN()
				}
				gonum.Implementation{}.Dgemm(tA, tB, m, n, k, 1, a, lda, b, ldb, 0, want, ldc)
				Implementation{}.Dgemm(tA, tB, m, n, k, 1, a, lda, b, ldb, 0, got, ldc)
				for i := 0; i < m; i++ {
					for j := 0; j < n; j++ {
						w, g := want[i*ldc+j], got[i*ldc+j]
						if math.Abs(g-w) > 1e-12*(1+math.Abs(w)) {
							t.Fatalf("beta=0 %v %v: c[%d,%d] = %v, want %v", tA, tB, i, j, g, w)
						}
					}
				}
			}
		}
	}
}

// BenchmarkDgemm512 times one 512×1024 by 1024×512 product (the shape of a CKA
// batch) through libtorch and through gonum.
func BenchmarkDgemm512(b *testing.B) {
	x, y, c := make([]float64, 1024*512), make([]float64, 1024*512), make([]float64, 512*512)
	for i := range x {
		x[i], y[i] = float64(i%7), float64(i%5)
	}
	b.Run("torch", func(b *testing.B) {
		for b.Loop() {
			Implementation{}.Dgemm(blas.Trans, blas.NoTrans, 512, 512, 1024, 1, x, 512, y, 512, 1, c, 512)
		}
	})
	b.Run("gonum", func(b *testing.B) {
		for b.Loop() {
			gonum.Implementation{}.Dgemm(blas.Trans, blas.NoTrans, 512, 512, 1024, 1, x, 512, y, 512, 1, c, 512)
		}
	})
}

// BenchmarkLinearCKAs is the linear and debiased CKA of 10 members' 512-wide
// features on 10,000 inputs (diversity's benchmark case) with gonum's kernels and
// with libtorch's.
func BenchmarkLinearCKAs(b *testing.B) {
	const m, n, d = 10, 10000, 512
	rng := rand.New(rand.NewPCG(7, 8))
	feat := make([]float32, m*n*d)
	for i := range feat {
		feat[i] = float32(rng.NormFloat64())
	}
	for _, impl := range []struct {
		name string
		use  blas.Float64
	}{{"torch", Implementation{}}, {"gonum", gonum.Implementation{}}} { // both are also blas.Float32
		b.Run(impl.name, func(b *testing.B) {
			blas64.Use(impl.use)
			blas32.Use(impl.use.(blas.Float32))
			defer blas64.Use(gonum.Implementation{})
			defer blas32.Use(gonum.Implementation{})
			for b.Loop() {
				r := diversity.LinearCKAs(feat, m, n, d, 0)
				if math.IsNaN(r.Linear[0][1]) {
					b.Fatal("NaN CKA")
				}
			}
		})
	}
}

// BenchmarkRBFCKA is diversity's RBF CKA (threshold 0.5) of 10 members' 512-wide
// features on 10,000 inputs with libtorch's kernels.
func BenchmarkRBFCKA(b *testing.B) {
	const m, n, c, d = 10, 10000, 10, 512
	rng := rand.New(rand.NewPCG(9, 10))
	in := diversity.Inputs{M: m, N: n, C: c, D: d, Probs: make([]float32, m*n*c), Labels: make([]int64, n),
		Features: make([]float32, m*n*d)}
	for i := range in.Probs {
		in.Probs[i] = 1.0 / c
	}
	for i := range in.Features {
		in.Features[i] = float32(rng.NormFloat64())
	}
	Use()
	defer blas64.Use(gonum.Implementation{})
	defer blas32.Use(gonum.Implementation{})
	for b.Loop() {
		if _, err := diversity.Compute(in, diversity.Options{Metrics: []string{"rbf_cka"}, RBFThresholds: []float64{0.5}}); err != nil {
			b.Fatal(err)
		}
	}
}
