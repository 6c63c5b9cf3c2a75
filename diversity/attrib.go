package diversity

import (
	"math"
	"sort"
)

// Cosine is the cosine similarity of two equal-length vectors (NaN when either is 0).
func Cosine(a, b []float32) float64 {
	var ab, aa, bb float64
	for i := range a {
		x, y := float64(a[i]), float64(b[i])
		ab += x * y
		aa += x * x
		bb += y * y
	}
	if aa == 0 || bb == 0 {
		return math.NaN()
	}
	return ab / math.Sqrt(aa*bb)
}

// Ranks returns the average ranks (1-based, ties get the mean rank) of v.
func Ranks(v []float64) []float64 {
	idx := make([]int, len(v))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return v[idx[a]] < v[idx[b]] })
	r := make([]float64, len(v))
	for i := 0; i < len(idx); {
		j := i + 1
		for j < len(idx) && v[idx[j]] == v[idx[i]] {
			j++
		}
		avg := float64(i+j+1) / 2
		for t := i; t < j; t++ {
			r[idx[t]] = avg
		}
		i = j
	}
	return r
}

// SpearmanSimilarity is the Spearman rank correlation of two attribution maps (NaN
// when either is constant).
func SpearmanSimilarity(a, b []float32) float64 {
	x, y := make([]float64, len(a)), make([]float64, len(b))
	for i := range a {
		x[i], y[i] = float64(a[i]), float64(b[i])
	}
	return pearson(Ranks(x), Ranks(y))
}

// AttributionSimilarity returns, for every pair of members, the mean over samples of
// the similarity ("cosine" or "spearman") of their maps (M*N*size row-major), and the
// number of samples left out because a map was constant (similarity undefined).
func AttributionSimilarity(a []float32, m, n, size int, method string) (sim [][]float64, skipped int) {
	sim = square(m)
	f := Cosine
	if method == "spearman" {
		f = SpearmanSimilarity
	}
	for i := 0; i < m; i++ {
		sim[i][i] = 1
		for k := i + 1; k < m; k++ {
			var s float64
			cnt := 0
			for j := 0; j < n; j++ {
				v := f(a[(i*n+j)*size:(i*n+j+1)*size], a[(k*n+j)*size:(k*n+j+1)*size])
				if math.IsNaN(v) {
					skipped++
					continue
				}
				s += v
				cnt++
			}
			if cnt == 0 {
				s = math.NaN()
			} else {
				s /= float64(cnt)
			}
			sim[i][k], sim[k][i] = s, s
		}
	}
	return sim, skipped
}

func pearson(x, y []float64) float64 {
	n := float64(len(x))
	var mx, my float64
	for i := range x {
		mx += x[i]
		my += y[i]
	}
	mx /= n
	my /= n
	var sxy, sxx, syy float64
	for i := range x {
		dx, dy := x[i]-mx, y[i]-my
		sxy += dx * dy
		sxx += dx * dx
		syy += dy * dy
	}
	if sxx == 0 || syy == 0 {
		return math.NaN()
	}
	return sxy / math.Sqrt(sxx*syy)
}
