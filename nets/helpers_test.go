package nets

import (
	"slices"
	"strings"
	"testing"

	"github.com/divres/divres/torch"
)

// Helpers shared by the tests of every family: one training step with its gradient
// report, the classifier layer, the largest difference of two tensors, and the
// body of the training-step benchmarks.

// stepResult is what a forward/backward pass produced.
type stepResult struct {
	logits, features []int64 // shapes
	loss             float64
	noGrad, zeroGrad []string // trainable parameters without / with an all-zero gradient
	nonFinite        []string // parameters with a non-finite gradient
}

// trainStep runs one training-mode forward and backward pass of n on a random
// (batch, C, size, size) input with random targets.
func trainStep(t *testing.T, n *Net, size, batch int64) stepResult {
	t.Helper()
	var r stepResult
	n.Store.SetTraining(true)
	if err := n.Store.ZeroGrad(); err != nil {
		t.Fatal(err)
	}
	err := torch.Do(func(s *torch.Scope) error {
		x := torch.Randn(s, []int64{batch, n.Config.InChannels, size, size})
		y := torch.Randint(s, 0, n.Config.Classes, []int64{batch})
		logits, feats := n.Forward(x)
		loss := torch.CrossEntropy(logits, y, 0)
		if err := loss.Err(); err != nil {
			return err
		}
		if err := feats.Err(); err != nil {
			return err
		}
		r.logits, r.features = logits.Shape(), feats.Shape()
		var err error
		if r.loss, err = loss.Item(); err != nil {
			return err
		}
		if err := loss.Backward(); err != nil {
			return err
		}
		for _, v := range n.Store.Trainable() {
			g := v.T.Grad()
			if g == nil {
				r.noGrad = append(r.noGrad, v.Name)
				continue
			}
			g.MoveTo(s)
			fin, err := g.IsFinite().All().Item()
			if err != nil {
				return err
			}
			if fin == 0 {
				r.nonFinite = append(r.nonFinite, v.Name)
			}
			nz, err := g.CountNonzero().Item()
			if err != nil {
				return err
			}
			if nz == 0 {
				r.zeroGrad = append(r.zeroGrad, v.Name)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("%s/%s at %d: %v", n.Spec.Name, n.Config.Style, size, err)
	}
	return r
}

// randomizeZeroParams gives the parameters that are initialised to all zeros
// (zero-initialised heads, class tokens, biases) small random values, so that every
// parameter receives a non-zero gradient.
func randomizeZeroParams(t *testing.T, n *Net) {
	t.Helper()
	for _, v := range n.Store.Trainable() {
		nz, err := v.T.CountNonzero().Item()
		if err != nil {
			t.Fatal(err)
		}
		if nz == 0 {
			if err := v.T.Normal_(0, 0.05); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// withoutStochasticDepth readies an EfficientNet or ConvNeXt for the training
// steps of TestTrainingSteps: zero-initialised parameters get random values, and
// stochastic depth is off (it may drop a block for the whole batch, leaving it
// without gradient; its randomness is tested on its own).
func withoutStochasticDepth(t *testing.T, n *Net) {
	t.Helper()
	randomizeZeroParams(t, n)
	found := 0
	var walk func(m Module)
	walk = func(m Module) {
		switch m := m.(type) {
		case Seq:
			for _, x := range m {
				walk(x)
			}
		case *cnBlock:
			m.drop.P = 0
			found++
		case *mbConv:
			m.drop.P = 0
			found++
		}
	}
	switch m := n.Model.(type) {
	case *ConvNeXt:
		walk(m.features)
	case *poolHead:
		walk(m.features)
	}
	if found == 0 {
		t.Fatalf("%s: no stochastic depth found", n.Spec.Name)
	}
}

// classifierWeight returns the last 2-D-or-more parameter with `classes` rows: the
// final classifier layer's weight, and its bias if the next entry is one.
func classifierWeight(n *Net) (w, b *torch.Var) {
	vars := n.Store.Vars()
	for i := len(vars) - 1; i >= 0; i-- {
		v := vars[i]
		sh := v.T.Shape()
		if v.Buffer || len(sh) < 2 || sh[0] != n.Config.Classes {
			continue
		}
		if i+1 < len(vars) && strings.HasSuffix(vars[i+1].Name, "bias") && len(vars[i+1].T.Shape()) == 1 {
			b = vars[i+1]
		}
		return v, b
	}
	return nil, nil
}

// maxAbsDiff returns max |a − b| (computed in float64) of two same-shaped tensors; a
// shape mismatch or an error ends the test.
func maxAbsDiff(t *testing.T, what string, a, b *torch.Tensor) float64 {
	t.Helper()
	if err := a.Err(); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if !slices.Equal(a.Shape(), b.Shape()) {
		t.Fatalf("%s: shape %v, reference %v", what, a.Shape(), b.Shape())
	}
	d, err := a.ToDType(torch.Float64).Sub(b.ToDType(torch.Float64)).Abs().Max().Item()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return d
}

// benchTrainStep times one training step (forward, cross-entropy, backward; no
// optimizer) of name built with cfg on a fixed random batch of size×size images,
// after one warm-up step, and reports images/s.
func benchTrainStep(b *testing.B, name string, cfg Config, batch, size int64) {
	torch.ManualSeed(1)
	n, err := New(name, cfg, torch.CPU)
	if err != nil {
		b.Fatal(err)
	}
	defer n.Close()
	x := torch.Randn(nil, []int64{batch, n.Config.InChannels, size, size})
	y := torch.Randint(nil, 0, n.Config.Classes, []int64{batch})
	defer x.Free()
	defer y.Free()
	step := func() error {
		return torch.Do(func(s *torch.Scope) error {
			logits, _ := n.Forward(x.In(s))
			return torch.CrossEntropy(logits, y.In(s), 0).Backward()
		})
	}
	if err := step(); err != nil { // warm-up
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := n.Store.ZeroGrad(); err != nil {
			b.Fatal(err)
		}
		if err := step(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(batch)*float64(b.N)/b.Elapsed().Seconds(), "images/s")
}
