package nets

import (
	"math"
	"slices"
	"testing"

	"github.com/divres/divres/torch"
)

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
