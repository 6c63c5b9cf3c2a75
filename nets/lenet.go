package nets

import (
	"fmt"

	"github.com/divres/divres/torch"
)

// LeNet is the LeNet-5-style baseline of kuangliu/pytorch-cifar (CIFAR style only):
// conv1 5×5 (→6) → ReLU → 2×2 max-pool → conv2 5×5 (→16) → ReLU → 2×2 max-pool →
// flatten (16·5·5) → fc1 (→120) → ReLU → fc2 (→84) → ReLU → fc3. No padding and no
// BatchNorm; PyTorch's default initialisation. 62,006 parameters for 3×32×32 inputs
// and 10 classes, 61,706 for one input channel.
//
// The flatten size is fixed by the 32×32 input, so inputs must be 32×32 (32 to 35
// give the same 5×5 map): pad 28×28 images (MNIST, Fashion-MNIST) by 2 pixels on each
// side. The width multiplier scales 6, 16, 120 and 84. The penultimate features are
// the input of fc3 (84 at width 1).
type LeNet struct {
	Conv1, Conv2  *Conv2d
	FC1, FC2, FC3 *Linear
}

func init() {
	Register(&Spec{
		Name:    "lenet",
		Family:  "lenet",
		Styles:  []Style{CIFAR},
		MinSize: map[Style]int64{CIFAR: 32},
		Build: func(b Builder, cfg Config) (Model, error) {
			c1, c2 := b.Ch(6), b.Ch(16)
			// Two 5×5 valid convolutions, each followed by a 2×2 max-pool.
			side := ((cfg.Size-4)/2 - 4) / 2
			if side < 1 {
				return nil, fmt.Errorf("lenet needs inputs of at least 16×16, not %d", cfg.Size)
			}
			return &LeNet{
				Conv1: NewConv2d(b.Sub("conv1"), cfg.InChannels, c1, 5, ConvOpts{Bias: true}),
				Conv2: NewConv2d(b.Sub("conv2"), c1, c2, 5, ConvOpts{Bias: true}),
				FC1:   NewLinear(b.Sub("fc1"), c2*side*side, b.Ch(120), LinearOpts{}),
				FC2:   NewLinear(b.Sub("fc2"), b.Ch(120), b.Ch(84), LinearOpts{}),
				FC3:   NewLinear(b.Sub("fc3"), b.Ch(84), cfg.Classes, LinearOpts{}),
			}, nil
		},
	})
}

// Forward implements Model.
func (m *LeNet) Forward(x *torch.Tensor) (logits, features *torch.Tensor) {
	pool := func(x *torch.Tensor) *torch.Tensor {
		return torch.MaxPool2d(x, []int64{2, 2}, []int64{2, 2}, []int64{0, 0}, []int64{1, 1}, false)
	}
	x = pool(torch.Relu(m.Conv1.Forward(x)))
	x = pool(torch.Relu(m.Conv2.Forward(x)))
	x = torch.Relu(m.FC1.Forward(x.Flatten(1, -1)))
	features = torch.Relu(m.FC2.Forward(x))
	return m.FC3.Forward(features), features
}
