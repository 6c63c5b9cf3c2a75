package nets

import (
	"github.com/divres/divres/torch"
)

// DenseNet family: densenet121, densenet161, densenet169 (bottleneck size 4, no
// dropout, compression 0.5).
//
// ImageNet style: torchvision 0.14 exactly — features.conv0 7×7/2, norm0, relu0,
// pool0 (3×3/2 max-pool), dense blocks ("features.denseblock<i>.denselayer<j>" with
// norm1, conv1 (1×1 to 4·growth), norm2, conv2 (3×3 to growth); each layer reads the
// concatenation of all earlier maps, older first), transitions between blocks
// ("features.transition<i>": norm, ReLU, 1×1 conv halving the channels, 2×2/2
// average pool), features.norm5, then ReLU, global average pool and "classifier".
//
// CIFAR style: huyvnphan/PyTorch_CIFAR10 — features.conv0 is 3×3 stride 1 padding 1;
// norm0, relu0 and pool0 are kept, so a 32×32 input runs the blocks at 16, 8, 4 and 2.
//
// Initialisation as torchvision: convs Kaiming-normal (fan_in, ReLU gain), BatchNorm
// weight 1 and bias 0, classifier PyTorch's default weight with zero bias.
//
// Width multiplier: the growth rate and the stem width are scaled by Builder.Ch (the
// same as torchvision's growth_rate and num_init_features arguments). The
// penultimate features are the pooled output of norm5 + ReLU (the classifier input),
// 1024 / 2208 / 1664 at width 1.

type densenetArch struct {
	growth, initFeatures int64
	blocks               [4]int
}

var densenetArchs = map[string]densenetArch{
	"densenet121": {32, 64, [4]int{6, 12, 24, 16}},
	"densenet161": {48, 96, [4]int{6, 12, 36, 24}},
	"densenet169": {32, 64, [4]int{6, 12, 32, 32}},
}

func init() {
	for name, a := range densenetArchs {
		a := a
		Register(&Spec{
			Name:    name,
			Family:  "densenet",
			Styles:  []Style{CIFAR, ImageNet},
			MinSize: map[Style]int64{CIFAR: 16, ImageNet: 32},
			Build: func(b Builder, cfg Config) (Model, error) {
				return newDenseNet(b, cfg, a), nil
			},
		})
	}
}

// densenetConvInit is torchvision's DenseNet conv initialisation.
var densenetConvInit torch.Init = torch.KaimingNormal{}

// DenseNet is a densely connected convolutional network.
type DenseNet struct {
	Features   Seq
	Classifier *Linear
}

func newDenseNet(b Builder, cfg Config, a densenetArch) *DenseNet {
	fb := b.Sub("features")
	growth, c := b.Ch(a.growth), b.Ch(a.initFeatures)
	k, stride, pad := int64(3), int64(1), int64(1) // CIFAR: 3×3/1 stem
	if cfg.Style == ImageNet {
		k, stride, pad = 7, 2, 3
	}
	m := &DenseNet{Features: Seq{
		NewConv2d(fb.Sub("conv0"), cfg.InChannels, c, k, ConvOpts{Stride: stride, Padding: pad, Init: densenetConvInit}),
		NewBatchNorm2d(fb.Sub("norm0"), c),
		fb.Sub("relu0").Hooked(ReLU),
		fb.Sub("pool0").Hooked(MaxPool(3, 2, 1, false)),
	}}
	for i, n := range a.blocks {
		block := &denseBlock{hooks: b.Hooks}
		bb := fb.Subf("denseblock%d", i+1)
		for j := 0; j < n; j++ {
			block.layers = append(block.layers, newDenseLayer(bb.Subf("denselayer%d", j+1), c+int64(j)*growth, growth, 4))
		}
		m.Features = append(m.Features, bb.Hooked(block))
		c += int64(n) * growth
		if i < len(a.blocks)-1 {
			tb := fb.Subf("transition%d", i+1)
			m.Features = append(m.Features,
				NewBatchNorm2d(tb.Sub("norm"), c),
				tb.Sub("relu").Hooked(ReLU),
				NewConv2d(tb.Sub("conv"), c, c/2, 1, ConvOpts{Init: densenetConvInit}),
				tb.Hooked(tb.Sub("pool").Hooked(AvgPool(2, 2, 0, false))))
			c /= 2
		}
	}
	m.Features = append(m.Features, NewBatchNorm2d(fb.Sub("norm5"), c))
	m.Classifier = NewLinear(b.Sub("classifier"), c, cfg.Classes, LinearOpts{BiasInit: torch.Constant(0)})
	return m
}

// denseLayer is BN-ReLU-1×1 conv (to bnSize·growth) then BN-ReLU-3×3 conv (to growth);
// its new maps are reported under its own name (see Hooks).
type denseLayer struct {
	norm1, norm2 *BatchNorm2d
	conv1, conv2 *Conv2d
	name         string
}

func newDenseLayer(b Builder, in, growth, bnSize int64) *denseLayer {
	return &denseLayer{
		name:  b.Name(),
		norm1: NewBatchNorm2d(b.Sub("norm1"), in),
		conv1: NewConv2d(b.Sub("conv1"), in, bnSize*growth, 1, ConvOpts{Init: densenetConvInit}),
		norm2: NewBatchNorm2d(b.Sub("norm2"), bnSize*growth),
		conv2: NewConv2d(b.Sub("conv2"), bnSize*growth, growth, 3, ConvOpts{Padding: 1, Init: densenetConvInit}),
	}
}

// denseBlock runs its layers, each on the concatenation of the block input and all
// earlier layer outputs, and returns the concatenation of everything.
type denseBlock struct {
	layers []*denseLayer
	hooks  *Hooks
}

// Forward implements Module.
func (d *denseBlock) Forward(x *torch.Tensor) *torch.Tensor {
	maps := []*torch.Tensor{x}
	for _, l := range d.layers {
		in := x
		if len(maps) > 1 {
			in = torch.Cat(maps, 1)
		}
		y := torch.Relu(l.norm1.Forward(in))
		y = l.conv1.Forward(y)
		y = torch.Relu(l.norm2.Forward(y))
		maps = append(maps, d.hooks.Call(l.name, l.conv2.Forward(y)))
	}
	return torch.Cat(maps, 1)
}

// Forward implements Model.
func (m *DenseNet) Forward(x *torch.Tensor) (logits, features *torch.Tensor) {
	features = GlobalAvgPool.Forward(torch.Relu(m.Features.Forward(x)))
	return m.Classifier.Forward(features), features
}
