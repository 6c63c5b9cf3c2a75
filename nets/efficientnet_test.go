package nets

import (
	"math"
	"testing"

	"github.com/divres/divres/torch"
)

func TestStochasticDepth(t *testing.T) {
	// Row mode (EfficientNet, ConvNeXt): whole samples are dropped with probability p
	// and survivors scaled by 1/(1−p) in training mode; the identity for p = 0 and in
	// evaluation mode.
	st := torch.NewStore()
	defer st.Close()
	b := Builder{Path: st.Root()}
	torch.ManualSeed(5)
	err := torch.Do(func(s *torch.Scope) error {
		x := torch.Ones(s, []int64{4000, 3, 2, 2})
		sd := NewStochasticDepth(b, 0.25)
		y := sd.Forward(x)
		v, err := y.Float32s()
		if err != nil {
			return err
		}
		kept := 0
		for i := 0; i < 4000; i++ {
			first := v[i*12]
			for _, e := range v[i*12 : (i+1)*12] {
				if e != first {
					t.Fatalf("sample %d is not dropped or kept as a whole", i)
				}
			}
			switch {
			case first == 0:
			case math.Abs(float64(first)-1/0.75) < 1e-6:
				kept++
			default:
				t.Fatalf("sample %d has value %v", i, first)
			}
		}
		if f := float64(kept) / 4000; math.Abs(f-0.75) > 0.03 {
			t.Errorf("kept fraction %.3f, want 0.75", f)
		}
		if same := NewStochasticDepth(b, 0).Forward(x); same != x {
			t.Errorf("p = 0 must return the input")
		}
		st.SetTraining(false)
		defer st.SetTraining(true)
		if eq, err := sd.Forward(x).Equal(x); err != nil || !eq {
			t.Errorf("stochastic depth changes its input in evaluation mode (%v)", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestEfficientNetB0DepthOnlyInTraining(t *testing.T) {
	// Evaluation mode is deterministic (no stochastic depth, no dropout); training
	// mode with the same batch statistics differs between two passes.
	torch.ManualSeed(9)
	n, err := New("efficientnet_b0", Config{Style: CIFAR, Width: 0.25}, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	err = torch.Do(func(s *torch.Scope) error {
		x := torch.Randn(s, []int64{8, 3, 32, 32})
		n.Store.SetTraining(false)
		a, fa := n.Forward(x)
		b, _ := n.Forward(x)
		if d := maxAbsDiff(t, "eval", a, b); d != 0 {
			t.Errorf("two evaluation passes differ by %g", d)
		}
		n.Store.SetTraining(true)
		_, f1 := n.Forward(x)
		_, f2 := n.Forward(x)
		if d := maxAbsDiff(t, "train", f1, f2); d == 0 {
			t.Errorf("two training passes gave identical features: no stochastic depth")
		}
		_ = fa
		return nil
	}, torch.NoGrad())
	if err != nil {
		t.Fatal(err)
	}
}
