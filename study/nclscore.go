package study

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/divres/divres/attrib"
	"github.com/divres/divres/corrupt"
	"github.com/divres/divres/data"
	"github.com/divres/divres/diversity"
	"github.com/divres/divres/ensemble"
	"github.com/divres/divres/plots"
	"github.com/divres/divres/torch"
)

// AttributionMaps computes every member's attribution maps (method) of the true
// class on the images of ds, with respect to the unnormalised pixels: maps[m]
// holds ds.Len()×size values. Stage 2 and stage 4 take their attribution
// diversity from these maps.
func AttributionMaps(ctx context.Context, members []ensemble.PoolMember, ds data.Dataset, method attrib.Method,
	dev torch.Device, workers int) (maps [][]float32, size int, err error) {
	return memberAttributions(ctx, members, ds, method, dev, workers)
}

// EnsembleEval is the evaluation of the mean-softmax ensemble of every member of
// a pool: its result (errors per slice, corruption accuracy and, with a
// baseline, CE, mCE and relative mCE), its prediction and activation diversity
// on the clean slice, its attribution diversity, and the per-image material of
// the bootstrap over test images.
type EnsembleEval struct {
	Name string
	// Result is the ensemble's result as ensemble.ScoreEnsembles computes it.
	Result *corrupt.Result
	// Disagreement and KohaviWolpert are the prediction diversities of the
	// members on the clean slice; LinearCKA the mean pairwise linear CKA of their
	// penultimate features (NaN without features); AttributionCosine the mean
	// pairwise cosine of their attribution maps (NaN without maps).
	Disagreement, KohaviWolpert, LinearCKA, AttributionCosine float64
	// Outcomes are the ensemble's per-image outcomes on every slice.
	Outcomes *Outcomes
	// pairs are the members' per-image pairwise values on the clean slice.
	pairs pairTable
	// kw is the per-image Kohavi–Wolpert term l(M−l)/M² (l members right).
	kw []float64
}

// EvaluateEnsemble scores the mean-softmax ensemble of all of pool's members
// with ensemble.ScoreEnsembles (against base when not nil) and computes its
// diversities: disagreement, Kohavi–Wolpert and linear CKA on the clean slice,
// and 1 − cosine of maps (AttributionMaps of the pool's members on the first
// len(maps[m])/size clean test images; nil maps leave it out).
func EvaluateEnsemble(pool *ensemble.Pool, base *corrupt.Result, maps [][]float32, size int, dataset, source string) (*EnsembleEval, error) {
	all := make([]int, len(pool.Members))
	for i := range all {
		all[i] = i
	}
	metrics := []string{"disagreement", "kohavi_wolpert"}
	clean := slices.Index(pool.Slices, ensemble.CleanSlice)
	if clean < 0 {
		return nil, fmt.Errorf("ensemble pool: no clean slice")
	}
	withCKA := true
	for m := range pool.Members {
		withCKA = withCKA && pool.Outputs[m][clean].Features != nil
	}
	if withCKA {
		metrics = append(metrics, "linear_cka")
	}
	scored, err := ensemble.ScoreEnsembles(pool, [][]int{all}, ensemble.ScoreOptions{Combine: ensemble.CombineMean, Baseline: base,
		Diversity: &diversity.Options{Metrics: metrics}, Dataset: dataset, Corruptions: source, Workers: 1})
	if err != nil {
		return nil, err
	}
	s := scored[0]
	e := &EnsembleEval{Name: s.Name, Result: s.Result, Disagreement: math.NaN(), KohaviWolpert: math.NaN(),
		LinearCKA: math.NaN(), AttributionCosine: math.NaN()}
	if s.Diversity != nil {
		for k, p := range map[string]*float64{"disagreement": &e.Disagreement, "kohavi_wolpert": &e.KohaviWolpert, "linear_cka": &e.LinearCKA} {
			if v, ok := s.Diversity.Float(k); ok {
				*p = v
			}
		}
	}
	// The ensemble's per-image outcomes on every slice.
	comb, err := ensemble.NewCombiner(ensemble.CombineMean, nil, len(all))
	if err != nil {
		return nil, err
	}
	col := make([]*ensemble.Outputs, len(all))
	e.Outcomes = &Outcomes{N: pool.Outputs[0][clean].N}
	for si, sl := range pool.Slices {
		for m := range all {
			col[m] = pool.Outputs[m][si]
		}
		pred, _, err := comb.Combine(col)
		if err != nil {
			return nil, fmt.Errorf("ensemble %s on %s: %w", s.Name, sl, err)
		}
		p := &ensemble.Predictions{N: len(pred), Labels: make([]int, len(pred)), Pred: pred}
		for i := range pred {
			p.Labels[i] = int(col[0].Labels[i])
		}
		e.Outcomes.add(sl.Corruption, sl.Severity, p)
	}
	for m := range all {
		col[m] = pool.Outputs[m][clean]
	}
	e.pairs, e.kw = cleanPairs(col, maps, size)
	if maps != nil {
		e.AttributionCosine = e.pairs.mean(e.pairs.cosine, nil)
	}
	return e, nil
}

// Row is the evaluation as a row of the NCL table (plots.NCLRow): errors and the
// three diversities (disagreement, 1 − linear CKA, 1 − attribution cosine).
func (e *EnsembleEval) Row() plots.NCLRow {
	row := plots.NCLRow{Members: e.Name, CleanError: e.Result.CleanError, CorruptionError: 1 - e.Result.CorruptionAccuracy,
		MCE: e.Result.MCE, RelativeMCE: e.Result.RelativeMCE}
	ptr := func(v float64) *float64 {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil
		}
		return &v
	}
	row.PredictionDiversity = ptr(e.Disagreement)
	row.ActivationDiversity = ptr(1 - e.LinearCKA)
	row.AttributionDiversity = ptr(1 - e.AttributionCosine)
	return row
}

// pairTable holds, for every pair i < k of M members, a per-image value of the
// pair: whether exactly one of the two is right (disagreement) and the cosine of
// their attribution maps (NaN where undefined; nil without maps).
type pairTable struct {
	m                int
	disagree, cosine [][]float64
}

// index is the position of the pair (i, k), i < k, in the table.
func (t pairTable) index(i, k int) int { return i*t.m - i*(i+1)/2 + k - i - 1 }

// mean is the mean over the pairs of sub (nil: every member) of each pair's mean
// over the images, image j counted w[j] times (nil: once); NaN values are left
// out of their pair's mean, and pairs without a value out of the mean over pairs.
func (t pairTable) mean(v [][]float64, sub []int) float64 {
	return t.weightedMean(v, sub, nil)
}

func (t pairTable) weightedMean(v [][]float64, sub []int, w []int) float64 {
	if v == nil {
		return math.NaN()
	}
	if sub == nil {
		sub = make([]int, t.m)
		for i := range sub {
			sub[i] = i
		}
	}
	var s float64
	n := 0
	for a := range sub {
		for b := a + 1; b < len(sub); b++ {
			if x := weightedImageMean(v[t.index(sub[a], sub[b])], w); !math.IsNaN(x) {
				s += x
				n++
			}
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return s / float64(n)
}

// weightedImageMean is the mean of the non-NaN values of v, value j counted w[j]
// times (w nil: once).
func weightedImageMean(v []float64, w []int) float64 {
	var s, n float64
	for j, x := range v {
		if math.IsNaN(x) {
			continue
		}
		c := 1.0
		if w != nil {
			c = float64(w[j])
		}
		s += c * x
		n += c
	}
	if n == 0 {
		return math.NaN()
	}
	return s / n
}

// cleanPairs computes the per-image pair values of members' clean outputs and
// maps (each N'×size with N' ≤ N, nil for none), and the per-image
// Kohavi–Wolpert term.
func cleanPairs(outs []*ensemble.Outputs, maps [][]float32, size int) (pairTable, []float64) {
	in := ensemble.DiversityInputs(outs)
	m, n := in.M, in.N
	_, oracle := diversity.Oracle(in.Probs, in.Labels, m, n, in.C)
	t := pairTable{m: m}
	kw := make([]float64, n)
	for j := range n {
		l := 0
		for i := range m {
			l += int(oracle[i*n+j])
		}
		kw[j] = float64(l*(m-l)) / float64(m*m)
	}
	var nm int
	if maps != nil && size > 0 {
		nm = len(maps[0]) / size
		t.cosine = [][]float64{}
	}
	t.disagree = [][]float64{}
	for i := range m {
		for k := i + 1; k < m; k++ {
			d := make([]float64, n)
			for j := range n {
				if oracle[i*n+j] != oracle[k*n+j] {
					d[j] = 1
				}
			}
			t.disagree = append(t.disagree, d)
			if t.cosine != nil {
				c := make([]float64, nm)
				for j := range nm {
					c[j] = diversity.Cosine(maps[i][j*size:(j+1)*size], maps[k][j*size:(j+1)*size])
				}
				t.cosine = append(t.cosine, c)
			}
		}
	}
	return t, kw
}
