package ensemble

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/divres/divres/corrupt"
	"github.com/divres/divres/diversity"
)

// Binomial returns C(n, k) (0 outside 0 ≤ k ≤ n); it saturates at math.MaxInt64.
func Binomial(n, k int) int64 {
	if k < 0 || k > n {
		return 0
	}
	b := new(big.Int).Binomial(int64(n), int64(k))
	if !b.IsInt64() {
		return math.MaxInt64
	}
	return b.Int64()
}

// CountSubsets returns the number of subsets of n items with kmin…kmax members.
func CountSubsets(n, kmin, kmax int) int64 {
	var t int64
	for k := kmin; k <= kmax; k++ {
		b := Binomial(n, k)
		if t > math.MaxInt64-b {
			return math.MaxInt64
		}
		t += b
	}
	return t
}

func checkRange(n, kmin, kmax int) error {
	if kmin < 1 || kmax < kmin {
		return fmt.Errorf("ensemble sizes %d..%d: want 1 ≤ kmin ≤ kmax", kmin, kmax)
	}
	if kmax > n {
		return fmt.Errorf("ensemble sizes %d..%d: the pool has %d members", kmin, kmax, n)
	}
	return nil
}

// Subsets returns every subset of {0…n-1} with kmin…kmax members: by size, then in
// lexicographic order. It refuses more than 10 million subsets (sample instead).
func Subsets(n, kmin, kmax int) ([][]int, error) {
	if err := checkRange(n, kmin, kmax); err != nil {
		return nil, err
	}
	if t := CountSubsets(n, kmin, kmax); t > 10_000_000 {
		return nil, fmt.Errorf("%d subsets of %d members with %d..%d members: too many, sample them", t, n, kmin, kmax)
	}
	var out [][]int
	for k := kmin; k <= kmax; k++ {
		c := make([]int, k)
		for i := range c {
			c[i] = i
		}
		for {
			out = append(out, slices.Clone(c))
			i := k - 1
			for i >= 0 && c[i] == n-k+i {
				i--
			}
			if i < 0 {
				break
			}
			c[i]++
			for j := i + 1; j < k; j++ {
				c[j] = c[j-1] + 1
			}
		}
	}
	return out, nil
}

// SampleSubsets returns count distinct subsets drawn uniformly (without
// replacement) from all subsets of {0…n-1} with kmin…kmax members, in the order of
// Subsets; the same seed gives the same sample. When count is at least the number
// of subsets, it returns them all.
func SampleSubsets(n, kmin, kmax, count int, seed uint64) ([][]int, error) {
	if err := checkRange(n, kmin, kmax); err != nil {
		return nil, err
	}
	if count < 1 {
		return nil, fmt.Errorf("sample of %d subsets: want at least 1", count)
	}
	total := CountSubsets(n, kmin, kmax)
	if int64(count) >= total {
		return Subsets(n, kmin, kmax)
	}
	rng := rand.New(rand.NewPCG(seed, 0x656e73656d626c65))
	picked := make(map[int64]bool, count)
	idx := make([]int64, 0, count)
	for len(idx) < count {
		r := rng.Int64N(total)
		if !picked[r] {
			picked[r] = true
			idx = append(idx, r)
		}
	}
	slices.Sort(idx)
	out := make([][]int, len(idx))
	for i, r := range idx {
		out[i] = unrankSubset(n, kmin, r)
	}
	return out, nil
}

// unrankSubset returns subset number r in the order of Subsets.
func unrankSubset(n, kmin int, r int64) []int {
	k := kmin
	for r >= Binomial(n, k) {
		r -= Binomial(n, k)
		k++
	}
	c := make([]int, 0, k)
	x := 0
	for len(c) < k {
		rest := k - len(c) - 1
		b := Binomial(n-x-1, rest) // subsets that take x next
		if r < b {
			c = append(c, x)
		} else {
			r -= b
		}
		x++
	}
	return c
}

// Homogeneous reports whether the members share one architecture (the same arch,
// style and width: several seeds of one design).
func Homogeneous(members []PoolMember) bool {
	for _, m := range members[1:] {
		a := members[0].Meta
		if m.Meta.Arch != a.Arch || m.Meta.Style != a.Style || m.Meta.Width != a.Width {
			return false
		}
	}
	return true
}

// Pool is a set of members with their outputs on the same slices.
type Pool struct {
	Members []PoolMember
	Slices  []Slice
	// Outputs[m][s] are member m's outputs on slice s; the clean slice carries
	// the features when activation diversity is wanted.
	Outputs [][]*Outputs
}

// Check validates the pool: one output per member and slice, every slice
// consistent across members (CheckOutputs), exactly one clean slice.
func (p *Pool) Check() error {
	if len(p.Members) == 0 || len(p.Outputs) != len(p.Members) {
		return fmt.Errorf("ensemble pool: %d members, outputs for %d", len(p.Members), len(p.Outputs))
	}
	clean := 0
	for _, s := range p.Slices {
		if s.IsClean() {
			clean++
		}
	}
	if clean != 1 {
		return fmt.Errorf("ensemble pool: %d clean slices, want 1", clean)
	}
	col := make([]*Outputs, len(p.Members))
	for s, sl := range p.Slices {
		for m := range p.Members {
			if len(p.Outputs[m]) != len(p.Slices) {
				return fmt.Errorf("ensemble pool: member %s has outputs for %d slices, want %d", p.Members[m].Name(), len(p.Outputs[m]), len(p.Slices))
			}
			col[m] = p.Outputs[m][s]
		}
		if err := CheckOutputs(col); err != nil {
			return fmt.Errorf("%s: %w", sl, err)
		}
	}
	return nil
}

// clean returns the index of the clean slice.
func (p *Pool) clean() int {
	for i, s := range p.Slices {
		if s.IsClean() {
			return i
		}
	}
	return -1
}

// ScoreOptions configure ScoreEnsembles.
type ScoreOptions struct {
	// Combine is the combination method (weighted needs Weights, one per pool member).
	Combine CombineMethod
	Weights []float64
	// Baseline, when set, adds CE, mCE and relative mCE.
	Baseline *corrupt.Result
	// Diversity, when set, computes these diversity options on the clean slice (the
	// members' probabilities, and features when the clean outputs have them).
	Diversity *diversity.Options
	// Dataset and Corruptions fill the results' fields.
	Dataset, Corruptions string
	// Workers scores ensembles in parallel (<= 0: the number of CPUs).
	Workers int
	// Progress, if set, is called with the number of ensembles done and the total.
	Progress func(done, total int)
}

// ScoredEnsemble is one ensemble of a pool with its evaluation and diversity.
type ScoredEnsemble struct {
	// Members are indices into the pool's members.
	Members     []int
	Name        string
	Homogeneous bool
	Result      *corrupt.Result
	Diversity   *diversity.Report
}

// EnsembleName joins the members' names with "+".
func EnsembleName(members []PoolMember) string {
	names := make([]string, len(members))
	for i, m := range members {
		names[i] = m.Name()
	}
	return strings.Join(names, "+")
}

// ScoreEnsembles evaluates every subset of the pool (indices into p.Members) from
// the cached outputs: errors per slice, a Result with the single-model formulas,
// and the diversity of its members. p is checked once; no model is run.
func ScoreEnsembles(p *Pool, subsets [][]int, o ScoreOptions) ([]ScoredEnsemble, error) {
	if err := p.Check(); err != nil {
		return nil, err
	}
	if o.Combine == "" {
		o.Combine = CombineMean
	}
	if _, err := NewCombiner(o.Combine, o.Weights, len(p.Members)); err != nil {
		return nil, err
	}
	if o.Combine == CombineLogits {
		for m := range p.Members {
			for s := range p.Slices {
				if p.Outputs[m][s].Logits == nil {
					return nil, fmt.Errorf("ensemble pool: member %s has no logits on %s", p.Members[m].Name(), p.Slices[s])
				}
			}
		}
	}
	for i, sub := range subsets {
		if len(sub) == 0 {
			return nil, fmt.Errorf("ensemble %d has no members", i)
		}
		for j, m := range sub {
			if m < 0 || m >= len(p.Members) || (j > 0 && m <= sub[j-1]) {
				return nil, fmt.Errorf("ensemble %d: members %v are not increasing indices into the pool of %d", i, sub, len(p.Members))
			}
		}
	}
	var dv *poolDiversity
	if o.Diversity != nil {
		var err error
		if dv, err = p.diversity(*o.Diversity); err != nil {
			return nil, err
		}
	}
	workers := o.Workers
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	out := make([]ScoredEnsemble, len(subsets))
	errs := make([]error, len(subsets))
	var next, done atomic.Int64
	var wg sync.WaitGroup
	for range min(workers, len(subsets)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(subsets) {
					return
				}
				out[i], errs[i] = p.score(subsets[i], o, dv)
				if o.Progress != nil {
					o.Progress(int(done.Add(1)), len(subsets))
				}
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// score evaluates one subset of a checked pool.
func (p *Pool) score(sub []int, o ScoreOptions, dv *poolDiversity) (ScoredEnsemble, error) {
	ms := make([]PoolMember, len(sub))
	var w []float64
	for j, m := range sub {
		ms[j] = p.Members[m]
		if o.Combine == CombineWeighted {
			w = append(w, o.Weights[m])
		}
	}
	name := EnsembleName(ms)
	c, err := NewCombiner(o.Combine, w, len(sub))
	if err != nil {
		return ScoredEnsemble{}, fmt.Errorf("ensemble %s: %w", name, err)
	}
	e := ScoredEnsemble{Members: slices.Clone(sub), Name: name, Homogeneous: Homogeneous(ms)}
	errs := make([]float64, len(p.Slices))
	col := make([]*Outputs, len(sub))
	for s := range p.Slices {
		for j, m := range sub {
			col[j] = p.Outputs[m][s]
		}
		errs[s] = c.ErrorRate(col)
	}
	info := ensembleInfo(ms, o.Dataset, o.Corruptions)
	info.Model = name
	e.Result, _, err = ResultFromSliceErrors(info, p.Slices, errs, o.Baseline)
	if err != nil {
		return e, fmt.Errorf("ensemble %s: %w", name, err)
	}
	if dv != nil && len(sub) >= 2 {
		if e.Diversity, err = dv.ensemble(p, sub); err != nil {
			return e, fmt.Errorf("ensemble %s: diversity: %w", name, err)
		}
	}
	return e, nil
}

// poolDiversity holds what the diversity of every ensemble of a pool needs: the
// prediction metrics' options (computed per ensemble: most are not pairwise) and
// the activation metrics (CKA, pairwise) computed once for the whole pool, whose
// matrices every ensemble takes its pairs from. A pair's CKA does not depend on
// the other members, so this is exact.
type poolDiversity struct {
	pred    diversity.Options
	predAny bool
	cka     *diversity.Report
	ckaKeys []string // pairwise keys with a matrix
}

func isCKA(name string) bool { return strings.HasSuffix(name, "_cka") }

// diversity prepares the per-ensemble diversity of the pool's clean outputs.
func (p *Pool) diversity(o diversity.Options) (*poolDiversity, error) {
	ci := p.clean()
	col := make([]*Outputs, len(p.Members))
	for m := range p.Members {
		col[m] = p.Outputs[m][ci]
	}
	in := DiversityInputs(col)
	dv := &poolDiversity{pred: o}
	var cka []string
	if o.Metrics == nil {
		dv.pred.Metrics = nil
		dv.predAny = true
		if in.Features != nil {
			cka = []string{"linear_cka", "debiased_linear_cka", "rbf_cka"}
		}
	} else {
		dv.pred.Metrics = []string{}
		for _, n := range o.Metrics {
			if isCKA(n) {
				cka = append(cka, n)
			} else {
				dv.pred.Metrics = append(dv.pred.Metrics, n)
			}
		}
		dv.predAny = len(dv.pred.Metrics) > 0
	}
	if len(cka) > 0 {
		if in.Features == nil {
			return nil, fmt.Errorf("ensemble pool: %s needs the members' features on the clean slice", strings.Join(cka, ", "))
		}
		co := o
		co.Metrics = cka
		rep, err := diversity.Compute(in, co)
		if err != nil {
			return nil, fmt.Errorf("ensemble pool: activation diversity: %w", err)
		}
		dv.cka = rep
		for _, k := range rep.Keys() {
			if _, ok := rep.Values[k+"_matrix"]; ok {
				dv.ckaKeys = append(dv.ckaKeys, k)
			}
		}
	}
	// Validate the prediction options once, on the whole pool.
	if dv.predAny {
		in.Features, in.D = nil, 0
		if _, err := diversity.Compute(in, dv.pred); err != nil {
			return nil, fmt.Errorf("ensemble pool: %w", err)
		}
	}
	return dv, nil
}

// ensemble returns the diversity report of one subset of the pool.
func (dv *poolDiversity) ensemble(p *Pool, sub []int) (*diversity.Report, error) {
	ci := p.clean()
	col := make([]*Outputs, len(sub))
	for j, m := range sub {
		col[j] = p.Outputs[m][ci]
	}
	rep := &diversity.Report{Values: map[string]any{}, Reasons: map[string]string{}}
	if dv.predAny {
		in := DiversityInputs(col)
		in.Features, in.D = nil, 0
		r, err := diversity.Compute(in, dv.pred)
		if err != nil {
			return nil, err
		}
		rep = r
	}
	if dv.cka == nil {
		return rep, nil
	}
	for _, k := range dv.ckaKeys {
		full := dv.cka.Values[k+"_matrix"].([][]float64)
		mat := make([][]float64, len(sub))
		var s float64
		for i, a := range sub {
			mat[i] = make([]float64, len(sub))
			for j, b := range sub {
				mat[i][j] = full[a][b]
				if j > i {
					s += full[a][b]
				}
			}
			mat[i][i] = math.NaN()
		}
		rep.Values[k] = s / float64(len(sub)*(len(sub)-1)/2)
		rep.Values[k+"_matrix"] = mat
		if r, ok := dv.cka.Reasons[k]; ok {
			rep.Reasons[k] = r
		}
	}
	for _, k := range dv.cka.Keys() {
		if _, done := rep.Values[k]; !done {
			if v, ok := dv.cka.Values[k].(float64); ok {
				rep.Values[k] = v // settings such as the RBF threshold
			}
		}
	}
	return rep, nil
}

// ensembleInfo describes an ensemble of members in a Result: arch "ensemble", the
// members' common style, the sum of their parameters.
func ensembleInfo(ms []PoolMember, dataset, source string) ResultInfo {
	info := ResultInfo{Model: EnsembleName(ms), Arch: "ensemble", Style: ms[0].Meta.Style, Dataset: dataset, Corruptions: source}
	if info.Dataset == "" {
		info.Dataset = datasetName(ms[0].Meta.Dataset)
	}
	for _, m := range ms {
		info.Params += m.Meta.Params
		if m.Meta.Style != info.Style {
			info.Style = "mixed"
		}
	}
	return info
}

// EnsembleInfo is the ResultInfo of an ensemble of ms (see ScoreEnsembles).
func EnsembleInfo(ms []PoolMember, dataset, source string) ResultInfo {
	return ensembleInfo(ms, dataset, source)
}

// DiversityInputs stacks members' outputs on one slice into diversity.Inputs:
// probabilities (M, N, C), labels and, when every member has features, features
// (M, N, D) with D the widest member's width. Narrower members' features are padded
// with zero columns, which leaves every CKA unchanged: it sees features only
// through inner products and distances between samples.
func DiversityInputs(outs []*Outputs) diversity.Inputs {
	a := outs[0]
	in := diversity.Inputs{M: len(outs), N: a.N, C: a.Classes, Labels: a.Labels,
		Probs: make([]float32, 0, len(outs)*a.N*a.Classes)}
	feat := true
	for _, o := range outs {
		in.Probs = append(in.Probs, o.Probs...)
		feat = feat && o.Features != nil && o.D > 0
		in.D = max(in.D, o.D)
	}
	if !feat {
		in.D = 0
		return in
	}
	in.Features = make([]float32, len(outs)*a.N*in.D)
	for m, o := range outs {
		if o.D == in.D {
			copy(in.Features[m*a.N*in.D:], o.Features)
			continue
		}
		for i := range a.N {
			copy(in.Features[(m*a.N+i)*in.D:], o.Features[i*o.D:(i+1)*o.D])
		}
	}
	return in
}

// TableMetrics returns the targets of the ensembles table (diversity.ReadEnsembles)
// for one result: accuracy (1 − clean error), corruption_accuracy, mce and
// relative_mce (when computed), accuracy/<corruption> (over its evaluated
// severities), accuracy/<corruption>/<severity> and accuracy/severity/<severity>
// (over the evaluated corruptions). Undefined values are NaN.
func TableMetrics(r *corrupt.Result) map[string]float64 {
	m := map[string]float64{"accuracy": 1 - r.CleanError, "mce": math.NaN(), "relative_mce": math.NaN()}
	if len(r.Errors) > 0 {
		m["corruption_accuracy"] = r.CorruptionAccuracy
	}
	if r.MCE != nil {
		m["mce"] = *r.MCE
	}
	if r.RelativeMCE != nil {
		m["relative_mce"] = *r.RelativeMCE
	}
	var sevSum [corrupt.NumSeverities]float64
	var sevN [corrupt.NumSeverities]int
	for c, row := range r.Errors {
		var s float64
		n := 0
		for i, e := range row {
			if e < 0 {
				continue
			}
			m["accuracy/"+c+"/"+strconv.Itoa(i+1)] = 1 - e
			s += e
			n++
			sevSum[i] += e
			sevN[i]++
		}
		if n > 0 {
			m["accuracy/"+c] = 1 - s/float64(n)
		}
	}
	for i := range sevSum {
		if sevN[i] > 0 {
			m["accuracy/severity/"+strconv.Itoa(i+1)] = 1 - sevSum[i]/float64(sevN[i])
		}
	}
	return m
}
