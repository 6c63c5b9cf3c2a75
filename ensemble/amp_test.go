package ensemble

import (
	"context"
	"math"
	"testing"

	"github.com/divres/divres/torch"
)

// TestLossScaler: a non-finite gradient skips the step and halves the scale; finite
// gradients are divided by the scale; the scale doubles after GrowthInterval good
// steps.
func TestLossScaler(t *testing.T) {
	st := torch.NewStore()
	defer st.Close()
	p := st.Root().Param("w", []int64{2}, torch.Constant(0))
	vars := st.Trainable()
	setGrad := func(v []float32) {
		t.Helper()
		if err := p.SetGrad(torch.FromSlice(nil, v, nil)); err != nil {
			t.Fatal(err)
		}
	}
	s := &LossScaler{Scale: 8, GrowthInterval: 2}
	setGrad([]float32{1, float32(math.Inf(1))})
	if ok, err := s.Unscale(vars); ok || err != nil {
		t.Fatalf("infinite gradient: ok %v err %v", ok, err)
	}
	if s.Scale != 4 || s.Skipped != 1 {
		t.Errorf("after an overflow: %+v", s)
	}
	setGrad([]float32{2, 6})
	if ok, err := s.Unscale(vars); !ok || err != nil {
		t.Fatalf("finite gradient: ok %v err %v", ok, err)
	}
	g, err := p.Grad().Float32s()
	if err != nil {
		t.Fatal(err)
	}
	if g[0] != 0.5 || g[1] != 1.5 {
		t.Errorf("unscaled gradient %v, want [0.5 1.5]", g)
	}
	s.Update()
	s.Update()
	if s.Scale != 8 || s.GoodSteps != 0 {
		t.Errorf("after two good steps: %+v", s)
	}
}

// TestTrainBF16CPU: a short run with the forward pass autocast to bfloat16 on the
// CPU trains (finite, falling loss).
func TestTrainBF16CPU(t *testing.T) {
	needFashionMNIST(t)
	cfg := TrainConfig{Arch: "resnet18", Width: 0.125, Data: "fashion-mnist", Subset: 256, ValLimit: 32, Epochs: 2,
		Batch: 32, LR: 0.05, AMP: "bf16", Device: "cpu"}
	res, err := Train(context.Background(), cfg, t.TempDir(), testOpts(t))
	if err != nil {
		t.Fatal(err)
	}
	h := res.History
	if !(h[1].TrainLoss < h[0].TrainLoss) || math.IsNaN(*h[1].ValLoss) {
		t.Errorf("bf16: losses %v → %v, validation %v", h[0].TrainLoss, h[1].TrainLoss, *h[1].ValLoss)
	}
}
