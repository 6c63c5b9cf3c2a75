package nets

import (
	"github.com/divres/divres/torch"
)

// ResNet family: resnet18/34/50/101/152 and wide_resnet50_2.
//
// ImageNet style: torchvision 0.14 exactly (7×7/2 stem conv, BatchNorm, ReLU, 3×3/2
// max-pool, four stages of basic or bottleneck blocks with the stride on the 3×3 conv
// (ResNet v1.5), global average pool, fc). Initialisation as torchvision: convs
// Kaiming-normal fan_out (ReLU gain), BatchNorm weight 1 and bias 0 (no zero-init of
// the last BN of a block), fc PyTorch's default Linear initialisation.
//
// CIFAR style: huyvnphan/PyTorch_CIFAR10 for resnet18/34/50 — the stem conv is 3×3
// stride 1 padding 1 and the 3×3/2 max-pool after it is kept, so a 32×32 input runs
// the stages at 16, 16, 8, 4 and 2 and layer4 ends at 2×2. resnet101, resnet152 and
// wide_resnet50_2 (which that collection lacks) use the same convention with
// torchvision's names.
//
// Width multiplier: the stem and the per-stage "planes" 64, 128, 256, 512 are scaled
// by Builder.Ch; the bottleneck inner width is int(planes·widthPerGroup/64) and the
// block output planes·expansion, as torchvision computes them from planes.
//
// The penultimate features are the globally average-pooled output of layer4 (the
// input of fc): 512·expansion channels at width 1.

// resnetArch describes one ResNet depth.
type resnetArch struct {
	bottleneck    bool
	layers        [4]int
	widthPerGroup int64
}

var resnetArchs = map[string]resnetArch{
	"resnet18":        {false, [4]int{2, 2, 2, 2}, 64},
	"resnet34":        {false, [4]int{3, 4, 6, 3}, 64},
	"resnet50":        {true, [4]int{3, 4, 6, 3}, 64},
	"resnet101":       {true, [4]int{3, 4, 23, 3}, 64},
	"resnet152":       {true, [4]int{3, 8, 36, 3}, 64},
	"wide_resnet50_2": {true, [4]int{3, 4, 6, 3}, 128},
}

func init() {
	for name, a := range resnetArchs {
		a := a
		Register(&Spec{
			Name:    name,
			Family:  "resnet",
			Styles:  []Style{CIFAR, ImageNet},
			MinSize: map[Style]int64{CIFAR: 16, ImageNet: 32},
			Build: func(b Builder, cfg Config) (Model, error) {
				return newResNet(b, cfg, a), nil
			},
		})
	}
}

// resnetConvInit is torchvision's ResNet conv initialisation.
var resnetConvInit torch.Init = torch.KaimingNormal{Mode: torch.FanOut}

// ResNet is a torchvision-style residual network.
type ResNet struct {
	Stem   Seq
	Layers [4]Seq
	FC     *Linear
	// hooks reports the output of each stage under its name ("layer1".."layer4").
	hooks  *Hooks
	stages [4]string
}

func newResNet(b Builder, cfg Config, a resnetArch) *ResNet {
	m := &ResNet{hooks: b.Hooks}
	inplanes := b.Ch(64)
	k, stride, pad := int64(3), int64(1), int64(1) // CIFAR: 3×3/1 stem
	if cfg.Style == ImageNet {
		k, stride, pad = 7, 2, 3
	}
	m.Stem = Seq{
		NewConv2d(b.Sub("conv1"), cfg.InChannels, inplanes, k, ConvOpts{Stride: stride, Padding: pad, Init: resnetConvInit}),
		NewBatchNorm2d(b.Sub("bn1"), inplanes),
		ReLU,
		MaxPool(3, 2, 1, false), // kept in the CIFAR style too (huyvnphan)
	}
	planes := [4]int64{64, 128, 256, 512}
	for i := range m.Layers {
		stride := int64(2)
		if i == 0 {
			stride = 1
		}
		m.Layers[i], inplanes = resnetStage(b.Subf("layer%d", i+1), inplanes, b.Ch(planes[i]), a.layers[i], stride, a)
		m.stages[i] = b.Subf("layer%d", i+1).Name()
	}
	m.FC = NewLinear(b.Sub("fc"), inplanes, cfg.Classes, LinearOpts{})
	return m
}

// resnetStage builds torchvision's _make_layer: the first block carries the stride
// and a 1×1 conv + BN projection ("downsample") when the shape changes. It returns
// the stage and its output channels.
func resnetStage(b Builder, inplanes, planes int64, blocks int, stride int64, a resnetArch) (Seq, int64) {
	expansion := int64(1)
	if a.bottleneck {
		expansion = 4
	}
	out := planes * expansion
	stage := make(Seq, 0, blocks)
	for i := 0; i < blocks; i++ {
		bb := b.Subf("%d", i)
		s := int64(1)
		if i == 0 {
			s = stride
		}
		proj := i == 0 && (stride != 1 || inplanes != out)
		if a.bottleneck {
			stage = append(stage, newBottleneck(bb, inplanes, planes, s, a.widthPerGroup, proj))
		} else {
			stage = append(stage, newBasicBlock(bb, inplanes, planes, s, proj))
		}
		inplanes = out
	}
	return stage, out
}

// BasicBlock is ResNet's two-conv residual block (expansion 1).
type BasicBlock struct {
	Conv1, Conv2 *Conv2d
	BN1, BN2     *BatchNorm2d
	// Downsample projects the identity when the shape changes (nil otherwise).
	Downsample Module
}

func newBasicBlock(b Builder, inplanes, planes, stride int64, proj bool) *BasicBlock {
	k := &BasicBlock{
		Conv1: NewConv2d(b.Sub("conv1"), inplanes, planes, 3, ConvOpts{Stride: stride, Padding: 1, Init: resnetConvInit}),
		BN1:   NewBatchNorm2d(b.Sub("bn1"), planes),
		Conv2: NewConv2d(b.Sub("conv2"), planes, planes, 3, ConvOpts{Padding: 1, Init: resnetConvInit}),
		BN2:   NewBatchNorm2d(b.Sub("bn2"), planes),
	}
	if proj {
		k.Downsample = resnetDownsample(b, inplanes, planes, stride)
	}
	return k
}

// Forward implements Module.
func (k *BasicBlock) Forward(x *torch.Tensor) *torch.Tensor {
	out := torch.Relu(k.BN1.Forward(k.Conv1.Forward(x)))
	out = k.BN2.Forward(k.Conv2.Forward(out))
	id := x
	if k.Downsample != nil {
		id = k.Downsample.Forward(x)
	}
	return torch.Relu(out.Add(id))
}

// Bottleneck is ResNet's 1×1 → 3×3 (strided) → 1×1 residual block (expansion 4).
type Bottleneck struct {
	Conv1, Conv2, Conv3 *Conv2d
	BN1, BN2, BN3       *BatchNorm2d
	// Downsample projects the identity when the shape changes (nil otherwise).
	Downsample Module
}

func newBottleneck(b Builder, inplanes, planes, stride, widthPerGroup int64, proj bool) *Bottleneck {
	width := planes * widthPerGroup / 64
	k := &Bottleneck{
		Conv1: NewConv2d(b.Sub("conv1"), inplanes, width, 1, ConvOpts{Init: resnetConvInit}),
		BN1:   NewBatchNorm2d(b.Sub("bn1"), width),
		Conv2: NewConv2d(b.Sub("conv2"), width, width, 3, ConvOpts{Stride: stride, Padding: 1, Init: resnetConvInit}),
		BN2:   NewBatchNorm2d(b.Sub("bn2"), width),
		Conv3: NewConv2d(b.Sub("conv3"), width, planes*4, 1, ConvOpts{Init: resnetConvInit}),
		BN3:   NewBatchNorm2d(b.Sub("bn3"), planes*4),
	}
	if proj {
		k.Downsample = resnetDownsample(b, inplanes, planes*4, stride)
	}
	return k
}

// Forward implements Module.
func (k *Bottleneck) Forward(x *torch.Tensor) *torch.Tensor {
	out := torch.Relu(k.BN1.Forward(k.Conv1.Forward(x)))
	out = torch.Relu(k.BN2.Forward(k.Conv2.Forward(out)))
	out = k.BN3.Forward(k.Conv3.Forward(out))
	id := x
	if k.Downsample != nil {
		id = k.Downsample.Forward(x)
	}
	return torch.Relu(out.Add(id))
}

// Forward implements Model.
func (m *ResNet) Forward(x *torch.Tensor) (logits, features *torch.Tensor) {
	x = m.Stem.Forward(x)
	for i, l := range m.Layers {
		x = m.hooks.Call(m.stages[i], l.Forward(x))
	}
	features = GlobalAvgPool.Forward(x)
	return m.FC.Forward(features), features
}

// resnetDownsample is the 1×1 conv + BatchNorm projection of the identity
// ("downsample.0", "downsample.1"), registered after the block's own layers.
func resnetDownsample(b Builder, in, out, stride int64) Seq {
	d := b.Sub("downsample")
	return Seq{
		NewConv2d(d.Sub("0"), in, out, 1, ConvOpts{Stride: stride, Init: resnetConvInit}),
		NewBatchNorm2d(d.Sub("1"), out),
	}
}
