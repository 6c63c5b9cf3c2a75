package plots

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/divres/divres/corrupt"
)

// archNames are the architectures the synthetic studies draw from.
var archNames = []string{
	"resnet50", "resnet18", "vgg16_bn", "densenet121", "mobilenet_v2", "efficientnet_b0",
	"googlenet", "inception_v3", "shufflenet_v2_x1_0", "squeezenet1_1", "regnet_x_400mf",
	"vit_small", "mlp_mixer", "lenet", "preact_resnet18", "wide_resnet28_10", "resnet34",
	"resnet101", "resnet152", "vgg11_bn", "vgg13_bn", "vgg19_bn", "densenet161",
	"densenet169", "mobilenet_v3_small", "mnasnet1_0",
}

// synthResults makes n plausible results (n ≤ len(archNames)) with all 19
// corruptions; resnet50 is always first and named as the baseline.
func synthResults(t testing.TB, n int, seed uint64) []Result {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 7))
	var out []Result
	for i := range n {
		arch := archNames[i]
		clean := 0.06 + 0.1*rng.Float64()
		robust := 0.5 + rng.Float64() // how fast errors grow with severity
		r := Result{
			Model: arch, Arch: arch, Style: "cifar", Width: 1, Params: int64(1e5 + rng.IntN(3e7)),
			Dataset: "fashion-mnist", Corruptions: "generated", CleanError: clean,
			Errors: map[string][]float64{}, Baseline: "resnet50",
		}
		sum := 0.0
		for k, c := range corrupt.Names {
			hard := 0.04 + 0.08*float64(k%5)*rng.Float64()
			es := make([]float64, 5)
			for s := range es {
				es[s] = math.Min(0.9, clean+robust*hard*float64(s+1))
				if k < 15 {
					sum += es[s]
				}
			}
			r.Errors[c] = es
		}
		r.CorruptionAccuracy = 1 - sum/75
		out = append(out, r)
	}
	return out
}
