package nets

import (
	"math"
	"testing"
)

func TestGoogLeNetParity(t *testing.T) {
	// CIFAR style against torchvision's GoogLeNet with huyvnphan's stem and pools
	// (nets_b_gen.py googlenet), ImageNet style against torchvision's.
	nbParity(t, "googlenet", "googlenet", 0.125, false, nil)
}

func TestGoogLeNetSteps(t *testing.T) {
	// Features at widths 0.25 (CIFAR) and 0.125 (ImageNet): inception5b's branches
	// 96 + 96 + 32 + 32 and 48 + 48 + 16 + 16.
	nbCheckSteps(t, "googlenet", map[Style]int64{CIFAR: 256, ImageNet: 128})
}

func TestGoogLeNetMACs(t *testing.T) {
	// PyTorch forward hooks on Conv2d and Linear (nets_b_gen.py counts), width 1.
	nbCheckMACs(t, "googlenet", CIFAR, 32, 1337141248)
	nbCheckMACs(t, "googlenet", ImageNet, 224, 1497362432)
}

func TestGoogLeNetInit(t *testing.T) {
	// ImageNet (torchvision): truncated normal std 0.01 for convolutions and the
	// Linear, whose bias keeps PyTorch's default. CIFAR (huyvnphan, no init):
	// PyTorch's defaults, uniform in ±1/√fan-in.
	nbCheckInit(t, "googlenet", Config{Style: ImageNet, Width: 0.5}, []nbInitCheck{
		{param: "inception4e.branch2.1.conv.weight", std: 0.01, bound: 2},
		{param: "fc.weight", std: 0.01},
		{param: "fc.bias", bound: 1 / math.Sqrt(512)},
	})
	nbCheckInit(t, "googlenet", Config{Style: CIFAR, Width: 0.5}, []nbInitCheck{
		{param: "inception4e.branch2.1.conv.weight", std: 1 / math.Sqrt(3*80*9), bound: 1 / math.Sqrt(80*9)},
		{param: "fc.weight", std: 1 / math.Sqrt(3*512), bound: 1 / math.Sqrt(512)},
	})
}
