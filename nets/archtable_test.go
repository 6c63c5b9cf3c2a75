package nets

import (
	"math"
	"strconv"
	"strings"
)

// archTable holds, for every registered architecture, what the reference tests of
// reference_test.go check against PyTorch: parity files (weights, input and
// outputs written by testdata/gen_reference.py), ordered state_dict rows (from
// testdata/state_dicts.json.gz, compacted from ../shared/nets, or a file written by
// the generator), parameter counts and multiply-accumulates measured with PyTorch,
// the training steps to run, and the initialisation schemes. The tolerances are
// those of the one policy in reference_test.go (refBound), not per architecture.
//
// Parameter counts below were measured with /usr/bin/python3, torch 1.13.1 and
// torchvision 0.14.1, num_classes=10 unless the config says otherwise
// (`gen_reference.py counts`); the CIFAR variants of torchvision models are
// torchvision's model with huyvnphan's 3×3 stride-1 stem conv.
var archTable = map[string]archCase{
	// ---------------------------------------------------------------- resnet
	"resnet18": {
		steps: []stepCase{{style: CIFAR, width: 0.125}, {style: ImageNet, width: 0.125}},
		// torchvision's BasicBlock and _make_layer at 1/16 width, huyvnphan's stem
		parity: []parityCase{{style: CIFAR, width: 0.0625, weights: "resnet/resnet18_cifar_w0.0625", io: "resnet/resnet18_cifar_w0.0625_io"}},
		rows:   []rowsCase{{style: ImageNet, ref: "torchvision/resnet18"}, {style: CIFAR, ref: "huyvnphan/resnet18"}},
		// one input channel: 64·(3−1)·9 fewer in the CIFAR stem
		counts: []countCase{{Config{Style: CIFAR, InChannels: 1}, 11_173_962 - 64*2*9}},
	},
	"resnet34": {
		steps: []stepCase{{style: CIFAR, width: 0.125}, {style: ImageNet, width: 0.125}},
		slow:  true,
		rows:  []rowsCase{{style: ImageNet, ref: "torchvision/resnet34"}, {style: CIFAR, ref: "huyvnphan/resnet34"}},
	},
	"resnet50": {
		steps: []stepCase{{style: CIFAR, width: 0.125}, {style: ImageNet, width: 0.125}},
		// torchvision's Bottleneck at 1/16 width on 64×64 inputs
		parity: []parityCase{{style: ImageNet, width: 0.0625, weights: "resnet/resnet50_imagenet_w0.0625", io: "resnet/resnet50_imagenet_w0.0625_io"}},
		rows:   []rowsCase{{style: ImageNet, ref: "torchvision/resnet50"}, {style: CIFAR, ref: "huyvnphan/resnet50"}},
		// torchvision: Kaiming-normal fan-out convs (stem, blocks, projections),
		// BatchNorm 1 and 0, the default Linear init for fc
		init: []initCase{
			{Config{Style: CIFAR, Width: 0.5}, resnet50Init},
			{Config{Style: ImageNet, Width: 0.5}, resnet50Init},
		},
	},
	"resnet101": {
		steps:  []stepCase{{style: CIFAR, width: 0.125}, {style: ImageNet, width: 0.125}},
		slow:   true,
		rows:   []rowsCase{{style: ImageNet, ref: "torchvision/resnet101"}},
		counts: []countCase{{Config{Style: CIFAR}, 42_512_970}},
	},
	"resnet152": {
		steps:  []stepCase{{style: CIFAR, width: 0.125}, {style: ImageNet, width: 0.125}},
		slow:   true,
		counts: []countCase{{Config{Style: ImageNet}, 58_164_298}, {Config{Style: CIFAR}, 58_156_618}},
	},
	"wide_resnet50_2": {
		steps:  []stepCase{{style: CIFAR, width: 0.125}, {style: ImageNet, width: 0.125}},
		slow:   true,
		rows:   []rowsCase{{style: ImageNet, ref: "torchvision/wide_resnet50_2"}},
		counts: []countCase{{Config{Style: CIFAR}, 66_847_050}},
	},

	// ---------------------------------------------------------------- vgg
	"vgg11_bn": {
		steps:    []stepCase{{style: CIFAR, width: 0.125}, {style: ImageNet, width: 0.125}},
		vanishes: vggConvBias,
		// torchvision's VGG and make_layers with huyvnphan's 1×1 pool and classifier
		parity: []parityCase{{style: CIFAR, width: 0.0625, weights: "vgg/vgg11_bn_cifar_w0.0625", io: "vgg/vgg11_bn_cifar_w0.0625_io",
			evalOnly: "the classifier's dropout masks cannot match PyTorch's"}},
		rows: []rowsCase{{style: ImageNet, ref: "torchvision/vgg11_bn"}, {style: CIFAR, ref: "huyvnphan/vgg11_bn"}},
		// one input channel: 64·(3−1)·9 fewer in features.0
		counts: []countCase{{Config{Style: CIFAR, InChannels: 1}, 28_149_514 - 64*2*9}},
		// torchvision: Kaiming-normal fan-out convs with zero bias, N(0, 0.01)
		// linears with zero bias
		init: []initCase{{Config{Style: CIFAR, Width: 0.5}, map[string]initRule{
			"features.4.weight": kaimingFanOut, "features.4.bias": zero, "features.5.weight": one,
			"classifier.0.weight": normal(0.01), "classifier.3.weight": normal(0.01), "classifier.3.bias": zero,
			"classifier.6.weight": normal(0.01), "classifier.6.bias": zero,
		}}},
	},
	"vgg13_bn": {
		steps:    []stepCase{{style: CIFAR, width: 0.125}, {style: ImageNet, width: 0.125}},
		slow:     true,
		vanishes: vggConvBias,
		rows:     []rowsCase{{style: CIFAR, ref: "huyvnphan/vgg13_bn"}},
		counts:   []countCase{{Config{Style: ImageNet}, 128_997_706}},
	},
	"vgg16_bn": {
		steps:    []stepCase{{style: CIFAR, width: 0.125}, {style: ImageNet, width: 0.125}},
		slow:     true,
		vanishes: vggConvBias,
		rows:     []rowsCase{{style: ImageNet, ref: "torchvision/vgg16_bn"}, {style: CIFAR, ref: "huyvnphan/vgg16_bn"}},
	},
	"vgg19_bn": {
		steps:    []stepCase{{style: CIFAR, width: 0.125}, {style: ImageNet, width: 0.125}},
		slow:     true,
		vanishes: vggConvBias,
		rows:     []rowsCase{{style: CIFAR, ref: "huyvnphan/vgg19_bn"}},
		counts:   []countCase{{Config{Style: ImageNet}, 139_622_218}},
	},

	// ---------------------------------------------------------------- densenet
	"densenet121": {
		steps: []stepCase{{style: CIFAR, width: 0.125}, {style: ImageNet, width: 0.125}},
		// 1/16 width (growth rate 2, 4 initial features), huyvnphan's stem
		parity: []parityCase{{style: CIFAR, width: 0.0625, weights: "densenet/densenet121_cifar_w0.0625", io: "densenet/densenet121_cifar_w0.0625_io"}},
		rows:   []rowsCase{{style: ImageNet, ref: "torchvision/densenet121"}, {style: CIFAR, ref: "huyvnphan/densenet121"}},
		// torchvision: Kaiming-normal fan-in convs, the default Linear weight with
		// zero bias
		init: []initCase{{Config{Style: CIFAR, Width: 0.5}, map[string]initRule{
			"features.conv0.weight":                         kaimingFanIn,
			"features.denseblock2.denselayer3.conv1.weight": kaimingFanIn,
			"features.denseblock3.denselayer5.conv2.weight": kaimingFanIn,
			"features.transition2.conv.weight":              kaimingFanIn,
			"features.norm5.weight":                         one,
			"classifier.weight":                             torchDefault,
			"classifier.bias":                               zero,
		}}},
	},
	"densenet161": {
		steps:  []stepCase{{style: CIFAR, width: 0.125}, {style: ImageNet, width: 0.125}},
		slow:   true,
		rows:   []rowsCase{{style: CIFAR, ref: "huyvnphan/densenet161"}},
		counts: []countCase{{Config{Style: ImageNet}, 26_494_090}},
	},
	"densenet169": {
		steps:  []stepCase{{style: CIFAR, width: 0.125}, {style: ImageNet, width: 0.125}},
		slow:   true,
		rows:   []rowsCase{{style: CIFAR, ref: "huyvnphan/densenet169"}},
		counts: []countCase{{Config{Style: ImageNet}, 12_501_130}},
	},

	// ---------------------------------------------------------------- lenet, pre-activation ResNets
	"lenet": {
		steps: []stepCase{{style: CIFAR, width: 0.125}},
		// kuangliu's LeNet at full width
		parity: []parityCase{{style: CIFAR, weights: "lenet/lenet_cifar", io: "lenet/lenet_cifar_io"}},
		rows:   []rowsCase{{style: CIFAR, ref: "kuangliu/LeNet"}},
		// kuangliu's LeNet for one input channel (../shared/nets, in1_28)
		counts: []countCase{{Config{Style: CIFAR, InChannels: 1}, 61_706}},
		// PyTorch's default initialisation (kuangliu sets none)
		init: []initCase{{Config{}, map[string]initRule{
			"conv2.weight": torchDefault, "conv2.bias": torchDefault, "fc1.weight": torchDefault, "fc2.weight": torchDefault,
		}}},
	},
	"preact_resnet18": {
		steps: []stepCase{{style: CIFAR, width: 0.125}},
		// kuangliu's PreActResNet18 (defined in gen_reference.py)
		parity: []parityCase{{style: CIFAR, width: 0.0625, weights: "preact_resnet/preact_resnet18_cifar_w0.0625", io: "preact_resnet/preact_resnet18_cifar_w0.0625_io"}},
		rows:   []rowsCase{{style: CIFAR, ref: "kuangliu/PreActResNet18"}},
		counts: []countCase{{Config{Style: CIFAR, InChannels: 1}, 11_169_994}},
		// PyTorch's defaults (kuangliu sets none)
		init: []initCase{{Config{Width: 0.5}, map[string]initRule{
			"conv1.weight": torchDefault, "layer2.0.conv1.weight": torchDefault, "layer3.0.shortcut.0.weight": torchDefault,
			"layer4.1.bn2.weight": one, "linear.weight": torchDefault, "linear.bias": torchDefault,
		}}},
	},
	"wide_resnet28_10": {
		steps: []stepCase{{style: CIFAR, width: 0.125}},
		// WRN-28-10 as the authors' code (PreActNet(wrn=True) in gen_reference.py)
		parity: []parityCase{{style: CIFAR, width: 0.05, weights: "preact_resnet/wide_resnet28_10_cifar_w0.05", io: "preact_resnet/wide_resnet28_10_cifar_w0.05_io"}},
		// the published 36.5 M
		counts: []countCase{{Config{Style: CIFAR}, 36_479_194}, {Config{Style: CIFAR, Classes: 100}, 36_536_884}},
		// the WRN authors' scheme: Kaiming-normal fan-out convs, zero fc bias
		init: []initCase{{Config{Width: 0.25}, map[string]initRule{
			"conv1.weight": kaimingFanOut, "layer2.0.conv1.weight": kaimingFanOut,
			"layer2.0.downsample.0.weight": kaimingFanOut, "layer3.3.conv2.weight": kaimingFanOut,
			"bn.weight": one, "bn.bias": zero, "fc.weight": torchDefault, "fc.bias": zero,
		}}},
	},

	// ---------------------------------------------------------------- mobilenet
	"mobilenet_v2": {
		tinyMaps: true,
		// features: 1280 × max(1, width)
		steps:  []stepCase{{style: CIFAR, width: 0.25, in: 1, classes: 7, features: 1280}, {style: ImageNet, width: 0.125, in: 1, classes: 7, features: 1280}},
		parity: sharedWeightsParity("mobilenet", "mobilenet_v2", 0.1, nil),
		rows:   []rowsCase{{style: ImageNet, ref: "torchvision/mobilenet_v2"}, {style: CIFAR, ref: "huyvnphan/mobilenet_v2"}},
		macs:   []macsCase{{CIFAR, 32, 87976448}, {ImageNet, 224, 299507072}},
		// torchvision: Kaiming-normal fan-out convolutions, Linear N(0, 0.01), zero
		// biases; the depthwise (16, 1, 3, 3) conv's fan-out is 16·3·3
		init: []initCase{{Config{Style: ImageNet, Width: 0.5}, map[string]initRule{
			"features.18.0.weight":       normal(math.Sqrt(2.0 / 1280)),
			"features.1.conv.0.0.weight": normal(math.Sqrt(2.0 / (16 * 9))),
			"classifier.1.weight":        normal(0.01),
			"classifier.1.bias":          zero,
			"features.0.1.weight":        one,
		}}},
	},
	"mobilenet_v3_small": {
		tinyMaps: true,
		// features: the classifier's hidden layer, makeDivisible(1024 × width, 8)
		steps:  []stepCase{{style: CIFAR, width: 0.25, in: 1, classes: 7, features: 256}, {style: ImageNet, width: 0.125, in: 1, classes: 7, features: 128}},
		parity: sharedWeightsParity("mobilenet", "mobilenet_v3_small", 0.25, nil),
		// huyvnphan lacks the family: the CIFAR changes are strides only, so the
		// CIFAR state_dict is torchvision's
		rows: []rowsCase{{style: ImageNet, ref: "torchvision/mobilenet_v3_small"}, {style: CIFAR, ref: "torchvision/mobilenet_v3_small"}},
		macs: []macsCase{{CIFAR, 32, 17507328}, {ImageNet, 224, 55496640}},
		init: []initCase{{Config{Style: CIFAR, Width: 1}, map[string]initRule{
			"features.12.0.weight":        normal(math.Sqrt(2.0 / 576)),
			"features.4.block.2.fc1.bias": zero,
			"classifier.0.weight":         normal(0.01),
			"classifier.3.weight":         normal(0.01),
		}}},
	},

	// ---------------------------------------------------------------- shufflenet, efficientnet, regnet, squeezenet, mnasnet
	"shufflenet_v2_x1_0": {
		tinyMaps: true,
		// features: round(1024 × width)
		steps:  []stepCase{{style: CIFAR, width: 0.25, in: 1, classes: 7, features: 256}, {style: ImageNet, width: 0.125, in: 1, classes: 7, features: 128}},
		parity: sharedWeightsParity("shufflenet", "shufflenet_v2_x1_0", 0.25, nil),
		rows:   []rowsCase{{style: ImageNet, ref: "torchvision/shufflenet_v2_x1_0"}, {style: CIFAR, ref: "torchvision/shufflenet_v2_x1_0"}},
		macs:   []macsCase{{CIFAR, 32, 45002112}, {ImageNet, 224, 143894232}},
		// no re-initialisation in torchvision: PyTorch's defaults, uniform in
		// ±1/√fan-in
		init: []initCase{{Config{Style: ImageNet}, map[string]initRule{
			"conv5.0.weight": uniform(1 / math.Sqrt(464)),
			"fc.weight":      uniform(1 / math.Sqrt(1024)),
			"fc.bias":        uniform(1 / math.Sqrt(1024)),
		}}},
	},
	"efficientnet_b0": {
		// features: 4 × makeDivisible(320 × width, 8)
		steps:   []stepCase{{style: CIFAR, width: 0.25, in: 1, classes: 7, features: 320}, {style: ImageNet, width: 0.125, in: 1, classes: 7, features: 160}},
		prepare: withoutStochasticDepth,
		// After the training-mode forward only the BatchNorm statistics of the stem
		// and of the blocks up to the first one with stochastic depth (block 2, the
		// second of stage 2: its branch runs before its own drop) are deterministic.
		parity: sharedWeightsParity("efficientnet", "efficientnet_b0", 0.1, func(name string) bool {
			for _, p := range []string{"features.0.", "features.1.", "features.2.0.", "features.2.1."} {
				if strings.HasPrefix(name, p) {
					return true
				}
			}
			return false
		}),
		rows: []rowsCase{{style: ImageNet, ref: "torchvision/efficientnet_b0"}, {style: CIFAR, ref: "torchvision/efficientnet_b0"}},
		macs: []macsCase{{CIFAR, 32, 116167168}, {ImageNet, 224, 384547552}},
		// torchvision: Kaiming-normal fan-out convolutions, zero conv biases, the
		// classifier uniform in ±1/√classes with zero bias
		init: []initCase{{Config{Style: ImageNet, Classes: 100}, map[string]initRule{
			"features.8.0.weight":           normal(math.Sqrt(2.0 / 1280)),
			"features.2.0.block.2.fc1.bias": zero,
			"classifier.1.weight":           uniform(0.1),
			"classifier.1.bias":             zero,
		}}},
	},
	"regnet_x_400mf": {
		// features: round(400 × width) rounded to a multiple of the group width 16
		steps:  []stepCase{{style: CIFAR, width: 0.25, in: 1, classes: 7, features: 96}, {style: ImageNet, width: 0.125, in: 1, classes: 7, features: 48}},
		parity: sharedWeightsParity("regnet", "regnet_x_400mf", 0.0625, nil),
		rows:   []rowsCase{{style: ImageNet, ref: "torchvision/regnet_x_400mf"}, {style: CIFAR, ref: "torchvision/regnet_x_400mf"}},
		macs:   []macsCase{{CIFAR, 32, 129195936}, {ImageNet, 224, 413416608}},
		// torchvision: convolutions N(0, 2/(k·k·out)), Linear N(0, 0.01), zero bias
		init: []initCase{{Config{Style: ImageNet}, map[string]initRule{
			"trunk_output.block4.block4-3.f.b.0.weight":  normal(math.Sqrt(2.0 / (9 * 400))),
			"trunk_output.block3.block3-0.proj.0.weight": normal(math.Sqrt(2.0 / 160)),
			"fc.weight": normal(0.01),
			"fc.bias":   zero,
		}}},
	},
	"squeezenet1_1": {
		// features: the last Fire's two expand branches
		steps:  []stepCase{{style: CIFAR, width: 0.25, in: 1, classes: 7, features: 128}, {style: ImageNet, width: 0.125, in: 1, classes: 7, features: 64}},
		parity: sharedWeightsParity("squeezenet", "squeezenet1_1", 0.25, nil),
		rows:   []rowsCase{{style: ImageNet, ref: "torchvision/squeezenet1_1"}, {style: CIFAR, ref: "torchvision/squeezenet1_1"}},
		macs:   []macsCase{{CIFAR, 32, 23511040}, {ImageNet, 224, 263489216}},
		// torchvision: Kaiming-uniform (fan-in, ReLU gain: bound √(6/fan-in)), the
		// final convolution N(0, 0.01), zero biases
		init: []initCase{{Config{Style: ImageNet}, map[string]initRule{
			"features.12.expand3x3.weight": uniform(math.Sqrt(6.0 / (64 * 9))),
			"features.12.expand3x3.bias":   zero,
			"classifier.1.weight":          normal(0.01),
			"classifier.1.bias":            zero,
		}}},
	},
	"mnasnet1_0": {
		tinyMaps: true,
		steps:    []stepCase{{style: CIFAR, width: 0.25, in: 1, classes: 7, features: 1280}, {style: ImageNet, width: 0.125, in: 1, classes: 7, features: 1280}},
		// the training-mode forward also checks BatchNorm momentum 0.0003
		parity: sharedWeightsParity("mnasnet", "mnasnet1_0", 0.1, nil),
		rows:   []rowsCase{{style: ImageNet, ref: "torchvision/mnasnet1_0"}, {style: CIFAR, ref: "torchvision/mnasnet1_0"}},
		macs:   []macsCase{{CIFAR, 32, 94790144}, {ImageNet, 224, 313148672}},
		// torchvision: Kaiming-normal fan-out convolutions; the Linear
		// Kaiming-uniform fan-out with gain 1 (bound √(3/classes)), zero bias
		init: []initCase{{Config{Style: ImageNet, Classes: 100}, map[string]initRule{
			"layers.14.weight":    normal(math.Sqrt(2.0 / 1280)),
			"classifier.1.weight": uniform(math.Sqrt(3.0 / 100)),
			"classifier.1.bias":   zero,
		}}},
	},

	// ---------------------------------------------------------------- googlenet, inception
	"googlenet": {
		// features: inception5b's branches 96 + 96 + 32 + 32 at width 1/4
		steps: []stepCase{{style: CIFAR, width: 0.25, in: 1, classes: 7, features: 256}, {style: ImageNet, width: 0.125, in: 1, classes: 7, features: 128}},
		// CIFAR style against torchvision's GoogLeNet with huyvnphan's stem and pools
		parity: ownWeightsParity("googlenet", "googlenet", 0.125),
		rows:   []rowsCase{{style: ImageNet, ref: "torchvision/googlenet"}, {style: CIFAR, ref: "huyvnphan/googlenet"}},
		macs:   []macsCase{{CIFAR, 32, 1337141248}, {ImageNet, 224, 1497362432}},
		// ImageNet (torchvision): truncated normal std 0.01 for convolutions and the
		// Linear, whose bias keeps PyTorch's default. CIFAR (huyvnphan, no init):
		// PyTorch's defaults, uniform in ±1/√fan-in.
		init: []initCase{
			{Config{Style: ImageNet, Width: 0.5}, map[string]initRule{
				"inception4e.branch2.1.conv.weight": truncNormal(0.01, 2),
				"fc.weight":                         normal(0.01),
				"fc.bias":                           uniform(1 / math.Sqrt(512)),
			}},
			{Config{Style: CIFAR, Width: 0.5}, map[string]initRule{
				"inception4e.branch2.1.conv.weight": uniform(1 / math.Sqrt(80*9)),
				"fc.weight":                         uniform(1 / math.Sqrt(512)),
			}},
		},
	},
	"inception_v3": {
		// features: Mixed_7c's branches 80 + 4·96 + 48 at width 1/4
		steps:  []stepCase{{style: CIFAR, width: 0.25, in: 1, classes: 7, features: 512}, {style: ImageNet, width: 0.125, in: 1, classes: 7, features: 256}},
		parity: ownWeightsParity("inception", "inception_v3", 0.0625),
		// torchvision's inception_v3(num_classes=10, aux_logits=False) is not in
		// ../shared/nets: gen_reference.py counts wrote its rows
		rows:   []rowsCase{{style: ImageNet, ref: "inception/inception_v3_imagenet_state_dict.json"}, {style: CIFAR, ref: "huyvnphan/inception_v3"}},
		counts: []countCase{{Config{Style: ImageNet}, 21_806_058}},
		macs:   []macsCase{{CIFAR, 32, 3460465664}, {ImageNet, 224, 2835893600}},
		// ImageNet (torchvision): truncated normal std 0.1 (cut at ±2) for
		// convolutions and the Linear, whose bias keeps PyTorch's default. CIFAR
		// (huyvnphan, no init): PyTorch's defaults.
		init: []initCase{
			{Config{Style: ImageNet, Width: 0.25}, map[string]initRule{
				"Mixed_6b.branch7x7dbl_3.conv.weight": truncNormal(0.1, 2),
				"fc.weight":                           truncNormal(0.1, 2),
				"fc.bias":                             uniform(1 / math.Sqrt(512)),
			}},
			{Config{Style: CIFAR, Width: 0.25}, map[string]initRule{
				"Mixed_7c.branch3x3dbl_2.conv.weight": uniform(1 / math.Sqrt(112*9)),
				"fc.weight":                           uniform(1 / math.Sqrt(512)),
			}},
		},
	},

	// ---------------------------------------------------------------- vit, mixer, convnext
	"vit_small": {
		// the smallest supported size (a 4×4 patch grid, interpolated positions),
		// Fashion-MNIST's 28 (7×7, interpolated) and the built 32; grayscale input
		// and 100 classes once
		steps: []stepCase{
			{style: CIFAR, width: 0.25, sizes: []int64{16, 28, 32}},
			{style: CIFAR, width: 0.125, in: 1, classes: 100, sizes: []int64{28}},
		},
		prepare: randomizeZeroParams,
		parity:  []parityCase{{style: CIFAR, width: 0.125, weights: "vit/vit_small_cifar_w0.125", io: "vit/vit_small_cifar_w0.125_io"}},
		// VisionTransformer(image_size=32, patch_size=4, num_layers=7, num_heads=4,
		// hidden_dim=256, mlp_dim=512), with conv_proj Conv2d(1, 256, 4, 4) and 100
		// classes once
		counts: []countCase{{Config{Style: CIFAR}, 3_722_250}, {Config{Style: CIFAR, InChannels: 1, Classes: 100}, 3_737_188}},
		// torchvision: zero head and class token, N(0, 0.02²) positions, conv_proj
		// truncated normal with std √(1/fan-in) = 1/√(3·4·4)
		init: []initCase{{Config{Style: CIFAR}, map[string]initRule{
			"heads.head.weight": zero, "heads.head.bias": zero, "class_token": zero,
			"encoder.pos_embedding": normal(0.02),
			"conv_proj.weight":      truncNormal(1/math.Sqrt(48), 2),
		}}},
	},
	"vit_b_16": {
		// its only size, 224, at width 1/16 (hidden 48, 12 heads of 4)
		steps:   []stepCase{{style: ImageNet, width: 0.0625, sizes: []int64{224}}},
		prepare: randomizeZeroParams,
		rows:    []rowsCase{{style: ImageNet, ref: "torchvision/vit_b_16"}},
	},
	"mlp_mixer": {
		steps: []stepCase{
			{style: CIFAR, width: 0.25, sizes: []int64{32}},
			{style: CIFAR, width: 0.125, in: 1, classes: 100, sizes: []int64{32}},
			{style: ImageNet, width: 0.0625, sizes: []int64{224}},
		},
		prepare: randomizeZeroParams,
		// an MLP-Mixer written from torch.nn modules with timm's key names
		parity: []parityCase{{style: CIFAR, width: 0.125, weights: "mixer/mlp_mixer_cifar_w0.125", io: "mixer/mlp_mixer_cifar_w0.125_io"}},
		// the term-by-term formula of mixer_test.go; Mixer-B/16 with 10 classes
		// measured with PyTorch
		counts: []countCase{
			{Config{Style: ImageNet, Classes: 1000}, mixerFormula(3, 224, 16, 768, 12, 1000)},
			{Config{Style: ImageNet}, 59_119_162},
			{Config{Style: CIFAR}, mixerFormula(3, 32, 4, 256, 8, 10)},
			{Config{Style: CIFAR, Width: 0.5, InChannels: 1, Classes: 100}, mixerFormula(1, 32, 4, 128, 8, 100)},
		},
	},
	"convnext_tiny": {
		// smallest supported and default sizes of both styles
		steps: []stepCase{
			{style: CIFAR, width: 0.125, sizes: []int64{16, 32}},
			{style: CIFAR, width: 0.0625, in: 1, classes: 100, sizes: []int64{28}},
			{style: ImageNet, width: 0.0625, sizes: []int64{32, 224}},
		},
		prepare: withoutStochasticDepth,
		parity: []parityCase{
			{style: ImageNet, width: 0.0625, weights: "convnext/convnext_tiny_imagenet_w0.0625", io: "convnext/convnext_tiny_imagenet_w0.0625_io"},
			{style: CIFAR, width: 0.03125, weights: "convnext/convnext_tiny_cifar_w0.03125", io: "convnext/convnext_tiny_cifar_w0.03125_io"},
		},
		rows: []rowsCase{{style: ImageNet, ref: "torchvision/convnext_tiny"}},
		// features[0][0] replaced by Conv2d(3, 96, 2, stride 2), and Conv2d(1, 96, 2,
		// stride 2)
		counts: []countCase{{Config{Style: CIFAR}, 27_824_362}, {Config{Style: CIFAR, InChannels: 1}, 27_823_594}},
		// torchvision: conv and linear weights N(0, 0.02²) truncated to [−2, 2], zero
		// biases, layer scales 10⁻⁶, LayerNorm weight 1 and bias 0
		init: []initCase{{Config{Style: CIFAR, Width: 0.25}, map[string]initRule{
			"features.5.4.block.3.weight": truncNormal(0.02, 2),
			"features.0.0.weight":         truncNormal(0.02, 2),
			"classifier.2.weight":         truncNormal(0.02, 2),
			"features.5.4.layer_scale":    constant(1e-6),
			"features.5.4.block.3.bias":   zero,
			"features.0.0.bias":           zero,
			"features.5.4.block.2.weight": one,
			"features.5.4.block.2.bias":   zero,
			"classifier.0.weight":         one,
		}}},
	},
}

// resnet50Init is the initialisation of torchvision's ResNet (both styles).
var resnet50Init = map[string]initRule{
	"conv1.weight":                      kaimingFanOut,
	"layer1.0.conv2.weight":             kaimingFanOut,
	"layer3.0.conv3.weight":             kaimingFanOut,
	"layer2.0.downsample.0.weight":      kaimingFanOut,
	"layer4.2.bn3.weight":               one,
	"layer4.2.bn3.bias":                 zero,
	"layer2.0.downsample.1.running_var": one,
	"fc.weight":                         torchDefault,
	"fc.bias":                           torchDefault,
}

// vggConvBias matches the conv biases of VGG: in training mode the BatchNorm that
// follows removes them, so their gradient is zero up to rounding.
func vggConvBias(name string) bool {
	return strings.HasPrefix(name, "features.") && strings.HasSuffix(name, ".bias")
}

// sharedWeightsParity is the pair of parity cases of an architecture whose two
// styles have the same state_dict: one weights file <dir>/<arch>_w<w> and one
// input/output file per style <dir>/<arch>_<style>_w<w>_io.
func sharedWeightsParity(dir, arch string, width float64, buffers func(string) bool) []parityCase {
	var out []parityCase
	w := strconv.FormatFloat(width, 'g', -1, 64)
	for _, st := range []Style{CIFAR, ImageNet} {
		out = append(out, parityCase{style: st, width: width, weights: dir + "/" + arch + "_w" + w,
			io: dir + "/" + arch + "_" + string(st) + "_w" + w + "_io", buffers: buffers})
	}
	return out
}

// ownWeightsParity is the pair of parity cases of an architecture whose styles
// differ in their state_dicts: files <dir>/<arch>_<style>_w<w> and …_io.
func ownWeightsParity(dir, arch string, width float64) []parityCase {
	var out []parityCase
	w := strconv.FormatFloat(width, 'g', -1, 64)
	for _, st := range []Style{CIFAR, ImageNet} {
		base := dir + "/" + arch + "_" + string(st) + "_w" + w
		out = append(out, parityCase{style: st, width: width, weights: base, io: base + "_io"})
	}
	return out
}
