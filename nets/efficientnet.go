package nets

import (
	"math"

	"github.com/divres/divres/torch"
)

// EfficientNet-B0.
//
// ImageNet style: torchvision 0.14's efficientnet_b0: MBConv blocks with SiLU,
// squeeze-and-excitation (squeeze = block input channels / 4, SiLU, sigmoid),
// stochastic depth on the residual branch with probability 0.2 · i / 16 for block i
// (0-based; only in training mode, one Bernoulli draw per sample), BatchNorm eps
// 1e-5, dropout 0.2 and the classifier Linear initialised uniform in
// ±1/√classes with zero bias; convolutions Kaiming-normal fan-out.
//
// CIFAR style (not in huyvnphan's collection): torchvision's names and shapes; the
// stem convolution and the first block of the second stage (16 → 24 channels) have
// stride 1 instead of 2, so the total stride is 8 and a 32×32 input ends at 4×4.
// That block gets the skip connection (with stochastic depth) when its channel
// counts agree, which happens at small widths (16 and 24 both round to 8).
//
// Width: torchvision's width_mult rule (channels × width rounded to a multiple of 8,
// see makeDivisible); the depth multiplier is 1.
//
// Features are the globally pooled last feature map (1280 at width 1), before the
// dropout.

func init() {
	Register(&Spec{
		Name: "efficientnet_b0", Family: "efficientnet", Styles: []Style{CIFAR, ImageNet},
		MinSize: map[Style]int64{CIFAR: 1, ImageNet: 1},
		Build:   buildEfficientNetB0,
	})
}

// mbConvStage is one row of EfficientNet's stage table.
type mbConvStage struct {
	expand, k, stride, in, out, layers int64
}

// stochasticDepthProb is the largest stochastic-depth probability of EfficientNet-B0.
const stochasticDepthProb = 0.2

func buildEfficientNetB0(b Builder, cfg Config) (Model, error) {
	stages := []mbConvStage{
		{1, 3, 1, 32, 16, 1},
		{6, 3, 2, 16, 24, 2},
		{6, 5, 2, 24, 40, 2},
		{6, 3, 2, 40, 80, 3},
		{6, 5, 1, 80, 112, 3},
		{6, 5, 2, 112, 192, 4},
		{6, 3, 1, 192, 320, 1},
	}
	stemStride := int64(2)
	if cfg.Style == CIFAR {
		stemStride = 1
		stages[1].stride = 1
	}
	adj := func(c int64) int64 { return makeDivisible(float64(c)*b.Width, 8) }
	total := int64(0)
	for _, s := range stages {
		total += s.layers
	}
	fb := b.Sub("features")
	features := Seq{fb.Sub("0").Tapped(ConvBNAct(fb.Sub("0"), cfg.InChannels, adj(stages[0].in), 3, tvConv(stemStride, 1), SiLU))}
	id := int64(0)
	for si, s := range stages {
		in, out := adj(s.in), adj(s.out)
		var stage Seq
		for i := int64(0); i < s.layers; i++ {
			stride := s.stride
			if i > 0 {
				in, stride = out, 1
			}
			p := stochasticDepthProb * float64(id) / float64(total)
			stage = append(stage, newMBConv(fb.Subf("%d", si+1).Subf("%d", i), in, out, s.k, stride, s.expand, p))
			id++
		}
		features = append(features, fb.Subf("%d", si+1).Tapped(stage))
	}
	lastIn := adj(stages[len(stages)-1].out)
	lastOut := 4 * lastIn
	lb := fb.Subf("%d", len(stages)+1)
	features = append(features, lb.Tapped(ConvBNAct(lb, lastIn, lastOut, 1, tvConvInit, SiLU)))
	r := 1 / math.Sqrt(float64(cfg.Classes))
	cb := b.Sub("classifier")
	return &poolHead{
		features: features,
		dropout:  NewDropout(cb.Sub("0"), 0.2),
		fc:       NewLinear(cb.Sub("1"), lastOut, cfg.Classes, LinearOpts{Init: torch.Uniform{Lo: -r, Hi: r}, BiasInit: torch.Constant(0)}),
	}, nil
}

// mbConv is EfficientNet's inverted residual block ("block": optional 1×1 expansion,
// depthwise k×k, squeeze-and-excitation, 1×1 projection) with stochastic depth on
// the residual branch. Its output is reported under its own name (see Hooks).
type mbConv struct {
	block Module
	skip  bool
	drop  *StochasticDepth
	name  string
	hooks *Hooks
}

func newMBConv(b Builder, in, out, k, stride, expand int64, drop float64) *mbConv {
	exp := makeDivisible(float64(in*expand), 8)
	bb := b.Sub("block")
	var layers Seq
	if exp != in {
		layers = append(layers, ConvBNAct(bb.Sub("0"), in, exp, 1, tvConvInit, SiLU))
	}
	layers = append(layers, ConvBNAct(bb.Subf("%d", len(layers)), exp, exp, k, tvConv(stride, exp), SiLU))
	layers = append(layers, newSqueezeExcite(bb.Subf("%d", len(layers)), exp, max(1, in/4), SiLU, sigmoidAct))
	layers = append(layers, ConvBNAct(bb.Subf("%d", len(layers)), exp, out, 1, tvConvInit, nil))
	return &mbConv{block: layers, skip: stride == 1 && in == out, drop: NewStochasticDepth(b, drop), name: b.Name(), hooks: b.Hooks}
}

func (m *mbConv) Forward(x *torch.Tensor) *torch.Tensor {
	y := m.block.Forward(x)
	if m.skip {
		y = m.drop.Forward(y).Add(x)
	}
	return m.hooks.Call(m.name, y)
}
