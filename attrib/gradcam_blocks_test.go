package attrib

import (
	"math"
	"slices"
	"testing"

	"github.com/divres/divres/nets"
	"github.com/divres/divres/torch"
)

// manualGradCAM computes Grad-CAM at layer by hand: a first pass records the
// layer's output A, a second one replaces it by a leaf copy of A (through the
// same hook table), and Σ_c mean_hw(∂f_t/∂A_c)·A_c is summed in float64 in Go.
func manualGradCAM(t *testing.T, m Model, x *torch.Tensor, targets []int64, layer string) []float64 {
	t.Helper()
	s := torch.NewScope()
	defer s.Close()
	got, done, err := m.Hooks.Capture(layer)
	if err != nil {
		t.Fatal(err)
	}
	func() {
		ns := torch.NewScope(torch.NoGrad())
		defer ns.Close()
		m.logits(x)
	}()
	done()
	leaf := got[layer].In(s).Detach().SetRequiresGrad(true)
	rm, err := m.Hooks.On(layer, func(*torch.Tensor) *torch.Tensor { return leaf })
	if err != nil {
		t.Fatal(err)
	}
	logits := m.logits(x)
	rm()
	idx := torch.FromSlice(s, targets, []int64{int64(len(targets)), 1})
	g, err := torch.Grad([]*torch.Tensor{logits.Gather(1, idx).Sum()}, []*torch.Tensor{leaf}, nil, false, false)
	if err != nil {
		t.Fatal(err)
	}
	a, ga := values(t, leaf.Detach()), values(t, g[0])
	sh := leaf.Shape()
	n, c, hw := int(sh[0]), int(sh[1]), int(sh[2]*sh[3])
	cam := make([]float64, n*hw)
	for i := 0; i < n; i++ {
		for k := 0; k < c; k++ {
			off := (i*c + k) * hw
			var w float64
			for p := 0; p < hw; p++ {
				w += ga[off+p]
			}
			w /= float64(hw)
			for p := 0; p < hw; p++ {
				cam[i*hw+p] += w * a[off+p]
			}
		}
	}
	return cam
}

// TestGradCAMFeatureBlocks: Grad-CAM on block prefixes "features.N" (and
// DenseNet's "features.denseblockN") of the families built from Sequentials: the
// map has the block's spatial shape, is not zero, upsamples to the input, and
// equals the computation by hand.
func TestGradCAMFeatureBlocks(t *testing.T) {
	for _, c := range []struct {
		arch   string
		width  float64
		layer  string
		hw     int64 // the layer's side for a 16×16 input
		manual bool
	}{
		{"mobilenet_v2", 0.25, "features.5", 8, true},
		{"efficientnet_b0", 0.25, "features.4", 4, true},
		{"densenet121", 0.125, "features.denseblock2", 4, false},
		{"convnext_tiny", 0.0625, "features.3", 4, true},
	} {
		t.Run(c.arch, func(t *testing.T) {
			torch.ManualSeed(11)
			net, err := nets.New(c.arch, nets.Config{Style: nets.CIFAR, Width: c.width, InChannels: 3, Classes: 5, Size: 16}, torch.CPU)
			if err != nil {
				t.Fatal(err)
			}
			defer net.Close()
			net.Store.SetTraining(false)
			m := FromNet(net)
			s := torch.NewScope()
			defer s.Close()
			x := torch.Randn(s, []int64{3, 3, 16, 16})
			targets := []int64{0, 3, 4}
			r, err := Attribute(s, m, x, Labels(targets), Options{Method: GradCAM, Layer: c.layer})
			if err != nil {
				t.Fatal(err)
			}
			if sh := r.Maps.Shape(); !slices.Equal(sh, []int64{3, 1, c.hw, c.hw}) {
				t.Fatalf("map shape %v, want [3 1 %d %d]", sh, c.hw, c.hw)
			}
			v := values(t, r.Maps)
			var norm float64
			for _, e := range v {
				norm = max(norm, math.Abs(e))
			}
			if norm == 0 || math.IsNaN(norm) {
				t.Fatalf("map max |value| %g", norm)
			}
			if c.manual {
				want := manualGradCAM(t, m, x, targets, c.layer)
				if d := maxAbsDiff(t, v, want); d > 1e-5*norm {
					t.Errorf("differs from the computation by hand by %g (max |map| %g)", d, norm)
				}
			}
			up, err := Attribute(s, m, x, Labels(targets), Options{Method: GradCAM, Layer: c.layer, ReLU: true, Upsample: "bilinear"})
			if err != nil {
				t.Fatal(err)
			}
			if sh := up.Maps.Shape(); !slices.Equal(sh, []int64{3, 1, 16, 16}) {
				t.Fatalf("upsampled map shape %v", sh)
			}
		})
	}
}
