package diversity

import (
	"cmp"
	"math"
	"slices"
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
	r := make([]float64, len(v))
	ranksInto(r, v, nil)
	return r
}

// rankPair is a value and its position, for ranking.
type rankPair struct {
	v float64
	i int
}

// ranksInto writes the average ranks of v into r, using scratch (grown when
// short) and returning it for reuse. NaNs rank below every number, tied
// with each other.
func ranksInto(r, v []float64, scratch []rankPair) []rankPair {
	if cap(scratch) < len(v) {
		scratch = make([]rankPair, len(v))
	}
	ps := scratch[:len(v)]
	for i, x := range v {
		ps[i] = rankPair{x, i}
	}
	slices.SortFunc(ps, func(a, b rankPair) int { return cmp.Compare(a.v, b.v) })
	for i := 0; i < len(ps); {
		j := i + 1
		for j < len(ps) && (ps[j].v == ps[i].v || (ps[j].v != ps[j].v && ps[i].v != ps[i].v)) {
			j++
		}
		avg := float64(i+j+1) / 2
		for t := i; t < j; t++ {
			r[ps[t].i] = avg
		}
		i = j
	}
	return scratch
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
// Each map is brought once per sample to a unit vector (itself for cosine, its
// centred ranks for Spearman), so that every pair's similarity is one dot product.
func AttributionSimilarity(a []float32, m, n, size int, method string) (sim [][]float64, skipped int) {
	sim = square(m)
	sums := square(m)
	counts := make([][]int, m)
	for i := range counts {
		counts[i] = make([]int, m)
	}
	units := make([][]float64, m) // nil: the map is constant (zero for cosine)
	buf := make([]float64, m*size)
	vals := make([]float64, size)
	var scratch []rankPair
	for j := 0; j < n; j++ {
		for i := 0; i < m; i++ {
			src := a[(i*n+j)*size : (i*n+j+1)*size]
			u := buf[i*size : (i+1)*size]
			if method == "spearman" {
				for t, v := range src {
					vals[t] = float64(v)
				}
				scratch = ranksInto(u, vals, scratch)
				mean := float64(size+1) / 2 // the mean of ranks 1…size, ties or not
				for t := range u {
					u[t] -= mean
				}
			} else {
				for t, v := range src {
					u[t] = float64(v)
				}
			}
			var ss float64
			for _, v := range u {
				ss += v * v
			}
			if ss == 0 {
				units[i] = nil
				continue
			}
			inv := 1 / math.Sqrt(ss)
			for t := range u {
				u[t] *= inv
			}
			units[i] = u
		}
		for i := 0; i < m; i++ {
			for k := i + 1; k < m; k++ {
				if units[i] == nil || units[k] == nil {
					skipped++
					continue
				}
				var d float64
				for t, v := range units[i] {
					d += v * units[k][t]
				}
				sums[i][k] += d
				counts[i][k]++
			}
		}
	}
	for i := 0; i < m; i++ {
		sim[i][i] = 1
		for k := i + 1; k < m; k++ {
			s := math.NaN()
			if counts[i][k] > 0 {
				s = sums[i][k] / float64(counts[i][k])
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
