package attrib

import (
	"errors"
	"fmt"

	"github.com/divres/divres/nets"
	"github.com/divres/divres/torch"
)

// ErrTrainMode is returned (wrapped) for a model whose store is in training mode.
var ErrTrainMode = errors.New("the model is in training mode: attributions need evaluation mode " +
	"(BatchNorm would mix the samples of a batch through its batch statistics); call Store.SetTraining(false)")

// Model is what the methods need of a classifier.
type Model struct {
	// Net maps (N, C, H, W) images to logits (N, classes).
	Net nets.Model
	// Store holds the parameters; it must be in evaluation mode.
	Store *torch.Store
	// Hooks gives the named layer outputs (needed by Grad-CAM only).
	Hooks *nets.Hooks
	// InChannels, when positive, is checked against the inputs.
	InChannels int64
}

// FromNet returns the Model of a built nets architecture.
func FromNet(n *nets.Net) Model {
	return Model{Net: n.Model, Store: n.Store, Hooks: n.Hooks(), InChannels: n.Config.InChannels}
}

// check validates the model and the input batch.
func (m Model) check(x *torch.Tensor) error {
	if m.Net == nil || m.Store == nil {
		return errors.New("attrib: model without network or store")
	}
	if m.Store.Training() {
		return fmt.Errorf("attrib: %w", ErrTrainMode)
	}
	if err := x.Err(); err != nil {
		return fmt.Errorf("attrib: input: %w", err)
	}
	sh := x.Shape()
	if len(sh) != 4 {
		return fmt.Errorf("attrib: input shape %v, want 4 dimensions (N, C, H, W)", sh)
	}
	if sh[0] == 0 {
		return fmt.Errorf("attrib: input shape %v has no images", sh)
	}
	if m.InChannels > 0 && sh[1] != m.InChannels {
		return fmt.Errorf("attrib: input has %d channels, the model takes %d", sh[1], m.InChannels)
	}
	if dt := x.DType(); dt != m.Store.DType() {
		return fmt.Errorf("attrib: input dtype %v, the model's parameters are %v", dt, m.Store.DType())
	}
	if d := x.Device(); d.Type != m.Store.Device().Type {
		return fmt.Errorf("attrib: input on %v, the model on %v", d, m.Store.Device())
	}
	return nil
}

// logits runs the model.
func (m Model) logits(x *torch.Tensor) *torch.Tensor {
	l, _ := m.Net.Forward(x)
	return l
}

// Target selects, per sample, the class whose logit is attributed.
type Target struct {
	// Predicted attributes the class the model predicts for the (clean) input.
	Predicted bool
	// Classes gives one class per sample (the true labels or chosen classes) when
	// Predicted is false.
	Classes []int64
}

// Labels is the target of the given classes (true labels or any chosen class).
func Labels(classes []int64) Target { return Target{Classes: classes} }

// PredictedClass is the target of the predicted class.
func PredictedClass() Target { return Target{Predicted: true} }

// resolve returns the target classes of the n inputs x as an int64 (n,) tensor in s,
// checking them against the number of logits.
func (t Target) resolve(s *torch.Scope, m Model, x *torch.Tensor) (*torch.Tensor, []int64, error) {
	n := x.Size(0)
	var classes []int64
	var nc int64
	err := torch.Do(func(ns *torch.Scope) error {
		l := m.logits(x.In(ns))
		if err := l.Err(); err != nil {
			return err
		}
		if l.Dim() != 2 || l.Size(0) != n {
			return fmt.Errorf("model output shape %v, want (%d, classes)", l.Shape(), n)
		}
		nc = l.Size(1)
		if t.Predicted {
			c, err := l.Argmax(1, false).To(torch.CPU).Int64s()
			classes = c
			return err
		}
		return nil
	}, torch.NoGrad())
	if err != nil {
		return nil, nil, fmt.Errorf("attrib: target: %w", err)
	}
	if !t.Predicted {
		if int64(len(t.Classes)) != n {
			return nil, nil, fmt.Errorf("attrib: %d targets for %d inputs", len(t.Classes), n)
		}
		for i, c := range t.Classes {
			if c < 0 || c >= nc {
				return nil, nil, fmt.Errorf("attrib: target %d of sample %d is out of range [0, %d)", c, i, nc)
			}
		}
		classes = append([]int64(nil), t.Classes...)
	}
	return torch.FromSlice(s, classes, []int64{n}, x.Device()), classes, nil
}

// inputGrad returns ∂(Σ_i f_{t_i}(x_i))/∂x for the points x (a batch of any size)
// and targets t (int64, same length), in s. With create the gradient keeps its graph
// (it is differentiable with respect to the parameters); otherwise it is detached.
func (m Model) inputGrad(s *torch.Scope, x, t *torch.Tensor, create bool) (*torch.Tensor, error) {
	ws := torch.NewScope()
	defer ws.Close()
	leaf := x.In(ws).Detach().SetRequiresGrad(true)
	sel := m.logits(leaf).Gather(1, t.In(ws).View([]int64{-1, 1})).Sum()
	if err := sel.Err(); err != nil {
		return nil, err
	}
	g, err := torch.Grad([]*torch.Tensor{sel}, []*torch.Tensor{leaf}, nil, create, create)
	if err != nil {
		return nil, err
	}
	if g[0] == nil {
		return leaf.ZerosLike().Detach().MoveTo(s), nil
	}
	if !create {
		return g[0].Detach().MoveTo(s), nil
	}
	return g[0].MoveTo(s), nil
}

// targetLogits returns f_{t_i}(x_i) (n,) without gradients.
func (m Model) targetLogits(s *torch.Scope, x, t *torch.Tensor) (*torch.Tensor, error) {
	var out *torch.Tensor
	err := torch.Do(func(ns *torch.Scope) error {
		v := m.logits(x.In(ns)).Gather(1, t.In(ns).View([]int64{-1, 1})).View([]int64{-1})
		if err := v.Err(); err != nil {
			return err
		}
		out = v.MoveTo(s)
		return nil
	}, torch.NoGrad())
	return out, err
}

// Normalized returns m with the per-channel normalisation (x − mean)/std in front
// of its network, so that attributions are with respect to the unnormalised
// pixels (the inputs of a trained run).
func Normalized(m Model, mean, std []float32) (Model, error) {
	if len(mean) != len(std) || len(mean) == 0 {
		return Model{}, fmt.Errorf("attrib: %d means and %d standard deviations", len(mean), len(std))
	}
	for i, s := range std {
		if !(s > 0) {
			return Model{}, fmt.Errorf("attrib: standard deviation %g of channel %d", s, i)
		}
	}
	c := int64(len(mean))
	if m.InChannels > 0 && m.InChannels != c {
		return Model{}, fmt.Errorf("attrib: %d normalisation constants for %d channels", c, m.InChannels)
	}
	opts := []torch.Option{m.Store.DType(), m.Store.Device()}
	n := &normNet{inner: m.Net,
		mean: torch.FromSlice(nil, mean, []int64{1, c, 1, 1}).ToOpts(false, opts...),
		std:  torch.FromSlice(nil, std, []int64{1, c, 1, 1}).ToOpts(false, opts...)}
	if err := n.mean.Err(); err != nil {
		return Model{}, err
	}
	if err := n.std.Err(); err != nil {
		return Model{}, err
	}
	m.Net = n
	m.InChannels = c
	return m, nil
}

// normNet normalises its input and runs the inner network.
type normNet struct {
	inner     nets.Model
	mean, std *torch.Tensor
}

// Forward implements nets.Model.
func (n *normNet) Forward(x *torch.Tensor) (logits, features *torch.Tensor) {
	return n.inner.Forward(x.Sub(n.mean).Div(n.std))
}
