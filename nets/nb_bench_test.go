package nets

import "testing"

// nbBenchArchs are the nets-B architectures.
var nbBenchArchs = []string{"mobilenet_v2", "mobilenet_v3_small", "shufflenet_v2_x1_0", "efficientnet_b0",
	"regnet_x_400mf", "squeezenet1_1", "mnasnet1_0", "googlenet", "inception_v3"}

// BenchmarkNetsBTrainStep times one training step (forward, cross-entropy,
// backward; no optimizer) of each nets-B architecture, CIFAR style at width 0.25,
// batch 16, 32×32 RGB.
func BenchmarkNetsBTrainStep(b *testing.B) {
	for _, name := range nbBenchArchs {
		b.Run(name, func(b *testing.B) { benchTrainStep(b, name, Config{Style: CIFAR, Width: 0.25}, 16, 32) })
	}
}
