package nets

import (
	"math"
	"testing"
)

func TestMNASNet10Parity(t *testing.T) {
	// The training-mode forward also checks BatchNorm momentum 0.0003.
	nbParity(t, "mnasnet", "mnasnet1_0", 0.1, true, nil)
}

func TestMNASNet10Steps(t *testing.T) {
	nbCheckSteps(t, "mnasnet1_0", map[Style]int64{CIFAR: 1280, ImageNet: 1280})
}

func TestMNASNet10CIFARRows(t *testing.T) { nbCheckTorchvisionRows(t, "mnasnet1_0") }

func TestRoundToMultipleOf(t *testing.T) {
	// MNASNet's depths use makeDivisible: torchvision's _round_to_multiple_of(val, 8)
	// (round-up bias 0.9) examples: (83, 8) → 80 but
	// (84, 8) → 88; depths of mnasnet0_5 (alpha 0.5) and mnasnet0_75.
	for _, c := range []struct {
		v    float64
		want int64
	}{{83, 80}, {84, 88}, {16, 16}, {8, 8}, {12, 16}, {60, 64}, {1.6, 8}, {72, 72}, {240, 240}} {
		if got := makeDivisible(c.v, 8); got != c.want {
			t.Errorf("makeDivisible(%g, 8) = %d, want %d", c.v, got, c.want)
		}
	}
}

func TestMNASNet10MACs(t *testing.T) {
	// PyTorch forward hooks on Conv2d and Linear (nets_b_gen.py counts), width 1.
	nbCheckMACs(t, "mnasnet1_0", CIFAR, 32, 94790144)
	nbCheckMACs(t, "mnasnet1_0", ImageNet, 224, 313148672)
}

func TestMNASNet10Init(t *testing.T) {
	// torchvision: Kaiming-normal fan-out convolutions; the Linear Kaiming-uniform
	// fan-out with gain 1 (bound √(3/classes)), zero bias.
	nbCheckInit(t, "mnasnet1_0", Config{Style: ImageNet, Classes: 100}, []nbInitCheck{
		{param: "layers.14.weight", std: math.Sqrt(2.0 / 1280)},
		{param: "classifier.1.weight", std: math.Sqrt(3.0/100) / math.Sqrt(3), bound: math.Sqrt(3.0 / 100)},
		{param: "classifier.1.bias", zero: true},
	})
}
