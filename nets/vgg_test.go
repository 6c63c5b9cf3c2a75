package nets

import (
	"strings"
	"testing"
)

// vggConvBias matches the conv biases of VGG: in training mode the BatchNorm that
// follows removes them, so their gradient is zero up to rounding.
func vggConvBias(name string) bool {
	return strings.HasPrefix(name, "features.") && strings.HasSuffix(name, ".bias")
}

func TestVGGSteps(t *testing.T) {
	names := []string{"vgg11_bn", "vgg13_bn", "vgg16_bn", "vgg19_bn"}
	if testing.Short() {
		names = names[:1]
	}
	naCheckSteps(t, names, vggConvBias)
}

// TestVGGCounts checks the ImageNet-style models that ../shared/nets does not list
// (measured with /usr/bin/python3 nets/testdata/nets_a_gen.py counts, torchvision
// 0.14.1, num_classes=10).
func TestVGGCounts(t *testing.T) {
	naCheckCounts(t, []naCount{
		{"vgg13_bn", ImageNet, 3, 128_997_706},
		{"vgg19_bn", ImageNet, 3, 139_622_218},
		// One input channel: 64·(3−1)·9 fewer in features.0.
		{"vgg11_bn", CIFAR, 1, 28_149_514 - 64*2*9},
	})
}

// TestVGGParity compares vgg11_bn in the CIFAR style at 1/16 width with torchvision's
// VGG and make_layers (huyvnphan's 1×1 pool and classifier), in evaluation mode.
func TestVGGParity(t *testing.T) {
	naCheckParity(t, "vgg", "vgg11_bn_cifar_w0.0625", "vgg11_bn", Config{Style: CIFAR, Width: 0.0625})
}

// TestVGGInit checks torchvision's initialisation: Kaiming-normal fan_out convs with
// zero bias, N(0, 0.01) linears with zero bias.
func TestVGGInit(t *testing.T) {
	naCheckInit(t, "vgg11_bn", Config{Style: CIFAR, Width: 0.5}, map[string]naInit{
		"features.4.weight":   naKaimingFanOut,
		"features.4.bias":     naZero,
		"features.5.weight":   naOne,
		"classifier.0.weight": naNormal001,
		"classifier.3.weight": naNormal001,
		"classifier.3.bias":   naZero,
		"classifier.6.weight": naNormal001,
		"classifier.6.bias":   naZero,
	})
}
