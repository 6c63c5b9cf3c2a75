package nets

import (
	"github.com/divres/divres/torch"
)

// MobileNetV2 and MobileNetV3-Small.
//
// ImageNet style: torchvision 0.14's mobilenet_v2 and mobilenet_v3_small (names,
// shapes, initialisation: Kaiming-normal fan-out convolutions with zero biases,
// BatchNorm 1/0, Linear N(0, 0.01) with zero bias; MobileNetV3 uses BatchNorm eps
// 1e-3 and momentum 0.01).
//
// CIFAR style:
//   - mobilenet_v2 follows huyvnphan/PyTorch_CIFAR10: the stem convolution and the
//     second inverted-residual setting (t=6, c=24, n=2) have stride 1 instead of 2,
//     so the network's total stride is 8 and a 32×32 input ends at 4×4. As
//     upstream (which edits the block table), the skip connection follows the
//     block rule with the new stride: at small widths, where 16 and 24 channels
//     both round to 8, the first block of that setting gets one.
//   - mobilenet_v3_small (not in huyvnphan's collection) uses the same convention:
//     the stem and the first bottleneck (the C1 block) have stride 1 instead of 2,
//     total stride 8, 4×4 at the end for 32×32. Names and shapes stay torchvision's;
//     the C1 block, now keeping its shape, gets the residual connection that the
//     block rule (stride 1 and equal channels) gives it.
//
// Width: both styles use torchvision's width_mult rule (channels × width rounded to
// a multiple of 8, never more than 10 % down; MobileNetV2's last layer keeps 1280 ×
// max(1, width), MobileNetV3's classifier hidden layer is 1024 × width rounded the
// same way). At width 1 this is exactly the reference; huyvnphan's CIFAR
// MobileNetV2 truncates int(c × width) instead, which only differs at other widths.
//
// Features are the globally pooled last feature map (MobileNetV2: 1280) or the
// output of the first classifier layer after Hardswish (MobileNetV3: 1024), taken
// before the dropout that precedes the final Linear.

func init() {
	Register(&Spec{
		Name: "mobilenet_v2", Family: "mobilenet", Styles: []Style{CIFAR, ImageNet},
		MinSize: map[Style]int64{CIFAR: 1, ImageNet: 1},
		Build:   buildMobileNetV2,
	})
	Register(&Spec{
		Name: "mobilenet_v3_small", Family: "mobilenet", Styles: []Style{CIFAR, ImageNet},
		MinSize: map[Style]int64{CIFAR: 1, ImageNet: 1},
		Build:   buildMobileNetV3Small,
	})
}

// makeDivisible is torchvision's channel rounding (from the TensorFlow MobileNet
// code): v rounded to the nearest multiple of divisor, at least divisor, and bumped
// up by one divisor if rounding lost more than 10 %.
func makeDivisible(v float64, divisor int64) int64 {
	n := max(divisor, int64(v+float64(divisor)/2)/divisor*divisor)
	if float64(n) < 0.9*v {
		n += divisor
	}
	return n
}

// tvConvInit is the convolution initialisation of torchvision's MobileNet,
// EfficientNet, MNASNet and RegNet families: Kaiming normal (fan-out, ReLU gain) and
// zero biases.
var tvConvInit = ConvOpts{Init: torch.KaimingNormal{Mode: torch.FanOut}, BiasInit: torch.Constant(0)}

// tvConv returns tvConvInit with the given stride and groups.
func tvConv(stride, groups int64) ConvOpts {
	o := tvConvInit
	o.Stride, o.Groups = stride, groups
	return o
}

// bnMomentum sets the BatchNorm momentum of a ConvBNAct block.
func bnMomentum(s Seq, momentum float64) Seq {
	for _, m := range s {
		if bn, ok := m.(*BatchNorm2d); ok {
			bn.Momentum = momentum
		}
	}
	return s
}

// addSkip adds the block's input to its output when skip is set.
type addSkip struct {
	body Module
	skip bool
}

func (r addSkip) Forward(x *torch.Tensor) *torch.Tensor {
	y := r.body.Forward(x)
	if r.skip {
		return y.Add(x)
	}
	return y
}

// squeezeExcite is torchvision's SqueezeExcitation ("fc1", "fc2" 1×1 convolutions
// with bias): x · scale(fc2(act(fc1(mean_hw(x))))).
type squeezeExcite struct {
	fc1, fc2   *Conv2d
	act, scale Module
}

func newSqueezeExcite(b Builder, in, squeeze int64, act, scale Module) *squeezeExcite {
	o := tvConvInit
	o.Bias = true
	return &squeezeExcite{
		fc1: NewConv2d(b.Sub("fc1"), in, squeeze, 1, o),
		fc2: NewConv2d(b.Sub("fc2"), squeeze, in, 1, o),
		act: act, scale: scale,
	}
}

func (s *squeezeExcite) Forward(x *torch.Tensor) *torch.Tensor {
	w := x.MeanDims([]int64{2, 3}, true)
	w = s.scale.Forward(s.fc2.Forward(s.act.Forward(s.fc1.Forward(w))))
	return w.Mul(x)
}

// hardsigmoidAct is relu6(x+3)/6.
var hardsigmoidAct Module = Func(torch.Hardsigmoid)

// sigmoidAct is 1/(1+e^−x).
var sigmoidAct Module = Func(torch.Sigmoid)

// poolHead is the common head: global average pool → (hidden layers) →
// dropout → Linear. Features are the input of the dropout.
type poolHead struct {
	features Module
	hidden   Module // optional, applied to the pooled vector
	dropout  *Dropout
	fc       *Linear
}

func (m *poolHead) Forward(x *torch.Tensor) (logits, features *torch.Tensor) {
	f := m.features.Forward(x).MeanDims([]int64{2, 3}, false)
	if m.hidden != nil {
		f = m.hidden.Forward(f)
	}
	return m.fc.Forward(m.dropout.Forward(f)), f
}

// ---- MobileNetV2 ----

func buildMobileNetV2(b Builder, cfg Config) (Model, error) {
	cifar := cfg.Style == CIFAR
	// t (expansion), c (channels), n (repeats), s (stride of the first block)
	settings := [][4]int64{{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2}, {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}}
	stemStride := int64(2)
	if cifar {
		stemStride = 1
		settings[1][3] = 1
	}
	w := b.Width
	in := makeDivisible(32*w, 8)
	last := makeDivisible(1280*max(1, w), 8)
	fb := b.Sub("features")
	features := Seq{fb.Sub("0").Tapped(ConvBNAct(fb.Sub("0"), cfg.InChannels, in, 3, tvConv(stemStride, 1), ReLU6))}
	for _, st := range settings {
		out := makeDivisible(float64(st[1])*w, 8)
		for i := int64(0); i < st[2]; i++ {
			stride := st[3]
			if i > 0 {
				stride = 1
			}
			bb := fb.Subf("%d", len(features))
			features = append(features, bb.Hooked(newInvertedResidualV2(bb, in, out, stride, st[0])))
			in = out
		}
	}
	lb := fb.Subf("%d", len(features))
	features = append(features, lb.Tapped(ConvBNAct(lb, in, last, 1, tvConvInit, ReLU6)))
	return &poolHead{
		features: features,
		dropout:  NewDropout(b.Sub("classifier").Sub("0"), 0.2),
		fc:       NewLinear(b.Sub("classifier").Sub("1"), last, cfg.Classes, LinearOpts{Init: torch.Normal{Std: 0.01}, BiasInit: torch.Constant(0)}),
	}, nil
}

// newInvertedResidualV2 is MobileNetV2's block under "conv": optional 1×1 expansion,
// 3×3 depthwise, 1×1 linear projection (conv + BatchNorm), with a skip connection
// when the shape is kept.
func newInvertedResidualV2(b Builder, in, out, stride, expand int64) Module {
	hidden := in * expand
	cb := b.Sub("conv")
	var layers Seq
	if expand != 1 {
		layers = append(layers, ConvBNAct(cb.Sub("0"), in, hidden, 1, tvConvInit, ReLU6))
	}
	n := len(layers)
	layers = append(layers,
		ConvBNAct(cb.Subf("%d", n), hidden, hidden, 3, tvConv(stride, hidden), ReLU6),
		NewConv2d(cb.Subf("%d", n+1), hidden, out, 1, tvConvInit),
		NewBatchNorm2d(cb.Subf("%d", n+2), out),
	)
	return addSkip{body: layers, skip: stride == 1 && in == out}
}

// ---- MobileNetV3-Small ----

// bneckV3 is one row of MobileNetV3's block table.
type bneckV3 struct {
	in, k, exp, out int64
	se, hs          bool
	stride          int64
}

func buildMobileNetV3Small(b Builder, cfg Config) (Model, error) {
	table := []bneckV3{
		{16, 3, 16, 16, true, false, 2},
		{16, 3, 72, 24, false, false, 2},
		{24, 3, 88, 24, false, false, 1},
		{24, 5, 96, 40, true, true, 2},
		{40, 5, 240, 40, true, true, 1},
		{40, 5, 240, 40, true, true, 1},
		{40, 5, 120, 48, true, true, 1},
		{48, 5, 144, 48, true, true, 1},
		{48, 5, 288, 96, true, true, 2},
		{96, 5, 576, 96, true, true, 1},
		{96, 5, 576, 96, true, true, 1},
	}
	stemStride := int64(2)
	if cfg.Style == CIFAR {
		stemStride = 1
		table[0].stride = 1
	}
	adj := func(c int64) int64 { return makeDivisible(float64(c)*b.Width, 8) }
	const eps, momentum = 1e-3, 0.01
	fb := b.Sub("features")
	first := adj(table[0].in)
	features := Seq{fb.Sub("0").Tapped(bnMomentum(ConvBNAct(fb.Sub("0"), cfg.InChannels, first, 3, tvConv(stemStride, 1), Hardswish, eps), momentum))}
	for _, r := range table {
		in, exp, out := adj(r.in), adj(r.exp), adj(r.out)
		act := ReLU
		if r.hs {
			act = Hardswish
		}
		nb := fb.Subf("%d", len(features))
		bb := nb.Sub("block")
		var layers Seq
		if exp != in {
			layers = append(layers, bnMomentum(ConvBNAct(bb.Sub("0"), in, exp, 1, tvConvInit, act, eps), momentum))
		}
		layers = append(layers, bnMomentum(ConvBNAct(bb.Subf("%d", len(layers)), exp, exp, r.k, tvConv(r.stride, exp), act, eps), momentum))
		if r.se {
			layers = append(layers, newSqueezeExcite(bb.Subf("%d", len(layers)), exp, makeDivisible(float64(exp/4), 8), ReLU, hardsigmoidAct))
		}
		layers = append(layers, bnMomentum(ConvBNAct(bb.Subf("%d", len(layers)), exp, out, 1, tvConvInit, nil, eps), momentum))
		features = append(features, nb.Hooked(addSkip{body: layers, skip: r.stride == 1 && in == out}))
	}
	lastIn := adj(table[len(table)-1].out)
	lastOut := 6 * lastIn
	lb := fb.Subf("%d", len(features))
	features = append(features, lb.Tapped(bnMomentum(ConvBNAct(lb, lastIn, lastOut, 1, tvConvInit, Hardswish, eps), momentum)))
	hidden := adj(1024)
	cb := b.Sub("classifier")
	lin := LinearOpts{Init: torch.Normal{Std: 0.01}, BiasInit: torch.Constant(0)}
	return &poolHead{
		features: features,
		hidden:   Seq{NewLinear(cb.Sub("0"), lastOut, hidden, lin), Hardswish},
		dropout:  NewDropout(cb.Sub("2"), 0.2),
		fc:       NewLinear(cb.Sub("3"), hidden, cfg.Classes, lin),
	}, nil
}
