package diversity

import (
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"
)

// FeatureCKA holds the pairwise linear and debiased linear CKA of M members' N×D
// features, accumulated in float64 over row batches (no N×N matrix is formed).
type FeatureCKA struct {
	Linear, Debiased [][]float64 // M×M, 1 on the diagonal (NaN where undefined)
}

// LinearCKAs computes linear and debiased linear CKA for every pair of members from
// M*N*D row-major features, batch rows at a time (batch <= 0: 2048). The features
// are centred in float64 and each batch's cross products are taken by libtorch. For
// large inputs (n·(m·d)² from float32Work on) they are taken in float32, half the
// work of float64 for the BLAS, and accumulated in float64, which keeps the results
// within 1e-6 relative of the all-float64 computation; smaller inputs are computed
// in float64 throughout. Debiased CKA is NaN when n < 4. Should libtorch fail (out
// of memory, say), LinearCKAs computes with gonum's BLAS instead; Compute reports
// the error.
func LinearCKAs(feat []float32, m, n, d, batch int) FeatureCKA {
	return linearCKAs(feat, m, n, d, batch, linearSingle(m, n, d))
}

// linearSingle says whether LinearCKAs takes its batch products in float32.
func linearSingle(m, n, d int) bool {
	return float64(n)*float64(m*d)*float64(m*d) >= float32Work
}

// defaultCKABatch is the row batch of linear CKA when none is given: with libtorch's
// products 2048 rows took about 10% less time than 1024 on 10 members × 10,000 ×
// 512 (2 cores), 4096 no less than 2048.
const defaultCKABatch = 2048

// float32Work is the size n·(m·d)² of a linear CKA from which LinearCKAs takes its
// batch products in float32.
const float32Work = 1 << 32

// linearCKAs is LinearCKAs with the batch products in float32 (single) or float64,
// by libtorch (gonum's BLAS should libtorch fail).
func linearCKAs(feat []float32, m, n, d, batch int, single bool) FeatureCKA {
	f, err := linearCKAsTorch(feat, m, n, d, batch, single)
	if err != nil {
		return linearCKAsGo(feat, m, n, d, batch, single)
	}
	return f
}

// linearCKAsGo is linearCKAs with the batch products by gonum's BLAS.
func linearCKAsGo(feat []float32, m, n, d, batch int, single bool) FeatureCKA {
	if batch <= 0 {
		batch = defaultCKABatch
	}
	batch = min(batch, n)
	means := make([][]float64, m)
	for i := range means {
		mu := make([]float64, d)
		x := feat[i*n*d : (i+1)*n*d]
		for a := 0; a < n; a++ {
			row := x[a*d : (a+1)*d]
			for j, v := range row {
				mu[j] += float64(v)
			}
		}
		for j := range mu {
			mu[j] /= float64(n)
		}
		means[i] = mu
	}
	// acc[i] holds X_iᵀ [X_i … X_{m−1}] (d × (m−i)·d) of the centred features.
	md := m * d
	acc := make([]blas64.General, m)
	for i := range acc {
		acc[i] = blas64.General{Rows: d, Cols: (m - i) * d, Stride: (m - i) * d, Data: make([]float64, d*(m-i)*d)}
	}
	rn := make([][]float64, m) // squared row norms of the centred features
	for i := range rn {
		rn[i] = make([]float64, n)
	}
	// z is a batch of the members' centred features side by side: b × m·d.
	var z32 []float32
	var z64 []float64
	var c32 []float32
	if single {
		z32, c32 = make([]float32, batch*md), make([]float32, d*md)
	} else {
		z64 = make([]float64, batch*md)
	}
	for a0 := 0; a0 < n; a0 += batch {
		b := min(batch, n-a0)
		for i := 0; i < m; i++ {
			x := feat[(i*n+a0)*d : (i*n+a0+b)*d]
			mu := means[i]
			for r := 0; r < b; r++ {
				var s float64
				o := r*md + i*d
				for j, v := range x[r*d : (r+1)*d] {
					c := float64(v) - mu[j]
					if single {
						z32[o+j] = float32(c)
					} else {
						z64[o+j] = c
					}
					s += c * c
				}
				rn[i][a0+r] = s
			}
		}
		for i := 0; i < m; i++ {
			w := (m - i) * d
			if !single {
				zi := blas64.General{Rows: b, Cols: d, Stride: md, Data: z64[i*d:]}
				zr := blas64.General{Rows: b, Cols: w, Stride: md, Data: z64[i*d:]}
				blas64.Gemm(blas.Trans, blas.NoTrans, 1, zi, zr, 1, acc[i])
				continue
			}
			zi := blas32.General{Rows: b, Cols: d, Stride: md, Data: z32[i*d:]}
			zr := blas32.General{Rows: b, Cols: w, Stride: md, Data: z32[i*d:]}
			blas32.Gemm(blas.Trans, blas.NoTrans, 1, zi, zr, 0, blas32.General{Rows: d, Cols: w, Stride: w, Data: c32[:d*w]})
			for k, v := range c32[:d*w] {
				acc[i].Data[k] += float64(v)
			}
		}
	}
	return finishLinearCKAs(m, n, rn, func(i, k int) float64 { // ‖X_iᵀ X_k‖²_F, k >= i
		var s float64
		g := acc[i]
		for r := 0; r < d; r++ {
			for _, v := range g.Data[r*g.Stride+(k-i)*d : r*g.Stride+(k-i+1)*d] {
				s += v * v
			}
		}
		return s
	})
}

// finishLinearCKAs forms linear and debiased CKA from fro2(i, k) = ‖X_iᵀ X_k‖²_F
// (k >= i) and the squared row norms rn of the centred features.
func finishLinearCKAs(m, n int, rn [][]float64, fro2 func(i, k int) float64) FeatureCKA {
	N := float64(n)
	hsic := make([][]float64, m)
	hsicU := make([][]float64, m)
	for i := range hsic {
		hsic[i] = make([]float64, m)
		hsicU[i] = make([]float64, m)
	}
	sumR := make([]float64, m)
	for i := range rn {
		for _, v := range rn[i] {
			sumR[i] += v
		}
	}
	for i := 0; i < m; i++ {
		for k := i; k < m; k++ {
			f := fro2(i, k)
			var rr float64
			for a := 0; a < n; a++ {
				rr += rn[i][a] * rn[k][a]
			}
			hsic[i][k], hsic[k][i] = f, f
			// Unbiased HSIC (up to the factor 1/(n(n-3))) with K~ = K - diag(K):
			// tr(K~L~) + 1ᵀK~1·1ᵀL~1/((n-1)(n-2)) - 2/(n-2)·(K~1)ᵀ(L~1); for centred
			// features K~1 = -diag(K), so every term comes from row norms.
			u := (f - rr) + sumR[i]*sumR[k]/((N-1)*(N-2)) - 2/(N-2)*rr
			hsicU[i][k], hsicU[k][i] = u, u
		}
	}
	out := FeatureCKA{Linear: square(m), Debiased: square(m)}
	for i := 0; i < m; i++ {
		for k := 0; k < m; k++ {
			out.Linear[i][k] = hsic[i][k] / math.Sqrt(hsic[i][i]*hsic[k][k])
			if n < 4 {
				out.Debiased[i][k] = math.NaN()
			} else {
				out.Debiased[i][k] = hsicU[i][k] / math.Sqrt(hsicU[i][i]*hsicU[k][k])
			}
		}
	}
	return out
}

// LinearCKA is the linear CKA of two n×d and n×e float64 feature matrices (row-major).
func LinearCKA(x, y []float64, n, d, e int) float64 {
	xf, yf := toF32(x), toF32(y)
	if d == e {
		return LinearCKAs(append(xf, yf...), 2, n, d, 0).Linear[0][1]
	}
	return cka2(x, y, n, d, e, false)
}

// DebiasedLinearCKA is the debiased linear CKA of two feature matrices (NaN for n < 4).
func DebiasedLinearCKA(x, y []float64, n, d, e int) float64 {
	return cka2(x, y, n, d, e, true)
}

func toF32(x []float64) []float32 {
	o := make([]float32, len(x))
	for i, v := range x {
		o[i] = float32(v)
	}
	return o
}

// cka2 computes (debiased) linear CKA through Gram matrices; used for unequal widths.
func cka2(x, y []float64, n, d, e int, unbiased bool) float64 {
	kx, ky := LinearGram(x, n, d), LinearGram(y, n, e)
	if unbiased {
		if n < 4 {
			return math.NaN()
		}
		CenterGramUnbiased(kx, n)
		CenterGramUnbiased(ky, n)
	} else {
		CenterGram(kx, n)
		CenterGram(ky, n)
	}
	return GramCKA(kx, ky)
}

// LinearGram returns X Xᵀ (n×n) for a row-major n×d matrix.
func LinearGram(x []float64, n, d int) []float64 {
	k := make([]float64, n*n)
	X := blas64.General{Rows: n, Cols: d, Stride: d, Data: x}
	blas64.Gemm(blas.NoTrans, blas.Trans, 1, X, X, 0, blas64.General{Rows: n, Cols: n, Stride: n, Data: k})
	return k
}

// CenterGram replaces K with H K H, H = I - 11ᵀ/n.
func CenterGram(k []float64, n int) {
	row := make([]float64, n)
	var all float64
	for a := 0; a < n; a++ {
		for b := 0; b < n; b++ {
			row[a] += k[a*n+b]
		}
		all += row[a]
		row[a] /= float64(n)
	}
	all /= float64(n * n)
	for a := 0; a < n; a++ {
		for b := 0; b < n; b++ {
			k[a*n+b] += all - row[a] - row[b]
		}
	}
}

// CenterGramUnbiased applies the U-statistic centring of Song et al. (2012) as in
// Kornblith et al.'s unbiased option: zero diagonal, means = colsum/(n-2), means -=
// sum(means)/(2(n-1)), subtract from rows and columns, zero the diagonal again.
func CenterGramUnbiased(k []float64, n int) {
	for a := 0; a < n; a++ {
		k[a*n+a] = 0
	}
	means := make([]float64, n)
	var tot float64
	for a := 0; a < n; a++ {
		for b := 0; b < n; b++ {
			means[b] += k[a*n+b]
		}
	}
	for b := range means {
		means[b] /= float64(n - 2)
		tot += means[b]
	}
	for b := range means {
		means[b] -= tot / (2 * float64(n-1))
	}
	for a := 0; a < n; a++ {
		for b := 0; b < n; b++ {
			k[a*n+b] -= means[a] + means[b]
		}
		k[a*n+a] = 0
	}
}

// GramCKA is <Kx, Ky>_F / (||Kx||_F ||Ky||_F) of two centred Gram matrices.
func GramCKA(kx, ky []float64) float64 {
	var xy, xx, yy float64
	for i := range kx {
		xy += kx[i] * ky[i]
		xx += kx[i] * kx[i]
		yy += ky[i] * ky[i]
	}
	return xy / math.Sqrt(xx*yy)
}

// RBFGram returns the centred RBF Gram matrix exp(-d2/(2 t² median(d2))) of an n×d
// float64 matrix, the median taken over all n·n squared distances.
func RBFGram(x []float64, n, d int, t float64) []float64 {
	g := LinearGram(x, n, d)
	d2 := make([]float64, n*n)
	for a := 0; a < n; a++ {
		for b := 0; b < n; b++ {
			v := g[a*n+a] + g[b*n+b] - 2*g[a*n+b]
			if v < 0 || a == b {
				v = 0
			}
			d2[a*n+b] = v
		}
	}
	med := median(append([]float64(nil), d2...))
	for i, v := range d2 {
		g[i] = math.Exp(-v / (2 * t * t * med))
	}
	CenterGram(g, n)
	return g
}

// median returns the median of s (the mean of the two middle values for an even
// length), reordering s, in expected linear time.
func median(s []float64) float64 {
	n := len(s)
	hi := selectKth(s, n/2)
	if n%2 == 1 {
		return hi
	}
	// The lower middle value is the largest of the elements left of position n/2.
	lo := s[0]
	for _, v := range s[1 : n/2] {
		lo = max(lo, v)
	}
	return (lo + hi) / 2
}

// selectKth reorders s so that s[k] is the value a sort would put there, every
// element before it is <= s[k] and every one after is >= s[k], and returns s[k].
func selectKth(s []float64, k int) float64 {
	lo, hi := 0, len(s)-1
	for lo < hi {
		// Median of three as the pivot; Hoare partition.
		mid := lo + (hi-lo)/2
		a, b, c := s[lo], s[mid], s[hi]
		p := max(min(a, b), min(max(a, b), c))
		i, j := lo, hi
		for i <= j {
			for s[i] < p {
				i++
			}
			for s[j] > p {
				j--
			}
			if i <= j {
				s[i], s[j] = s[j], s[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return s[k]
		}
	}
	return s[k]
}

// RBFCKA is the RBF CKA at threshold t of two row-major feature matrices.
func RBFCKA(x, y []float64, n, d, e int, t float64) float64 {
	return GramCKA(RBFGram(x, n, d, t), RBFGram(y, n, e, t))
}

func square(m int) [][]float64 {
	s := make([][]float64, m)
	for i := range s {
		s[i] = make([]float64, m)
	}
	return s
}
