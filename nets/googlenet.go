package nets

import (
	"github.com/divres/divres/torch"
)

// GoogLeNet (Inception v1).
//
// ImageNet style: torchvision 0.14's googlenet with aux_logits=False and
// transform_input=False: stem conv1 (7×7/2, 64) → max-pool 3/2 (ceil) → conv2 (1×1,
// 64) → conv3 (3×3, 192) → max-pool 3/2 (ceil), Inception 3a–3b, max-pool 3/2
// (ceil), 4a–4e, max-pool 2/2 (ceil), 5a–5b, global average pool, dropout 0.2,
// Linear(1024). Every convolution is a BasicConv2d ("conv" without bias, "bn" with
// eps 1e-3, ReLU). Initialisation: convolution and Linear weights truncated normal
// (std 0.01, cut at ±2), BatchNorm 1/0, the Linear bias PyTorch's default.
//
// CIFAR style: huyvnphan/PyTorch_CIFAR10's googlenet: the whole stem is one
// BasicConv2d "conv1" (3×3, stride 1, padding 1, to 192 channels; conv2, conv3
// and the first two max-pools are absent), maxpool3 and maxpool4 are 3×3 stride-2
// padding-1 floor-mode max-pools, so the Inception stages run at 32, 16 and 8 for
// a 32×32 input. No weight initialisation (PyTorch's layer defaults), as upstream.
//
// The Inception module is torchvision's: its "5×5" branch uses a 3×3 kernel and
// the pool branch is a 3×3 stride-1 ceil-mode max-pool followed by a 1×1
// BasicConv2d. Width scales every channel count (rounded). Features are the
// globally pooled 1024-channel map, before the dropout.

func init() {
	Register(&Spec{
		Name: "googlenet", Family: "googlenet", Styles: []Style{CIFAR, ImageNet},
		MinSize: map[Style]int64{CIFAR: 1, ImageNet: 15},
		Build:   buildGoogLeNet,
	})
}

// basicConv is torchvision's BasicConv2d of GoogLeNet and Inception-v3: conv
// ("conv", no bias) → BatchNorm ("bn", eps 1e-3) → ReLU.
type basicConv struct {
	conv *Conv2d
	bn   *BatchNorm2d
}

// newBasicConv creates a BasicConv2d with a kh×kw kernel; o's padding and stride
// apply as given (no "same" default).
func newBasicConv(b Builder, in, out, kh, kw int64, o ConvOpts) *basicConv {
	o.Bias = false
	return &basicConv{conv: NewConv2dHW(b.Sub("conv"), in, out, kh, kw, o), bn: NewBatchNorm2d(b.Sub("bn"), out, 1e-3)}
}

func (c *basicConv) Forward(x *torch.Tensor) *torch.Tensor {
	return torch.Relu(c.bn.Forward(c.conv.Forward(x)))
}

// catBranches runs modules on the same input and concatenates their outputs along the
// channels.
type catBranches []Module

func (c catBranches) Forward(x *torch.Tensor) *torch.Tensor {
	outs := make([]*torch.Tensor, len(c))
	for i, m := range c {
		outs[i] = m.Forward(x)
	}
	return torch.Cat(outs, 1)
}

// googLeNetInit returns the weight initialisation of the style (nil: PyTorch's).
func googLeNetInit(st Style) torch.Init {
	if st == ImageNet {
		return torch.TruncNormal{Std: 0.01, A: -2, B: 2}
	}
	return nil
}

// newGoogLeNetInception builds an Inception module with (unscaled) branch sizes
// 1×1, 3×3 reduce, 3×3, "5×5" reduce, "5×5" (a 3×3 kernel), pool projection; it
// returns the module and its output channels.
func newGoogLeNetInception(b Builder, in int64, ch [6]int64, wi torch.Init) (Module, int64) {
	for i := range ch {
		ch[i] = b.Ch(ch[i])
	}
	o1 := ConvOpts{Init: wi}
	o3 := ConvOpts{Init: wi, Padding: 1}
	m := catBranches{
		newBasicConv(b.Sub("branch1"), in, ch[0], 1, 1, o1),
		Seq{newBasicConv(b.Sub("branch2").Sub("0"), in, ch[1], 1, 1, o1), newBasicConv(b.Sub("branch2").Sub("1"), ch[1], ch[2], 3, 3, o3)},
		Seq{newBasicConv(b.Sub("branch3").Sub("0"), in, ch[3], 1, 1, o1), newBasicConv(b.Sub("branch3").Sub("1"), ch[3], ch[4], 3, 3, o3)},
		Seq{MaxPool(3, 1, 1, true), newBasicConv(b.Sub("branch4").Sub("1"), in, ch[5], 1, 1, o1)},
	}
	return m, ch[0] + ch[2] + ch[4] + ch[5]
}

func buildGoogLeNet(b Builder, cfg Config) (Model, error) {
	wi := googLeNetInit(cfg.Style)
	var body Seq
	var in int64
	if cfg.Style == ImageNet {
		c64, c192 := b.Ch(64), b.Ch(192)
		body = Seq{
			newBasicConv(b.Sub("conv1"), cfg.InChannels, c64, 7, 7, ConvOpts{Stride: 2, Padding: 3, Init: wi}),
			MaxPool(3, 2, 0, true),
			newBasicConv(b.Sub("conv2"), c64, c64, 1, 1, ConvOpts{Init: wi}),
			newBasicConv(b.Sub("conv3"), c64, c192, 3, 3, ConvOpts{Padding: 1, Init: wi}),
			MaxPool(3, 2, 0, true),
		}
		in = c192
	} else {
		in = b.Ch(192)
		body = Seq{newBasicConv(b.Sub("conv1"), cfg.InChannels, in, 3, 3, ConvOpts{Stride: 1, Padding: 1, Init: wi})}
	}
	pool3, pool4 := MaxPool(3, 2, 0, true), MaxPool(2, 2, 0, true)
	if cfg.Style == CIFAR {
		pool3, pool4 = MaxPool(3, 2, 1, false), MaxPool(3, 2, 1, false)
	}
	stages := []struct {
		name string
		ch   [6]int64
		pool Module // applied after the module
	}{
		{"inception3a", [6]int64{64, 96, 128, 16, 32, 32}, nil},
		{"inception3b", [6]int64{128, 128, 192, 32, 96, 64}, pool3},
		{"inception4a", [6]int64{192, 96, 208, 16, 48, 64}, nil},
		{"inception4b", [6]int64{160, 112, 224, 24, 64, 64}, nil},
		{"inception4c", [6]int64{128, 128, 256, 24, 64, 64}, nil},
		{"inception4d", [6]int64{112, 144, 288, 32, 64, 64}, nil},
		{"inception4e", [6]int64{256, 160, 320, 32, 128, 128}, pool4},
		{"inception5a", [6]int64{256, 160, 320, 32, 128, 128}, nil},
		{"inception5b", [6]int64{384, 192, 384, 48, 128, 128}, nil},
	}
	for _, s := range stages {
		m, out := newGoogLeNetInception(b.Sub(s.name), in, s.ch, wi)
		body = append(body, m)
		if s.pool != nil {
			body = append(body, s.pool)
		}
		in = out
	}
	return &poolHead{
		features: body,
		dropout:  NewDropout(b.Sub("dropout"), 0.2),
		fc:       NewLinear(b.Sub("fc"), in, cfg.Classes, LinearOpts{Init: wi}),
	}, nil
}
