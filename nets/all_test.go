package nets

import (
	"math"
	"testing"

	"github.com/divres/divres/torch"
)

// Tests over architectures at full size: multiply-accumulates against published
// counts, and weights that depend on the seed only.

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
