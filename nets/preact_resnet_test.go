package nets

import (
	"testing"

	"github.com/divres/divres/torch"
)

func TestPreActResNetSteps(t *testing.T) {
	naCheckSteps(t, []string{"preact_resnet18", "wide_resnet28_10"}, nil)
}

// TestPreActResNetReference compares preact_resnet18 with kuangliu's PreActResNet18
// (../shared/nets): names, shapes, order, 11,171,146 parameters (11,169,994 for one
// input channel).
func TestPreActResNetReference(t *testing.T) { naCheckKuangliu(t, "preact_resnet18", "PreActResNet18") }

// TestWideResNetCounts checks WRN-28-10 against the count of the PyTorch definition
// in nets/testdata/nets_a_gen.py (PreActNet(wrn=True); `nets_a_gen.py counts`), which
// is also the published 36.5 M.
func TestWideResNetCounts(t *testing.T) {
	naCheckCounts(t, []naCount{{"wide_resnet28_10", CIFAR, 3, 36_479_194}})
	n, err := NewUninitialized("wide_resnet28_10", Config{Classes: 100}, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if got := n.Store.NumParams(); got != 36_536_884 {
		t.Errorf("100 classes: %d parameters, PyTorch 36536884", got)
	}
}

// TestPreActResNetParity compares with the PyTorch definitions of
// nets/testdata/nets_a_gen.py (kuangliu's PreActResNet18; WRN-28-10 as the authors'
// code) at reduced widths.
func TestPreActResNetParity(t *testing.T) {
	naCheckParity(t, "preact_resnet", "preact_resnet18_cifar_w0.0625", "preact_resnet18", Config{Style: CIFAR, Width: 0.0625})
	naCheckParity(t, "preact_resnet", "wide_resnet28_10_cifar_w0.05", "wide_resnet28_10", Config{Style: CIFAR, Width: 0.05})
}

// TestPreActResNetInit checks PyTorch's defaults for preact_resnet18 (kuangliu sets
// none) and the WRN authors' scheme: Kaiming-normal fan_out convs, zero fc bias.
func TestPreActResNetInit(t *testing.T) {
	naCheckInit(t, "preact_resnet18", Config{Width: 0.5}, map[string]naInit{
		"conv1.weight": naDefault, "layer2.0.conv1.weight": naDefault, "layer3.0.shortcut.0.weight": naDefault,
		"layer4.1.bn2.weight": naOne, "linear.weight": naDefault, "linear.bias": naDefault,
	})
	naCheckInit(t, "wide_resnet28_10", Config{Width: 0.25}, map[string]naInit{
		"conv1.weight": naKaimingFanOut, "layer2.0.conv1.weight": naKaimingFanOut,
		"layer2.0.downsample.0.weight": naKaimingFanOut, "layer3.3.conv2.weight": naKaimingFanOut,
		"bn.weight": naOne, "bn.bias": naZero, "fc.weight": naDefault, "fc.bias": naZero,
	})
}
