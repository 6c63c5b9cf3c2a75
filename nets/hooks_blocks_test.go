package nets

import (
	"fmt"
	"slices"
	"testing"

	"github.com/divres/divres/torch"
)

// blockFeatures returns the features Seq of the families whose blocks are named
// "features.N" (MobileNet, EfficientNet, ConvNeXt).
func blockFeatures(t *testing.T, n *Net) Seq {
	t.Helper()
	switch m := n.Model.(type) {
	case *poolHead:
		return m.features.(Seq)
	case *ConvNeXt:
		return m.features
	}
	t.Fatalf("%s: no features Seq", n.Spec.Name)
	return nil
}

// maxDiff is max |a − b|.
func maxDiff(t *testing.T, a, b *torch.Tensor) float64 {
	t.Helper()
	if !slices.Equal(a.Shape(), b.Shape()) {
		t.Fatalf("shapes %v and %v differ", a.Shape(), b.Shape())
	}
	v, err := a.Sub(b).Abs().Max().Item()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestHooksFeatureBlocks(t *testing.T) {
	// Every top-level block "features.N" is hookable, its hook sees the block's
	// output (block N+1 applied to what block N's hook saw gives what block N+1's
	// hook saw), and the last one is what the head pools.
	for _, c := range []struct {
		arch  string
		width float64
		inner string // a block inside a stage
	}{
		{"mobilenet_v2", 0.25, ""},
		{"mobilenet_v3_small", 0.25, ""},
		{"efficientnet_b0", 0.25, "features.2.1"},
		{"convnext_tiny", 0.0625, "features.5.2"},
	} {
		t.Run(c.arch, func(t *testing.T) {
			torch.ManualSeed(5)
			net, err := New(c.arch, Config{Style: CIFAR, Width: c.width, InChannels: 3, Classes: 4, Size: 16}, torch.CPU)
			if err != nil {
				t.Fatal(err)
			}
			defer net.Close()
			net.Store.SetTraining(false)
			feats := blockFeatures(t, net)
			names := []string{}
			for i := range feats {
				names = append(names, fmt.Sprintf("features.%d", i))
			}
			if c.inner != "" {
				names = append(names, c.inner)
			}
			got, done, err := net.Hooks().Capture(names...)
			if err != nil {
				t.Fatal(err)
			}
			s := torch.NewScope(torch.NoGrad())
			defer s.Close()
			x := torch.Randn(s, []int64{2, 3, 16, 16})
			_, pooled := net.Forward(x)
			done()
			for _, n := range names {
				if got[n] == nil || got[n].Dim() != 4 {
					t.Fatalf("%s: no 4-d output captured", n)
				}
			}
			for i := 1; i < len(feats); i++ {
				y := feats[i].Forward(got[names[i-1]])
				if d := maxDiff(t, y, got[names[i]]); d > 1e-6 {
					t.Errorf("%s applied to %s's output differs from its hook by %g", names[i], names[i-1], d)
				}
			}
			if c.arch != "mobilenet_v3_small" { // v3 pools through a hidden layer
				last := got[names[len(feats)-1]]
				if c.arch == "convnext_tiny" {
					if sh := last.Shape(); sh[2] != 1 || sh[3] != 1 {
						t.Fatalf("last stage at %v", sh)
					}
				} else if d := maxDiff(t, last.MeanDims([]int64{2, 3}, false), pooled); d > 1e-6 {
					t.Errorf("pooled last block differs from the features by %g", d)
				}
			}
		})
	}
}

func TestHooksDenseNetBlocks(t *testing.T) {
	torch.ManualSeed(6)
	net, err := New("densenet121", Config{Style: CIFAR, Width: 0.125, InChannels: 1, Classes: 3, Size: 16}, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer net.Close()
	net.Store.SetTraining(false)
	names := []string{"features.relu0", "features.pool0", "features.denseblock1", "features.denseblock1.denselayer2",
		"features.transition1.relu", "features.transition1", "features.denseblock4", "features.norm5"}
	got, done, err := net.Hooks().Capture(names...)
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	s := torch.NewScope(torch.NoGrad())
	defer s.Close()
	net.Forward(torch.Randn(s, []int64{2, 1, 16, 16}))
	// Stem 8 channels (64/8), growth 4: block 1 adds 6 layers of 4.
	if sh := got["features.denseblock1"].Shape(); !slices.Equal(sh, []int64{2, 8 + 6*4, 8, 8}) {
		t.Fatalf("denseblock1 shape %v", sh)
	}
	// A dense layer's maps are its slice of the block's concatenation.
	if d := maxDiff(t, got["features.denseblock1"].Narrow(1, 8+4, 4), got["features.denseblock1.denselayer2"]); d != 0 {
		t.Errorf("denselayer2 differs from its slice of denseblock1 by %g", d)
	}
	pool := torch.MaxPool2d(got["features.relu0"], []int64{3, 3}, []int64{2, 2}, []int64{1, 1}, []int64{1, 1}, false)
	if d := maxDiff(t, pool, got["features.pool0"]); d != 0 {
		t.Errorf("pool0 is not the max-pool of relu0 (%g)", d)
	}
	if sh := got["features.transition1"].Shape(); !slices.Equal(sh, []int64{2, 16, 4, 4}) {
		t.Fatalf("transition1 shape %v", sh)
	}
	if sh := got["features.transition1.relu"].Shape(); !slices.Equal(sh, []int64{2, 32, 8, 8}) {
		t.Fatalf("transition1.relu shape %v", sh)
	}
	if got["features.denseblock4"].Size(1) != got["features.norm5"].Size(1) {
		t.Errorf("denseblock4 %v and norm5 %v", got["features.denseblock4"].Shape(), got["features.norm5"].Shape())
	}
}
