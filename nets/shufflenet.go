package nets

import (
	"math"

	"github.com/divres/divres/torch"
)

// ShuffleNetV2 1.0×.
//
// ImageNet style: torchvision 0.14's shufflenet_v2_x1_0 (stages of 4, 8, 4 blocks
// with 116, 232, 464 channels, a 24-channel stem and a 1024-channel last
// convolution; PyTorch's default layer initialisation, as torchvision does not
// re-initialise this family).
//
// CIFAR style (the family is not in huyvnphan's collection): torchvision's names
// and shapes; the stem convolution has stride 1 and the 3×3 max-pool after it is
// removed, so the total stride is 8 and a 32×32 input ends at 4×4.
//
// Width: the stem and last convolution are scaled by the width (rounded); the stage
// channels are scaled and rounded to an even number (each block splits its channels
// in two halves), at least 2. torchvision's own x0.5/x1.5/x2.0 variants use
// hand-picked channel tables and are not reproduced by the multiplier.
//
// Features are the globally pooled output of the last convolution.

func init() {
	Register(&Spec{
		Name: "shufflenet_v2_x1_0", Family: "shufflenet", Styles: []Style{CIFAR, ImageNet},
		MinSize: map[Style]int64{CIFAR: 1, ImageNet: 1},
		Build:   buildShuffleNetV2,
	})
}

// shuffleNetChannels returns the stem, three stage and last channel counts for a
// width multiplier.
func shuffleNetChannels(b Builder) [5]int64 {
	even := func(c int64) int64 {
		if b.Width == 1 {
			return c
		}
		return 2 * max(1, int64(math.Round(float64(c)*b.Width/2)))
	}
	return [5]int64{b.Ch(24), even(116), even(232), even(464), b.Ch(1024)}
}

type shuffleNetV2 struct {
	stem, body Module
	fc         *Linear
}

func (m *shuffleNetV2) Forward(x *torch.Tensor) (logits, features *torch.Tensor) {
	f := m.body.Forward(m.stem.Forward(x)).MeanDims([]int64{2, 3}, false)
	return m.fc.Forward(f), f
}

func buildShuffleNetV2(b Builder, cfg Config) (Model, error) {
	ch := shuffleNetChannels(b)
	repeats := []int{4, 8, 4}
	stemStride := int64(2)
	if cfg.Style == CIFAR {
		stemStride = 1
	}
	stem := Seq{
		NewConv2d(b.Sub("conv1").Sub("0"), cfg.InChannels, ch[0], 3, ConvOpts{Stride: stemStride, Padding: 1}),
		NewBatchNorm2d(b.Sub("conv1").Sub("1"), ch[0]),
		ReLU,
	}
	if cfg.Style == ImageNet {
		stem = append(stem, MaxPool(3, 2, 1, false))
	}
	in := ch[0]
	var body Seq
	for s, n := range repeats {
		out := ch[s+1]
		sb := b.Subf("stage%d", s+2)
		for i := 0; i < n; i++ {
			stride := int64(1)
			if i == 0 {
				stride = 2
			}
			body = append(body, newShuffleBlock(sb.Subf("%d", i), in, out, stride))
			in = out
		}
	}
	body = append(body,
		NewConv2d(b.Sub("conv5").Sub("0"), in, ch[4], 1, ConvOpts{}),
		NewBatchNorm2d(b.Sub("conv5").Sub("1"), ch[4]),
		ReLU,
	)
	return &shuffleNetV2{stem: stem, body: body, fc: NewLinear(b.Sub("fc"), ch[4], cfg.Classes, LinearOpts{})}, nil
}

// shuffleBlock is ShuffleNetV2's unit: with stride 1 the input is split in two
// halves and only the second goes through branch2; with stride 2 both branches see
// the whole input. The halves are concatenated and their channels shuffled.
type shuffleBlock struct {
	branch1, branch2 Module
	stride           int64
}

func newShuffleBlock(b Builder, in, out, stride int64) *shuffleBlock {
	half := out / 2
	blk := &shuffleBlock{stride: stride}
	b2in := half
	if stride > 1 {
		b1 := b.Sub("branch1")
		blk.branch1 = Seq{
			NewConv2d(b1.Sub("0"), in, in, 3, ConvOpts{Stride: stride, Padding: 1, Groups: in}),
			NewBatchNorm2d(b1.Sub("1"), in),
			NewConv2d(b1.Sub("2"), in, half, 1, ConvOpts{}),
			NewBatchNorm2d(b1.Sub("3"), half),
			ReLU,
		}
		b2in = in
	}
	b2 := b.Sub("branch2")
	blk.branch2 = Seq{
		NewConv2d(b2.Sub("0"), b2in, half, 1, ConvOpts{}),
		NewBatchNorm2d(b2.Sub("1"), half),
		ReLU,
		NewConv2d(b2.Sub("3"), half, half, 3, ConvOpts{Stride: stride, Padding: 1, Groups: half}),
		NewBatchNorm2d(b2.Sub("4"), half),
		NewConv2d(b2.Sub("5"), half, half, 1, ConvOpts{}),
		NewBatchNorm2d(b2.Sub("6"), half),
		ReLU,
	}
	return blk
}

func (s *shuffleBlock) Forward(x *torch.Tensor) *torch.Tensor {
	var out *torch.Tensor
	if s.stride == 1 {
		c := x.Size(1) / 2
		out = torch.Cat([]*torch.Tensor{x.Narrow(1, 0, c), s.branch2.Forward(x.Narrow(1, c, c))}, 1)
	} else {
		out = torch.Cat([]*torch.Tensor{s.branch1.Forward(x), s.branch2.Forward(x)}, 1)
	}
	return torch.ChannelShuffle(out, 2)
}
