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
type JointLoss struct {
	Lambda, Gamma  float64
	LabelSmoothing float64
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
	if l.Gamma != 0 {
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
