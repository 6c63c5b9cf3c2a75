package nets

import (
	"testing"

	"github.com/divres/divres/torch"
)

// nbBenchArchs are the nets-B architectures.
var nbBenchArchs = []string{"mobilenet_v2", "mobilenet_v3_small", "shufflenet_v2_x1_0", "efficientnet_b0",
	"regnet_x_400mf", "squeezenet1_1", "mnasnet1_0", "googlenet", "inception_v3"}

// BenchmarkNetsBTrainStep times one training step (forward, cross-entropy,
// backward; no optimizer) of each nets-B architecture, CIFAR style at width 0.25,
// batch 16, 32×32 RGB.
func BenchmarkNetsBTrainStep(b *testing.B) {
	const batch = 16
	for _, name := range nbBenchArchs {
		b.Run(name, func(b *testing.B) {
			torch.ManualSeed(1)
			n, err := New(name, Config{Style: CIFAR, Width: 0.25}, torch.CPU)
			if err != nil {
				b.Fatal(err)
			}
			defer n.Close()
			x := torch.Randn(nil, []int64{batch, 3, 32, 32})
			y := torch.Randint(nil, 0, 10, []int64{batch})
			defer x.Free()
			defer y.Free()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				err := torch.Do(func(s *torch.Scope) error {
					logits, _ := n.Forward(x.In(s))
					loss := torch.CrossEntropy(logits, y.In(s), 0)
					return loss.Backward()
				})
				if err != nil {
					b.Fatal(err)
				}
				if err := n.Store.ZeroGrad(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "images/s")
		})
	}
}
