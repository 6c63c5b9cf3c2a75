// Package torchblas routes gonum's large float64 and float32 matrix products through libtorch,
// whose CPU kernels call an optimised BLAS (OpenBLAS or MKL), instead of gonum's
// pure-Go kernels. The pure-Go packages (diversity, plots' statistics) compute with
// gonum's blas64; a command that wants their products fast calls Use once:
//
//	torchblas.Use()
//
// Every BLAS routine but Dgemm and Sgemm stays gonum's. Products below a size
// threshold stay in Go too, where copying into libtorch would cost more than it
// saves.
package torchblas

import (
	"fmt"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/blas/gonum"

	"github.com/divres/divres/torch"
)

// minFlops is the size m·n·k from which Dgemm and Sgemm go to libtorch.
const minFlops = 1 << 18

// Implementation is gonum's BLAS with Dgemm and Sgemm done by libtorch for large
// products.
type Implementation struct{ gonum.Implementation }

// Use makes Implementation gonum's blas64 and blas32 implementation for the whole
// process.
func Use() {
	blas64.Use(Implementation{})
	blas32.Use(Implementation{})
}

// Dgemm computes C = alpha·op(A)·op(B) + beta·C for row-major matrices, as
// blas.Float64 defines it.
func (impl Implementation) Dgemm(tA, tB blas.Transpose, m, n, k int, alpha float64, a []float64, lda int,
	b []float64, ldb int, beta float64, c []float64, ldc int) {
	if m*n*k < minFlops || m == 0 || n == 0 {
		impl.Implementation.Dgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	gemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// Sgemm is Dgemm in float32, as blas.Float32 defines it (libtorch's float32
// product accumulates in float32).
func (impl Implementation) Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int,
	b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m*n*k < minFlops || m == 0 || n == 0 {
		impl.Implementation.Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	gemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// gemm is C = alpha·op(A)·op(B) + beta·C through libtorch.
func gemm[T float32 | float64](tA, tB blas.Transpose, m, n, k int, alpha T, a []T, lda int,
	b []T, ldb int, beta T, c []T, ldc int) {
	ar, ac := m, k
	if tA != blas.NoTrans {
		ar, ac = k, m
	}
	br, bc := k, n
	if tB != blas.NoTrans {
		br, bc = n, k
	}
	err := torch.Do(func(s *torch.Scope) error {
		ta := matrix(s, a, ar, ac, lda)
		if tA != blas.NoTrans {
			ta = ta.T()
		}
		tb := matrix(s, b, br, bc, ldb)
		if tB != blas.NoTrans {
			tb = tb.T()
		}
		p := ta.Mm(tb)
		if alpha != 1 {
			p = p.MulScalar(float64(alpha))
		}
		prod, err := torch.Data[T](p.Contiguous())
		if err != nil {
			return err
		}
		for i := 0; i < m; i++ {
			row, out := prod[i*n:(i+1)*n], c[i*ldc:i*ldc+n]
			if beta == 0 {
				copy(out, row)
				continue
			}
			for j, v := range row {
				out[j] = beta*out[j] + v
			}
		}
		return nil
	}, torch.NoGrad())
	if err != nil {
		// A BLAS routine has no error result; a failing libtorch product (out of
		// memory) must not return wrong numbers silently.
		panic(fmt.Sprintf("torchblas: gemm %d×%d×%d: %v", m, n, k, err))
	}
}

// matrix is the rows×cols row-major matrix with leading dimension ld stored in v,
// as a libtorch tensor (a copy).
func matrix[T float32 | float64](s *torch.Scope, v []T, rows, cols, ld int) *torch.Tensor {
	if ld != cols {
		packed := make([]T, rows*cols)
		for i := 0; i < rows; i++ {
			copy(packed[i*cols:(i+1)*cols], v[i*ld:i*ld+cols])
		}
		v = packed
	}
	return torch.FromSlice(s, v[:rows*cols], []int64{int64(rows), int64(cols)})
}
