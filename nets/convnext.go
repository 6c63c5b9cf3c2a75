package nets

import (
	"github.com/divres/divres/torch"
)

// ConvNeXt-Tiny (Liu et al., "A ConvNet for the 2020s", 2022), registered as
// convnext_tiny.
//
// ImageNet style: torchvision 0.14's convnext_tiny, identical in state_dict names,
// order, shapes, initialisation and forward: a 4×4 stride-4 patchify stem
// (features.0: conv with bias, LayerNorm2d), four stages of 3, 3, 9, 3 CNBlocks with
// 96, 192, 384, 768 channels (features.1, .3, .5, .7), separated by downsampling
// layers (LayerNorm2d then a 2×2 stride-2 conv: features.2, .4, .6); average pool,
// then the classifier LayerNorm2d, flatten, Linear (classifier.0, classifier.2). A
// CNBlock is x + stochastic_depth(layer_scale · block(x)) with block = 7×7 depthwise
// conv, LayerNorm (channels last), Linear(C, 4C), GELU, Linear(4C, C); layer_scale
// starts at 10⁻⁶; LayerNorm eps is 1e-6; the stochastic depth probability rises
// linearly from 0 at the first block to 0.1 at the last ("row" mode: whole samples
// are dropped in training and the survivors scaled by 1/(1−p)). Convolution and
// linear weights are drawn from N(0, 0.02²) truncated to [−2, 2], biases zero.
//
// CIFAR style: the same network with a 2×2 stride-2 patchify stem instead of 4×4
// stride 4, so that a 32×32 input keeps enough resolution: the stages run at 16, 8,
// 4 and 2 (the resolutions of huyvnphan's CIFAR ResNets), total stride 16. Only the
// shape of features.0.0.weight changes (96×C×2×2).
//
// The width multiplier scales the four channel counts. Minimum input side: 32
// (ImageNet style, total stride 32) and 16 (CIFAR style).

func init() {
	Register(&Spec{
		Name: "convnext_tiny", Family: "convnext", Styles: []Style{CIFAR, ImageNet},
		MinSize: map[Style]int64{CIFAR: 16, ImageNet: 32},
		Build: func(b Builder, cfg Config) (Model, error) {
			stem := int64(4)
			if cfg.Style == CIFAR {
				stem = 2
			}
			return newConvNeXt(b, cfg, convnextTiny, stem, 0.1), nil
		},
	})
}

// convnextStage is one stage: channels and number of blocks.
type convnextStage struct{ Channels, Blocks int64 }

var convnextTiny = []convnextStage{{96, 3}, {192, 3}, {384, 9}, {768, 3}}

const (
	convnextLNEps      = 1e-6
	convnextLayerScale = 1e-6
)

// ConvNeXt is a ConvNeXt network (see the file comment).
type ConvNeXt struct {
	features Seq
	norm     *LayerNorm2d
	fc       *Linear
}

// convnextInit is torchvision's ConvNeXt weight initialisation.
var convnextInit = torch.TruncNormal{Std: 0.02, A: -2, B: 2}

func newConvNeXt(b Builder, cfg Config, stages []convnextStage, stem int64, sdProb float64) *ConvNeXt {
	m := &ConvNeXt{}
	fb := b.Sub("features")
	c0 := b.Ch(stages[0].Channels)
	m.features = append(m.features, fb.Sub("0").Tapped(Seq{
		NewConv2d(fb.Sub("0").Sub("0"), cfg.InChannels, c0, stem, ConvOpts{Stride: stem, Bias: true, Init: convnextInit, BiasInit: torch.Constant(0)}),
		NewLayerNorm2d(fb.Sub("0").Sub("1"), c0, convnextLNEps),
	}))
	total := int64(0)
	for _, s := range stages {
		total += s.Blocks
	}
	id := int64(0)
	for i, s := range stages {
		c := b.Ch(s.Channels)
		sb := fb.Subf("%d", len(m.features))
		var stage Seq
		for j := int64(0); j < s.Blocks; j++ {
			p := 0.0
			if total > 1 {
				p = sdProb * float64(id) / float64(total-1)
			}
			stage = append(stage, newCNBlock(sb.Subf("%d", j), c, p))
			id++
		}
		m.features = append(m.features, sb.Tapped(stage))
		if i+1 < len(stages) {
			db := fb.Subf("%d", len(m.features))
			out := b.Ch(stages[i+1].Channels)
			m.features = append(m.features, db.Tapped(Seq{
				NewLayerNorm2d(db.Sub("0"), c, convnextLNEps),
				NewConv2d(db.Sub("1"), c, out, 2, ConvOpts{Stride: 2, Bias: true, Init: convnextInit, BiasInit: torch.Constant(0)}),
			}))
		}
	}
	last := b.Ch(stages[len(stages)-1].Channels)
	cb := b.Sub("classifier")
	m.norm = NewLayerNorm2d(cb.Sub("0"), last, convnextLNEps)
	m.fc = NewLinear(cb.Sub("2"), last, cfg.Classes, LinearOpts{Init: convnextInit, BiasInit: torch.Constant(0)})
	return m
}

// Forward implements Model. The features are the classifier's normalised pooled
// map (N, C): the input of classifier.2.
func (m *ConvNeXt) Forward(x *torch.Tensor) (logits, features *torch.Tensor) {
	y := m.features.Forward(x)
	y = torch.AdaptiveAvgPool2d(y, []int64{1, 1})
	features = m.norm.Forward(y).Flatten(1, -1)
	return m.fc.Forward(features), features
}

// cnBlock is torchvision's CNBlock: parameters "layer_scale" (C, 1, 1) and
// "block.{0,2,3,5}" (depthwise conv, LayerNorm, Linear, Linear). Its output is
// reported under its own name (see Hooks).
type cnBlock struct {
	layerScale *torch.Tensor
	dw         *Conv2d
	norm       *LayerNorm
	fc1, fc2   *Linear
	drop       *StochasticDepth
	name       string
	hooks      *Hooks
}

func newCNBlock(b Builder, c int64, sdProb float64) *cnBlock {
	blk := &cnBlock{name: b.Name(), hooks: b.Hooks}
	// The block's own parameter comes before its children in the state_dict.
	blk.layerScale = b.Path.Param("layer_scale", []int64{c, 1, 1}, torch.Constant(convnextLayerScale))
	bb := b.Sub("block")
	blk.dw = NewConv2d(bb.Sub("0"), c, c, 7, ConvOpts{Padding: 3, Groups: c, Bias: true, Init: convnextInit, BiasInit: torch.Constant(0)})
	blk.norm = NewLayerNorm(bb.Sub("2"), c, convnextLNEps)
	lo := LinearOpts{Init: convnextInit, BiasInit: torch.Constant(0)}
	blk.fc1 = NewLinear(bb.Sub("3"), c, 4*c, lo)
	blk.fc2 = NewLinear(bb.Sub("5"), 4*c, c, lo)
	blk.drop = NewStochasticDepth(b, sdProb)
	return blk
}

// Forward implements Module.
func (blk *cnBlock) Forward(x *torch.Tensor) *torch.Tensor {
	y := blk.dw.Forward(x).Permute([]int64{0, 2, 3, 1})
	y = blk.fc2.Forward(torch.Gelu(blk.fc1.Forward(blk.norm.Forward(y)), false))
	y = y.Permute([]int64{0, 3, 1, 2})
	return blk.hooks.Call(blk.name, blk.drop.Forward(blk.layerScale.Mul(y)).Add(x))
}

// LayerNorm2d is a channels-first layer norm: it normalises an (N, C, H, W) tensor
// over C at every position (permute to channels last, LayerNorm, permute back), with
// parameters "weight" and "bias" (C).
type LayerNorm2d struct{ ln *LayerNorm }

// NewLayerNorm2d creates a LayerNorm2d over c channels.
func NewLayerNorm2d(b Builder, c int64, eps float64) *LayerNorm2d {
	return &LayerNorm2d{ln: NewLayerNorm(b, c, eps)}
}

// Forward implements Module.
func (n *LayerNorm2d) Forward(x *torch.Tensor) *torch.Tensor {
	return n.ln.Forward(x.Permute([]int64{0, 2, 3, 1})).Permute([]int64{0, 3, 1, 2})
}
