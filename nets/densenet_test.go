package nets

import "testing"

func TestDenseNetSteps(t *testing.T) {
	names := []string{"densenet121", "densenet161", "densenet169"}
	if testing.Short() {
		names = names[:1]
	}
	naCheckSteps(t, names, nil)
}

// TestDenseNetCounts checks the ImageNet-style models that ../shared/nets does not
// list (measured with /usr/bin/python3 nets/testdata/nets_a_gen.py counts,
// torchvision 0.14.1, num_classes=10).
func TestDenseNetCounts(t *testing.T) {
	naCheckCounts(t, []naCount{
		{"densenet161", ImageNet, 3, 26_494_090},
		{"densenet169", ImageNet, 3, 12_501_130},
	})
}

// TestDenseNetParity compares densenet121 in the CIFAR style at 1/16 width (growth
// rate 2, 4 initial features) with torchvision's DenseNet with huyvnphan's stem.
func TestDenseNetParity(t *testing.T) {
	naCheckParity(t, "densenet", "densenet121_cifar_w0.0625", "densenet121", Config{Style: CIFAR, Width: 0.0625})
}

// TestDenseNetInit checks torchvision's initialisation: Kaiming-normal fan_in convs,
// the default Linear weight with zero bias.
func TestDenseNetInit(t *testing.T) {
	naCheckInit(t, "densenet121", Config{Style: CIFAR, Width: 0.5}, map[string]naInit{
		"features.conv0.weight":                         naKaimingFanIn,
		"features.denseblock2.denselayer3.conv1.weight": naKaimingFanIn,
		"features.denseblock3.denselayer5.conv2.weight": naKaimingFanIn,
		"features.transition2.conv.weight":              naKaimingFanIn,
		"features.norm5.weight":                         naOne,
		"classifier.weight":                             naDefault,
		"classifier.bias":                               naZero,
	})
}
