package nets

import (
	"testing"

	"github.com/divres/divres/torch"
)

// ncBenchArchs are the nets-C architectures with a CIFAR style.
var ncBenchArchs = []string{"vit_small", "mlp_mixer", "convnext_tiny"}

// BenchmarkNetsCTrainStep times one training step (forward, cross-entropy, backward;
// no optimizer) of each nets-C architecture, CIFAR style at width 0.25, batch 16,
// 32×32 RGB (the setting of BenchmarkNetsBTrainStep).
func BenchmarkNetsCTrainStep(b *testing.B) {
	for _, name := range ncBenchArchs {
		b.Run(name, func(b *testing.B) { benchTrainStep(b, name, Config{Style: CIFAR, Width: 0.25}, 16, 32) })
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
