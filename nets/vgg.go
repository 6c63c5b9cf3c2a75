package nets

import (
	"github.com/divres/divres/torch"
)

// VGG family with batch normalisation: vgg11_bn, vgg13_bn, vgg16_bn, vgg19_bn.
//
// Both styles share torchvision's feature extractor: "features.<i>" numbered as
// torchvision's Sequential (3×3 conv with bias, BatchNorm, ReLU for each conv entry
// of the configuration; a 2×2/2 max-pool for each "M"), five max-pools in all. The
// classifier is Linear → ReLU → Dropout(0.5) → Linear → ReLU → Dropout(0.5) → Linear
// ("classifier.0", "classifier.3", "classifier.6").
//
// ImageNet style: torchvision 0.14 exactly — adaptive average pool to 7×7, first
// classifier layer Linear(512·7·7, 4096).
//
// CIFAR style: huyvnphan/PyTorch_CIFAR10 — adaptive average pool to 1×1 (the map is
// already 1×1 after the fifth pool of a 32×32 input), first classifier layer
// Linear(512, 4096).
//
// Initialisation as torchvision: convs Kaiming-normal fan_out with zero bias,
// BatchNorm weight 1 and bias 0, linears N(0, 0.01) with zero bias.
//
// Width multiplier: every conv width and the classifier's hidden size 4096 are
// scaled by Builder.Ch. The penultimate features are the input of classifier.6 (the
// second hidden layer after its ReLU and dropout), 4096 at width 1. Inputs must be at
// least 32×32 (five floor-mode 2×2 pools).

// vggPool marks a max-pool in a VGG configuration.
const vggPool = 0

var vggConfigs = map[string][]int64{
	"vgg11_bn": {64, vggPool, 128, vggPool, 256, 256, vggPool, 512, 512, vggPool, 512, 512, vggPool},
	"vgg13_bn": {64, 64, vggPool, 128, 128, vggPool, 256, 256, vggPool, 512, 512, vggPool, 512, 512, vggPool},
	"vgg16_bn": {64, 64, vggPool, 128, 128, vggPool, 256, 256, 256, vggPool, 512, 512, 512, vggPool,
		512, 512, 512, vggPool},
	"vgg19_bn": {64, 64, vggPool, 128, 128, vggPool, 256, 256, 256, 256, vggPool, 512, 512, 512, 512, vggPool,
		512, 512, 512, 512, vggPool},
}

func init() {
	for name, layers := range vggConfigs {
		layers := layers
		Register(&Spec{
			Name:    name,
			Family:  "vgg",
			Styles:  []Style{CIFAR, ImageNet},
			MinSize: map[Style]int64{CIFAR: 32, ImageNet: 32},
			Build: func(b Builder, cfg Config) (Model, error) {
				return newVGG(b, cfg, layers), nil
			},
		})
	}
}

// VGG is a plain stack of 3×3 convolutions with batch normalisation and max-pools,
// followed by a three-layer classifier.
type VGG struct {
	Features Seq
	// Pool maps the last feature map to (N, C·p·p) with p = 7 (ImageNet) or 1 (CIFAR).
	Pool   Module
	Hidden Seq
	Head   *Linear
}

func newVGG(b Builder, cfg Config, layers []int64) *VGG {
	m := &VGG{}
	convInit := torch.KaimingNormal{Mode: torch.FanOut}
	in, idx := cfg.InChannels, 0
	fb := b.Sub("features")
	for _, v := range layers {
		if v == vggPool {
			m.Features = append(m.Features, fb.Subf("%d", idx).Hooked(MaxPool(2, 2, 0, false)))
			idx++
			continue
		}
		out := b.Ch(v)
		m.Features = append(m.Features,
			NewConv2d(fb.Subf("%d", idx), in, out, 3, ConvOpts{Padding: 1, Bias: true, Init: convInit, BiasInit: torch.Constant(0)}),
			NewBatchNorm2d(fb.Subf("%d", idx+1), out),
			fb.Subf("%d", idx+2).Hooked(ReLU))
		idx += 3
		in = out
	}
	p := int64(1)
	if cfg.Style == ImageNet {
		p = 7
	}
	m.Pool = Func(func(x *torch.Tensor) *torch.Tensor {
		return torch.AdaptiveAvgPool2d(x, []int64{p, p}).Flatten(1, -1)
	})
	hidden := b.Ch(4096)
	lin := LinearOpts{Init: torch.Normal{Std: 0.01}, BiasInit: torch.Constant(0)}
	cb := b.Sub("classifier")
	m.Hidden = Seq{
		NewLinear(cb.Sub("0"), in*p*p, hidden, lin), ReLU, NewDropout(cb.Sub("2"), 0.5),
		NewLinear(cb.Sub("3"), hidden, hidden, lin), ReLU, NewDropout(cb.Sub("5"), 0.5),
	}
	m.Head = NewLinear(cb.Sub("6"), hidden, cfg.Classes, lin)
	return m
}

// Forward implements Model.
func (m *VGG) Forward(x *torch.Tensor) (logits, features *torch.Tensor) {
	x = m.Pool.Forward(m.Features.Forward(x))
	features = m.Hidden.Forward(x)
	return m.Head.Forward(features), features
}
