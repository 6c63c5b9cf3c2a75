package diversity

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Inputs are the arrays that the metrics are computed from.
type Inputs struct {
	M, N, C      int
	Probs        []float32 // M*N*C row-major softmax outputs
	Labels       []int64   // N
	D            int
	Features     []float32 // M*N*D, optional
	AttrSize     int
	Attributions []float32 // M*N*AttrSize, optional
}

// Options choose the metrics and their settings.
type Options struct {
	// Metrics lists metric names (as in Names); nil means every metric that the
	// inputs allow. A pairwise metric's matrix comes with it.
	Metrics []string
	// RBFThresholds are the RBF CKA bandwidth thresholds (nil: 0.5 and 1).
	RBFThresholds []float64
	// AttributionSimilarity is "cosine" (default) or "spearman".
	AttributionSimilarity string
	// CKABatch is the row batch of the linear CKA accumulation (<= 0: 2048).
	CKABatch int
	// RBFBatch bounds the samples of one RBF Gram matrix: with more samples RBF CKA is
	// the mean over consecutive minibatches of this size (<= 0: 1000).
	RBFBatch int
	// ProbTolerance is the allowed |Σ_c p - 1| per row (<= 0: 1e-3).
	ProbTolerance float64
}

// Prediction metric names (need Probs and Labels).
var predictionNames = []string{"disagreement", "q_statistic", "correlation_rho", "double_fault",
	"agreement", "ratio_errors", "entropy_e", "kohavi_wolpert", "kappa", "difficulty_theta",
	"generalized_diversity", "coincident_failure_diversity", "kl_divergence", "js_divergence",
	"label_disagreement", "failure_independence"}

// Names returns every metric name that Options.Metrics accepts.
func Names() []string {
	return append(append([]string(nil), predictionNames...),
		"linear_cka", "debiased_linear_cka", "rbf_cka", "attribution_cosine", "attribution_spearman")
}

// Report holds the computed values by key (numbers, NaN for undefined, matrices as
// [][]float64, lists) and the reason for each undefined value. It marshals to one JSON
// object with one key per value, NaN as null, and "reasons".
type Report struct {
	Values  map[string]any
	Reasons map[string]string
}

// Float returns a scalar value by key (false when absent or not a scalar).
func (r *Report) Float(key string) (float64, bool) {
	v, ok := r.Values[key].(float64)
	return v, ok
}

// Keys returns the value keys in sorted order.
func (r *Report) Keys() []string {
	ks := make([]string, 0, len(r.Values))
	for k := range r.Values {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// MarshalJSON writes the values (NaN and ±Inf as null) and the reasons.
func (r *Report) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range r.Keys() {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteByte(':')
		writeJSON(&b, r.Values[k])
	}
	if len(r.Values) > 0 {
		b.WriteByte(',')
	}
	rb, err := json.Marshal(r.Reasons)
	if err != nil {
		return nil, err
	}
	if r.Reasons == nil {
		rb = []byte("{}")
	}
	b.WriteString(`"reasons":`)
	b.Write(rb)
	b.WriteByte('}')
	return b.Bytes(), nil
}

func writeJSON(b *bytes.Buffer, v any) {
	switch x := v.(type) {
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			b.WriteString("null")
			return
		}
		b.WriteString(strconv.FormatFloat(x, 'g', -1, 64))
	case []float64:
		b.WriteByte('[')
		for i, y := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSON(b, y)
		}
		b.WriteByte(']')
	case [][]float64:
		b.WriteByte('[')
		for i, y := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSON(b, y)
		}
		b.WriteByte(']')
	default:
		j, _ := json.Marshal(x)
		b.Write(j)
	}
}

// Validate checks the shapes and values of in: lengths against M, N, C, D, AttrSize,
// finite probabilities in [0, 1] whose rows sum to 1 within tol, labels in [0, C).
func Validate(in Inputs, tol float64) error {
	if tol <= 0 {
		tol = 1e-3
	}
	if in.M < 1 || in.N < 1 || in.C < 1 {
		return fmt.Errorf("need at least 1 member, 1 sample and 1 class, have M=%d N=%d C=%d", in.M, in.N, in.C)
	}
	if len(in.Probs) != in.M*in.N*in.C {
		return fmt.Errorf("probabilities have %d values, want M*N*C = %d*%d*%d", len(in.Probs), in.M, in.N, in.C)
	}
	if len(in.Labels) != in.N {
		return fmt.Errorf("labels have %d values, want N = %d (the probabilities' second axis)", len(in.Labels), in.N)
	}
	for j, l := range in.Labels {
		if l < 0 || l >= int64(in.C) {
			return fmt.Errorf("label %d of sample %d is outside [0, %d)", l, j, in.C)
		}
	}
	for r := 0; r < in.M*in.N; r++ {
		var s float64
		for _, p := range in.Probs[r*in.C : (r+1)*in.C] {
			if p != p || p < 0 || p > 1 {
				return fmt.Errorf("probability %v of member %d sample %d is not in [0, 1]", p, r/in.N, r%in.N)
			}
			s += float64(p)
		}
		if math.Abs(s-1) > tol {
			return fmt.Errorf("probabilities of member %d sample %d sum to %.6g, not 1 (tolerance %g): pass softmax outputs, not logits", r/in.N, r%in.N, s, tol)
		}
	}
	if in.Features != nil {
		if in.D < 1 || len(in.Features) != in.M*in.N*in.D {
			return fmt.Errorf("features have %d values, want M*N*D = %d*%d*%d", len(in.Features), in.M, in.N, in.D)
		}
		for i, v := range in.Features {
			if d := v - v; d != d { // NaN or ±Inf
				return fmt.Errorf("feature %d is %v", i, v)
			}
		}
	}
	if in.Attributions != nil {
		if in.AttrSize < 1 || len(in.Attributions) != in.M*in.N*in.AttrSize {
			return fmt.Errorf("attributions have %d values, want M*N*size = %d*%d*%d", len(in.Attributions), in.M, in.N, in.AttrSize)
		}
		for i, v := range in.Attributions {
			if d := v - v; d != d { // NaN or ±Inf
				return fmt.Errorf("attribution value %d is %v", i, v)
			}
		}
	}
	return nil
}

// Compute validates in and computes the chosen metrics.
func Compute(in Inputs, o Options) (*Report, error) {
	want := map[string]bool{}
	known := map[string]bool{}
	for _, n := range Names() {
		known[n] = true
	}
	if o.Metrics == nil {
		for _, n := range predictionNames {
			want[n] = true
		}
		if in.Features != nil {
			want["linear_cka"], want["debiased_linear_cka"], want["rbf_cka"] = true, true, true
		}
		if in.Attributions != nil {
			if o.AttributionSimilarity == "spearman" {
				want["attribution_spearman"] = true
			} else {
				want["attribution_cosine"] = true
			}
		}
	}
	for _, n := range o.Metrics {
		n = strings.TrimSpace(n)
		if !known[n] {
			return nil, fmt.Errorf("unknown metric %q (known: %s)", n, strings.Join(Names(), ", "))
		}
		if (strings.HasSuffix(n, "cka")) && in.Features == nil {
			return nil, fmt.Errorf("metric %s needs features", n)
		}
		if strings.HasPrefix(n, "attribution_") && in.Attributions == nil {
			return nil, fmt.Errorf("metric %s needs attributions", n)
		}
		want[n] = true
	}
	// Arrays that no chosen metric reads are checked for shape only.
	chk := in
	if !want["linear_cka"] && !want["debiased_linear_cka"] && !want["rbf_cka"] && in.Features != nil {
		chk.Features = nil
		if in.D < 1 || len(in.Features) != in.M*in.N*in.D {
			return nil, fmt.Errorf("features have %d values, want M*N*D = %d*%d*%d", len(in.Features), in.M, in.N, in.D)
		}
	}
	if !want["attribution_cosine"] && !want["attribution_spearman"] {
		chk.Attributions = nil
	}
	if err := Validate(chk, o.ProbTolerance); err != nil {
		return nil, err
	}
	r := &Report{Values: map[string]any{}, Reasons: map[string]string{}}
	m, n, c := in.M, in.N, in.C
	preds, oracle := Oracle(in.Probs, in.Labels, m, n, c)
	counts := make([][]Counts, m)
	for i := range counts {
		counts[i] = make([]Counts, m)
		for k := i + 1; k < m; k++ {
			counts[i][k] = PairCounts(oracle[i*n:(i+1)*n], oracle[k*n:(k+1)*n])
		}
	}
	pairwise := func(name string, f func(i, k int) float64) {
		if !want[name] {
			return
		}
		mat := square(m)
		var s float64
		var bad []string
		for i := 0; i < m; i++ {
			mat[i][i] = math.NaN()
			for k := i + 1; k < m; k++ {
				v := f(i, k)
				mat[i][k], mat[k][i] = v, v
				s += v
				if math.IsNaN(v) {
					bad = append(bad, fmt.Sprintf("(%d,%d)", i, k))
				}
			}
		}
		if m < 2 {
			s = math.NaN()
			r.Reasons[name] = "needs at least 2 members"
		} else {
			s /= float64(m * (m - 1) / 2)
			if len(bad) > 0 {
				r.Reasons[name] = "zero denominator for pair " + strings.Join(bad, ", ")
			}
		}
		r.Values[name] = s
		r.Values[name+"_matrix"] = mat
	}
	pairwise("disagreement", func(i, k int) float64 { return counts[i][k].Disagreement() })
	pairwise("q_statistic", func(i, k int) float64 { return counts[i][k].Q() })
	pairwise("correlation_rho", func(i, k int) float64 { return counts[i][k].Rho() })
	pairwise("double_fault", func(i, k int) float64 { return counts[i][k].DoubleFault() })
	pairwise("agreement", func(i, k int) float64 { return 1 - counts[i][k].Disagreement() })
	pairwise("ratio_errors", func(i, k int) float64 { return counts[i][k].RatioErrors() })
	pairwise("label_disagreement", func(i, k int) float64 {
		return LabelDisagreement(preds[i*n:(i+1)*n], preds[k*n:(k+1)*n])
	})
	pr := func(i int) []float32 { return in.Probs[i*n*c : (i+1)*n*c] }
	var plogp []float64 // Σ_c p log p per member, shared by KL and JS
	var logp [][]float64
	if want["kl_divergence"] || want["js_divergence"] {
		plogp = make([]float64, m)
		for i := 0; i < m; i++ {
			plogp[i] = sumPLogP(pr(i))
		}
	}
	if want["js_divergence"] {
		js := parallelPairs(m, func(i, k int) float64 { return jsFast(pr(i), pr(k), plogp[i], plogp[k], n) })
		pairwise("js_divergence", func(i, k int) float64 { return js[i][k] })
	}
	if want["kl_divergence"] {
		logp = make([][]float64, m)
		for i := 0; i < m; i++ {
			logp[i] = logs(pr(i))
		}
		mat := square(m)
		var s float64
		for i := 0; i < m; i++ {
			mat[i][i] = math.NaN()
			for k := 0; k < m; k++ {
				if k != i {
					mat[i][k] = klFast(pr(i), logp[k], plogp[i], n)
					s += mat[i][k]
				}
			}
		}
		if m < 2 {
			s = math.NaN()
			r.Reasons["kl_divergence"] = "needs at least 2 members"
		} else {
			s /= float64(m * (m - 1))
			if math.IsInf(s, 1) {
				r.Reasons["kl_divergence"] = "a member gives probability 0 where another gives more (KL is infinite)"
			}
		}
		r.Values["kl_divergence"] = s
		r.Values["kl_divergence_matrix"] = mat // row i, column k: KL(p_i || p_k)
	}
	np := NonPairwiseMeasures(oracle, m, n)
	for k, v := range np.Reasons {
		if want[k] {
			r.Reasons[k] = v
		}
	}
	set := func(name string, v float64) {
		if want[name] {
			r.Values[name] = v
		}
	}
	set("entropy_e", np.EntropyE)
	set("kohavi_wolpert", np.KohaviWolpert)
	set("kappa", np.Kappa)
	set("difficulty_theta", np.DifficultyTheta)
	set("generalized_diversity", np.GeneralizedDiversity)
	set("coincident_failure_diversity", np.CoincidentFailure)
	if len(want) > 0 {
		r.Values["failure_distribution"] = np.FailureDistribution
		r.Values["mean_accuracy"] = np.MeanAccuracy
		acc := make([]float64, m)
		for i := 0; i < m; i++ {
			for _, v := range oracle[i*n : (i+1)*n] {
				acc[i] += float64(v)
			}
			acc[i] /= float64(n)
		}
		r.Values["member_accuracy"] = acc
	}
	if want["failure_independence"] {
		failureIndependence(r, oracle, counts, m, n)
	}
	if in.Features != nil && (want["linear_cka"] || want["debiased_linear_cka"]) {
		f, err := linearCKAsTorch(in.Features, m, n, in.D, o.CKABatch, linearSingle(m, n, in.D))
		if err != nil {
			return nil, err
		}
		if want["linear_cka"] {
			pairwiseMatrix(r, "linear_cka", f.Linear, "")
		}
		if want["debiased_linear_cka"] {
			reason := ""
			if n < 4 {
				reason = fmt.Sprintf("debiased CKA needs at least 4 samples, have %d", n)
			}
			pairwiseMatrix(r, "debiased_linear_cka", f.Debiased, reason)
		}
	}
	if in.Features != nil && want["rbf_cka"] {
		if err := rbf(r, in, o); err != nil {
			return nil, err
		}
	}
	for _, meth := range []string{"cosine", "spearman"} {
		name := "attribution_" + meth
		if !want[name] {
			continue
		}
		sim, skipped := AttributionSimilarity(in.Attributions, m, n, in.AttrSize, meth)
		reason := ""
		if skipped > 0 {
			reason = fmt.Sprintf("%d (pair, sample) maps left out: a constant map has no %s similarity", skipped, meth)
		}
		pairwiseMatrix(r, name, sim, reason)
		if v, ok := r.Float(name); ok {
			r.Values[name+"_diversity"] = 1 - v
		}
	}
	return r, nil
}

// pairwiseMatrix stores the mean over unordered pairs and the matrix (null diagonal).
func pairwiseMatrix(r *Report, name string, mat [][]float64, reason string) {
	m := len(mat)
	out := square(m)
	var s float64
	for i := 0; i < m; i++ {
		for k := 0; k < m; k++ {
			out[i][k] = mat[i][k]
			if k > i {
				s += mat[i][k]
			}
		}
		out[i][i] = math.NaN()
	}
	if m < 2 {
		s = math.NaN()
		reason = "needs at least 2 members"
	} else {
		s /= float64(m * (m - 1) / 2)
	}
	if math.IsNaN(s) && reason == "" {
		reason = "undefined for at least one pair (a constant representation)"
	}
	if reason != "" {
		r.Reasons[name] = reason
	}
	r.Values[name] = s
	r.Values[name+"_matrix"] = out
}

// failureIndependence compares joint failures with what independent members predict.
func failureIndependence(r *Report, oracle []uint8, counts [][]Counts, m, n int) {
	errRate := make([]float64, m)
	for i := 0; i < m; i++ {
		for _, v := range oracle[i*n : (i+1)*n] {
			errRate[i] += float64(1 - v)
		}
		errRate[i] /= float64(n)
	}
	joint, expect := square(m), square(m)
	var sj, se float64
	for i := 0; i < m; i++ {
		joint[i][i], expect[i][i] = math.NaN(), math.NaN()
		for k := i + 1; k < m; k++ {
			j := counts[i][k].DoubleFault()
			e := errRate[i] * errRate[k]
			joint[i][k], joint[k][i] = j, j
			expect[i][k], expect[k][i] = e, e
			sj += j
			se += e
		}
	}
	np := float64(m * (m - 1) / 2)
	if m < 2 {
		sj, se = math.NaN(), math.NaN()
		r.Reasons["failure_both"] = "needs at least 2 members"
	} else {
		sj /= np
		se /= np
	}
	r.Values["failure_both"] = sj
	r.Values["failure_both_matrix"] = joint
	r.Values["failure_both_independent"] = se
	r.Values["failure_both_independent_matrix"] = expect
	ratio := sj / se
	if se == 0 {
		ratio = math.NaN()
		r.Reasons["failure_both_ratio"] = "independence predicts no joint failure (a member never fails)"
	}
	r.Values["failure_both_ratio"] = ratio
	all := 0
	for j := 0; j < n; j++ {
		f := true
		for i := 0; i < m; i++ {
			if oracle[i*n+j] == 1 {
				f = false
				break
			}
		}
		if f {
			all++
		}
	}
	pe := 1.0
	for _, e := range errRate {
		pe *= e
	}
	r.Values["all_fail"] = float64(all) / float64(n)
	r.Values["all_fail_independent"] = pe
	ar := float64(all) / float64(n) / pe
	if pe == 0 {
		ar = math.NaN()
		r.Reasons["all_fail_ratio"] = "independence predicts no sample on which all fail"
	}
	r.Values["all_fail_ratio"] = ar
}

// rbf computes RBF CKA per threshold, over minibatches when N exceeds RBFBatch: per
// batch each member's Gram matrix once for all thresholds, by libtorch (float32
// products of the centred features from rbfFloat32Work on, within 1e-6 relative of
// float64), see rbfCKAs.
func rbf(r *Report, in Inputs, o Options) error {
	ts := o.RBFThresholds
	if ts == nil {
		ts = []float64{0.5, 1}
	}
	bs := o.RBFBatch
	if bs <= 0 {
		bs = 1000
	}
	m, n, d := in.M, in.N, in.D
	single := float64(m)*float64(n)*float64(min(bs, n))*float64(d) >= rbfFloat32Work
	sums, nb, err := rbfCKAs(in.Features, m, n, d, ts, bs, single)
	if err != nil {
		return err
	}
	reason := ""
	if nb > 1 {
		r.Values["rbf_cka_batches"] = float64(nb)
	}
	for t, th := range ts {
		name := "rbf_cka_" + strconv.FormatFloat(th, 'g', -1, 64)
		pairwiseMatrix(r, name, sums[t], reason)
		if t == 0 {
			pairwiseMatrix(r, "rbf_cka", sums[t], reason)
			r.Values["rbf_cka_threshold"] = th
		}
	}
	return nil
}

// sumPLogP is Σ p log p over p > 0.
func sumPLogP(p []float32) float64 {
	var s float64
	for _, v := range p {
		if v > 0 {
			s += float64(v) * math.Log(float64(v))
		}
	}
	return s
}

// logs returns log p elementwise (-Inf for 0).
func logs(p []float32) []float64 {
	l := make([]float64, len(p))
	for i, v := range p {
		l[i] = math.Log(float64(v))
	}
	return l
}

// klFast is KL over n rows from Σ p log p and log q: (Σ p log p - Σ p log q)/n,
// skipping p = 0 (q = 0 with p > 0 gives +Inf, as KL does).
func klFast(p []float32, logq []float64, plogp float64, n int) float64 {
	var cross float64
	for i, v := range p {
		if v > 0 {
			cross += float64(v) * logq[i]
		}
	}
	return (plogp - cross) / float64(n)
}

// jsFast is JS over n rows with one logarithm per element:
// ½[Σ a log a + Σ b log b - Σ (a+b) log((a+b)/2)]/n.
func jsFast(p, q []float32, plogp, qlogq float64, n int) float64 {
	var s float64
	for i := range p {
		ab := float64(p[i]) + float64(q[i])
		if ab > 0 {
			s += ab * math.Log(ab/2)
		}
	}
	return (plogp + qlogq - s) / 2 / float64(n)
}

// parallelPairs evaluates f for every unordered pair i < k on GOMAXPROCS goroutines.
func parallelPairs(m int, f func(i, k int) float64) [][]float64 {
	out := square(m)
	type pair struct{ i, k int }
	ch := make(chan pair)
	var wg sync.WaitGroup
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range ch {
				out[p.i][p.k] = f(p.i, p.k)
			}
		}()
	}
	for i := 0; i < m; i++ {
		for k := i + 1; k < m; k++ {
			ch <- pair{i, k}
		}
	}
	close(ch)
	wg.Wait()
	return out
}
