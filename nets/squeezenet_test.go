package nets

import (
	"math"
	"testing"
)

func TestSqueezeNet11Parity(t *testing.T) {
	nbParity(t, "squeezenet", "squeezenet1_1", 0.25, true, nil)
}

func TestSqueezeNet11Steps(t *testing.T) {
	// Features at widths 0.25 (CIFAR) and 0.125 (ImageNet): the last Fire's two
	// expand branches, 2 × 64 and 2 × 32.
	nbCheckSteps(t, "squeezenet1_1", map[Style]int64{CIFAR: 128, ImageNet: 64})
}

func TestSqueezeNet11CIFARRows(t *testing.T) { nbCheckTorchvisionRows(t, "squeezenet1_1") }

func TestSqueezeNet11MACs(t *testing.T) {
	// PyTorch forward hooks on Conv2d and Linear (nets_b_gen.py counts), width 1.
	nbCheckMACs(t, "squeezenet1_1", CIFAR, 32, 23511040)
	nbCheckMACs(t, "squeezenet1_1", ImageNet, 224, 263489216)
}

func TestSqueezeNet11Init(t *testing.T) {
	// torchvision: Kaiming-uniform (fan-in, ReLU gain: bound √(6/fan-in)), the final
	// convolution N(0, 0.01), zero biases.
	nbCheckInit(t, "squeezenet1_1", Config{Style: ImageNet}, []nbInitCheck{
		{param: "features.12.expand3x3.weight", std: math.Sqrt(2.0 / (64 * 9)), bound: math.Sqrt(6.0 / (64 * 9))},
		{param: "features.12.expand3x3.bias", zero: true},
		{param: "classifier.1.weight", std: 0.01},
		{param: "classifier.1.bias", zero: true},
	})
}
