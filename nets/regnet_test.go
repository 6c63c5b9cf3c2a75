package nets

import (
	"math"
	"slices"
	"testing"
)

func TestRegNetX400MFParity(t *testing.T) {
	nbParity(t, "regnet", "regnet_x_400mf", 0.0625, true, nil)
}

func TestRegNetX400MFSteps(t *testing.T) {
	// Features at widths 0.25 (CIFAR) and 0.125 (ImageNet): round(400 × width) = 100
	// and 50, rounded to a multiple of the group width 16: 96 and 48.
	nbCheckSteps(t, "regnet_x_400mf", map[Style]int64{CIFAR: 96, ImageNet: 48})
}

func TestRegNetX400MFCIFARRows(t *testing.T) { nbCheckTorchvisionRows(t, "regnet_x_400mf") }

func TestRegNetWidths(t *testing.T) {
	// Values of torchvision's BlockParams._adjust_widths_groups_compatibilty for the
	// scaled widths (see nets_b_gen.py regnet_widths).
	for _, c := range []struct {
		w              float64
		widths, groups []int64
	}{
		{1, []int64{32, 64, 160, 400}, []int64{16, 16, 16, 16}},
		{0.25, []int64{8, 16, 48, 96}, []int64{8, 16, 16, 16}},
		{0.0625, []int64{2, 4, 10, 32}, []int64{2, 4, 10, 16}},
	} {
		w, g := regNetWidths(Builder{Width: c.w})
		if !slices.Equal(w, c.widths) || !slices.Equal(g, c.groups) {
			t.Errorf("width %g: widths %v groups %v, want %v %v", c.w, w, g, c.widths, c.groups)
		}
	}
}

func TestRegNetX400MFMACs(t *testing.T) {
	// PyTorch forward hooks on Conv2d and Linear (nets_b_gen.py counts), width 1.
	nbCheckMACs(t, "regnet_x_400mf", CIFAR, 32, 129195936)
	nbCheckMACs(t, "regnet_x_400mf", ImageNet, 224, 413416608)
}

func TestRegNetX400MFInit(t *testing.T) {
	// torchvision: convolutions N(0, 2/(k·k·out)), Linear N(0, 0.01), zero bias.
	nbCheckInit(t, "regnet_x_400mf", Config{Style: ImageNet}, []nbInitCheck{
		{param: "trunk_output.block4.block4-3.f.b.0.weight", std: math.Sqrt(2.0 / (9 * 400))},
		{param: "trunk_output.block3.block3-0.proj.0.weight", std: math.Sqrt(2.0 / 160)},
		{param: "fc.weight", std: 0.01},
		{param: "fc.bias", zero: true},
	})
}
