package nets

import (
	"math"
	"strings"
	"testing"

	"github.com/divres/divres/torch"
)

func TestEfficientNetB0Parity(t *testing.T) {
	// After the training-mode forward only the BatchNorm statistics of the stem and
	// of the blocks up to the first one with stochastic depth (block 2, the second
	// of stage 2: its branch runs before its own drop) are deterministic.
	early := func(name string) bool {
		for _, p := range []string{"features.0.", "features.1.", "features.2.0.", "features.2.1."} {
			if strings.HasPrefix(name, p) {
				return true
			}
		}
		return false
	}
	nbParity(t, "efficientnet", "efficientnet_b0", 0.1, true, early)
}

func TestEfficientNetB0Steps(t *testing.T) {
	// Features at widths 0.25 (CIFAR) and 0.125 (ImageNet): 4 × makeDivisible(320 ×
	// width, 8) = 4 × 80 and 4 × 40.
	nbCheckSteps(t, "efficientnet_b0", map[Style]int64{CIFAR: 320, ImageNet: 160})
}

func TestEfficientNetB0CIFARRows(t *testing.T) { nbCheckTorchvisionRows(t, "efficientnet_b0") }

func TestEfficientNetB0MACs(t *testing.T) {
	// PyTorch forward hooks on Conv2d and Linear (nets_b_gen.py counts), width 1.
	nbCheckMACs(t, "efficientnet_b0", CIFAR, 32, 116167168)
	nbCheckMACs(t, "efficientnet_b0", ImageNet, 224, 384547552)
}

func TestEfficientNetB0Init(t *testing.T) {
	// torchvision: Kaiming-normal fan-out convolutions, zero conv biases, the
	// classifier uniform in ±1/√classes with zero bias.
	nbCheckInit(t, "efficientnet_b0", Config{Style: ImageNet, Classes: 100}, []nbInitCheck{
		{param: "features.8.0.weight", std: math.Sqrt(2.0 / 1280)},
		{param: "features.2.0.block.2.fc1.bias", zero: true},
		{param: "classifier.1.weight", std: 0.1 / math.Sqrt(3), bound: 0.1},
		{param: "classifier.1.bias", zero: true},
	})
}

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
