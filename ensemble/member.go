package ensemble

import (
	"fmt"

	"github.com/divres/divres/nets"
	"github.com/divres/divres/torch"
)

// Member is one network being trained, with its own optimizer (so that optimizer
// state keeps the member's state_dict names).
type Member struct {
	// Name identifies the member in logs and file names.
	Name string
	Net  *nets.Net
	Opt  torch.Optimizer
	vars []*torch.Var
}

// Output is a member's forward pass on a batch.
type Output struct {
	Logits, Features *torch.Tensor
}

// Loss turns the members' outputs on a batch into the scalar that training
// minimises. Joint-training losses (NCL, diversity terms) implement it over several
// members; an individual model is the one-member case.
type Loss interface {
	Loss(outs []Output, y *torch.Tensor) *torch.Tensor
}

// IndependentCE is the mean over members of their cross-entropy with label
// smoothing: λ = 1 in DESIGN.md's joint loss, i.e. independent training; with one
// member it is the usual cross-entropy.
type IndependentCE struct {
	LabelSmoothing float64
}

// Loss implements Loss.
func (l IndependentCE) Loss(outs []Output, y *torch.Tensor) *torch.Tensor {
	var sum *torch.Tensor
	for _, o := range outs {
		ce := torch.CrossEntropy(o.Logits, y, l.LabelSmoothing)
		if sum == nil {
			sum = ce
		} else {
			sum = sum.Add(ce)
		}
	}
	if len(outs) > 1 {
		sum = sum.MulScalar(1 / float64(len(outs)))
	}
	return sum
}

// newMember wraps a built network with the optimizer of cfg. With
// cfg.NoDecayBNBias, parameters with fewer than two dimensions (biases,
// normalisation weights) are excluded from weight decay.
func newMember(name string, net *nets.Net, cfg TrainConfig) (*Member, error) {
	vars := net.Store.Trainable()
	for _, v := range vars {
		v.NoWeightDecay = cfg.NoDecayBNBias && v.T.Dim() < 2
	}
	var opt torch.Optimizer
	var err error
	switch cfg.Optimizer {
	case "adam", "adamw":
		a := torch.DefaultAdam()
		a.LR, a.WeightDecay, a.Decoupled = cfg.LR, cfg.WeightDecay, cfg.Optimizer == "adamw"
		opt, err = torch.NewAdam(vars, a)
	default:
		opt, err = torch.NewSGD(vars, torch.SGDConfig{LR: cfg.LR, Momentum: cfg.Momentum, WeightDecay: cfg.WeightDecay,
			Nesterov: cfg.Nesterov})
	}
	if err != nil {
		return nil, fmt.Errorf("member %s: %w", name, err)
	}
	return &Member{Name: name, Net: net, Opt: opt, vars: vars}, nil
}

// combinedLogits returns a tensor whose argmax is the ensemble's prediction: the
// logits of a single member, else the mean of the members' softmax probabilities.
func combinedLogits(outs []Output) *torch.Tensor {
	if len(outs) == 1 {
		return outs[0].Logits
	}
	var sum *torch.Tensor
	for _, o := range outs {
		p := o.Logits.Softmax(1)
		if sum == nil {
			sum = p
		} else {
			sum = sum.Add(p)
		}
	}
	return sum
}
