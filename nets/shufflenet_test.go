package nets

import (
	"math"
	"testing"
)

func TestShuffleNetV2Parity(t *testing.T) {
	nbParity(t, "shufflenet", "shufflenet_v2_x1_0", 0.25, true, nil)
}

func TestShuffleNetV2Steps(t *testing.T) {
	// Features at widths 0.25 (CIFAR) and 0.125 (ImageNet): round(1024 × width).
	nbCheckSteps(t, "shufflenet_v2_x1_0", map[Style]int64{CIFAR: 256, ImageNet: 128})
}

func TestShuffleNetV2CIFARRows(t *testing.T) { nbCheckTorchvisionRows(t, "shufflenet_v2_x1_0") }

func TestShuffleNetV2Widths(t *testing.T) {
	// Stage channels stay even (each block splits them in halves).
	for _, w := range []float64{0.1, 0.25, 0.3, 0.5, 0.77, 1, 1.5} {
		ch := shuffleNetChannels(Builder{Width: w})
		for i := 1; i <= 3; i++ {
			if ch[i]%2 != 0 || ch[i] < 2 {
				t.Errorf("width %g: stage %d has %d channels", w, i+1, ch[i])
			}
		}
	}
	if got := shuffleNetChannels(Builder{Width: 1}); got != [5]int64{24, 116, 232, 464, 1024} {
		t.Errorf("width 1 channels %v", got)
	}
}

func TestShuffleNetV2MACs(t *testing.T) {
	// PyTorch forward hooks on Conv2d and Linear (nets_b_gen.py counts), width 1.
	nbCheckMACs(t, "shufflenet_v2_x1_0", CIFAR, 32, 45002112)
	nbCheckMACs(t, "shufflenet_v2_x1_0", ImageNet, 224, 143894232)
}

func TestShuffleNetV2Init(t *testing.T) {
	// No re-initialisation in torchvision: PyTorch's defaults, Kaiming-uniform with
	// a = √5, i.e. uniform in ±1/√fan-in (std 1/√(3·fan-in)), and Linear biases
	// uniform in ±1/√fan-in.
	nbCheckInit(t, "shufflenet_v2_x1_0", Config{Style: ImageNet}, []nbInitCheck{
		{param: "conv5.0.weight", std: 1 / math.Sqrt(3*464), bound: 1 / math.Sqrt(464)},
		{param: "fc.weight", std: 1 / math.Sqrt(3*1024), bound: 1 / math.Sqrt(1024)},
		{param: "fc.bias", bound: 1 / math.Sqrt(1024)},
	})
}
