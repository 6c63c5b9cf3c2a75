package attrib

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/divres/divres/torch"
)

// Method names an attribution method (the names of `divres attrib --method`).
type Method string

// Methods.
const (
	Saliency       Method = "saliency"         // |∂f_t/∂x|
	SaliencySigned Method = "saliency_signed"  // ∂f_t/∂x
	InputXGradient Method = "input_x_gradient" // x · ∂f_t/∂x
	IG             Method = "ig"               // integrated gradients
	SmoothGrad     Method = "smoothgrad"       // noise tunnel: mean
	SmoothGradSq   Method = "smoothgrad_sq"    // noise tunnel: mean of squares
	VarGrad        Method = "vargrad"          // noise tunnel: variance
	GradCAM        Method = "gradcam"          // Grad-CAM on a named layer
	GradientSHAP   Method = "gradient_shap"    // expected gradients
)

// Methods lists every method.
var Methods = []Method{Saliency, SaliencySigned, InputXGradient, IG, SmoothGrad, SmoothGradSq, VarGrad, GradCAM, GradientSHAP}

// ParseMethod parses a method name.
func ParseMethod(s string) (Method, error) {
	for _, m := range Methods {
		if string(m) == strings.ToLower(s) {
			return m, nil
		}
	}
	names := make([]string, len(Methods))
	for i, m := range Methods {
		names[i] = string(m)
	}
	return "", fmt.Errorf("unknown attribution method %q (want %s)", s, strings.Join(names, ", "))
}

// isNoiseTunnel reports whether m is a noise-tunnel method.
func (m Method) isNoiseTunnel() bool { return m == SmoothGrad || m == SmoothGradSq || m == VarGrad }

// Options configures Attribute.
type Options struct {
	Method Method
	// IG configures integrated gradients (also inside the noise tunnel); its
	// InternalBatch bounds the rows of every forward/backward pass of every method.
	IG IGOptions
	// Noise tunnel: Inner is the method whose maps are averaged (default
	// Saliency; any of saliency, saliency_signed, input_x_gradient, ig);
	// NTSamples noisy copies per input (default 16); Stdev of the Gaussian noise
	// (default 0.15); Seed seeds it. Noise, when given, is the additive noise
	// itself, (N, NTSamples, C, H, W): noise[i, s] is added to input i for copy s.
	Inner     Method
	NTSamples int
	Stdev     float64
	Seed      uint64
	Noise     *torch.Tensor
	// Grad-CAM: the layer (a state_dict prefix, see nets.Hooks), whether to apply
	// a ReLU to the map, and the upsampling to the input size ("" keeps the
	// layer's spatial size; "nearest" or "bilinear").
	Layer    string
	ReLU     bool
	Upsample string
	// SHAP configures GradientSHAP.
	SHAP SHAPOptions
	// CreateGraph keeps the graph of the maps so that a loss containing them can be
	// differentiated with respect to the parameters (double backward).
	CreateGraph bool
}

// SHAPOptions configures GradientSHAP: attr_i = mean_s (x̃ − b)·∇f_t(b + α(x̃ − b))
// with b drawn uniformly from the baseline distribution, α uniform in [0, 1) and
// x̃ = x_i + N(0, Stdev²) noise, as Captum's GradientShap.
type SHAPOptions struct {
	// Baselines is the distribution (B, C, H, W); nil: the IG baseline of the
	// inputs (zeros by default).
	Baselines *torch.Tensor
	// Samples per input (default 5) and the noise's standard deviation (default 0).
	Samples int
	Stdev   float64
	// Seed seeds the draws.
	Seed uint64
}

// Result holds attribution maps.
type Result struct {
	// Maps are shaped like the input, or (N, 1, h, w) for Grad-CAM without
	// upsampling.
	Maps *torch.Tensor
	// Delta is IG's convergence delta (N,) (nil for the other methods).
	Delta *torch.Tensor
	// Targets are the attributed classes.
	Targets []int64
}

// Attribute computes the maps of x (N, C, H, W) for the target classes, in s.
func Attribute(s *torch.Scope, m Model, x *torch.Tensor, target Target, o Options) (Result, error) {
	if err := m.check(x); err != nil {
		return Result{}, err
	}
	if o.Method == GradCAM {
		if m.Hooks == nil {
			return Result{}, fmt.Errorf("attrib: grad-cam: the model has no named layers")
		}
		if !m.Hooks.Has(o.Layer) {
			_, err := m.Hooks.On(o.Layer, func(y *torch.Tensor) *torch.Tensor { return y })
			return Result{}, fmt.Errorf("attrib: grad-cam: %w", err)
		}
	}
	t, classes, err := target.resolve(s, m, x)
	if err != nil {
		return Result{}, err
	}
	ib := o.IG.InternalBatch
	if ib == 0 {
		ib = DefaultInternalBatch
	}
	if ib < 0 {
		return Result{}, fmt.Errorf("attrib: internal batch %d: must be positive", ib)
	}
	res := Result{Targets: classes}
	switch {
	case o.Method == Saliency || o.Method == SaliencySigned || o.Method == InputXGradient:
		res.Maps, err = m.basic(s, o.Method, x, t, ib, o.CreateGraph)
	case o.Method == IG:
		res.Maps, res.Delta, err = m.ig(s, x, t, o.IG, o.CreateGraph, true)
	case o.Method.isNoiseTunnel():
		res.Maps, err = m.noiseTunnel(s, x, t, o, ib)
	case o.Method == GradCAM:
		res.Maps, err = m.gradCAM(s, x, t, o.Layer, o.ReLU, o.Upsample, ib, o.CreateGraph)
	case o.Method == GradientSHAP:
		res.Maps, err = m.gradientSHAP(s, x, t, o, ib)
	default:
		_, err = ParseMethod(string(o.Method))
	}
	if err != nil {
		return Result{}, err
	}
	return res, nil
}

// basic computes saliency (absolute or signed) or input × gradient, ib rows at a
// time.
func (m Model) basic(s *torch.Scope, method Method, x, t *torch.Tensor, ib int, create bool) (*torch.Tensor, error) {
	g, err := m.gradChunked(s, x, t, ib, create)
	if err != nil {
		return nil, fmt.Errorf("attrib: %s: %w", method, err)
	}
	var out *torch.Tensor
	switch method {
	case Saliency:
		out = g.Abs()
	case SaliencySigned:
		out = g
	case InputXGradient:
		out = x.In(s).Detach().Mul(g)
	default:
		return nil, fmt.Errorf("attrib: %s is not a plain gradient method", method)
	}
	return out, out.Err()
}

// gradChunked is inputGrad over x in pieces of at most ib rows.
func (m Model) gradChunked(s *torch.Scope, x, t *torch.Tensor, ib int, create bool) (*torch.Tensor, error) {
	n := x.Size(0)
	if n <= int64(ib) {
		return m.inputGrad(s, x, t, create)
	}
	var parts []*torch.Tensor
	for i := int64(0); i < n; i += int64(ib) {
		k := min(int64(ib), n-i)
		g, err := m.inputGrad(s, x.In(s).Narrow(0, i, k), t.In(s).Narrow(0, i, k), create)
		if err != nil {
			return nil, err
		}
		parts = append(parts, g)
	}
	out := torch.Cat(parts, 0)
	return out, out.Err()
}

// noiseTunnel repeats each input NTSamples times (example-major), adds the noise,
// computes the inner method and reduces over the copies.
func (m Model) noiseTunnel(s *torch.Scope, x, t *torch.Tensor, o Options, ib int) (*torch.Tensor, error) {
	inner := o.Inner
	if inner == "" {
		inner = Saliency
	}
	switch inner {
	case Saliency, SaliencySigned, InputXGradient, IG:
	default:
		return nil, fmt.Errorf("attrib: %s: inner method %q (want saliency, saliency_signed, input_x_gradient or ig)", o.Method, inner)
	}
	ns := o.NTSamples
	if ns == 0 {
		ns = 16
	}
	if ns < 1 {
		return nil, fmt.Errorf("attrib: %s: %d noise samples", o.Method, ns)
	}
	stdev := o.Stdev
	if stdev == 0 {
		stdev = 0.15
	}
	if stdev < 0 {
		return nil, fmt.Errorf("attrib: %s: negative stdev %g", o.Method, stdev)
	}
	ws := torch.NewScope()
	defer ws.Close()
	sh := x.Shape()
	n, S := sh[0], int64(ns)
	full := []int64{n, S, sh[1], sh[2], sh[3]}
	var noise *torch.Tensor
	if o.Noise != nil {
		if ok := equalShape(o.Noise.Shape(), full); !ok {
			return nil, fmt.Errorf("attrib: %s: noise shape %v, want %v", o.Method, o.Noise.Shape(), full)
		}
		noise = o.Noise.In(ws).ToOpts(false, x.DType(), x.Device())
	} else {
		torch.ManualSeed(o.Seed)
		noise = torch.Randn(ws, full, x.DType(), x.Device()).MulScalar(stdev)
	}
	xe := x.In(ws).Detach().Unsqueeze(1).Add(noise).Reshape([]int64{n * S, sh[1], sh[2], sh[3]})
	te := t.In(ws).Unsqueeze(1).Expand([]int64{n, S}).Reshape([]int64{-1})
	var a *torch.Tensor
	var err error
	if inner == IG {
		igo := o.IG
		if igo.InternalBatch == 0 {
			igo.InternalBatch = ib
		}
		a, _, err = m.ig(ws, xe, te, igo, o.CreateGraph, false)
	} else {
		a, err = m.basic(ws, inner, xe, te, ib, o.CreateGraph)
	}
	if err != nil {
		return nil, err
	}
	a = a.View(full)
	var out *torch.Tensor
	switch o.Method {
	case SmoothGrad:
		out = a.MeanDims([]int64{1}, false)
	case SmoothGradSq:
		out = a.Square().MeanDims([]int64{1}, false)
	case VarGrad:
		mean := a.MeanDims([]int64{1}, false)
		out = a.Square().MeanDims([]int64{1}, false).Sub(mean.Square())
	}
	if err := out.Err(); err != nil {
		return nil, fmt.Errorf("attrib: %s: %w", o.Method, err)
	}
	return out.MoveTo(s), nil
}

func equalShape(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// gradCAM computes Σ_c mean_hw(∂f_t/∂A_c)·A_c for the output A of layer, ib
// inputs at a time.
func (m Model) gradCAM(s *torch.Scope, x, t *torch.Tensor, layer string, relu bool, upsample string, ib int, create bool) (*torch.Tensor, error) {
	switch upsample {
	case "", "none", "nearest", "bilinear":
	default:
		return nil, fmt.Errorf("attrib: grad-cam: unknown upsampling %q (want nearest or bilinear)", upsample)
	}
	n := x.Size(0)
	var parts []*torch.Tensor
	for i := int64(0); i < n; i += int64(ib) {
		k := min(int64(ib), n-i)
		c, err := m.gradCAMBatch(s, x.In(s).Narrow(0, i, k), t.In(s).Narrow(0, i, k), layer, create)
		if err != nil {
			return nil, fmt.Errorf("attrib: grad-cam on %s: %w", layer, err)
		}
		parts = append(parts, c)
	}
	cam := parts[0]
	if len(parts) > 1 {
		cam = torch.Cat(parts, 0)
	}
	if relu {
		cam = torch.Relu(cam)
	}
	size := []int64{x.Size(2), x.Size(3)}
	switch upsample {
	case "nearest":
		cam = torch.InterpolateNearest(cam, size)
	case "bilinear":
		cam = torch.InterpolateBilinear(cam, size, false)
	}
	return cam, cam.Err()
}

func (m Model) gradCAMBatch(s *torch.Scope, x, t *torch.Tensor, layer string, create bool) (*torch.Tensor, error) {
	ws := torch.NewScope()
	defer ws.Close()
	got, done, err := m.Hooks.Capture(layer)
	if err != nil {
		return nil, err
	}
	leaf := x.In(ws).Detach().SetRequiresGrad(true)
	sel := m.logits(leaf).Gather(1, t.In(ws).View([]int64{-1, 1})).Sum()
	done()
	if err := sel.Err(); err != nil {
		return nil, err
	}
	a := got[layer]
	if a == nil {
		return nil, fmt.Errorf("the layer produced no output in the forward pass")
	}
	if a.Dim() != 4 {
		return nil, fmt.Errorf("layer output shape %v; Grad-CAM needs a (N, C, H, W) feature map", a.Shape())
	}
	g, err := torch.Grad([]*torch.Tensor{sel}, []*torch.Tensor{a}, nil, create, create)
	if err != nil {
		return nil, err
	}
	if g[0] == nil {
		return nil, fmt.Errorf("the target logits do not depend on the layer's output")
	}
	a = a.In(ws)
	gr := g[0].In(ws)
	if !create {
		a, gr = a.Detach(), gr.Detach()
	}
	cam := gr.MeanDims([]int64{2, 3}, true).Mul(a).SumDims([]int64{1}, true)
	if err := cam.Err(); err != nil {
		return nil, err
	}
	return cam.MoveTo(s), nil
}

// shapDraws returns, for n inputs and S samples each (example-major), the index of
// the drawn baseline among nb and the path coefficient α ∈ [0, 1).
func shapDraws(seed uint64, n, S, nb int64) (idx []int64, alpha []float64) {
	r := rand.New(rand.NewPCG(seed, 0x5eed5a4b))
	idx, alpha = make([]int64, n*S), make([]float64, n*S)
	for i := range idx {
		idx[i] = r.Int64N(nb)
		alpha[i] = r.Float64()
	}
	return idx, alpha
}

// gradientSHAP computes Captum's GradientShap with draws from shapDraws.
func (m Model) gradientSHAP(s *torch.Scope, x, t *torch.Tensor, o Options, ib int) (*torch.Tensor, error) {
	S := int64(o.SHAP.Samples)
	if S == 0 {
		S = 5
	}
	if S < 1 || o.SHAP.Stdev < 0 {
		return nil, fmt.Errorf("attrib: gradient_shap: %d samples, stdev %g", S, o.SHAP.Stdev)
	}
	ws := torch.NewScope()
	defer ws.Close()
	sh := x.Shape()
	n := sh[0]
	var dist *torch.Tensor
	switch {
	case o.SHAP.Baselines != nil:
		dist = o.SHAP.Baselines.In(ws)
	case o.IG.Baseline.Kind == BaselineTensor && o.IG.Baseline.Tensor != nil:
		dist = o.IG.Baseline.Tensor.In(ws)
		if dist.Dim() == 3 {
			dist = dist.Unsqueeze(0)
		}
	default:
		b, err := o.IG.Baseline.build(ws, x)
		if err != nil {
			return nil, fmt.Errorf("attrib: gradient_shap: %w", err)
		}
		dist = b
	}
	ds := dist.Shape()
	if len(ds) != 4 || ds[0] < 1 || ds[1] != sh[1] || ds[2] != sh[2] || ds[3] != sh[3] {
		return nil, fmt.Errorf("attrib: gradient_shap: baselines shape %v, want (B, %d, %d, %d)", ds, sh[1], sh[2], sh[3])
	}
	if dist.DType() != x.DType() {
		return nil, fmt.Errorf("attrib: gradient_shap: baselines dtype %v, inputs %v", dist.DType(), x.DType())
	}
	dist = dist.To(x.Device()).Detach()
	idx, alpha := shapDraws(o.SHAP.Seed, n, S, ds[0])
	rows := n * S
	img := []int64{sh[1], sh[2], sh[3]}
	xe := x.In(ws).Detach().Unsqueeze(1).Expand([]int64{n, S, sh[1], sh[2], sh[3]}).Reshape(append([]int64{rows}, img...))
	if o.SHAP.Stdev > 0 {
		torch.ManualSeed(o.SHAP.Seed)
		xe = xe.Add(torch.Randn(ws, append([]int64{rows}, img...), x.DType(), x.Device()).MulScalar(o.SHAP.Stdev))
	}
	be := dist.IndexSelect(0, torch.FromSlice(ws, idx, []int64{rows}, x.Device()))
	al := torch.FromSlice(ws, alpha, []int64{rows, 1, 1, 1}).ToOpts(false, x.DType(), x.Device())
	diff := xe.Sub(be)
	pts := be.Add(al.Mul(diff))
	te := t.In(ws).Unsqueeze(1).Expand([]int64{n, S}).Reshape([]int64{-1})
	g, err := m.gradChunked(ws, pts, te, ib, o.CreateGraph)
	if err != nil {
		return nil, fmt.Errorf("attrib: gradient_shap: %w", err)
	}
	out := g.Mul(diff).View([]int64{n, S, sh[1], sh[2], sh[3]}).MeanDims([]int64{1}, false)
	if err := out.Err(); err != nil {
		return nil, fmt.Errorf("attrib: gradient_shap: %w", err)
	}
	return out.MoveTo(s), nil
}
