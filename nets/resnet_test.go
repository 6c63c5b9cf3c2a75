package nets

import "testing"

func TestResNetSteps(t *testing.T) {
	names := []string{"resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "wide_resnet50_2"}
	if testing.Short() {
		names = []string{"resnet18", "resnet50"}
	}
	naCheckSteps(t, names, nil)
}

// TestResNetCounts checks the architectures that ../shared/nets does not list
// (reference_test.go checks the others). The numbers were measured with
// /usr/bin/python3 nets/testdata/nets_a_gen.py counts (torch 1.13.1, torchvision
// 0.14.1, num_classes=10; CIFAR style: torchvision's model with huyvnphan's stem conv
// nn.Conv2d(3, 64, 3, 1, 1, bias=False)).
func TestResNetCounts(t *testing.T) {
	naCheckCounts(t, []naCount{
		{"resnet101", CIFAR, 3, 42_512_970},
		{"resnet152", ImageNet, 3, 58_164_298},
		{"resnet152", CIFAR, 3, 58_156_618},
		{"wide_resnet50_2", CIFAR, 3, 66_847_050},
		// One input channel: 64·(3−1)·9 fewer in the CIFAR stem.
		{"resnet18", CIFAR, 1, 11_173_962 - 64*2*9},
	})
}

// TestResNetParity compares with torchvision's BasicBlock/Bottleneck and _make_layer
// at 1/16 width: resnet18 in the CIFAR style (huyvnphan stem) on 32×32 inputs and
// resnet50 in the ImageNet style on 64×64 inputs.
func TestResNetParity(t *testing.T) {
	naCheckParity(t, "resnet", "resnet18_cifar_w0.0625", "resnet18", Config{Style: CIFAR, Width: 0.0625})
	naCheckParity(t, "resnet", "resnet50_imagenet_w0.0625", "resnet50", Config{Style: ImageNet, Width: 0.0625})
}

// TestResNetInit checks torchvision's initialisation: Kaiming-normal fan_out convs
// (stem, blocks, projections), BatchNorm 1 and 0, the default Linear init for fc.
func TestResNetInit(t *testing.T) {
	for _, st := range []Style{CIFAR, ImageNet} {
		naCheckInit(t, "resnet50", Config{Style: st, Width: 0.5}, map[string]naInit{
			"conv1.weight":                      naKaimingFanOut,
			"layer1.0.conv2.weight":             naKaimingFanOut,
			"layer3.0.conv3.weight":             naKaimingFanOut,
			"layer2.0.downsample.0.weight":      naKaimingFanOut,
			"layer4.2.bn3.weight":               naOne,
			"layer4.2.bn3.bias":                 naZero,
			"layer2.0.downsample.1.running_var": naOne,
			"fc.weight":                         naDefault,
			"fc.bias":                           naDefault,
		})
	}
}

// BenchmarkResNet18CIFARStep times one training forward and backward pass of
// resnet18 (CIFAR style, width 1) on a batch of 32 images of 32×32 (no optimizer
// step). Compare with the same step in PyTorch on the same machine.
func BenchmarkResNet18CIFARStep(b *testing.B) {
	benchTrainStep(b, "resnet18", Config{Style: CIFAR}, 32, 32)
}

// BenchmarkResNet50CIFARStep is the same for resnet50 (the study's baseline).
func BenchmarkResNet50CIFARStep(b *testing.B) {
	benchTrainStep(b, "resnet50", Config{Style: CIFAR}, 32, 32)
}
