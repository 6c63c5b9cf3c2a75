package torchblas

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// Sgemm through libtorch equals gonum's (to float32 rounding) for each transpose
// combination with leading dimensions wider than the matrices, alpha and beta,
// above and below the size threshold; beta = 0 ignores what C held (even NaN).
func TestSgemmMatchesGonum(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	N, T := blas.NoTrans, blas.Trans
	for _, c := range []struct {
		tA, tB  blas.Transpose
		m, n, k int
		beta    float32
	}{
		{N, N, 70, 65, 80, 0.3}, {T, N, 70, 65, 80, 0}, {N, T, 64, 70, 90, 0.3}, {T, T, 70, 65, 80, 0}, {T, N, 3, 4, 5, 0.3},
	} {
		rows := func(tr blas.Transpose, r, cols int) (int, int) {
			if tr == T {
				return cols, r
			}
			return r, cols
		}
		ar, ac := rows(c.tA, c.m, c.k)
		br, bc := rows(c.tB, c.k, c.n)
		lda, ldb, ldc := ac+3, bc+1, c.n+2
		a, b, want := make([]float32, ar*lda), make([]float32, br*ldb), make([]float32, c.m*ldc)
		for _, v := range [][]float32{a, b, want} {
			for i := range v {
				v[i] = float32(rng.NormFloat64())
			}
		}
		got := append([]float32(nil), want...)
		if c.beta == 0 {
			for i := range got {
				got[i] = float32(math.NaN())
			}
		}
		gonum.Implementation{}.Sgemm(c.tA, c.tB, c.m, c.n, c.k, 0.7, a, lda, b, ldb, c.beta, want, ldc)
		Implementation{}.Sgemm(c.tA, c.tB, c.m, c.n, c.k, 0.7, a, lda, b, ldb, c.beta, got, ldc)
		for i := 0; i < c.m; i++ {
			for j := 0; j < c.n; j++ {
				w, g := float64(want[i*ldc+j]), float64(got[i*ldc+j])
				if math.Abs(g-w) > 1e-5*(1+math.Abs(w)) {
					t.Fatalf("%+v: c[%d,%d] = %v, want %v", c, i, j, g, w)
				}
			}
		}
	}
}
