package nets

import (
	"math"
	"strings"
	"testing"

	"github.com/divres/divres/torch"
)

// Tests over every registered architecture (whatever the family files register):
// a training-mode forward/backward pass at the smallest supported input size, and an
// evaluation-mode check that the features are the classifier's input.
//
// Budget: width 1/8 in the CIFAR style and 1/16 in the ImageNet style, batch 2,
// at the spec's MinInput; an architecture whose forward pass at that width and size
// costs more than allBudgetMACs multiply-accumulates per image fails (its MinSize
// is too large for the test budget), so that the whole package stays well under a
// minute of CPU on 2 cores.

const (
	allClasses    = 7 // odd, so that it is not mistaken for a channel count
	allBatch      = 2
	allBudgetMACs = 500_000_000
)

func allWidth(st Style) float64 {
	if st == ImageNet {
		return 0.0625
	}
	return 0.125
}

func TestAllArchitecturesForwardBackward(t *testing.T) {
	for _, name := range Names() {
		spec, _ := Lookup(name)
		for _, st := range spec.Styles {
			t.Run(name+"/"+string(st), func(t *testing.T) {
				allCheckArchitecture(t, spec, st)
			})
		}
	}
}

func allCheckArchitecture(t *testing.T, spec *Spec, st Style) {
	size := spec.MinInput(st)
	cfg := Config{Style: st, Width: allWidth(st), Classes: allClasses}
	torch.ManualSeed(1)
	n, err := New(spec.Name, cfg, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	macs, err := n.MACs(size)
	if err != nil {
		t.Fatalf("forward at %d×%d: %v", size, size, err)
	}
	if macs <= 0 {
		t.Errorf("MACs at %d = %d, want > 0", size, macs)
	}
	if macs > allBudgetMACs {
		t.Fatalf("%.2f GMACs per image at width %g and size %d: over the test budget of %.2f", float64(macs)/1e9, cfg.Width, size,
			float64(allBudgetMACs)/1e9)
	}
	r := trainStep(t, n, size, allBatch)
	if len(r.logits) != 2 || r.logits[0] != allBatch || r.logits[1] != allClasses {
		t.Errorf("logits shape %v, want [%d %d]", r.logits, allBatch, allClasses)
	}
	if len(r.features) != 2 || r.features[0] != allBatch {
		t.Errorf("features shape %v, want [%d F]", r.features, allBatch)
	}
	if math.IsNaN(r.loss) || math.IsInf(r.loss, 0) {
		t.Errorf("loss %v", r.loss)
	}
	if len(r.nonFinite) > 0 {
		t.Errorf("non-finite gradients: %v", r.nonFinite)
	}
	var missing []string
	for _, p := range r.noGrad {
		if !strings.Contains(strings.ToLower(p), "aux") {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		t.Errorf("%d trainable parameters got no gradient: %v", len(missing), missing[:min(len(missing), 5)])
	}
	allCheckFeatures(t, n, size)
}

// allCheckFeatures checks in evaluation mode that the features have the
// classifier's input size and, for a linear classifier, that they give the logits.
func allCheckFeatures(t *testing.T, n *Net, size int64) {
	t.Helper()
	w, b := classifierWeight(n)
	if w == nil {
		t.Errorf("no classifier weight with %d rows found", n.Config.Classes)
		return
	}
	n.Store.SetTraining(false)
	defer n.Store.SetTraining(true)
	err := torch.Do(func(s *torch.Scope) error {
		x := torch.Randn(s, []int64{allBatch, n.Config.InChannels, size, size})
		logits, feats := n.Forward(x)
		if err := logits.Err(); err != nil {
			return err
		}
		if got, want := feats.Size(1), w.T.Size(1); got != want {
			t.Errorf("features have %d columns; the classifier %s takes %d", got, w.Name, want)
			return nil
		}
		if len(w.T.Shape()) != 2 {
			return nil
		}
		var bias *torch.Tensor
		if b != nil {
			bias = b.T
		}
		want := torch.Linear(feats, w.T, bias)
		diff, err := logits.Sub(want).Abs().Max().Item()
		if err != nil {
			return err
		}
		scale, err := want.Abs().Max().Item()
		if err != nil {
			return err
		}
		if diff > 1e-4*(1+scale) {
			t.Errorf("logits differ from %s applied to the features by %g", w.Name, diff)
		}
		return nil
	}, torch.NoGrad())
	if err != nil {
		t.Fatal(err)
	}
}

func TestMACsResNet18(t *testing.T) {
	// torchvision publishes 1.81 GFLOPS (multiply-accumulates) for resnet18 at 224.
	allCheckMACs(t, "resnet18", ImageNet, 224, 1.814e9, 0.02)
}

func TestMACsTransformersAndConvNeXt(t *testing.T) {
	if testing.Short() {
		t.Skip("full-size forward passes")
	}
	// torchvision's published GFLOPS: convnext_tiny 4.46, vit_b_16 17.56.
	allCheckMACs(t, "convnext_tiny", ImageNet, 224, 4.456e9, 0.02)
	allCheckMACs(t, "vit_b_16", ImageNet, 224, 17.564e9, 0.02)
}

func allCheckMACs(t *testing.T, name string, st Style, size int64, want, tol float64) {
	t.Helper()
	n, err := NewUninitialized(name, Config{Style: st, Classes: 1000}, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	// Uninitialised memory may hold NaNs; MACs do not depend on the values.
	macs, err := n.MACs(size)
	if err != nil {
		t.Fatal(err)
	}
	if rel := math.Abs(float64(macs)-want) / want; rel > tol {
		t.Errorf("%s/%s at %d: %d MACs, want %.4g ± %g%%", name, st, size, macs, want, 100*tol)
	}
	t.Logf("%s/%s at %d: %.4f GMACs", name, st, size, float64(macs)/1e9)
}

func TestSameSeedSameWeights(t *testing.T) {
	for _, name := range []string{"resnet18", "vit_small", "convnext_tiny"} {
		spec, err := Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		cfg := Config{Style: spec.Styles[0], Width: 0.25}
		weights := func(seed uint64) map[string][]float32 {
			torch.ManualSeed(seed)
			n, err := New(name, cfg, torch.CPU)
			if err != nil {
				t.Fatal(err)
			}
			defer n.Close()
			out := map[string][]float32{}
			for _, v := range n.Store.Vars() {
				if v.T.DType() != torch.Float32 {
					continue
				}
				d, err := v.T.Float32s()
				if err != nil {
					t.Fatal(err)
				}
				out[v.Name] = d
			}
			return out
		}
		a, b, c := weights(7), weights(7), weights(8)
		if len(a) == 0 || len(a) != len(b) {
			t.Fatalf("%s: %d and %d entries", name, len(a), len(b))
		}
		differs := false
		for k, va := range a {
			vb, vc := b[k], c[k]
			for i := range va {
				if va[i] != vb[i] {
					t.Fatalf("%s: %s[%d] differs with the same seed: %v vs %v", name, k, i, va[i], vb[i])
				}
				if va[i] != vc[i] {
					differs = true
				}
			}
		}
		if !differs {
			t.Errorf("%s: seeds 7 and 8 give identical weights", name)
		}
	}
}
