package attrib

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/divres/divres/diversity"
	"github.com/divres/divres/torch"
)

// Metric is a similarity of two attribution maps.
type Metric string

// Metrics.
const (
	// Cosine is the cosine of the angle between the flattened maps (0 when one of
	// them is all zeros).
	Cosine Metric = "cosine"
	// Spearman is the Pearson correlation of the ranks of the values, ties
	// sharing their mean rank (0 when one map is constant: no rank information).
	Spearman Metric = "spearman"
	// TopK is the overlap of the k largest |values| of the two maps divided by k,
	// with k = ⌈fraction · size⌉ (ties broken by position).
	TopK Metric = "topk"
)

// ParseMetric parses a metric name.
func ParseMetric(s string) (Metric, error) {
	switch m := Metric(strings.ToLower(s)); m {
	case Cosine, Spearman, TopK:
		return m, nil
	}
	return "", fmt.Errorf("unknown similarity %q (want cosine, spearman or topk)", s)
}

// Compare configures Similarity and Matrix.
type Compare struct {
	Metric Metric
	// Fraction is TopK's share of the values (default 0.1).
	Fraction float64
}

// Sim holds the similarity of two batches of maps.
type Sim struct {
	// PerSample compares the maps of each input (N values).
	PerSample []float64
	// Mean is the mean of PerSample.
	Mean float64
	// Global compares the two batches as one vector each.
	Global float64
}

// Similarity compares the maps a and b of the same inputs (the same shape, first
// dimension the inputs) on the host in float64.
func Similarity(a, b *torch.Tensor, c Compare) (Sim, error) {
	if err := a.Err(); err != nil {
		return Sim{}, err
	}
	if err := b.Err(); err != nil {
		return Sim{}, err
	}
	if !equalShape(a.Shape(), b.Shape()) || a.Dim() < 1 || a.Size(0) == 0 {
		return Sim{}, fmt.Errorf("similarity: shapes %v and %v: want the same shape with at least one map", a.Shape(), b.Shape())
	}
	av, err := a.To(torch.CPU).Float64s()
	if err != nil {
		return Sim{}, err
	}
	bv, err := b.To(torch.CPU).Float64s()
	if err != nil {
		return Sim{}, err
	}
	return SimilarityValues(av, bv, int(a.Size(0)), c)
}

// SimilarityValues is Similarity on n maps stored row-major in a and b.
func SimilarityValues(a, b []float64, n int, c Compare) (Sim, error) {
	if len(a) != len(b) || n <= 0 || len(a)%n != 0 || len(a) == 0 {
		return Sim{}, fmt.Errorf("similarity: %d and %d values for %d maps", len(a), len(b), n)
	}
	f, err := c.fn()
	if err != nil {
		return Sim{}, err
	}
	for i := range a {
		if math.IsNaN(a[i]) || math.IsInf(a[i], 0) || math.IsNaN(b[i]) || math.IsInf(b[i], 0) {
			return Sim{}, fmt.Errorf("similarity: non-finite value at element %d", i)
		}
	}
	d := len(a) / n
	s := Sim{PerSample: make([]float64, n)}
	for i := 0; i < n; i++ {
		s.PerSample[i] = f(a[i*d:(i+1)*d], b[i*d:(i+1)*d])
		s.Mean += s.PerSample[i] / float64(n)
	}
	s.Global = f(a, b)
	return s, nil
}

func (c Compare) fn() (func(a, b []float64) float64, error) {
	switch c.Metric {
	case Cosine, "":
		return cosine, nil
	case Spearman:
		return spearman, nil
	case TopK:
		fr := c.Fraction
		if fr == 0 {
			fr = 0.1
		}
		if !(fr > 0 && fr <= 1) {
			return nil, fmt.Errorf("similarity: top-k fraction %g outside (0, 1]", fr)
		}
		return func(a, b []float64) float64 { return topKOverlap(a, b, fr) }, nil
	}
	_, err := ParseMetric(string(c.Metric))
	return nil, err
}

func cosine(a, b []float64) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += a[i] * b[i]
		aa += a[i] * a[i]
		bb += b[i] * b[i]
	}
	if aa == 0 || bb == 0 {
		return 0
	}
	return ab / math.Sqrt(aa*bb)
}

func spearman(a, b []float64) float64 {
	ra, rb := diversity.Ranks(a), diversity.Ranks(b)
	n := float64(len(a))
	var ma, mb float64
	for i := range ra {
		ma += ra[i] / n
		mb += rb[i] / n
	}
	var ab, aa, bb float64
	for i := range ra {
		x, y := ra[i]-ma, rb[i]-mb
		ab += x * y
		aa += x * x
		bb += y * y
	}
	if aa == 0 || bb == 0 {
		return 0
	}
	return ab / math.Sqrt(aa*bb)
}

// topSet returns the positions of the k largest |v| (ties by position).
func topSet(v []float64, k int) []bool {
	idx := make([]int, len(v))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(i, j int) bool { return math.Abs(v[idx[i]]) > math.Abs(v[idx[j]]) })
	in := make([]bool, len(v))
	for _, i := range idx[:k] {
		in[i] = true
	}
	return in
}

func topKOverlap(a, b []float64, frac float64) float64 {
	k := int(math.Ceil(frac * float64(len(a))))
	k = max(1, min(k, len(a)))
	sa, sb := topSet(a, k), topSet(b, k)
	both := 0
	for i := range sa {
		if sa[i] && sb[i] {
			both++
		}
	}
	return float64(both) / float64(k)
}

// Matrix returns the M×M table of the mean per-sample similarity of the maps of M
// models on the same inputs (1 on the diagonal for cosine and Spearman of
// non-constant maps and for TopK).
func Matrix(maps []*torch.Tensor, c Compare) ([][]float64, error) {
	if len(maps) == 0 {
		return nil, fmt.Errorf("similarity matrix: no maps")
	}
	vals := make([][]float64, len(maps))
	for i, m := range maps {
		if err := m.Err(); err != nil {
			return nil, fmt.Errorf("similarity matrix: maps %d: %w", i, err)
		}
		if !equalShape(m.Shape(), maps[0].Shape()) || m.Dim() < 1 || m.Size(0) == 0 {
			return nil, fmt.Errorf("similarity matrix: maps %d have shape %v, maps 0 %v", i, m.Shape(), maps[0].Shape())
		}
		v, err := m.To(torch.CPU).Float64s()
		if err != nil {
			return nil, err
		}
		vals[i] = v
	}
	n := int(maps[0].Size(0))
	out := make([][]float64, len(maps))
	for i := range out {
		out[i] = make([]float64, len(maps))
	}
	for i := range maps {
		for j := i; j < len(maps); j++ {
			s, err := SimilarityValues(vals[i], vals[j], n, c)
			if err != nil {
				return nil, err
			}
			out[i][j], out[j][i] = s.Mean, s.Mean
		}
	}
	return out, nil
}

// CosineTensor is the differentiable per-sample cosine similarity (N,) of two
// batches of maps of the same shape (N, …), for losses (the graph of a and b is kept).
// eps guards zero maps as in torch.nn.functional.cosine_similarity (default 1e-8).
func CosineTensor(a, b *torch.Tensor, eps float64) *torch.Tensor {
	if eps == 0 {
		eps = 1e-8
	}
	if !equalShape(a.Shape(), b.Shape()) || a.Dim() < 2 {
		return torch.Fail(a.Scope(), fmt.Errorf("cosine: shapes %v and %v differ", a.Shape(), b.Shape()))
	}
	return torch.CosineSimilarity(a.Flatten(1, -1), b.Flatten(1, -1), 1, eps)
}
