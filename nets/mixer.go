package nets

import (
	"fmt"
	"math"

	"github.com/divres/divres/torch"
)

// MLP-Mixer (Tolstikhin et al., "MLP-Mixer: An all-MLP Architecture for Vision",
// 2021), registered as mlp_mixer. torchvision has no MLP-Mixer, so the state_dict
// key names follow timm's MlpMixer, the common PyTorch implementation, so that its
// checkpoints (converted to safetensors) load:
//
//	stem.proj.{weight,bias}                       patch embedding, Conv2d p×p stride p
//	blocks.N.norm1.{weight,bias}                  LayerNorm(D) before token mixing
//	blocks.N.mlp_tokens.fc1.{weight,bias}         Linear(S, Dt)
//	blocks.N.mlp_tokens.fc2.{weight,bias}         Linear(Dt, S)
//	blocks.N.norm2.{weight,bias}                  LayerNorm(D) before channel mixing
//	blocks.N.mlp_channels.fc1.{weight,bias}       Linear(D, Dc)
//	blocks.N.mlp_channels.fc2.{weight,bias}       Linear(Dc, D)
//	norm.{weight,bias}                            final LayerNorm(D)
//	head.{weight,bias}                            Linear(D, classes)
//
// with S = (image/p)² tokens, hidden size D, token-MLP size Dt = ⌊D/2⌋ and
// channel-MLP size Dc = 4·D (timm's mlp_ratio (0.5, 4)). A block is
// x += mlp_tokens(norm1(x)ᵀ)ᵀ; x += mlp_channels(norm2(x)) with exact GELU inside
// each MLP; the head averages the normalised tokens (the features, (N, D)) and
// applies the linear layer. LayerNorm eps is 1e-6.
//
// Parameter count with C input channels and K classes:
//
//	C·p²·D + D + L·(4·D + 2·S·Dt + Dt + S + 2·D·Dc + Dc + D) + 2·D + D·K + K
//
// ImageNet style: Mixer-B/16 (p 16, D 768, L 12, Dt 384, Dc 3072, 224×224 inputs:
// 59,880,472 parameters with 1000 classes, 59,119,162 with 10). CIFAR style: a
// small configuration for 32×32 inputs, p 4 (S = 64), D 256, L 8, Dt 128, Dc 1024
// (4,360,970 parameters with 10 classes). The width multiplier scales D (and so Dt
// and Dc). The token MLP fixes the number of tokens, so the model accepts only the
// input size it was built for (224 or 32; see FixedInputSize).
//
// Initialisation is timm's default: Xavier-uniform linear weights with N(0, 10⁻⁶)
// biases in the MLPs, a zero head, and a LeCun-normal stem (normal with variance
// 1/fan_in, truncated at ±2σ) with zero bias.

func init() {
	Register(&Spec{
		Name: "mlp_mixer", Family: "mixer", Styles: []Style{CIFAR, ImageNet},
		Build: func(b Builder, cfg Config) (Model, error) {
			s := mixerCIFAR
			if cfg.Style == ImageNet {
				s = mixerB16
			}
			s.Image = cfg.Size
			return newMixer(b, cfg, s)
		},
	})
}

// mixerShape is an MLP-Mixer configuration at width 1.
type mixerShape struct {
	Image, Patch, Depth, Hidden int64
}

var (
	mixerB16   = mixerShape{Image: 224, Patch: 16, Depth: 12, Hidden: 768}
	mixerCIFAR = mixerShape{Image: 32, Patch: 4, Depth: 8, Hidden: 256}
)

// mixerDims returns the token-MLP and channel-MLP sizes of hidden size d.
func mixerDims(d int64) (tokens, channels int64) { return max(1, d/2), 4 * d }

// FixedSizer is implemented by models that accept only one input side (their
// token-mixing layers depend on the number of patches).
type FixedSizer interface {
	FixedInputSize() int64
}

// Mixer is an MLP-Mixer (see the file comment).
type Mixer struct {
	image  int64
	stem   *Conv2d
	blocks []*mixerBlock
	norm   *LayerNorm
	head   *Linear
}

type mixerBlock struct {
	norm1, norm2           *LayerNorm
	mlpTokens, mlpChannels Seq
}

const mixerLNEps = 1e-6

func newMixer(b Builder, cfg Config, s mixerShape) (*Mixer, error) {
	if s.Image%s.Patch != 0 {
		return nil, fmt.Errorf("image size %d is not a multiple of the patch size %d", s.Image, s.Patch)
	}
	d := b.Ch(s.Hidden)
	dt, dc := mixerDims(d)
	tokens := (s.Image / s.Patch) * (s.Image / s.Patch)
	std := math.Sqrt(1/float64(cfg.InChannels*s.Patch*s.Patch)) / 0.87962566103423978
	m := &Mixer{image: s.Image}
	m.stem = NewConv2d(b.Sub("stem").Sub("proj"), cfg.InChannels, d, s.Patch, ConvOpts{
		Stride: s.Patch, Bias: true,
		Init:     torch.TruncNormal{Std: std, A: -2 * std, B: 2 * std},
		BiasInit: torch.Constant(0),
	})
	mlp := func(b Builder, in, hidden int64) Seq {
		o := LinearOpts{Init: torch.XavierUniform{}, BiasInit: torch.Normal{Std: 1e-6}}
		return Seq{NewLinear(b.Sub("fc1"), in, hidden, o), GELU, NewLinear(b.Sub("fc2"), hidden, in, o)}
	}
	for i := int64(0); i < s.Depth; i++ {
		bb := b.Sub("blocks").Subf("%d", i)
		blk := &mixerBlock{norm1: NewLayerNorm(bb.Sub("norm1"), d, mixerLNEps)}
		blk.mlpTokens = mlp(bb.Sub("mlp_tokens"), tokens, dt)
		blk.norm2 = NewLayerNorm(bb.Sub("norm2"), d, mixerLNEps)
		blk.mlpChannels = mlp(bb.Sub("mlp_channels"), d, dc)
		m.blocks = append(m.blocks, blk)
	}
	m.norm = NewLayerNorm(b.Sub("norm"), d, mixerLNEps)
	m.head = NewLinear(b.Sub("head"), d, cfg.Classes, LinearOpts{Init: torch.Constant(0), BiasInit: torch.Constant(0)})
	return m, nil
}

// FixedInputSize implements FixedSizer.
func (m *Mixer) FixedInputSize() int64 { return m.image }

// Forward implements Model. The features are the token average of the final
// LayerNorm's output (N, D).
func (m *Mixer) Forward(x *torch.Tensor) (logits, features *torch.Tensor) {
	if x.Err() == nil && (x.Dim() != 4 || x.Size(2) != m.image || x.Size(3) != m.image) {
		err := torch.Fail(x.Scope(), fmt.Errorf("mlp_mixer: input shape %v; this mixer takes (N, C, %d, %d)", x.Shape(), m.image, m.image))
		return err, err
	}
	y := m.stem.Forward(x).Flatten(2, 3).Transpose(1, 2) // (N, S, D)
	for _, blk := range m.blocks {
		t := blk.mlpTokens.Forward(blk.norm1.Forward(y).Transpose(1, 2)).Transpose(1, 2)
		y = y.Add(t)
		y = y.Add(blk.mlpChannels.Forward(blk.norm2.Forward(y)))
	}
	features = m.norm.Forward(y).MeanDims([]int64{1}, false)
	return m.head.Forward(features), features
}
