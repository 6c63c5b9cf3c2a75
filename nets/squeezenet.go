package nets

import (
	"github.com/divres/divres/torch"
)

// SqueezeNet 1.1.
//
// ImageNet style: torchvision 0.14's squeezenet1_1: a 3×3 stride-2 convolution to
// 64 channels (no padding), ReLU, then Fire modules (squeeze 1×1 → ReLU →
// concatenated expand 1×1 and expand 3×3, each with ReLU) with three 3×3 stride-2
// ceil-mode max-pools, and the classifier dropout(0.5) → 1×1 conv to the classes →
// ReLU → global average pool. All convolutions have biases. Initialisation: the
// final convolution N(0, 0.01), the others Kaiming-uniform (fan-in, ReLU gain),
// biases 0. torchvision accepts inputs from 17×17 up.
//
// CIFAR style (not in huyvnphan's collection): torchvision's names and shapes; the
// first convolution has stride 1 and padding 1, the three max-pools stay, so the
// total stride is 8 and a 32×32 input ends at 4×4.
//
// Width: every Fire and stem channel count is scaled (rounded); the classifier
// convolution keeps one output per class.
//
// Features: SqueezeNet has no Linear classifier (its last layer is a 1×1
// convolution on the feature map, followed by ReLU and pooling), so the features
// are the globally averaged 512-channel map that the classifier convolution
// reads.

func init() {
	Register(&Spec{
		Name: "squeezenet1_1", Family: "squeezenet", Styles: []Style{CIFAR, ImageNet},
		MinSize: map[Style]int64{CIFAR: 8, ImageNet: 17},
		Build:   buildSqueezeNet11,
	})
}

type squeezeNet struct {
	features Module
	dropout  *Dropout
	conv     *Conv2d
}

func (m *squeezeNet) Forward(x *torch.Tensor) (logits, features *torch.Tensor) {
	f := m.features.Forward(x)
	logits = torch.Relu(m.conv.Forward(m.dropout.Forward(f))).MeanDims([]int64{2, 3}, false)
	return logits, f.MeanDims([]int64{2, 3}, false)
}

// squeezeInit is the initialisation of SqueezeNet's convolutions except the last.
var squeezeInit = ConvOpts{Bias: true, Init: torch.KaimingUniform{}, BiasInit: torch.Constant(0)}

func buildSqueezeNet11(b Builder, cfg Config) (Model, error) {
	stem := squeezeInit
	stem.Stride = 2
	if cfg.Style == CIFAR {
		stem.Stride, stem.Padding = 1, 1
	}
	fb := b.Sub("features")
	c64 := b.Ch(64)
	features := Seq{NewConv2d(fb.Sub("0"), cfg.InChannels, c64, 3, stem), ReLU, MaxPool(3, 2, 0, true)}
	in := c64
	// squeeze, expand (each of the 1×1 and 3×3 branches); -1 marks a max-pool.
	plan := [][2]int64{{16, 64}, {16, 64}, {-1, 0}, {32, 128}, {32, 128}, {-1, 0}, {48, 192}, {48, 192}, {64, 256}, {64, 256}}
	for _, p := range plan {
		if p[0] < 0 {
			features = append(features, MaxPool(3, 2, 0, true))
			continue
		}
		f := newFire(fb.Subf("%d", len(features)), in, b.Ch(p[0]), b.Ch(p[1]), b.Ch(p[1]))
		features = append(features, f)
		in = f.out
	}
	return &squeezeNet{
		features: features,
		dropout:  NewDropout(b.Sub("classifier").Sub("0"), 0.5),
		conv: NewConv2d(b.Sub("classifier").Sub("1"), in, cfg.Classes, 1,
			ConvOpts{Bias: true, Init: torch.Normal{Std: 0.01}, BiasInit: torch.Constant(0)}),
	}, nil
}

// fire is SqueezeNet's Fire module.
type fire struct {
	squeeze, expand1, expand3 *Conv2d
	out                       int64
}

func newFire(b Builder, in, squeeze, e1, e3 int64) *fire {
	pad := squeezeInit
	pad.Padding = 1
	return &fire{
		squeeze: NewConv2d(b.Sub("squeeze"), in, squeeze, 1, squeezeInit),
		expand1: NewConv2d(b.Sub("expand1x1"), squeeze, e1, 1, squeezeInit),
		expand3: NewConv2d(b.Sub("expand3x3"), squeeze, e3, 3, pad),
		out:     e1 + e3,
	}
}

func (f *fire) Forward(x *torch.Tensor) *torch.Tensor {
	s := torch.Relu(f.squeeze.Forward(x))
	return torch.Cat([]*torch.Tensor{torch.Relu(f.expand1.Forward(s)), torch.Relu(f.expand3.Forward(s))}, 1)
}
