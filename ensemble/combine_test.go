package ensemble

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/divres/divres/corrupt"
)

// synthOutputs returns a member's outputs on n samples of k classes: the class pred[i]
// gets probability conf, the others share the rest; logits are log-probabilities.
func synthOutputs(labels []int64, pred []int, k int, conf float64) *Outputs {
	n := len(labels)
	o := &Outputs{N: n, Classes: k, Labels: labels, Probs: make([]float32, n*k), Logits: make([]float32, n*k)}
	for i := range n {
		for j := range k {
			p := (1 - conf) / float64(k-1)
			if j == pred[i] {
				p = conf
			}
			o.Probs[i*k+j] = float32(p)
			o.Logits[i*k+j] = float32(math.Log(p))
		}
	}
	return o
}

// randomOutputs draws a member's softmax outputs from random logits.
func randomOutputs(rng *rand.Rand, labels []int64, k int, d int) *Outputs {
	n := len(labels)
	o := &Outputs{N: n, Classes: k, Labels: labels, Probs: make([]float32, n*k), Logits: make([]float32, n*k)}
	for i := range n {
		var s float64
		row := make([]float64, k)
		for j := range row {
			row[j] = 2 * rng.NormFloat64()
			if int64(j) == labels[i] {
				row[j] += 1.5
			}
			o.Logits[i*k+j] = float32(row[j])
			row[j] = math.Exp(row[j])
			s += row[j]
		}
		for j := range row {
			o.Probs[i*k+j] = float32(row[j] / s)
		}
	}
	if d > 0 {
		o.D, o.Features = d, make([]float32, n*d)
		for i := range o.Features {
			o.Features[i] = float32(rng.NormFloat64())
		}
	}
	return o
}

func seqLabels(n, k int) []int64 {
	l := make([]int64, n)
	for i := range l {
		l[i] = int64(i % k)
	}
	return l
}

// TestIdenticalMembers: an ensemble of copies of one member predicts what the member
// predicts, with every combination, on every sample.
func TestIdenticalMembers(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	labels := seqLabels(200, 7)
	m := randomOutputs(rng, labels, 7, 0)
	own := make([]int, m.N)
	wrong := 0
	for i := range own {
		own[i] = argmax32(m.Probs[i*7 : (i+1)*7])
		if int64(own[i]) != labels[i] {
			wrong++
		}
	}
	if wrong == 0 || wrong == m.N {
		t.Fatalf("degenerate member: %d wrong", wrong)
	}
	for _, method := range []CombineMethod{CombineMean, CombineLogits, CombineWeighted, CombineVote} {
		var w []float64
		if method == CombineWeighted {
			w = []float64{1, 3, 0.5}
		}
		c, err := NewCombiner(method, w, 3)
		if err != nil {
			t.Fatal(err)
		}
		outs := []*Outputs{m, m, m}
		pred, probs, err := c.Combine(outs)
		if err != nil {
			t.Fatal(err)
		}
		for i := range pred {
			if pred[i] != own[i] {
				t.Fatalf("%s: sample %d predicted %d, the member %d", method, i, pred[i], own[i])
			}
		}
		for i, p := range probs {
			if math.Abs(float64(p-m.Probs[i])) > 1e-5 {
				t.Fatalf("%s: combined probability %d is %v, the member's %v", method, i, p, m.Probs[i])
			}
		}
		if e := c.ErrorRate(outs); e != float64(wrong)/float64(m.N) {
			t.Errorf("%s: error %v, the member's %v", method, e, float64(wrong)/float64(m.N))
		}
	}
}

// TestDisjointErrors: three members that each err (confidently) on their own third of
// the samples are each 2/3 accurate, and the majority vote is always right (at most
// one member errs on any sample); two members erring on disjoint halves tie on every
// sample, and the tie goes to the more confident member.
func TestDisjointErrors(t *testing.T) {
	const n, k = 60, 4
	labels := seqLabels(n, k)
	var outs []*Outputs
	for m := range 3 {
		pred := make([]int, n)
		for i := range pred {
			pred[i] = int(labels[i])
			if i%3 == m {
				pred[i] = (int(labels[i]) + 1 + m) % k
			}
		}
		outs = append(outs, synthOutputs(labels, pred, k, 0.9))
	}
	vote, _ := NewCombiner(CombineVote, nil, 3)
	if err := CheckOutputs(outs); err != nil {
		t.Fatal(err)
	}
	for m := range outs {
		if e := vote.ErrorRate(outs[m : m+1]); math.Abs(e-1.0/3) > 1e-12 {
			t.Errorf("member %d error %v, want 1/3", m, e)
		}
	}
	if e := vote.ErrorRate(outs); e != 0 {
		t.Errorf("vote error %v, want 0 (at most one member errs on any sample)", e)
	}
	// Two members erring on disjoint halves: every sample has one right and one
	// wrong vote, so the mean probability decides: member a (0.9) outweighs
	// member b (0.6) whether a is right or wrong.
	pa, pb := make([]int, n), make([]int, n)
	for i := range n {
		pa[i], pb[i] = int(labels[i]), int(labels[i])
		w := (int(labels[i]) + 1) % k
		if i%2 == 0 {
			pa[i] = w
		} else {
			pb[i] = w
		}
	}
	two := []*Outputs{synthOutputs(labels, pa, k, 0.9), synthOutputs(labels, pb, k, 0.6)}
	pred, _, err := vote.Combine(two)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		want := pa[i] // member a is more confident: its class wins the tie
		if pred[i] != want {
			t.Fatalf("sample %d: vote %d, want the more confident member's %d", i, pred[i], want)
		}
	}
}

// TestBadOutputs: mismatched classes, sample counts and NaN probabilities give one
// clear line each.
func TestBadOutputs(t *testing.T) {
	labels := seqLabels(10, 5)
	pred := make([]int, 10)
	good := synthOutputs(labels, pred, 5, 0.8)
	other := synthOutputs(seqLabels(10, 4), pred, 4, 0.8)
	short := synthOutputs(labels[:8], pred[:8], 5, 0.8)
	nan := synthOutputs(labels, pred, 5, 0.8)
	nan.Probs[13] = float32(math.NaN())
	for _, c := range []struct {
		outs []*Outputs
		want string
	}{
		{[]*Outputs{good, other}, "different class counts"},
		{[]*Outputs{good, short}, "different sample counts"},
		{[]*Outputs{good, nan}, "member 1 sample 2: probability NaN"},
	} {
		err := CheckOutputs(c.outs)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("got %v, want one line with %q", err, c.want)
		}
	}
	if _, err := NewCombiner(CombineWeighted, []float64{1, math.NaN()}, 2); err == nil {
		t.Error("NaN weight accepted")
	}
	if _, err := NewCombiner(CombineWeighted, []float64{1}, 2); err == nil {
		t.Error("1 weight for 2 members accepted")
	}
	if _, err := ParseCombine("median"); err == nil {
		t.Error("unknown combination accepted")
	}
}

// TestLogitsCombination: the mean-of-logits combination is the softmax of the mean
// logits, computed here by hand for one sample.
func TestLogitsCombination(t *testing.T) {
	a := &Outputs{N: 1, Classes: 3, Labels: []int64{0}, Logits: []float32{2, 0, -1}}
	b := &Outputs{N: 1, Classes: 3, Labels: []int64{0}, Logits: []float32{-2, 1, 0}}
	for _, o := range []*Outputs{a, b} {
		var s float64
		for _, v := range o.Logits {
			s += math.Exp(float64(v))
		}
		for _, v := range o.Logits {
			o.Probs = append(o.Probs, float32(math.Exp(float64(v))/s))
		}
	}
	c, _ := NewCombiner(CombineLogits, nil, 2)
	pred, probs, err := c.Combine([]*Outputs{a, b})
	if err != nil {
		t.Fatal(err)
	}
	m := []float64{0, 0.5, -0.5}
	s := math.Exp(m[0]) + math.Exp(m[1]) + math.Exp(m[2])
	for j := range m {
		if want := math.Exp(m[j]) / s; math.Abs(float64(probs[j])-want) > 1e-6 {
			t.Errorf("class %d: %v, want %v", j, probs[j], want)
		}
	}
	if pred[0] != 1 {
		t.Errorf("predicted %d, want 1", pred[0])
	}
}

// TestResultFromSliceErrors: the ensemble result from slice errors has the
// single-model formulas: against itself as the baseline CE and mCE are 1, and
// against a baseline with twice the errors mCE is 1/2.
func TestResultFromSliceErrors(t *testing.T) {
	var ss []Slice
	var errs []float64
	ss, errs = append(ss, CleanSlice), append(errs, 0.1)
	for ci, c := range corrupt.BenchmarkNames() {
		for s := 1; s <= 5; s++ {
			ss, errs = append(ss, Slice{c, s}), append(errs, 0.1+0.02*float64(s)+0.01*float64(ci%3))
		}
	}
	r, warn, err := ResultFromSliceErrors(ResultInfo{Model: "a+b"}, ss, errs, nil)
	if err != nil || warn != nil {
		t.Fatal(err, warn)
	}
	r2, warn, err := ResultFromSliceErrors(ResultInfo{Model: "a+b"}, ss, errs, r)
	if err != nil || warn != nil {
		t.Fatal(err, warn)
	}
	if r2.MCE == nil || math.Abs(*r2.MCE-1) > 1e-12 || r2.RelativeMCE == nil || math.Abs(*r2.RelativeMCE-1) > 1e-12 {
		t.Fatalf("against itself: mCE %v relative %v", r2.MCE, r2.RelativeMCE)
	}
	double := make([]float64, len(errs))
	for i, e := range errs {
		double[i] = 2 * e
	}
	base, _, err := ResultFromSliceErrors(ResultInfo{Model: "base"}, ss, double, nil)
	if err != nil {
		t.Fatal(err)
	}
	r3, _, err := ResultFromSliceErrors(ResultInfo{Model: "a+b"}, ss, errs, base)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(*r3.MCE-0.5) > 1e-12 || math.Abs(*r3.RelativeMCE-0.5) > 1e-12 {
		t.Errorf("against twice the errors: mCE %v relative %v, want 0.5", *r3.MCE, *r3.RelativeMCE)
	}
	var mean float64
	for _, e := range errs[1:] {
		mean += e
	}
	if want := 1 - mean/75; math.Abs(r.CorruptionAccuracy-want) > 1e-12 {
		t.Errorf("corruption accuracy %v, want %v", r.CorruptionAccuracy, want)
	}
	if _, _, err := ResultFromSliceErrors(ResultInfo{}, ss[1:], errs[1:], nil); err == nil {
		t.Error("no clean slice accepted")
	}
	bad := append([]float64(nil), errs...)
	bad[3] = math.NaN()
	if _, _, err := ResultFromSliceErrors(ResultInfo{}, ss, bad, nil); err == nil || !strings.Contains(err.Error(), "gaussian_noise/3") {
		t.Errorf("NaN error: %v", err)
	}
}
