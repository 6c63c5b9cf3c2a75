package nets

import (
	"github.com/divres/divres/torch"
)

// MNASNet 1.0 (the B1 variant).
//
// ImageNet style: torchvision 0.14's mnasnet1_0: a stem (3×3 stride-2 conv, BN,
// ReLU, depthwise 3×3, BN, ReLU, 1×1 to 16, BN), six stacks of inverted residuals
// (3×3/stride 2/expansion 3/×3, 5×5/2/3/×3, 5×5/2/6/×3, 3×3/1/6/×2, 5×5/2/6/×4,
// 3×3/1/6/×1), a 1×1 conv to 1280 with BN and ReLU, mean pooling, dropout 0.2 and a
// Linear. Everything lives in one Sequential "layers" (indices 0–16), the head in
// "classifier" (0 dropout, 1 Linear). BatchNorm momentum is 0.0003 (1 − 0.9997).
// Initialisation: convolutions Kaiming-normal fan-out, BatchNorm 1/0, the Linear
// Kaiming-uniform fan-out with gain 1 and zero bias.
//
// CIFAR style (not in huyvnphan's collection): torchvision's names and shapes; the
// stem convolution and the first block of the first stack have stride 1 instead of
// 2, so the total stride is 8 and a 32×32 input ends at 4×4. That block gets the
// skip connection when its channel counts agree (at small widths, where 16 and 24
// both round to 8).
//
// Width: torchvision's alpha rule: the stage depths 32, 16, 24, 40, 80, 96, 192, 320
// are scaled and rounded to a multiple of 8, rounding up unless that adds more
// than ~11 % (round-up bias 0.9); the last convolution keeps 1280 channels, as in
// torchvision's mnasnet0_5 … mnasnet1_3.
//
// Features are the mean-pooled 1280-channel map, before the dropout.

func init() {
	Register(&Spec{
		Name: "mnasnet1_0", Family: "mnasnet", Styles: []Style{CIFAR, ImageNet},
		MinSize: map[Style]int64{CIFAR: 1, ImageNet: 1},
		Build:   buildMNASNet10,
	})
}

// mnasnetMomentum is MNASNet's BatchNorm momentum.
const mnasnetMomentum = 1 - 0.9997

func buildMNASNet10(b Builder, cfg Config) (Model, error) {
	var d [8]int64
	for i, c := range []float64{32, 16, 24, 40, 80, 96, 192, 320} {
		// torchvision's _round_to_multiple_of(val, 8, 0.9) is _make_divisible
		d[i] = makeDivisible(c*b.Width, 8)
	}
	stride := int64(2)
	if cfg.Style == CIFAR {
		stride = 1
	}
	lb := b.Sub("layers")
	bn := func(i int, c int64) *BatchNorm2d {
		n := NewBatchNorm2d(lb.Subf("%d", i), c)
		n.Momentum = mnasnetMomentum
		return n
	}
	conv := func(i int, in, out, k, stride, groups int64) *Conv2d {
		o := tvConv(stride, groups)
		o.Padding = k / 2
		return NewConv2d(lb.Subf("%d", i), in, out, k, o)
	}
	layers := Seq{
		conv(0, cfg.InChannels, d[0], 3, stride, 1), bn(1, d[0]), ReLU,
		conv(3, d[0], d[0], 3, 1, d[0]), bn(4, d[0]), ReLU,
		conv(6, d[0], d[1], 1, 1, 1), bn(7, d[1]),
	}
	// kernel, stride, expansion, repeats of the six stacks
	stacks := [][4]int64{{3, 2, 3, 3}, {5, 2, 3, 3}, {5, 2, 6, 3}, {3, 1, 6, 2}, {5, 2, 6, 4}, {3, 1, 6, 1}}
	if cfg.Style == CIFAR {
		stacks[0][1] = 1
	}
	in := d[1]
	for s, st := range stacks {
		sb := lb.Subf("%d", len(layers))
		var stack Seq
		for i := int64(0); i < st[3]; i++ {
			stride := st[1]
			if i > 0 {
				stride = 1
			}
			stack = append(stack, newMNASBlock(sb.Subf("%d", i), in, d[s+2], st[0], stride, st[2]))
			in = d[s+2]
		}
		layers = append(layers, stack)
	}
	const last = 1280
	layers = append(layers, conv(14, in, last, 1, 1, 1), bn(15, last), ReLU)
	cb := b.Sub("classifier")
	return &poolHead{
		features: layers,
		dropout:  NewDropout(cb.Sub("0"), 0.2),
		fc: NewLinear(cb.Sub("1"), last, cfg.Classes,
			LinearOpts{Init: torch.KaimingUniform{A: 1, Mode: torch.FanOut}, BiasInit: torch.Constant(0)}),
	}, nil
}

// newMNASBlock is MNASNet's inverted residual ("layers" 0–7: 1×1 expansion, BN,
// ReLU, depthwise k×k, BN, ReLU, 1×1 projection, BN), with a skip connection when
// the shape is kept.
func newMNASBlock(b Builder, in, out, k, stride, expand int64) Module {
	mid := in * expand
	lb := b.Sub("layers")
	bn := func(i int, c int64) *BatchNorm2d {
		n := NewBatchNorm2d(lb.Subf("%d", i), c)
		n.Momentum = mnasnetMomentum
		return n
	}
	dw := tvConv(stride, mid)
	dw.Padding = k / 2
	layers := Seq{
		NewConv2d(lb.Sub("0"), in, mid, 1, tvConvInit), bn(1, mid), ReLU,
		NewConv2d(lb.Sub("3"), mid, mid, k, dw), bn(4, mid), ReLU,
		NewConv2d(lb.Sub("6"), mid, out, 1, tvConvInit), bn(7, out),
	}
	return addSkip{body: layers, skip: in == out && stride == 1}
}
