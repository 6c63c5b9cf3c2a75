package nets

import (
	"math"
	"strings"
	"testing"

	"github.com/divres/divres/torch"
)

func TestHooksResNetStage(t *testing.T) {
	torch.ManualSeed(3)
	net, err := New("resnet18", Config{Style: CIFAR, Width: 0.125, InChannels: 1, Classes: 5, Size: 16}, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer net.Close()
	net.Store.SetTraining(false)
	h := net.Hooks()
	for _, n := range []string{"layer1", "layer4", "conv1", "bn1", "fc", "layer4.1.conv2", "layer2.0.downsample.0"} {
		if !h.Has(n) {
			t.Errorf("layer %q not hookable", n)
		}
	}
	s := torch.NewScope(torch.NoGrad())
	defer s.Close()
	x := torch.Rand(s, []int64{2, 1, 16, 16})
	got, done, err := h.Capture("layer4", "fc")
	if err != nil {
		t.Fatal(err)
	}
	logits, feats := net.Forward(x)
	done()
	if sh := got["layer4"].Shape(); len(sh) != 4 || sh[0] != 2 || sh[1] != 64 || sh[2] != 1 || sh[3] != 1 {
		t.Fatalf("layer4 output shape %v, want [2 64 1 1]", sh)
	}
	// The features are the pooled layer4 output; fc's hook sees the logits.
	pooled, _ := got["layer4"].MeanDims([]int64{2, 3}, false).Float32s()
	f, _ := feats.Float32s()
	for i := range f {
		if math.Abs(float64(f[i]-pooled[i])) > 1e-6 {
			t.Fatalf("feature %d: %g vs pooled layer4 %g", i, f[i], pooled[i])
		}
	}
	if eq, err := got["fc"].Equal(logits); err != nil || !eq {
		t.Fatal("fc hook output differs from the logits")
	}
	// A hook that replaces layer4's output by zeros leaves only the fc bias.
	rm, err := h.On("layer4", func(y *torch.Tensor) *torch.Tensor { return y.ZerosLike() })
	if err != nil {
		t.Fatal(err)
	}
	l2, _ := net.Forward(x)
	rm()
	bias, _ := net.Store.Get("fc.bias").T.Float32s()
	v, _ := l2.Float32s()
	for i := range v {
		if math.Abs(float64(v[i]-bias[i%5])) > 1e-6 {
			t.Fatalf("logit %d = %g with layer4 zeroed, want bias %g", i, v[i], bias[i%5])
		}
	}
	// Removed: the forward pass is the plain one again.
	l3, _ := net.Forward(x)
	if eq, err := l3.Equal(logits); err != nil || !eq {
		t.Fatal("removing the hook did not restore the forward pass")
	}
	if _, err := h.On("layer9", func(y *torch.Tensor) *torch.Tensor { return y }); err == nil || !strings.Contains(err.Error(), `unknown layer "layer9"`) {
		t.Fatalf("unknown layer: err = %v", err)
	}
}

func TestHooksVGGActivation(t *testing.T) {
	torch.ManualSeed(4)
	net, err := New("vgg11_bn", Config{Style: CIFAR, Width: 0.0625, InChannels: 1, Classes: 3}, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer net.Close()
	net.Store.SetTraining(false)
	// vgg11: 0 conv, 1 bn, 2 relu, 3 pool, 4 conv, 5 bn, 6 relu, 7 pool.
	got, done, err := net.Hooks().Capture("features.5", "features.6", "features.7")
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	s := torch.NewScope(torch.NoGrad())
	defer s.Close()
	net.Forward(torch.Randn(s, []int64{1, 1, 32, 32}))
	relu := torch.Relu(got["features.5"])
	if eq, err := relu.Equal(got["features.6"]); err != nil || !eq {
		t.Fatal("features.6 is not the ReLU of features.5")
	}
	if sh := got["features.7"].Shape(); sh[2] != 8 || sh[3] != 8 {
		t.Fatalf("features.7 (max-pool) shape %v, want 8×8", sh)
	}
}
