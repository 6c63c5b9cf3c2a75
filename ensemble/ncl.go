package ensemble

import (
	"fmt"
	"slices"
	"strings"

	"github.com/divres/divres/torch"
)

// Diversity heuristics of joint training (NCL.Heuristic).
const (
	// HeuristicNone is the balanced loss alone (D = 0).
	HeuristicNone = "none"
	// HeuristicPrediction is NCL's prediction diversity: D = (1/M)Σ_i mean_n ‖p_i − p̄‖².
	HeuristicPrediction = "prediction"
	// HeuristicAttribution is 1 − the mean over samples and member pairs of the
	// cosine similarity of the members' input gradients of the true-class logit
	// (double backward).
	HeuristicAttribution = "attribution"
	// HeuristicActivation is 1 − the mean over member pairs of the linear CKA of
	// the members' penultimate features on the batch.
	HeuristicActivation = "activation"
	// HeuristicClassic is the negative-correlation penalty of Liu & Yao (1999):
	// each member's loss plus γ·p_i with p_i = −½‖p_i − p̄‖², p̄ held constant in
	// the gradient as in their derivation.
	HeuristicClassic = "classic"
	// HeuristicGNCL is the exact generalized NCL of Buschjäger et al. (2020): the
	// penalty γ/(2M) Σ_i mean_n d_iᵀ H d_i with d_i = f_i − f̄ on logits and
	// H = diag(p) − ppᵀ the Hessian of the cross-entropy at f̄.
	HeuristicGNCL = "gncl"
)

// Heuristics lists the diversity heuristics in their documented order.
func Heuristics() []string {
	return []string{HeuristicNone, HeuristicPrediction, HeuristicAttribution, HeuristicActivation, HeuristicClassic, HeuristicGNCL}
}

// NCL is the joint loss of M members of DESIGN.md:
//
//	L = λ·(1/M)Σ_i CE(f_i, y) + (1−λ)·CE(f̄, y) − γ·D
//
// with f̄ = p̄ the mean of the members' softmax outputs and D the diversity term
// of Heuristic. For the two published forms D is their penalty, so that λ = 1 is
// the published loss with strength γ:
//
//	classic: D = (1/(2M))Σ_i mean_n ‖p_i − sg(p̄)‖²   (sg: no gradient)
//	gncl:    D = (1/(2M))Σ_i mean_n d_iᵀ (diag(p) − ppᵀ) d_i, d_i = f_i − mean_j f_j (logits), p = softmax(mean_j f_j)
//
// Scaling. Training minimises M·L, not L: its gradient with respect to member i's
// weights at λ = 1, γ = 0 is then exactly the gradient of CE(f_i, y), the loss of
// an independent run, and the objective is computed as the plain sum
// Σ_i CE(f_i, y), so that joint training with λ = 1, γ = 0 is bit for bit the
// independent training of the members (see TrainJoint). Histories report L.
// LabelSmoothing applies to the members' cross-entropies, not to the ensemble's.
type NCL struct {
	Heuristic      string  `json:"heuristic"`
	Lambda         float64 `json:"lambda"`
	Gamma          float64 `json:"gamma"`
	LabelSmoothing float64 `json:"label_smoothing,omitempty"`
}

// Validate reports an unknown heuristic or out-of-range coefficients in one line.
func (l NCL) Validate() error {
	if !slices.Contains(Heuristics(), l.Heuristic) {
		return fmt.Errorf("ncl: unknown heuristic %q (want %s)", l.Heuristic, strings.Join(Heuristics(), ", "))
	}
	if !(l.Lambda >= 0 && l.Lambda <= 1) {
		return fmt.Errorf("ncl: lambda %v outside [0, 1]", l.Lambda)
	}
	if !(l.Gamma >= 0) || l.Gamma > 1e6 {
		return fmt.Errorf("ncl: gamma %v must be >= 0", l.Gamma)
	}
	if l.Heuristic == HeuristicNone && l.Gamma != 0 {
		return fmt.Errorf("ncl: gamma %v with heuristic none (it has no diversity term): use gamma 0 or choose a heuristic", l.Gamma)
	}
	if !(l.LabelSmoothing >= 0 && l.LabelSmoothing < 1) {
		return fmt.Errorf("ncl: label smoothing %v outside [0, 1)", l.LabelSmoothing)
	}
	return nil
}

// NeedsInputGrad reports whether the loss differentiates the members' outputs with
// respect to the input (the attribution heuristic): the input must then require
// gradients before the forward pass.
func (l NCL) NeedsInputGrad() bool { return l.Heuristic == HeuristicAttribution && l.Gamma != 0 }

// InputLoss is a Loss that may need the batch input and reports a value other than
// the one it minimises. The training loop prefers it to Loss.
type InputLoss interface {
	Loss
	// NeedsInputGrad reports whether x must require gradients before the forward
	// pass.
	NeedsInputGrad() bool
	// LossInput returns the objective to minimise and the value to report.
	LossInput(outs []Output, x, y *torch.Tensor) (objective, report *torch.Tensor)
}

// Loss returns L for heuristics that do not need the input (InputLoss.Loss).
// With the attribution heuristic and γ ≠ 0 it returns a failed tensor: use Value.
func (l NCL) Loss(outs []Output, y *torch.Tensor) *torch.Tensor {
	if l.NeedsInputGrad() {
		return torch.Fail(y.Scope(), fmt.Errorf("ncl: the attribution heuristic needs the input (use Value or LossInput)"))
	}
	return l.Value(outs, nil, y)
}

// Value returns L of the type's documentation. x is the batch input, which must
// have required gradients during the members' forward passes for the attribution
// heuristic; other heuristics ignore it.
func (l NCL) Value(outs []Output, x, y *torch.Tensor) *torch.Tensor {
	return l.objective(outs, x, y, 1/float64(len(outs)))
}

// LossInput implements InputLoss: the objective M·L, and L to report.
func (l NCL) LossInput(outs []Output, x, y *torch.Tensor) (objective, report *torch.Tensor) {
	obj := l.objective(outs, x, y, 1)
	return obj, obj.Detach().MulScalar(1 / float64(len(outs)))
}

// objective returns s·M·L, computed as λ·Σ_i CE_i + (1−λ)·M·CE(f̄) − γ·M·D times
// s (s = 1 or 1/M), with λ = 1 and γ = 0 the plain sum of the CE_i (times s when
// s ≠ 1).
func (l NCL) objective(outs []Output, x, y *torch.Tensor, s float64) *torch.Tensor {
	m := float64(len(outs))
	var ind *torch.Tensor
	for _, o := range outs {
		ce := torch.CrossEntropy(o.Logits, y, l.LabelSmoothing)
		if ind == nil {
			ind = ce
		} else {
			ind = ind.Add(ce)
		}
	}
	if l.Lambda == 1 && l.Gamma == 0 {
		if s != 1 && len(outs) > 1 {
			return ind.MulScalar(s)
		}
		return ind
	}
	var loss *torch.Tensor
	if l.Lambda != 0 {
		loss = ind.MulScalar(l.Lambda * s)
	}
	var ps []*torch.Tensor
	var pbar *torch.Tensor
	probs := func() {
		if ps != nil {
			return
		}
		ps = make([]*torch.Tensor, len(outs))
		var sum *torch.Tensor
		for i, o := range outs {
			ps[i] = o.Logits.Softmax(1)
			if sum == nil {
				sum = ps[i]
			} else {
				sum = sum.Add(ps[i])
			}
		}
		pbar = sum.MulScalar(1 / m)
	}
	if l.Lambda != 1 {
		probs()
		ens := torch.Nll(pbar.Log(), y).MulScalar((1 - l.Lambda) * m * s)
		if loss == nil {
			loss = ens
		} else {
			loss = loss.Add(ens)
		}
	}
	if l.Gamma == 0 || l.Heuristic == HeuristicNone {
		return loss
	}
	var d *torch.Tensor
	switch l.Heuristic {
	case HeuristicPrediction:
		probs()
		d = spreadDiversity(ps, pbar)
	case HeuristicClassic:
		probs()
		d = spreadDiversity(ps, pbar.Detach()).MulScalar(0.5)
	case HeuristicActivation:
		d = activationDiversity(outs)
	case HeuristicGNCL:
		d = gnclPenalty(outs)
	case HeuristicAttribution:
		d = attributionDiversity(outs, x, y)
	default:
		return torch.Fail(y.Scope(), fmt.Errorf("ncl: unknown heuristic %q", l.Heuristic))
	}
	return loss.Sub(d.MulScalar(l.Gamma * m * s))
}

// spreadDiversity is (1/M)Σ_i mean_n ‖p_i − c‖².
func spreadDiversity(ps []*torch.Tensor, c *torch.Tensor) *torch.Tensor {
	var d *torch.Tensor
	for _, p := range ps {
		s := p.Sub(c).Square().Sum()
		if d == nil {
			d = s
		} else {
			d = d.Add(s)
		}
	}
	return d.MulScalar(1 / (float64(len(ps)) * float64(ps[0].Size(0))))
}

// gnclPenalty is (1/(2M))Σ_i mean_n d_iᵀ(diag(p) − ppᵀ)d_i with d_i = f_i − f̄ on
// logits and p = softmax(f̄).
func gnclPenalty(outs []Output) *torch.Tensor {
	m := float64(len(outs))
	var sum *torch.Tensor
	for _, o := range outs {
		if sum == nil {
			sum = o.Logits
		} else {
			sum = sum.Add(o.Logits)
		}
	}
	fbar := sum.MulScalar(1 / m)
	p := fbar.Softmax(1)
	var q *torch.Tensor
	for _, o := range outs {
		d := o.Logits.Sub(fbar)
		// dᵀ(diag(p) − ppᵀ)d = Σ_k p_k d_k² − (Σ_k p_k d_k)², per sample.
		pd := p.Mul(d).SumDims([]int64{1}, false)
		qi := p.Mul(d.Square()).SumDims([]int64{1}, false).Sub(pd.Square()).Sum()
		if q == nil {
			q = qi
		} else {
			q = q.Add(qi)
		}
	}
	n := float64(outs[0].Logits.Size(0))
	return q.MulScalar(1 / (2 * m * n))
}

// activationDiversity is 1 − the mean over member pairs of the linear CKA of the
// members' flattened penultimate features on the batch (a scalar tensor). CKA
// compares the batch's similarity structure, so members of different widths and
// architectures compare as well as equal ones.
func activationDiversity(outs []Output) *torch.Tensor {
	if len(outs) < 2 {
		return torch.Fail(outs[0].Logits.Scope(), fmt.Errorf("ncl: a pairwise diversity needs at least 2 members, not %d", len(outs)))
	}
	grams := make([]*torch.Tensor, len(outs))
	norms := make([]*torch.Tensor, len(outs))
	for i, o := range outs {
		f := o.Features.Flatten(1, -1)
		f = f.Sub(f.MeanDims([]int64{0}, true))
		grams[i] = f.Mm(f.T())
		norms[i] = grams[i].Square().Sum().AddScalar(1e-24).Sqrt()
	}
	var sum *torch.Tensor
	pairs := 0
	for i := range grams {
		for j := i + 1; j < len(grams); j++ {
			c := grams[i].Mul(grams[j]).Sum().Div(norms[i].Mul(norms[j]))
			if sum == nil {
				sum = c
			} else {
				sum = sum.Add(c)
			}
			pairs++
		}
	}
	return sum.MulScalar(-1 / float64(pairs)).AddScalar(1)
}

// attributionDiversity is 1 − the mean over samples and member pairs of the
// cosine similarity of the members' saliency maps ∂f_i[n, y_n]/∂x[n], kept
// differentiable (create_graph) so that the loss can be differentiated again. x
// must have required gradients during the forward passes. In training mode batch
// normalisation couples the samples of a batch, so a map is the gradient of the
// batch's summed true-class logits with respect to the sample's input.
func attributionDiversity(outs []Output, x, y *torch.Tensor) *torch.Tensor {
	if x == nil || !x.RequiresGrad() {
		return torch.Fail(y.Scope(), fmt.Errorf("ncl: the attribution heuristic needs the input, requiring gradients before the forward pass"))
	}
	idx := y.Unsqueeze(1)
	gs := make([]*torch.Tensor, len(outs))
	for i, o := range outs {
		z := o.Logits.Gather(1, idx).Sum()
		g, err := torch.Grad([]*torch.Tensor{z}, []*torch.Tensor{x}, nil, true, true)
		if err != nil {
			return torch.Fail(y.Scope(), fmt.Errorf("ncl: attribution of member %d: %w", i, err))
		}
		if g[0] == nil {
			return torch.Fail(y.Scope(), fmt.Errorf("ncl: attribution of member %d: the logits do not depend on the input", i))
		}
		gs[i] = g[0]
	}
	return cosineDiversity(gs)
}

// cosineDiversity is 1 − the mean over samples and pairs of the cosine similarity
// of the flattened per-sample rows of the tensors.
func cosineDiversity(ts []*torch.Tensor) *torch.Tensor {
	if len(ts) < 2 {
		return torch.Fail(ts[0].Scope(), fmt.Errorf("ncl: a pairwise diversity needs at least 2 members, not %d", len(ts)))
	}
	fs := make([]*torch.Tensor, len(ts))
	norms := make([]*torch.Tensor, len(ts))
	for i, t := range ts {
		fs[i] = t.Flatten(1, -1)
		norms[i] = fs[i].Square().SumDims([]int64{1}, false).AddScalar(1e-12).Sqrt()
	}
	var sum *torch.Tensor
	pairs := 0
	for i := range fs {
		for j := i + 1; j < len(fs); j++ {
			c := fs[i].Mul(fs[j]).SumDims([]int64{1}, false).Div(norms[i].Mul(norms[j])).Mean()
			if sum == nil {
				sum = c
			} else {
				sum = sum.Add(c)
			}
			pairs++
		}
	}
	return sum.MulScalar(-1 / float64(pairs)).AddScalar(1)
}

// CheckClassCounts reports, in one line, members whose class counts differ from
// the first member's: a joint loss needs every member to score the same classes.
func CheckClassCounts(names []string, classes []int) error {
	for i := 1; i < len(classes); i++ {
		if classes[i] != classes[0] {
			return fmt.Errorf("ncl: member %s has %d classes but member %s has %d", names[i], classes[i], names[0], classes[0])
		}
	}
	return nil
}
