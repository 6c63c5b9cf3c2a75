package nets

import (
	"fmt"
	"math"

	"github.com/divres/divres/torch"
)

// Vision Transformers.
//
// vit_b_16 (ImageNet style) is torchvision 0.14's VisionTransformer with patch 16,
// 12 layers, 12 heads, hidden size 768 and MLP size 3072, built for 224×224 inputs
// (torchvision fixes the image size at construction: the positional embedding has
// (224/16)² + 1 = 197 rows). State_dict names, order, shapes, initialisation and
// forward are torchvision's: class_token, conv_proj, encoder.pos_embedding,
// encoder.layers.encoder_layer_N.{ln_1, self_attention.{in_proj_weight,
// in_proj_bias, out_proj}, ln_2, mlp.{0,3}}, encoder.ln, heads.head; LayerNorm eps
// 1e-6, exact GELU, no dropout.
//
// vit_small (CIFAR style) is the same network with the ViT-Lite-7/4 configuration
// of Hassani et al. ("Escaping the Big Data Paradigm with Compact Transformers",
// 2021), a ViT that trains from scratch on CIFAR-10: patch 4 (an 8×8 grid of tokens
// on 32×32 inputs), 7 layers, 4 heads, hidden size 256, MLP size 512 (3,722,250
// parameters with 10 classes). It keeps torchvision's key names and
// initialisation, and a class token (no sequence pooling), with no dropout.
//
// Input sizes: the model is built for the style's default size (224 or 32). An
// input whose patch grid differs from the built one (e.g. 28×28 Fashion-MNIST
// images: a 7×7 grid) gets the grid part of the positional embedding resized
// bilinearly (align_corners false) to its grid; at the built size the forward is
// exactly torchvision's. A side that is not a multiple of the patch size loses its
// remainder (as torchvision's conv_proj would). The smallest input registered is
// 16×16 for vit_small (a 4×4 grid) and 224×224 for vit_b_16.
//
// Width: the head dimension (hidden/heads) and the MLP size are scaled, the number of
// heads and layers kept, so hidden = heads · round(width · hidden/heads).
//
// Multi-head attention is composed from matmul and softmax (as PyTorch's
// MultiheadAttention computes it: q·kᵀ/√d, softmax, ·v); its two matrix products
// count 2·T²·hidden multiply-accumulates per layer for T tokens.

func init() {
	Register(&Spec{
		Name: "vit_b_16", Family: "vit", Styles: []Style{ImageNet},
		MinSize: map[Style]int64{ImageNet: 224},
		Build: func(b Builder, cfg Config) (Model, error) {
			return newViT(b, cfg, vitB16.builtFor(cfg.Size))
		},
	})
	Register(&Spec{
		Name: "vit_small", Family: "vit", Styles: []Style{CIFAR},
		MinSize: map[Style]int64{CIFAR: 16},
		Build: func(b Builder, cfg Config) (Model, error) {
			return newViT(b, cfg, vitSmallCIFAR.builtFor(cfg.Size))
		},
	})
}

// builtFor sets the position-embedding grid for inputs of side size when it is a
// multiple of the patch (other sizes interpolate the embeddings at run time).
func (s vitShape) builtFor(size int64) vitShape {
	if size > 0 && size%s.Patch == 0 {
		s.Image = size
	}
	return s
}

// vitShape is a ViT configuration at width 1.
type vitShape struct {
	Image, Patch, Layers, Heads, Hidden, MLP int64
}

var (
	vitB16        = vitShape{Image: 224, Patch: 16, Layers: 12, Heads: 12, Hidden: 768, MLP: 3072}
	vitSmallCIFAR = vitShape{Image: 32, Patch: 4, Layers: 7, Heads: 4, Hidden: 256, MLP: 512}
)

// vitLNEps is the LayerNorm epsilon of torchvision's ViT.
const vitLNEps = 1e-6

// ViT is a Vision Transformer (see the file comment).
type ViT struct {
	classToken, posEmbedding *torch.Tensor
	convProj                 *Conv2d
	layers                   []*vitLayer
	ln                       *LayerNorm
	head                     *Linear
	grid                     int64 // patches per side at the built size
}

type vitLayer struct {
	ln1, ln2 *LayerNorm
	attn     *SelfAttention
	mlp      Seq
}

func newViT(b Builder, cfg Config, s vitShape) (*ViT, error) {
	if s.Image%s.Patch != 0 {
		return nil, fmt.Errorf("image size %d is not a multiple of the patch size %d", s.Image, s.Patch)
	}
	hidden := s.Heads * b.Ch(s.Hidden/s.Heads)
	mlp := b.Ch(s.MLP)
	grid := s.Image / s.Patch
	seq := grid*grid + 1
	m := &ViT{grid: grid}
	m.classToken = b.Path.Param("class_token", []int64{1, 1, hidden}, torch.Constant(0))
	fanIn := cfg.InChannels * s.Patch * s.Patch
	m.convProj = NewConv2d(b.Sub("conv_proj"), cfg.InChannels, hidden, s.Patch, ConvOpts{
		Stride: s.Patch, Bias: true,
		Init:     torch.TruncNormal{Std: math.Sqrt(1 / float64(fanIn)), A: -2, B: 2},
		BiasInit: torch.Constant(0),
	})
	enc := b.Sub("encoder")
	m.posEmbedding = enc.Path.Param("pos_embedding", []int64{1, seq, hidden}, torch.Normal{Std: 0.02})
	for i := int64(0); i < s.Layers; i++ {
		lb := enc.Sub("layers").Subf("encoder_layer_%d", i)
		mb := lb.Sub("mlp")
		mlpInit := LinearOpts{Init: torch.XavierUniform{}, BiasInit: torch.Normal{Std: 1e-6}}
		ln1 := NewLayerNorm(lb.Sub("ln_1"), hidden, vitLNEps)
		attn, err := NewSelfAttention(lb.Sub("self_attention"), hidden, s.Heads)
		if err != nil {
			return nil, err
		}
		m.layers = append(m.layers, &vitLayer{
			ln1:  ln1,
			attn: attn,
			ln2:  NewLayerNorm(lb.Sub("ln_2"), hidden, vitLNEps),
			mlp: Seq{
				NewLinear(mb.Sub("0"), hidden, mlp, mlpInit),
				GELU,
				NewLinear(mb.Sub("3"), mlp, hidden, mlpInit),
			},
		})
	}
	m.ln = NewLayerNorm(enc.Sub("ln"), hidden, vitLNEps)
	m.head = NewLinear(b.Sub("heads").Sub("head"), hidden, cfg.Classes,
		LinearOpts{Init: torch.Constant(0), BiasInit: torch.Constant(0)})
	return m, nil
}

// Forward implements Model. The features are the final-LayerNorm output at the
// class token (N, hidden).
func (m *ViT) Forward(x *torch.Tensor) (logits, features *torch.Tensor) {
	n := x.Size(0)
	y := m.convProj.Forward(x) // (N, D, gh, gw)
	gh, gw := y.Size(2), y.Size(3)
	y = y.Flatten(2, 3).Transpose(1, 2) // (N, gh·gw, D)
	cls := m.classToken.In(y.Scope()).Expand([]int64{n, -1, -1})
	y = torch.Cat([]*torch.Tensor{cls, y}, 1)
	y = y.Add(m.positions(y.Scope(), gh, gw))
	for _, l := range m.layers {
		y = l.forward(y)
	}
	y = m.ln.Forward(y)
	features = y.Select(1, 0)
	return m.head.Forward(features), features
}

// positions returns the positional embedding for a gh×gw patch grid: the learnt one
// at the built grid, otherwise its grid part resized bilinearly.
func (m *ViT) positions(s *torch.Scope, gh, gw int64) *torch.Tensor {
	pos := m.posEmbedding.In(s)
	if gh == m.grid && gw == m.grid {
		return pos
	}
	d := pos.Size(2)
	cls := pos.Narrow(1, 0, 1)
	g := pos.Narrow(1, 1, m.grid*m.grid).Reshape([]int64{1, m.grid, m.grid, d}).Permute([]int64{0, 3, 1, 2})
	g = torch.InterpolateBilinear(g, []int64{gh, gw}, false)
	g = g.Permute([]int64{0, 2, 3, 1}).Reshape([]int64{1, gh * gw, d})
	return torch.Cat([]*torch.Tensor{cls, g}, 1)
}

func (l *vitLayer) forward(x *torch.Tensor) *torch.Tensor {
	y := x.Add(l.attn.Forward(l.ln1.Forward(x)))
	return y.Add(l.mlp.Forward(l.ln2.Forward(y)))
}

// SelfAttention is multi-head self-attention with PyTorch's MultiheadAttention
// parameters ("in_proj_weight" (3D, D), "in_proj_bias" (3D), "out_proj.weight",
// "out_proj.bias") and initialisation (Xavier-uniform input projection, zero
// biases), on batch-first inputs (N, T, D), without dropout.
type SelfAttention struct {
	heads           int64
	inProj, outProj *Linear
	meter           *Meter
}

// NewSelfAttention creates the attention of hidden size d with the given number of
// heads; d must be a multiple of heads.
func NewSelfAttention(b Builder, d, heads int64) (*SelfAttention, error) {
	if heads <= 0 || d%heads != 0 {
		return nil, fmt.Errorf("self-attention: hidden size %d is not a multiple of %d heads", d, heads)
	}
	in := &Linear{meter: b.Meter}
	in.W = b.Path.Param("in_proj_weight", []int64{3 * d, d}, torch.XavierUniform{})
	in.B = b.Path.Param("in_proj_bias", []int64{3 * d}, torch.Constant(0))
	out := NewLinear(b.Sub("out_proj"), d, d, LinearOpts{BiasInit: torch.Constant(0)})
	return &SelfAttention{heads: heads, inProj: in, outProj: out, meter: b.Meter}, nil
}

// Forward implements Module.
func (a *SelfAttention) Forward(x *torch.Tensor) *torch.Tensor {
	n, t, d := x.Size(0), x.Size(1), x.Size(2)
	hd := d / a.heads
	qkv := a.inProj.Forward(x).Reshape([]int64{n, t, 3, a.heads, hd}).Permute([]int64{2, 0, 3, 1, 4}) // (3, N, H, T, hd)
	q := qkv.Select(0, 0).MulScalar(1 / math.Sqrt(float64(hd)))
	k, v := qkv.Select(0, 1), qkv.Select(0, 2)
	attn := q.Matmul(k.Transpose(-2, -1)).Softmax(-1) // (N, H, T, T)
	y := attn.Matmul(v).Transpose(1, 2).Reshape([]int64{n, t, d})
	a.meter.Add(2 * t * t * d)
	return a.outProj.Forward(y)
}
