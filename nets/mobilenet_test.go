package nets

import (
	"math"
	"testing"
)

func TestMobileNetV2Parity(t *testing.T) { nbParity(t, "mobilenet", "mobilenet_v2", 0.1, true, nil) }

func TestMobileNetV3SmallParity(t *testing.T) {
	nbParity(t, "mobilenet", "mobilenet_v3_small", 0.25, true, nil)
}

func TestMobileNetSteps(t *testing.T) {
	// Features at widths 0.25 (CIFAR) and 0.125 (ImageNet): MobileNetV2 keeps 1280 ×
	// max(1, width); MobileNetV3's classifier hidden layer is makeDivisible(1024 ×
	// width, 8).
	nbCheckSteps(t, "mobilenet_v2", map[Style]int64{CIFAR: 1280, ImageNet: 1280})
	nbCheckSteps(t, "mobilenet_v3_small", map[Style]int64{CIFAR: 256, ImageNet: 128})
}

func TestMobileNetV3SmallCIFARRows(t *testing.T) { nbCheckTorchvisionRows(t, "mobilenet_v3_small") }

func TestMobileNetMACs(t *testing.T) {
	// PyTorch forward hooks on Conv2d and Linear (nets_b_gen.py counts), width 1.
	nbCheckMACs(t, "mobilenet_v2", CIFAR, 32, 87976448)
	nbCheckMACs(t, "mobilenet_v2", ImageNet, 224, 299507072)
	nbCheckMACs(t, "mobilenet_v3_small", CIFAR, 32, 17507328)
	nbCheckMACs(t, "mobilenet_v3_small", ImageNet, 224, 55496640)
}

func TestMakeDivisible(t *testing.T) {
	// torchvision's _make_divisible(v, 8) values.
	for _, c := range []struct {
		v    float64
		want int64
	}{{32, 32}, {8, 8}, {3.2, 8}, {12, 16}, {11.9, 16}, {20, 24}, {35, 32}, {36, 40}, {1280, 1280}, {90, 88}, {100, 104}, {57, 56}} {
		if got := makeDivisible(c.v, 8); got != c.want {
			t.Errorf("makeDivisible(%g, 8) = %d, want %d", c.v, got, c.want)
		}
	}
}

func TestMobileNetInit(t *testing.T) {
	// torchvision: Kaiming-normal fan-out convolutions, Linear N(0, 0.01), zero biases.
	nbCheckInit(t, "mobilenet_v2", Config{Style: ImageNet, Width: 0.5}, []nbInitCheck{
		{param: "features.18.0.weight", std: math.Sqrt(2.0 / 1280)},
		{param: "features.1.conv.0.0.weight", std: math.Sqrt(2.0 / (16 * 9))}, // depthwise (16, 1, 3, 3): PyTorch's fan-out is 16·3·3
		{param: "classifier.1.weight", std: 0.01},
		{param: "classifier.1.bias", zero: true},
		{param: "features.0.1.weight", std: 0},
	})
	nbCheckInit(t, "mobilenet_v3_small", Config{Style: CIFAR, Width: 1}, []nbInitCheck{
		{param: "features.12.0.weight", std: math.Sqrt(2.0 / 576)},
		{param: "features.4.block.2.fc1.bias", zero: true},
		{param: "classifier.0.weight", std: 0.01},
		{param: "classifier.3.weight", std: 0.01},
	})
}
