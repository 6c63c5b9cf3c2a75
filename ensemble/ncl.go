package ensemble

import (
	"fmt"

	"github.com/divres/divres/torch"
)

// JointLoss is the balanced joint loss of DESIGN.md with the prediction (NCL)
// diversity term:
//
//	L = λ·(1/M)Σ_i CE(f_i, y) + (1−λ)·CE(f̄, y) − γ·D,  D = (1/M)Σ_i mean_n ‖p_i − p̄‖²
//
// with p_i the members' softmax outputs and f̄ = p̄ their mean. Scaling: with
// Lambda = 1 and Gamma = 0 the loss is computed by IndependentCE itself, so
// training is bit for bit the independent training of the members.
//
// With Activation set, D is instead the activation diversity 1 − mean over
// samples and member pairs of the cosine similarity of the members' penultimate
// features.
type JointLoss struct {
	Lambda, Gamma  float64
	LabelSmoothing float64
	Activation     bool
}

// Validate reports out-of-range coefficients in one line.
func (l JointLoss) Validate() error {
	if !(l.Lambda >= 0 && l.Lambda <= 1) {
		return fmt.Errorf("ncl: lambda %v outside [0, 1]", l.Lambda)
	}
	if !(l.Gamma >= 0) {
		return fmt.Errorf("ncl: gamma %v must be >= 0", l.Gamma)
	}
	return nil
}

// Loss implements Loss.
func (l JointLoss) Loss(outs []Output, y *torch.Tensor) *torch.Tensor {
	ind := IndependentCE{LabelSmoothing: l.LabelSmoothing}
	if l.Lambda == 1 && l.Gamma == 0 {
		return ind.Loss(outs, y)
	}
	m := float64(len(outs))
	ps := make([]*torch.Tensor, len(outs))
	var sum *torch.Tensor
	for i, o := range outs {
		ps[i] = o.Logits.Softmax(1)
		if sum == nil {
			sum = ps[i]
		} else {
			sum = sum.Add(ps[i])
		}
	}
	pbar := sum.MulScalar(1 / m)
	loss := torch.Nll(pbar.Log(), y).MulScalar(1 - l.Lambda)
	if l.Lambda != 0 {
		loss = loss.Add(ind.Loss(outs, y).MulScalar(l.Lambda))
	}
	if l.Gamma != 0 && l.Activation {
		loss = loss.Sub(activationDiversity(outs).MulScalar(l.Gamma))
	} else if l.Gamma != 0 {
		n := float64(y.Size(0))
		var d *torch.Tensor
		for _, p := range ps {
			s := p.Sub(pbar).Square().Sum()
			if d == nil {
				d = s
			} else {
				d = d.Add(s)
			}
		}
		loss = loss.Sub(d.MulScalar(l.Gamma / (m * n)))
	}
	return loss
}

// GNCL is the exact generalized negative-correlation loss of Buschjäger et al.
// (2020) for cross-entropy on logits:
//
//	L = (1/M)Σ_i CE(f_i, y) − Gamma/(2M) Σ_i mean_n d_iᵀ D d_i
//
// with d_i = f_i − f̄ (f̄ the mean of the members' logits) and D = diag(p) − ppᵀ,
// p = softmax(f̄), the Hessian of the cross-entropy at f̄. Gamma = 0 is
// independent training, bit for bit.
type GNCL struct {
	Gamma          float64
	LabelSmoothing float64
}

// Loss implements Loss.
func (l GNCL) Loss(outs []Output, y *torch.Tensor) *torch.Tensor {
	ind := IndependentCE{LabelSmoothing: l.LabelSmoothing}.Loss(outs, y)
	if l.Gamma == 0 {
		return ind
	}
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
	n := float64(y.Size(0))
	return ind.Sub(q.MulScalar(l.Gamma / (2 * m * n)))
}

// activationDiversity is 1 − the mean over samples and member pairs of the cosine
// similarity of the members' flattened features (a scalar tensor).
func activationDiversity(outs []Output) *torch.Tensor {
	fs := make([]*torch.Tensor, len(outs))
	norms := make([]*torch.Tensor, len(outs))
	for i, o := range outs {
		fs[i] = o.Features.Flatten(1, -1)
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
