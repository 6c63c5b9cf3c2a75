package torchblas

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// Sgemm through libtorch equals gonum's (to float32 rounding) for every transpose
// combination, wide leading dimensions, alpha and beta, above and below the size
// threshold; beta = 0 ignores what C held.
func TestSgemmMatchesGonum(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	fill := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64())
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
				lda, ldb, ldc := ac+3, bc+1, n+2
				a, b := fill(ar*lda), fill(br*ldb)
				for _, beta := range []float32{0.3, 0} {
					c0 := fill(m * ldc)
					want := append([]float32(nil), c0...)
					got := append([]float32(nil), c0...)
					if beta == 0 {
						for i := range got {
							got[i] = float32(math.NaN())
						}
					}
					gonum.Implementation{}.Sgemm(tA, tB, m, n, k, 0.7, a, lda, b, ldb, beta, want, ldc)
					Implementation{}.Sgemm(tA, tB, m, n, k, 0.7, a, lda, b, ldb, beta, got, ldc)
					for i := 0; i < m; i++ {
						for j := 0; j < n; j++ {
							w, g := float64(want[i*ldc+j]), float64(got[i*ldc+j])
							if math.Abs(g-w) > 1e-5*(1+math.Abs(w)) {
								t.Fatalf("%v %v %d×%d×%d beta %g: c[%d,%d] = %v, want %v", tA, tB, m, n, k, beta, i, j, g, w)
							}
						}
					}
				}
			}
		}
	}
}
