package nets

import (
	"github.com/divres/divres/torch"
)

// Module is a layer or block mapping a tensor to a tensor.
type Module interface {
	Forward(x *torch.Tensor) *torch.Tensor
}

// Func adapts a function to a Module (activations, pooling, reshapes).
type Func func(x *torch.Tensor) *torch.Tensor

// Forward implements Module.
func (f Func) Forward(x *torch.Tensor) *torch.Tensor { return f(x) }

// Seq applies modules in order.
type Seq []Module

// Forward implements Module.
func (s Seq) Forward(x *torch.Tensor) *torch.Tensor {
	for _, m := range s {
		x = m.Forward(x)
	}
	return x
}

// Common stateless modules.
var (
	ReLU      Module = Func(torch.Relu)
	ReLU6     Module = Func(torch.Relu6)
	SiLU      Module = Func(torch.Silu)
	GELU      Module = Func(func(x *torch.Tensor) *torch.Tensor { return torch.Gelu(x, false) })
	Hardswish Module = Func(torch.Hardswish)
	Flatten   Module = Func(func(x *torch.Tensor) *torch.Tensor { return x.Flatten(1, -1) })
	// GlobalAvgPool averages over H and W and flattens to (N, C).
	GlobalAvgPool Module = Func(func(x *torch.Tensor) *torch.Tensor { return x.MeanDims([]int64{2, 3}, false) })
)

// ConvOpts are the options of a Conv2d beyond the channel counts and kernel size.
type ConvOpts struct {
	Stride, Padding, Dilation int64
	// StrideHW, PaddingHW override the square values for rectangular kernels.
	StrideHW, PaddingHW []int64
	Groups              int64
	Bias                bool
	// Init and BiasInit default to PyTorch's Conv2d initialisation.
	Init, BiasInit torch.Init
}

// Conv2d is a 2-D convolution with parameters "weight" and optionally "bias".
type Conv2d struct {
	W, B                      *torch.Tensor
	stride, padding, dilation []int64
	groups                    int64
	meter                     *Meter
	name                      string
	hooks                     *Hooks
}

// NewConv2d creates a convolution with a k×k kernel (kh×kw with NewConv2dHW).
func NewConv2d(b Builder, in, out, k int64, o ConvOpts) *Conv2d {
	return NewConv2dHW(b, in, out, k, k, o)
}

// NewConv2dHW creates a convolution with a kh×kw kernel.
func NewConv2dHW(b Builder, in, out, kh, kw int64, o ConvOpts) *Conv2d {
	if o.Groups == 0 {
		o.Groups = 1
	}
	if o.Stride == 0 {
		o.Stride = 1
	}
	if o.Dilation == 0 {
		o.Dilation = 1
	}
	stride := []int64{o.Stride, o.Stride}
	if o.StrideHW != nil {
		stride = o.StrideHW
	}
	padding := []int64{o.Padding, o.Padding}
	if o.PaddingHW != nil {
		padding = o.PaddingHW
	}
	fanIn := in / o.Groups * kh * kw
	init := o.Init
	if init == nil {
		init = torch.KaimingUniform{A: sqrt5}
	}
	c := &Conv2d{stride: stride, padding: padding, dilation: []int64{o.Dilation, o.Dilation}, groups: o.Groups, meter: b.Meter,
		name: b.Name(), hooks: b.Hooks}
	c.W = b.Path.Param("weight", []int64{out, in / o.Groups, kh, kw}, init)
	if o.Bias {
		bi := o.BiasInit
		if bi == nil {
			bi = torch.BiasUniform{FanIn: fanIn}
		}
		c.B = b.Path.Param("bias", []int64{out}, bi)
	}
	return c
}

const sqrt5 = 2.23606797749979

// Forward implements Module.
func (c *Conv2d) Forward(x *torch.Tensor) *torch.Tensor {
	y := torch.Conv2d(x, c.W, c.B, c.stride, c.padding, c.dilation, c.groups)
	if c.meter.Active() {
		ws := c.W.Shape()
		if len(ws) == 4 {
			c.meter.Add(y.Numel() / max(1, y.Size(0)) * ws[1] * ws[2] * ws[3])
		}
	}
	return c.hooks.Call(c.name, y)
}

// BatchNorm2d normalises per channel with running statistics (names "weight",
// "bias", "running_mean", "running_var", "num_batches_tracked").
type BatchNorm2d struct {
	W, B, Mean, Var, Count *torch.Tensor
	Eps, Momentum          float64
	path                   torch.Path
	name                   string
	hooks                  *Hooks
}

// NewBatchNorm2d creates a BatchNorm2d with PyTorch's defaults (eps 1e-5, momentum
// 0.1) unless eps is given.
func NewBatchNorm2d(b Builder, c int64, eps ...float64) *BatchNorm2d {
	e := 1e-5
	if len(eps) > 0 {
		e = eps[0]
	}
	p := b.Path
	return &BatchNorm2d{
		W:     p.Param("weight", []int64{c}, torch.Constant(1)),
		B:     p.Param("bias", []int64{c}, torch.Constant(0)),
		Mean:  p.Buffer("running_mean", []int64{c}, torch.Constant(0), p.Store().DType()),
		Var:   p.Buffer("running_var", []int64{c}, torch.Constant(1), p.Store().DType()),
		Count: p.Buffer("num_batches_tracked", []int64{}, torch.Constant(0), torch.Int64),
		Eps:   e, Momentum: 0.1, path: p, name: b.Name(), hooks: b.Hooks,
	}
}

// Forward implements Module: batch statistics (and a running-statistics update) in
// training mode, running statistics in evaluation mode.
func (n *BatchNorm2d) Forward(x *torch.Tensor) *torch.Tensor {
	training := n.path.Training()
	if training {
		if err := n.Count.AddInt_(1); err != nil {
			return torch.Fail(x.Scope(), err)
		}
	}
	return n.hooks.Call(n.name, torch.BatchNorm(x, n.W, n.B, n.Mean, n.Var, training, n.Momentum, n.Eps))
}

// Linear is a fully connected layer ("weight" (out, in), optional "bias").
type Linear struct {
	W, B  *torch.Tensor
	meter *Meter
	name  string
	hooks *Hooks
}

// LinearOpts are the options of a Linear layer.
type LinearOpts struct {
	NoBias         bool
	Init, BiasInit torch.Init
}

// NewLinear creates a linear layer (PyTorch's default initialisation unless given).
func NewLinear(b Builder, in, out int64, o LinearOpts) *Linear {
	init := o.Init
	if init == nil {
		init = torch.KaimingUniform{A: sqrt5}
	}
	l := &Linear{W: b.Path.Param("weight", []int64{out, in}, init), meter: b.Meter, name: b.Name(), hooks: b.Hooks}
	if !o.NoBias {
		bi := o.BiasInit
		if bi == nil {
			bi = torch.BiasUniform{FanIn: in}
		}
		l.B = b.Path.Param("bias", []int64{out}, bi)
	}
	return l
}

// Forward implements Module.
func (l *Linear) Forward(x *torch.Tensor) *torch.Tensor {
	y := torch.Linear(x, l.W, l.B)
	if l.meter.Active() {
		ws := l.W.Shape()
		l.meter.Add(x.Numel() / max(1, x.Size(0)) / ws[1] * ws[0] * ws[1])
	}
	return l.hooks.Call(l.name, y)
}

// LayerNorm normalises over the last dimension ("weight", "bias").
type LayerNorm struct {
	W, B  *torch.Tensor
	dim   int64
	Eps   float64
	name  string
	hooks *Hooks
}

// NewLayerNorm creates a LayerNorm over a last dimension of size d.
func NewLayerNorm(b Builder, d int64, eps float64) *LayerNorm {
	return &LayerNorm{
		W:   b.Path.Param("weight", []int64{d}, torch.Constant(1)),
		B:   b.Path.Param("bias", []int64{d}, torch.Constant(0)),
		dim: d, Eps: eps, name: b.Name(), hooks: b.Hooks,
	}
}

// Forward implements Module.
func (n *LayerNorm) Forward(x *torch.Tensor) *torch.Tensor {
	return n.hooks.Call(n.name, torch.LayerNorm(x, []int64{n.dim}, n.W, n.B, n.Eps))
}

// Dropout zeroes activations with probability P in training mode.
type Dropout struct {
	P    float64
	path torch.Path
}

// NewDropout creates a dropout layer (it has no parameters).
func NewDropout(b Builder, p float64) *Dropout { return &Dropout{P: p, path: b.Path} }

// Forward implements Module.
func (d *Dropout) Forward(x *torch.Tensor) *torch.Tensor {
	if d.P == 0 || !d.path.Training() {
		return x
	}
	return torch.Dropout(x, d.P, true)
}

// StochasticDepth drops whole samples of a residual branch with probability P in
// training mode and scales the kept ones by 1/(1−P): torchvision's
// stochastic_depth(mode="row"). It is the identity in evaluation mode and for P ≤ 0.
type StochasticDepth struct {
	P    float64
	path torch.Path
}

// NewStochasticDepth creates the layer (it has no parameters).
func NewStochasticDepth(b Builder, p float64) *StochasticDepth {
	return &StochasticDepth{P: p, path: b.Path}
}

// Forward implements Module.
func (d *StochasticDepth) Forward(x *torch.Tensor) *torch.Tensor {
	if d.P <= 0 || !d.path.Training() {
		return x
	}
	keep := 1 - d.P
	// One draw per sample, broadcast over the other dimensions.
	shape := make([]int64, x.Dim())
	for i := range shape {
		shape[i] = 1
	}
	shape[0] = x.Size(0)
	noise := torch.Empty(x.Scope(), shape, x.DType(), x.Device()).Bernoulli(keep)
	if keep > 0 {
		noise = noise.DivScalar(keep)
	}
	return x.Mul(noise)
}

// MaxPool returns a max-pooling module (square kernel, stride, padding).
func MaxPool(k, stride, pad int64, ceil bool) Module {
	return Func(func(x *torch.Tensor) *torch.Tensor {
		return torch.MaxPool2d(x, []int64{k, k}, []int64{stride, stride}, []int64{pad, pad}, []int64{1, 1}, ceil)
	})
}

// AvgPool returns an average-pooling module (count_include_pad true, as PyTorch's
// default).
func AvgPool(k, stride, pad int64, ceil bool) Module {
	return Func(func(x *torch.Tensor) *torch.Tensor {
		return torch.AvgPool2d(x, []int64{k, k}, []int64{stride, stride}, []int64{pad, pad}, ceil, true)
	})
}

// ConvBNAct is the common conv → BatchNorm → activation block with torchvision's
// Sequential numbering ("0" conv, "1" bn); act may be nil.
func ConvBNAct(b Builder, in, out, k int64, o ConvOpts, act Module, eps ...float64) Seq {
	if o.Padding == 0 && o.PaddingHW == nil {
		o.Padding = (k - 1) / 2 * max(1, o.Dilation)
	}
	s := Seq{NewConv2d(b.Sub("0"), in, out, k, o), NewBatchNorm2d(b.Sub("1"), out, eps...)}
	if act != nil {
		s = append(s, act)
	}
	return s
}
