package diversity

import (
	"bytes"
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"

	"gonum.org/v1/gonum/stat/distuv"
)

// CorrOptions configure Correlate.
type CorrOptions struct {
	Bootstrap int     // bootstrap resamples for the intervals (0: 1000; < 0: none)
	Seed      uint64  // seed of the resampling
	Level     float64 // confidence level of the intervals (0: 0.95)
}

// Estimate is one correlation coefficient with its bootstrap percentile interval
// [Low, High] and two-sided p-value against no association (NaN when undefined).
type Estimate struct {
	Value, Low, High, P float64
}

// Correlation holds the three coefficients of one pair of variables over N points.
type Correlation struct {
	N           int      `json:"n"`
	Pearson     Estimate `json:"pearson"`
	Spearman    Estimate `json:"spearman"`
	KendallTauB Estimate `json:"kendall_tau_b"`
}

// MarshalJSON writes {"value", "low", "high", "p"} with NaN as null.
func (e Estimate) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	for i, kv := range []struct {
		k string
		v float64
	}{{"value", e.Value}, {"low", e.Low}, {"high", e.High}, {"p", e.P}} {
		if i == 0 {
			b.WriteByte('{')
		} else {
			b.WriteByte(',')
		}
		b.WriteString(`"` + kv.k + `":`)
		writeJSON(&b, kv.v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// Pearson is the Pearson correlation of x and y (NaN when either is constant).
func Pearson(x, y []float64) float64 { return pearson(x, y) }

// Spearman is the Pearson correlation of the average ranks of x and y.
func Spearman(x, y []float64) float64 { return pearson(Ranks(x), Ranks(y)) }

// KendallTauB is Kendall's τ-b of x and y (ties corrected; NaN when either is
// constant).
func KendallTauB(x, y []float64) float64 {
	s, n1, n2 := kendallCounts(x, y)
	if n1 == 0 || n2 == 0 {
		return math.NaN()
	}
	return s / math.Sqrt(n1*n2)
}

// kendall returns τ-b and its tie-corrected variance of S under independence,
// expressed as a z score denominator for S (so z = S / sqrt(v)).
func kendall(x, y []float64) (tau float64, z float64) {
	n := len(x)
	s, n1, n2 := kendallCounts(x, y)
	if n1 == 0 || n2 == 0 {
		return math.NaN(), math.NaN()
	}
	tau = s / math.Sqrt(n1*n2)
	// Variance of S under independence with ties (Kendall 1970).
	tx, ty := tieGroups(x), tieGroups(y)
	N := float64(n)
	v0 := N * (N - 1) * (2*N + 5)
	var vt, vu, t1a, t1b, u1a, u1b float64
	for _, t := range tx {
		vt += t * (t - 1) * (2*t + 5)
		t1a += t * (t - 1)
		t1b += t * (t - 1) * (t - 2)
	}
	for _, u := range ty {
		vu += u * (u - 1) * (2*u + 5)
		u1a += u * (u - 1)
		u1b += u * (u - 1) * (u - 2)
	}
	v := (v0-vt-vu)/18 + t1a*u1a/(2*N*(N-1))
	if n > 2 {
		v += t1b * u1b / (9 * N * (N - 1) * (N - 2))
	}
	return tau, s / math.Sqrt(v)
}

// kendallCounts returns S (concordant minus discordant pairs), the number of pairs
// not tied in x (n1) and the number not tied in y (n2), in O(n log n) by Knight's
// method: sort by (x, y), count the ties, then count the inversions of y with a
// merge sort.
func kendallCounts(x, y []float64) (s, n1, n2 float64) {
	n := len(x)
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(i, j int) int {
		if c := cmp.Compare(x[i], x[j]); c != 0 {
			return c
		}
		return cmp.Compare(y[i], y[j])
	})
	pairs := func(t int) float64 { return float64(t) * float64(t-1) / 2 }
	var tiesX, tiesXY float64
	for i := 0; i < n; {
		j, k := i+1, i
		for j < n && x[idx[j]] == x[idx[i]] {
			j++
		}
		tiesX += pairs(j - i)
		for k < j {
			m := k + 1
			for m < j && y[idx[m]] == y[idx[k]] {
				m++
			}
			tiesXY += pairs(m - k)
			k = m
		}
		i = j
	}
	ys := make([]float64, n)
	for i, v := range idx {
		ys[i] = y[v]
	}
	inv := mergeInversions(ys, make([]float64, n))
	var tiesY float64
	for i := 0; i < n; {
		j := i + 1
		for j < n && ys[j] == ys[i] {
			j++
		}
		tiesY += pairs(j - i)
		i = j
	}
	all := pairs(n)
	return all - tiesX - tiesY + tiesXY - 2*inv, all - tiesX, all - tiesY
}

// mergeInversions sorts v (using buf) and returns the number of pairs i < j with
// v[i] > v[j].
func mergeInversions(v, buf []float64) float64 {
	if len(v) < 2 {
		return 0
	}
	mid := len(v) / 2
	inv := mergeInversions(v[:mid], buf[:mid]) + mergeInversions(v[mid:], buf[mid:])
	i, j, k := 0, mid, 0
	for i < mid && j < len(v) {
		if v[j] < v[i] {
			inv += float64(mid - i)
			buf[k] = v[j]
			j++
		} else {
			buf[k] = v[i]
			i++
		}
		k++
	}
	k += copy(buf[k:], v[i:mid])
	copy(buf[k:], v[j:])
	copy(v, buf[:len(v)])
	return inv
}

func tieGroups(x []float64) []float64 {
	s := append([]float64(nil), x...)
	sort.Float64s(s)
	var g []float64
	for i := 0; i < len(s); {
		j := i + 1
		for j < len(s) && s[j] == s[i] {
			j++
		}
		if j-i > 1 {
			g = append(g, float64(j-i))
		}
		i = j
	}
	return g
}

// tP is the two-sided p-value of a correlation r over n points by the t statistic
// r sqrt((n-2)/(1-r²)) with n-2 degrees of freedom.
func tP(r float64, n int) float64 {
	if math.IsNaN(r) || n < 3 {
		return math.NaN()
	}
	if math.Abs(r) >= 1 {
		return 0
	}
	t := r * math.Sqrt(float64(n-2)/(1-r*r))
	d := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(n - 2)}
	return 2 * d.CDF(-math.Abs(t))
}

// Correlate computes Pearson, Spearman and Kendall τ-b of x and y with seeded
// bootstrap percentile intervals (pairs resampled with replacement; resamples on which
// a coefficient is undefined are left out) and p-values (t distribution for Pearson
// and Spearman, the tie-corrected normal approximation for τ-b).
func Correlate(x, y []float64, o CorrOptions) (Correlation, error) {
	if len(x) != len(y) {
		return Correlation{}, fmt.Errorf("correlate: %d x values and %d y values", len(x), len(y))
	}
	n := len(x)
	if n < 3 {
		return Correlation{}, fmt.Errorf("correlate: need at least 3 points, have %d", n)
	}
	for i := range x {
		if math.IsNaN(x[i]) || math.IsNaN(y[i]) || math.IsInf(x[i], 0) || math.IsInf(y[i], 0) {
			return Correlation{}, fmt.Errorf("correlate: point %d is not finite (%v, %v)", i, x[i], y[i])
		}
	}
	if o.Level == 0 {
		o.Level = 0.95
	}
	if o.Level <= 0 || o.Level >= 1 {
		return Correlation{}, fmt.Errorf("correlate: confidence level %v is not in (0, 1)", o.Level)
	}
	if o.Bootstrap == 0 {
		o.Bootstrap = 1000
	}
	c := Correlation{N: n}
	c.Pearson.Value = Pearson(x, y)
	c.Pearson.P = tP(c.Pearson.Value, n)
	c.Spearman.Value = Spearman(x, y)
	c.Spearman.P = tP(c.Spearman.Value, n)
	tau, z := kendall(x, y)
	c.KendallTauB.Value = tau
	c.KendallTauB.P = math.NaN()
	if !math.IsNaN(z) {
		c.KendallTauB.P = 2 * distuv.UnitNormal.CDF(-math.Abs(z))
	}
	for _, e := range []*Estimate{&c.Pearson, &c.Spearman, &c.KendallTauB} {
		e.Low, e.High = math.NaN(), math.NaN()
	}
	if o.Bootstrap < 0 {
		return c, nil
	}
	rng := rand.New(rand.NewPCG(o.Seed, 0x9e3779b97f4a7c15))
	bx, by := make([]float64, n), make([]float64, n)
	var ps, ss, ks []float64
	for b := 0; b < o.Bootstrap; b++ {
		for i := 0; i < n; i++ {
			j := rng.IntN(n)
			bx[i], by[i] = x[j], y[j]
		}
		if v := Pearson(bx, by); !math.IsNaN(v) {
			ps = append(ps, v)
		}
		if v := Spearman(bx, by); !math.IsNaN(v) {
			ss = append(ss, v)
		}
		if v := KendallTauB(bx, by); !math.IsNaN(v) {
			ks = append(ks, v)
		}
	}
	a := (1 - o.Level) / 2
	c.Pearson.Low, c.Pearson.High = percentiles(ps, a)
	c.Spearman.Low, c.Spearman.High = percentiles(ss, a)
	c.KendallTauB.Low, c.KendallTauB.High = percentiles(ks, a)
	return c, nil
}

// percentiles returns the a and 1-a quantiles (linear interpolation) of v.
func percentiles(v []float64, a float64) (float64, float64) {
	if len(v) == 0 {
		return math.NaN(), math.NaN()
	}
	sort.Float64s(v)
	q := func(p float64) float64 {
		h := p * float64(len(v)-1)
		lo := int(math.Floor(h))
		if lo >= len(v)-1 {
			return v[len(v)-1]
		}
		return v[lo] + (h-float64(lo))*(v[lo+1]-v[lo])
	}
	return q(a), q(1 - a)
}
