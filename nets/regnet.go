package nets

import (
	"github.com/divres/divres/torch"
)

// RegNetX-400MF.
//
// ImageNet style: torchvision 0.14's regnet_x_400mf. Its block parameters (depth 22,
// w0 24, wa 24.48, wm 2.54, group width 16, no squeeze-and-excitation) quantise to
// four stages of 1, 2, 7 and 12 residual bottleneck blocks with 32, 64, 160 and 400
// channels (torchvision's BlockParams.from_init_params; the table is written out
// here). Stem: 3×3 stride-2 conv to 32, BatchNorm, ReLU. Each block: optional
// projection (1×1 conv + BN, "proj") when the width or stride changes, then "f" =
// a (1×1, BN, ReLU), b (3×3 grouped with group width 16, stride, BN, ReLU), c (1×1,
// BN), added and followed by ReLU. Initialisation: convolutions N(0, 2/fan-out),
// BatchNorm 1/0, Linear N(0, 0.01) with zero bias.
//
// CIFAR style (not in huyvnphan's collection): torchvision's names and shapes; the
// stem and the first block of the first stage have stride 1 instead of 2, so the
// total stride is 8 and a 32×32 input ends at 4×4; that block keeps its 1×1
// projection (now with stride 1).
//
// Width: the stem and stage widths are scaled (rounded); then, as torchvision
// makes widths and groups compatible, the group width becomes min(16, width) and
// the width is rounded to a multiple of the group width (makeDivisible).
//
// Features are the globally pooled output of the last stage.

func init() {
	Register(&Spec{
		Name: "regnet_x_400mf", Family: "regnet", Styles: []Style{CIFAR, ImageNet},
		MinSize: map[Style]int64{CIFAR: 1, ImageNet: 1},
		Build:   buildRegNetX400MF,
	})
}

// regNetX400MF is the quantised stage table of RegNetX-400MF.
var regNetX400MF = struct {
	depths, widths []int64
	groupWidth     int64
}{[]int64{1, 2, 7, 12}, []int64{32, 64, 160, 400}, 16}

// regNetWidths returns the stage widths and group widths for a width multiplier.
func regNetWidths(b Builder) (widths, groups []int64) {
	for _, w := range regNetX400MF.widths {
		w = b.Ch(w)
		g := min(regNetX400MF.groupWidth, w)
		widths = append(widths, makeDivisible(float64(w), g))
		groups = append(groups, g)
	}
	return widths, groups
}

type regNet struct {
	stem, trunk Module
	fc          *Linear
}

func (m *regNet) Forward(x *torch.Tensor) (logits, features *torch.Tensor) {
	f := m.trunk.Forward(m.stem.Forward(x)).MeanDims([]int64{2, 3}, false)
	return m.fc.Forward(f), f
}

func buildRegNetX400MF(b Builder, cfg Config) (Model, error) {
	stride := int64(2)
	if cfg.Style == CIFAR {
		stride = 1
	}
	stemW := b.Ch(32)
	stem := ConvBNAct(b.Sub("stem"), cfg.InChannels, stemW, 3, tvConv(stride, 1), ReLU)
	widths, groups := regNetWidths(b)
	in := stemW
	var trunk Seq
	for s, depth := range regNetX400MF.depths {
		sb := b.Sub("trunk_output").Subf("block%d", s+1)
		st := int64(2)
		if s == 0 {
			st = stride
		}
		for i := int64(0); i < depth; i++ {
			if i > 0 {
				st = 1
			}
			// The first block of each stage has a projection (the ImageNet stride is
			// 2 there), also where the CIFAR style runs it with stride 1.
			trunk = append(trunk, newResBottleneck(sb.Subf("block%d-%d", s+1, i), in, widths[s], st, groups[s], i == 0 || in != widths[s]))
			in = widths[s]
		}
	}
	return &regNet{
		stem: stem, trunk: trunk,
		fc: NewLinear(b.Sub("fc"), in, cfg.Classes, LinearOpts{Init: torch.Normal{Std: 0.01}, BiasInit: torch.Constant(0)}),
	}, nil
}

// resBottleneck is RegNet's residual bottleneck block (bottleneck multiplier 1).
type resBottleneck struct {
	proj, f Module
}

func newResBottleneck(b Builder, in, out, stride, groupWidth int64, proj bool) *resBottleneck {
	r := &resBottleneck{}
	if proj || in != out || stride != 1 {
		r.proj = ConvBNAct(b.Sub("proj"), in, out, 1, tvConv(stride, 1), nil)
	}
	fb := b.Sub("f")
	r.f = Seq{
		ConvBNAct(fb.Sub("a"), in, out, 1, tvConvInit, ReLU),
		ConvBNAct(fb.Sub("b"), out, out, 3, tvConv(stride, out/groupWidth), ReLU),
		ConvBNAct(fb.Sub("c"), out, out, 1, tvConvInit, nil),
	}
	return r
}

func (r *resBottleneck) Forward(x *torch.Tensor) *torch.Tensor {
	skip := x
	if r.proj != nil {
		skip = r.proj.Forward(x)
	}
	return torch.Relu(skip.Add(r.f.Forward(x)))
}
