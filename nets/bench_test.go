package nets

import (
	"testing"

	"github.com/divres/divres/torch"
)

// BenchmarkTrainStep times one training step (forward, cross-entropy, backward; no
// optimizer) of each architecture with a CIFAR style at width 0.25, batch 16,
// 32×32 RGB. Heavy architectures are left out; BenchmarkResNetCIFARStep covers
// the study's baselines at width 1.
func BenchmarkTrainStep(b *testing.B) {
	for _, name := range []string{"mobilenet_v2", "mobilenet_v3_small", "shufflenet_v2_x1_0", "efficientnet_b0",
		"regnet_x_400mf", "squeezenet1_1", "mnasnet1_0", "googlenet", "inception_v3",
		"vit_small", "mlp_mixer", "convnext_tiny"} {
		b.Run(name, func(b *testing.B) { benchTrainStep(b, name, Config{Style: CIFAR, Width: 0.25}, 16, 32) })
	}
}

// BenchmarkResNetCIFARStep times one training step of resnet18 and resnet50 (the
// study's baseline), CIFAR style at width 1, on a batch of 32 images of 32×32.
// Compare with the same step in PyTorch on the same machine.
func BenchmarkResNetCIFARStep(b *testing.B) {
	for _, name := range []string{"resnet18", "resnet50"} {
		b.Run(name, func(b *testing.B) { benchTrainStep(b, name, Config{Style: CIFAR}, 32, 32) })
	}
}

// BenchmarkSelfAttention times the composed multi-head attention forward pass of
// vit_small at width 1 (65 tokens, hidden 256, 4 heads), batch 16, in inference mode.
func BenchmarkSelfAttention(b *testing.B) {
	st := torch.NewStore()
	defer st.Close()
	torch.ManualSeed(1)
	a, err := NewSelfAttention(Builder{Path: st.Root()}, 256, 4)
	if err != nil {
		b.Fatal(err)
	}
	x := torch.Randn(nil, []int64{16, 65, 256})
	defer x.Free()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		err := torch.Do(func(s *torch.Scope) error { return a.Forward(x.In(s)).Err() }, torch.Inference())
		if err != nil {
			b.Fatal(err)
		}
	}
}
