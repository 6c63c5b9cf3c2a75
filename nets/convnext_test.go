package nets

import (
	"math"
	"slices"
	"testing"

	"github.com/divres/divres/torch"
)

func TestConvNeXtForwardBackward(t *testing.T) {
	// Smallest supported and default sizes of both styles.
	ncTrain(t, "convnext_tiny", Config{Style: CIFAR, Width: 0.125}, 16)
	ncTrain(t, "convnext_tiny", Config{Style: CIFAR, Width: 0.125}, 32)
	ncTrain(t, "convnext_tiny", Config{Style: CIFAR, Width: 0.0625, InChannels: 1, Classes: 100}, 28)
	ncTrain(t, "convnext_tiny", Config{Style: ImageNet, Width: 0.0625}, 32)
	ncTrain(t, "convnext_tiny", Config{Style: ImageNet, Width: 0.0625}, 224)
}

func TestConvNeXtParameterCounts(t *testing.T) {
	// Counted with /usr/bin/python3 and torchvision 0.14.1: convnext_tiny(num_classes=10)
	// with features[0][0] replaced by Conv2d(3, 96, 2, stride 2) has 27,824,362
	// parameters, with Conv2d(1, 96, 2, stride 2) 27,823,594. (The ImageNet style is
	// checked against ../shared/nets by reference_test.go.)
	for _, c := range []struct {
		cfg  Config
		want int64
	}{
		{Config{Style: CIFAR}, 27_824_362},
		{Config{Style: CIFAR, InChannels: 1}, 27_823_594},
	} {
		if got := ncCount(t, "convnext_tiny", c.cfg); got != c.want {
			t.Errorf("convnext_tiny %+v: %d parameters, want %d", c.cfg, got, c.want)
		}
	}
}

func TestConvNeXtParity(t *testing.T) {
	ncParity(t, "convnext_tiny", ImageNet, 0.0625, "convnext/convnext_tiny_imagenet_w0.0625")
	ncParity(t, "convnext_tiny", CIFAR, 0.03125, "convnext/convnext_tiny_cifar_w0.03125")
}

func TestConvNeXtStochasticDepth(t *testing.T) {
	// Block probabilities rise linearly from 0 to 0.1 over the 18 blocks (the layer
	// itself: TestStochasticDepth).
	n, err := NewUninitialized("convnext_tiny", Config{Style: CIFAR, Width: 0.0625}, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	var ps []float64
	for _, stage := range n.Model.(*ConvNeXt).features {
		for _, m := range stage.(Seq) {
			if blk, ok := m.(*cnBlock); ok {
				ps = append(ps, blk.drop.P)
			}
		}
	}
	if len(ps) != 18 || ps[0] != 0 || math.Abs(ps[17]-0.1) > 1e-12 || math.Abs(ps[9]-0.1*9/17) > 1e-12 {
		t.Errorf("stochastic depth probabilities %v", ps)
	}
}

func TestLayerNorm2d(t *testing.T) {
	// Each position is normalised over the channels: mean 0 and variance 1 (biased)
	// with unit weight and zero bias.
	st := torch.NewStore()
	defer st.Close()
	ln := NewLayerNorm2d(Builder{Path: st.Root()}, 5, 1e-6)
	err := torch.Do(func(s *torch.Scope) error {
		x := torch.Randn(s, []int64{2, 5, 3, 4}).MulScalar(3).AddScalar(2)
		y := ln.Forward(x)
		m, _ := y.MeanDims([]int64{1}, false).Abs().Max().Item()
		v, _ := y.Var([]int64{1}, false, false).SubScalar(1).Abs().Max().Item()
		if m > 1e-5 || v > 1e-4 {
			t.Errorf("per-position mean %g, variance − 1 %g", m, v)
		}
		if sh := y.Shape(); !slices.Equal(sh, []int64{2, 5, 3, 4}) {
			t.Errorf("shape %v", sh)
		}
		return nil
	}, torch.NoGrad())
	if err != nil {
		t.Fatal(err)
	}
}

func TestConvNeXtInitialisation(t *testing.T) {
	// torchvision: conv and linear weights N(0, 0.02²) truncated to [−2, 2], zero
	// biases, layer scales 10⁻⁶, LayerNorm weight 1 and bias 0.
	torch.ManualSeed(9)
	n, err := New("convnext_tiny", Config{Style: CIFAR, Width: 0.25}, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	stat := func(name string) (mean, std float64) {
		t.Helper()
		v := n.Store.Get(name)
		if v == nil {
			t.Fatalf("no %s", name)
		}
		mean, err1 := v.T.Mean().Item()
		std, err2 := v.T.Std(nil, true, false).Item()
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		return mean, std
	}
	for _, name := range []string{"features.5.4.block.3.weight", "features.0.0.weight", "classifier.2.weight"} {
		if _, s := stat(name); s < 0.017 || s > 0.023 {
			t.Errorf("%s: std %g, want ≈ 0.02", name, s)
		}
	}
	for name, want := range map[string]float64{
		"features.5.4.layer_scale": 1e-6, "features.5.4.block.3.bias": 0, "features.0.0.bias": 0,
		"features.5.4.block.2.weight": 1, "features.5.4.block.2.bias": 0, "classifier.0.weight": 1,
	} {
		if m, s := stat(name); math.Abs(m-want) > 1e-12 || s != 0 {
			t.Errorf("%s: mean %g std %g, want constant %g", name, m, s, want)
		}
	}
}
