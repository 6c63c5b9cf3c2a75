package nets

import (
	"github.com/divres/divres/torch"
)

// Inception-v3.
//
// ImageNet style: torchvision 0.14's inception_v3 with aux_logits=False and
// transform_input=False: stem Conv2d_1a_3x3 (3×3/2, 32), Conv2d_2a_3x3 (3×3, 32),
// Conv2d_2b_3x3 (3×3 pad 1, 64), max-pool 3/2, Conv2d_3b_1x1 (80), Conv2d_4a_3x3
// (3×3, 192), max-pool 3/2; Mixed_5b–5d (InceptionA), Mixed_6a (InceptionB,
// stride 2), Mixed_6b–6e (InceptionC with 7×1/1×7 factorised convolutions),
// Mixed_7a (InceptionD, stride 2), Mixed_7b–7c (InceptionE); global average pool,
// dropout 0.5, Linear(2048). All convolutions are BasicConv2d (no bias, BatchNorm
// eps 1e-3, ReLU). Initialisation: convolution and Linear weights truncated normal
// (std 0.1, cut at ±2), BatchNorm 1/0, the Linear bias PyTorch's default.
// torchvision accepts inputs from 75×75 up (its native size is 299; the default
// size here is the style's 224).
//
// CIFAR style: huyvnphan/PyTorch_CIFAR10's inception_v3: the stem is a single
// BasicConv2d that keeps the name Conv2d_1a_3x3 but is 3×3, stride 1, padding 1,
// to 192 channels (Conv2d_2a/2b/3b/4a and both max-pools are absent), so Mixed_5*
// run at 32×32, Mixed_6* at 15×15 and Mixed_7* at 7×7 for a 32×32 input. No weight
// initialisation (PyTorch's layer defaults), as upstream.
//
// Width scales every channel count (rounded); block inputs are the sums of the
// scaled branch outputs. Features are the globally pooled 2048-channel map,
// before the dropout.

func init() {
	Register(&Spec{
		Name: "inception_v3", Family: "inception", Styles: []Style{CIFAR, ImageNet},
		MinSize: map[Style]int64{CIFAR: 7, ImageNet: 75},
		Build:   buildInceptionV3,
	})
}

// incept builds Inception-v3 blocks under one parent path with one weight
// initialisation.
type incept struct {
	wi torch.Init
}

// conv is a BasicConv2d with a kh×kw kernel, stride and (ph, pw) padding; channel
// counts are already scaled.
func (c incept) conv(b Builder, in, out, kh, kw, stride, ph, pw int64) *basicConv {
	return newBasicConv(b, in, out, kh, kw, ConvOpts{StrideHW: []int64{stride, stride}, PaddingHW: []int64{ph, pw}, Init: c.wi})
}

// sq is a square BasicConv2d with padding (k−1)/2 when same is set, else none.
func (c incept) sq(b Builder, in, out, k, stride int64, same bool) *basicConv {
	p := int64(0)
	if same {
		p = (k - 1) / 2
	}
	return c.conv(b, in, out, k, k, stride, p, p)
}

// avgPool3 is the 3×3 stride-1 padding-1 average pool of the pool branches.
var avgPool3 = AvgPool(3, 1, 1, false)

// maxPool3s2 is the 3×3 stride-2 max-pool of the stem and the reduction blocks.
var maxPool3s2 = MaxPool(3, 2, 0, false)

func (c incept) blockA(b Builder, in, pool int64) (Module, int64) {
	ch := b.Ch
	m := catBranches{
		c.sq(b.Sub("branch1x1"), in, ch(64), 1, 1, false),
		Seq{c.sq(b.Sub("branch5x5_1"), in, ch(48), 1, 1, false), c.sq(b.Sub("branch5x5_2"), ch(48), ch(64), 5, 1, true)},
		Seq{
			c.sq(b.Sub("branch3x3dbl_1"), in, ch(64), 1, 1, false),
			c.sq(b.Sub("branch3x3dbl_2"), ch(64), ch(96), 3, 1, true),
			c.sq(b.Sub("branch3x3dbl_3"), ch(96), ch(96), 3, 1, true),
		},
		Seq{avgPool3, c.sq(b.Sub("branch_pool"), in, ch(pool), 1, 1, false)},
	}
	return m, ch(64) + ch(64) + ch(96) + ch(pool)
}

func (c incept) blockB(b Builder, in int64) (Module, int64) {
	ch := b.Ch
	m := catBranches{
		c.sq(b.Sub("branch3x3"), in, ch(384), 3, 2, false),
		Seq{
			c.sq(b.Sub("branch3x3dbl_1"), in, ch(64), 1, 1, false),
			c.sq(b.Sub("branch3x3dbl_2"), ch(64), ch(96), 3, 1, true),
			c.sq(b.Sub("branch3x3dbl_3"), ch(96), ch(96), 3, 2, false),
		},
		maxPool3s2,
	}
	return m, ch(384) + ch(96) + in
}

func (c incept) blockC(b Builder, in, c7 int64) (Module, int64) {
	ch := b.Ch
	c7 = ch(c7)
	m := catBranches{
		c.sq(b.Sub("branch1x1"), in, ch(192), 1, 1, false),
		Seq{
			c.sq(b.Sub("branch7x7_1"), in, c7, 1, 1, false),
			c.conv(b.Sub("branch7x7_2"), c7, c7, 1, 7, 1, 0, 3),
			c.conv(b.Sub("branch7x7_3"), c7, ch(192), 7, 1, 1, 3, 0),
		},
		Seq{
			c.sq(b.Sub("branch7x7dbl_1"), in, c7, 1, 1, false),
			c.conv(b.Sub("branch7x7dbl_2"), c7, c7, 7, 1, 1, 3, 0),
			c.conv(b.Sub("branch7x7dbl_3"), c7, c7, 1, 7, 1, 0, 3),
			c.conv(b.Sub("branch7x7dbl_4"), c7, c7, 7, 1, 1, 3, 0),
			c.conv(b.Sub("branch7x7dbl_5"), c7, ch(192), 1, 7, 1, 0, 3),
		},
		Seq{avgPool3, c.sq(b.Sub("branch_pool"), in, ch(192), 1, 1, false)},
	}
	return m, 4 * ch(192)
}

func (c incept) blockD(b Builder, in int64) (Module, int64) {
	ch := b.Ch
	m := catBranches{
		Seq{c.sq(b.Sub("branch3x3_1"), in, ch(192), 1, 1, false), c.sq(b.Sub("branch3x3_2"), ch(192), ch(320), 3, 2, false)},
		Seq{
			c.sq(b.Sub("branch7x7x3_1"), in, ch(192), 1, 1, false),
			c.conv(b.Sub("branch7x7x3_2"), ch(192), ch(192), 1, 7, 1, 0, 3),
			c.conv(b.Sub("branch7x7x3_3"), ch(192), ch(192), 7, 1, 1, 3, 0),
			c.sq(b.Sub("branch7x7x3_4"), ch(192), ch(192), 3, 2, false),
		},
		maxPool3s2,
	}
	return m, ch(320) + ch(192) + in
}

func (c incept) blockE(b Builder, in int64) (Module, int64) {
	ch := b.Ch
	m := catBranches{
		c.sq(b.Sub("branch1x1"), in, ch(320), 1, 1, false),
		Seq{
			c.sq(b.Sub("branch3x3_1"), in, ch(384), 1, 1, false),
			catBranches{
				c.conv(b.Sub("branch3x3_2a"), ch(384), ch(384), 1, 3, 1, 0, 1),
				c.conv(b.Sub("branch3x3_2b"), ch(384), ch(384), 3, 1, 1, 1, 0),
			},
		},
		Seq{
			c.sq(b.Sub("branch3x3dbl_1"), in, ch(448), 1, 1, false),
			c.sq(b.Sub("branch3x3dbl_2"), ch(448), ch(384), 3, 1, true),
			catBranches{
				c.conv(b.Sub("branch3x3dbl_3a"), ch(384), ch(384), 1, 3, 1, 0, 1),
				c.conv(b.Sub("branch3x3dbl_3b"), ch(384), ch(384), 3, 1, 1, 1, 0),
			},
		},
		Seq{avgPool3, c.sq(b.Sub("branch_pool"), in, ch(192), 1, 1, false)},
	}
	return m, ch(320) + 4*ch(384) + ch(192)
}

func buildInceptionV3(b Builder, cfg Config) (Model, error) {
	c := incept{}
	ch := b.Ch
	var body Seq
	var in int64
	if cfg.Style == ImageNet {
		c.wi = torch.TruncNormal{Std: 0.1, A: -2, B: 2}
		body = Seq{
			c.sq(b.Sub("Conv2d_1a_3x3"), cfg.InChannels, ch(32), 3, 2, false),
			c.sq(b.Sub("Conv2d_2a_3x3"), ch(32), ch(32), 3, 1, false),
			c.sq(b.Sub("Conv2d_2b_3x3"), ch(32), ch(64), 3, 1, true),
			maxPool3s2,
			c.sq(b.Sub("Conv2d_3b_1x1"), ch(64), ch(80), 1, 1, false),
			c.sq(b.Sub("Conv2d_4a_3x3"), ch(80), ch(192), 3, 1, false),
			maxPool3s2,
		}
	} else {
		body = Seq{c.sq(b.Sub("Conv2d_1a_3x3"), cfg.InChannels, ch(192), 3, 1, true)}
	}
	in = ch(192)
	add := func(m Module, out int64) {
		body = append(body, m)
		in = out
	}
	add(c.blockA(b.Sub("Mixed_5b"), in, 32))
	add(c.blockA(b.Sub("Mixed_5c"), in, 64))
	add(c.blockA(b.Sub("Mixed_5d"), in, 64))
	add(c.blockB(b.Sub("Mixed_6a"), in))
	for i, c7 := range []int64{128, 160, 160, 192} {
		add(c.blockC(b.Subf("Mixed_6%c", 'b'+i), in, c7))
	}
	add(c.blockD(b.Sub("Mixed_7a"), in))
	add(c.blockE(b.Sub("Mixed_7b"), in))
	add(c.blockE(b.Sub("Mixed_7c"), in))
	return &poolHead{
		features: body,
		dropout:  NewDropout(b.Sub("dropout"), 0.5),
		fc:       NewLinear(b.Sub("fc"), in, cfg.Classes, LinearOpts{Init: c.wi}),
	}, nil
}
