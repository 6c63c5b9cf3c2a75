package ensemble

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/divres/divres/corrupt"
)

// CombineMethod is how an ensemble turns its members' outputs into one prediction.
type CombineMethod string

// The combination methods.
const (
	// CombineMean averages the members' softmax probabilities (the default).
	CombineMean CombineMethod = "mean"
	// CombineLogits averages the members' logits and takes their softmax.
	CombineLogits CombineMethod = "logits"
	// CombineWeighted averages the probabilities with per-member weights.
	CombineWeighted CombineMethod = "weighted"
	// CombineVote takes the class most members predict; a tie goes to the tied class
	// with the highest mean probability.
	CombineVote CombineMethod = "vote"
)

// ParseCombine parses a combination method name ("" is mean).
func ParseCombine(s string) (CombineMethod, error) {
	switch m := CombineMethod(strings.ToLower(strings.TrimSpace(s))); m {
	case "":
		return CombineMean, nil
	case CombineMean, CombineLogits, CombineWeighted, CombineVote:
		return m, nil
	}
	return "", fmt.Errorf("combination %q: want mean, logits, weighted or vote", s)
}

// CheckOutputs checks that outs (one per member, all on the same slice) fit
// together: the same samples, labels and classes, finite probabilities (and logits
// when present) whose rows sum to 1.
func CheckOutputs(outs []*Outputs) error {
	if len(outs) == 0 {
		return errors.New("ensemble: no members")
	}
	a := outs[0]
	for m, o := range outs {
		if o == nil {
			return fmt.Errorf("ensemble: member %d has no outputs", m)
		}
		if o.N < 1 || o.Classes < 1 {
			return fmt.Errorf("ensemble: member %d has %d samples and %d classes", m, o.N, o.Classes)
		}
		if o.Classes != a.Classes {
			return fmt.Errorf("ensemble: members have different class counts: member 0 has %d, member %d has %d", a.Classes, m, o.Classes)
		}
		if o.N != a.N {
			return fmt.Errorf("ensemble: members have outputs for different sample counts: member 0 has %d, member %d has %d", a.N, m, o.N)
		}
		if len(o.Probs) != o.N*o.Classes {
			return fmt.Errorf("ensemble: member %d has %d probabilities, want N×C = %d×%d", m, len(o.Probs), o.N, o.Classes)
		}
		if o.Logits != nil && len(o.Logits) != o.N*o.Classes {
			return fmt.Errorf("ensemble: member %d has %d logits, want N×C = %d×%d", m, len(o.Logits), o.N, o.Classes)
		}
		if len(o.Labels) != o.N {
			return fmt.Errorf("ensemble: member %d has %d labels for %d samples", m, len(o.Labels), o.N)
		}
		if m > 0 && !slices.Equal(o.Labels, a.Labels) {
			return fmt.Errorf("ensemble: member %d has other labels than member 0 (outputs of different inputs?)", m)
		}
		for i := range o.N {
			var s float64
			for _, p := range o.Probs[i*o.Classes : (i+1)*o.Classes] {
				if !(p >= 0 && p <= 1) {
					return fmt.Errorf("ensemble: member %d sample %d: probability %v is not in [0, 1]", m, i, p)
				}
				s += float64(p)
			}
			if math.Abs(s-1) > 1e-3 {
				return fmt.Errorf("ensemble: member %d sample %d: probabilities sum to %.6g, not 1", m, i, s)
			}
			if l := o.Labels[i]; l < 0 || l >= int64(o.Classes) {
				return fmt.Errorf("ensemble: sample %d: label %d outside [0, %d)", i, l, o.Classes)
			}
		}
		for i, v := range o.Logits {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("ensemble: member %d sample %d: logit %v", m, i/o.Classes, v)
			}
		}
	}
	return nil
}

// Combiner combines members' outputs with one method; build it with NewCombiner.
type Combiner struct {
	Method CombineMethod
	// Weights are the normalised member weights of CombineWeighted (nil otherwise).
	Weights []float64
}

// NewCombiner checks the method and, for CombineWeighted, the weights (one per
// member, finite, non-negative, not all zero; they are normalised to sum to 1).
func NewCombiner(method CombineMethod, weights []float64, members int) (*Combiner, error) {
	if _, err := ParseCombine(string(method)); err != nil {
		return nil, err
	}
	if method == "" {
		method = CombineMean
	}
	c := &Combiner{Method: method}
	if method != CombineWeighted {
		if weights != nil {
			return nil, fmt.Errorf("ensemble: weights are for the weighted combination, not %s", method)
		}
		return c, nil
	}
	if len(weights) != members {
		return nil, fmt.Errorf("ensemble: %d weights for %d members", len(weights), members)
	}
	var s float64
	for i, w := range weights {
		if !(w >= 0) || math.IsInf(w, 0) {
			return nil, fmt.Errorf("ensemble: weight %d is %v, want a finite number ≥ 0", i, w)
		}
		s += w
	}
	if s == 0 {
		return nil, errors.New("ensemble: the weights are all zero")
	}
	c.Weights = make([]float64, members)
	for i, w := range weights {
		c.Weights[i] = w / s
	}
	return c, nil
}

// Combine returns the ensemble's predicted classes and probabilities (N×C) on one
// slice; outs must have passed CheckOutputs (CombineLogits needs their logits).
func (c *Combiner) Combine(outs []*Outputs) (pred []int, probs []float32, err error) {
	if len(outs) == 0 {
		return nil, nil, errors.New("ensemble: no members")
	}
	if c.Method == CombineWeighted && len(c.Weights) != len(outs) {
		return nil, nil, fmt.Errorf("ensemble: %d weights for %d members", len(c.Weights), len(outs))
	}
	n, k := outs[0].N, outs[0].Classes
	if c.Method == CombineLogits {
		for m, o := range outs {
			if o.Logits == nil {
				return nil, nil, fmt.Errorf("ensemble: member %d has no logits to combine", m)
			}
		}
	}
	pred = make([]int, n)
	probs = make([]float32, n*k)
	acc := make([]float64, k)
	votes := make([]int, k)
	for i := range n {
		c.combineRow(outs, i, k, acc, votes)
		for j, v := range acc {
			probs[i*k+j] = float32(v)
		}
		pred[i] = c.decide(acc, votes)
	}
	return pred, probs, nil
}

// combineRow fills acc with the combined probabilities of sample i (for the vote,
// the mean probabilities) and, for the vote, votes with the members' votes.
func (c *Combiner) combineRow(outs []*Outputs, i, k int, acc []float64, votes []int) {
	clear(acc)
	inv := 1 / float64(len(outs))
	switch c.Method {
	case CombineLogits:
		for _, o := range outs {
			for j, v := range o.Logits[i*k : (i+1)*k] {
				acc[j] += float64(v)
			}
		}
		hi := math.Inf(-1)
		for j := range acc {
			acc[j] *= inv
			hi = math.Max(hi, acc[j])
		}
		var s float64
		for j := range acc {
			acc[j] = math.Exp(acc[j] - hi)
			s += acc[j]
		}
		for j := range acc {
			acc[j] /= s
		}
	case CombineWeighted:
		for m, o := range outs {
			w := c.Weights[m]
			for j, v := range o.Probs[i*k : (i+1)*k] {
				acc[j] += w * float64(v)
			}
		}
	default:
		if c.Method == CombineVote {
			clear(votes)
		}
		for _, o := range outs {
			row := o.Probs[i*k : (i+1)*k]
			for j, v := range row {
				acc[j] += float64(v)
			}
			if c.Method == CombineVote {
				votes[argmax32(row)]++
			}
		}
		for j := range acc {
			acc[j] *= inv
		}
	}
}

// decide returns the predicted class from the combined probabilities, or for the
// vote from the votes, ties broken by the mean probability (then the lower class).
func (c *Combiner) decide(acc []float64, votes []int) int {
	if c.Method != CombineVote {
		best := 0
		for j, v := range acc {
			if v > acc[best] {
				best = j
			}
		}
		return best
	}
	best := 0
	for j := range votes {
		if votes[j] > votes[best] || (votes[j] == votes[best] && acc[j] > acc[best]) {
			best = j
		}
	}
	return best
}

// ErrorRate returns the ensemble's error on one slice without materialising the
// combined probabilities; outs must have passed CheckOutputs.
func (c *Combiner) ErrorRate(outs []*Outputs) float64 {
	n, k := outs[0].N, outs[0].Classes
	acc := make([]float64, k)
	votes := make([]int, k)
	labels := outs[0].Labels
	wrong := 0
	for i := range n {
		c.combineRow(outs, i, k, acc, votes)
		if int64(c.decide(acc, votes)) != labels[i] {
			wrong++
		}
	}
	return float64(wrong) / float64(n)
}

func argmax32(v []float32) int {
	best := 0
	for j, x := range v {
		if x > v[best] {
			best = j
		}
	}
	return best
}

// ResultInfo names the model fields of a Result made from slice errors.
type ResultInfo struct {
	Model, Arch, Style string
	Width              float64
	Params             int64
	Dataset            string
	Corruptions        string
}

// ResultFromSliceErrors builds an evaluation result from per-slice errors (errs[i]
// of slices[i]; the clean slice must be among them), fills the corruption accuracy
// and, with a baseline, CE, mCE, relative CE and relative mCE by corrupt.ComputeCE:
// the same formulas as for a single model. An incomplete set of corruptions or
// severities is not an error (the means are then left out, as for divres eval); it
// is reported in the returned warning.
func ResultFromSliceErrors(info ResultInfo, slices []Slice, errs []float64, base *corrupt.Result) (r *corrupt.Result, warning error, err error) {
	if len(slices) != len(errs) {
		return nil, nil, fmt.Errorf("ensemble: %d errors for %d slices", len(errs), len(slices))
	}
	r = &corrupt.Result{Model: info.Model, Arch: info.Arch, Style: info.Style, Width: info.Width, Params: info.Params,
		Dataset: info.Dataset, Corruptions: info.Corruptions, CleanError: -1, Errors: map[string][]float64{}}
	for i, s := range slices {
		e := errs[i]
		if !(e >= 0 && e <= 1) {
			return nil, nil, fmt.Errorf("ensemble: error %v on %s is not in [0, 1]", e, s)
		}
		if s.IsClean() {
			r.CleanError = e
			continue
		}
		if s.Severity < 1 || s.Severity > corrupt.NumSeverities {
			return nil, nil, fmt.Errorf("ensemble: %s: severity outside 1..%d", s, corrupt.NumSeverities)
		}
		row, ok := r.Errors[s.Corruption]
		if !ok {
			row = make([]float64, corrupt.NumSeverities)
			for j := range row {
				row[j] = corrupt.NotEvaluated
			}
			r.Errors[s.Corruption] = row
		}
		row[s.Severity-1] = e
	}
	if r.CleanError < 0 {
		return nil, nil, errors.New("ensemble: no clean slice among the errors")
	}
	var warns []error
	if err := r.FillCorruptionAccuracy(); err != nil && len(r.Errors) > 0 {
		warns = append(warns, err)
	}
	if base != nil {
		if err := corrupt.ComputeCE(r, base); err != nil {
			if !errors.Is(err, corrupt.ErrIncomplete) {
				return nil, nil, err
			}
			warns = append(warns, err)
		}
	}
	return r, errors.Join(warns...), nil
}

// SliceErrors returns the combined ensemble's error on every slice: outs[m][s] are
// member m's outputs on slice s (each slice checked with CheckOutputs first).
func SliceErrors(c *Combiner, outs [][]*Outputs) ([]float64, error) {
	if len(outs) == 0 {
		return nil, errors.New("ensemble: no members")
	}
	ns := len(outs[0])
	errs := make([]float64, ns)
	col := make([]*Outputs, len(outs))
	for s := range ns {
		for m := range outs {
			if len(outs[m]) != ns {
				return nil, fmt.Errorf("ensemble: member %d has outputs for %d slices, member 0 for %d", m, len(outs[m]), ns)
			}
			col[m] = outs[m][s]
		}
		if err := CheckOutputs(col); err != nil {
			return nil, fmt.Errorf("slice %d: %w", s, err)
		}
		if c.Method == CombineLogits {
			for m, o := range col {
				if o.Logits == nil {
					return nil, fmt.Errorf("ensemble: member %d has no logits to combine", m)
				}
			}
		}
		errs[s] = c.ErrorRate(col)
	}
	return errs, nil
}
