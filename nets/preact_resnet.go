package nets

import (
	"github.com/divres/divres/torch"
)

// Pre-activation residual networks (He et al. 2016, "Identity Mappings in Deep
// Residual Networks"), CIFAR style only: preact_resnet18 and wide_resnet28_10.
//
// Both use the same pre-activation basic block: out = BN-ReLU(x); the shortcut is
// x itself, or a 1×1 (strided) conv without bias applied to out when the shape
// changes; then conv1 (3×3, strided) → BN-ReLU → [dropout] → conv2 (3×3), plus the
// shortcut. Convs have no bias.
//
// preact_resnet18 follows kuangliu/pytorch-cifar's PreActResNet18 in names, shapes,
// order and initialisation (PyTorch's defaults): conv1 3×3/1 (→64), layer1–4 of two
// blocks (64, 128, 256, 512; strides 1, 2, 2, 2) with keys bn1, conv1, bn2, conv2 and
// "shortcut.0", no final BatchNorm, average pool, "linear". 11,171,146 parameters
// (3 input channels, 10 classes). kuangliu pools with a fixed 4×4 average pool; a
// global average pool is used here, identical for 32×32 (and 28×28) inputs and valid
// for any size.
//
// wide_resnet28_10 is WRN-28-10 of Zagoruyko & Komodakis ("Wide Residual Networks",
// 2016): conv1 3×3 (→16), three stages of four blocks of widths 160, 320, 640
// (strides 1, 2, 2), a final BN-ReLU, global average pool (the paper's 8×8 pool on
// 32×32 inputs) and fc; dropout between the convs of a block is 0 (off). 36,479,194
// parameters for 10 classes. The keys are torchvision-like: conv1;
// layer<s>.<i>.{bn1, conv1, bn2, conv2}; the projection shortcut "downsample.0" (a
// lone 1×1 conv, there is no BatchNorm in it); the final BatchNorm "bn"; "fc".
// Initialisation as the authors' code: convs Kaiming-normal fan_out, BatchNorm
// weight 1 and bias 0, fc PyTorch's default weight with zero bias.
//
// Width multiplier: all channel counts are scaled by Builder.Ch. The penultimate
// features are the pooled map (the input of linear/fc): 512 or 640 at width 1.

func init() {
	Register(&Spec{
		Name:    "preact_resnet18",
		Family:  "preact_resnet",
		Styles:  []Style{CIFAR},
		MinSize: map[Style]int64{CIFAR: 8},
		Build: func(b Builder, cfg Config) (Model, error) {
			return newPreActResNet(b, cfg, preactArch{
				stem: 64, widths: []int64{64, 128, 256, 512}, strides: []int64{1, 2, 2, 2}, blocks: 2,
				shortcut: "shortcut", head: "linear",
			}), nil
		},
	})
	Register(&Spec{
		Name:    "wide_resnet28_10",
		Family:  "preact_resnet",
		Styles:  []Style{CIFAR},
		MinSize: map[Style]int64{CIFAR: 4},
		Build: func(b Builder, cfg Config) (Model, error) {
			return newPreActResNet(b, cfg, preactArch{
				stem: 16, widths: []int64{160, 320, 640}, strides: []int64{1, 2, 2}, blocks: 4,
				shortcut: "downsample", head: "fc", finalBN: "bn",
				convInit: torch.KaimingNormal{Mode: torch.FanOut}, headBiasInit: torch.Constant(0),
			}), nil
		},
	})
}

// preactArch describes a pre-activation ResNet and its naming.
type preactArch struct {
	stem    int64
	widths  []int64
	strides []int64
	blocks  int
	// shortcut names the projection Sequential, head the classifier, finalBN the
	// BatchNorm before pooling ("" for none).
	shortcut, head, finalBN string
	// dropout is the probability between the two convs of a block.
	dropout float64
	// convInit and headBiasInit default to PyTorch's initialisation.
	convInit, headBiasInit torch.Init
}

// PreActResNet is a pre-activation residual network for small images.
type PreActResNet struct {
	Conv1   *Conv2d
	Layers  []Seq
	FinalBN *BatchNorm2d
	Head    *Linear
}

func newPreActResNet(b Builder, cfg Config, a preactArch) *PreActResNet {
	in := b.Ch(a.stem)
	m := &PreActResNet{Conv1: NewConv2d(b.Sub("conv1"), cfg.InChannels, in, 3, ConvOpts{Padding: 1, Init: a.convInit})}
	for s, w := range a.widths {
		out := b.Ch(w)
		var stage Seq
		for i := 0; i < a.blocks; i++ {
			stride := int64(1)
			if i == 0 {
				stride = a.strides[s]
			}
			stage = append(stage, newPreActBlock(b.Subf("layer%d", s+1).Subf("%d", i), in, out, stride, a))
			in = out
		}
		m.Layers = append(m.Layers, stage)
	}
	if a.finalBN != "" {
		m.FinalBN = NewBatchNorm2d(b.Sub(a.finalBN), in)
	}
	m.Head = NewLinear(b.Sub(a.head), in, cfg.Classes, LinearOpts{BiasInit: a.headBiasInit})
	return m
}

// PreActBlock is the pre-activation basic block (see the family comment).
type PreActBlock struct {
	BN1, BN2     *BatchNorm2d
	Conv1, Conv2 *Conv2d
	Drop         *Dropout
	// Shortcut is the 1×1 projection (nil for the identity).
	Shortcut *Conv2d
}

func newPreActBlock(b Builder, in, out, stride int64, a preactArch) *PreActBlock {
	k := &PreActBlock{
		BN1:   NewBatchNorm2d(b.Sub("bn1"), in),
		Conv1: NewConv2d(b.Sub("conv1"), in, out, 3, ConvOpts{Stride: stride, Padding: 1, Init: a.convInit}),
		BN2:   NewBatchNorm2d(b.Sub("bn2"), out),
		Drop:  NewDropout(b, a.dropout),
		Conv2: NewConv2d(b.Sub("conv2"), out, out, 3, ConvOpts{Padding: 1, Init: a.convInit}),
	}
	if stride != 1 || in != out {
		k.Shortcut = NewConv2d(b.Sub(a.shortcut).Sub("0"), in, out, 1, ConvOpts{Stride: stride, Init: a.convInit})
	}
	return k
}

// Forward implements Module.
func (k *PreActBlock) Forward(x *torch.Tensor) *torch.Tensor {
	out := torch.Relu(k.BN1.Forward(x))
	sc := x
	if k.Shortcut != nil {
		sc = k.Shortcut.Forward(out)
	}
	out = k.Conv1.Forward(out)
	out = k.Drop.Forward(torch.Relu(k.BN2.Forward(out)))
	out = k.Conv2.Forward(out)
	return out.Add(sc)
}

// Forward implements Model.
func (m *PreActResNet) Forward(x *torch.Tensor) (logits, features *torch.Tensor) {
	x = m.Conv1.Forward(x)
	for _, l := range m.Layers {
		x = l.Forward(x)
	}
	if m.FinalBN != nil {
		x = torch.Relu(m.FinalBN.Forward(x))
	}
	features = GlobalAvgPool.Forward(x)
	return m.Head.Forward(features), features
}
