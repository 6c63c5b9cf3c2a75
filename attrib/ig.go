package attrib

import (
	"fmt"
	"math"
	"strings"

	"github.com/divres/divres/torch"
)

// Quadrature is the rule that integrated gradients uses along the path.
type Quadrature string

// Quadratures, named as in Captum.
const (
	GaussLegendre    Quadrature = "gausslegendre"
	RiemannLeft      Quadrature = "riemann_left"
	RiemannRight     Quadrature = "riemann_right"
	RiemannMiddle    Quadrature = "riemann_middle"
	RiemannTrapezoid Quadrature = "riemann_trapezoid"
)

// ParseQuadrature parses a quadrature name ("" is GaussLegendre).
func ParseQuadrature(s string) (Quadrature, error) {
	switch q := Quadrature(strings.ToLower(s)); q {
	case "":
		return GaussLegendre, nil
	case GaussLegendre, RiemannLeft, RiemannRight, RiemannMiddle, RiemannTrapezoid:
		return q, nil
	}
	return "", fmt.Errorf("unknown integration method %q (want gausslegendre, riemann_trapezoid, riemann_left, riemann_right or riemann_middle)", s)
}

// Nodes returns the n points α_k in [0, 1] and weights w_k of the rule, as Captum
// defines them: IG ≈ (x − b) · Σ_k w_k ∇f(b + α_k (x − b)). The Riemann rules have
// weights 1/n (the trapezoid rule halves the first and last, so its weights sum to
// (n−1)/n); Gauss–Legendre maps the n-point rule from [−1, 1] to [0, 1].
func (q Quadrature) Nodes(n int) (alphas, weights []float64, err error) {
	if n < 1 {
		return nil, nil, fmt.Errorf("integration with %d steps: need at least 1", n)
	}
	if q == RiemannTrapezoid && n < 2 {
		return nil, nil, fmt.Errorf("riemann_trapezoid needs at least 2 steps, got %d", n)
	}
	alphas, weights = make([]float64, n), make([]float64, n)
	fn := float64(n)
	switch q {
	case GaussLegendre, "":
		x, w := gaussLegendre(n)
		for k := range x {
			alphas[k], weights[k] = (1+x[k])/2, w[k]/2
		}
		return alphas, weights, nil
	case RiemannLeft, RiemannRight, RiemannMiddle:
		// Captum: torch.linspace (float32) over [0, 1−1/n], [1/n, 1], [1/(2n), 1−1/(2n)].
		lo, hi := 0.0, 1-1/fn
		if q == RiemannRight {
			lo, hi = 1/fn, 1
		} else if q == RiemannMiddle {
			lo, hi = 1/(2*fn), 1-1/(2*fn)
		}
		for k := range alphas {
			alphas[k], weights[k] = linspace32(lo, hi, n, k), 1/fn
		}
		return alphas, weights, nil
	case RiemannTrapezoid:
		for k := range alphas {
			alphas[k], weights[k] = linspace32(0, 1, n, k), 1/fn
		}
		weights[0] /= 2
		weights[n-1] /= 2
		return alphas, weights, nil
	}
	return nil, nil, fmt.Errorf("unknown integration method %q", string(q))
}

// linspace32 is the k-th of n points from lo to hi inclusive as torch.linspace
// computes them in float32 on the CPU (start + k·step, the last point exactly
// hi), which is what Captum's Riemann rules use.
func linspace32(lo, hi float64, n, k int) float64 {
	a, b := float32(lo), float32(hi)
	if n == 1 {
		return float64(a)
	}
	if k == n-1 {
		return float64(b)
	}
	step := float32((b - a) / float32(n-1))
	off := float32(step * float32(k))
	return float64(float32(a + off))
}

// gaussLegendre returns the n-point Gauss–Legendre nodes on [−1, 1] in ascending
// order and their weights (Newton's method on the Legendre polynomial).
func gaussLegendre(n int) (x, w []float64) {
	x, w = make([]float64, n), make([]float64, n)
	for i := 0; i < (n+1)/2; i++ {
		z := math.Cos(math.Pi * (float64(i) + 0.75) / (float64(n) + 0.5))
		for it := 0; it < 100; it++ {
			p, dp := legendre(n, z)
			dz := p / dp
			z -= dz
			if math.Abs(dz) < 1e-15 {
				break
			}
		}
		_, dp := legendre(n, z)
		wt := 2 / ((1 - z*z) * dp * dp)
		// z descends from near 1: place it and its mirror image.
		x[n-1-i], w[n-1-i] = z, wt
		x[i], w[i] = -z, wt
	}
	if n%2 == 1 {
		x[n/2] = 0
	}
	return x, w
}

// legendre returns P_n(z) and P_n'(z) (|z| < 1).
func legendre(n int, z float64) (p, dp float64) {
	p0, p1 := 1.0, z
	for j := 2; j <= n; j++ {
		p0, p1 = p1, ((2*float64(j)-1)*z*p1-(float64(j)-1)*p0)/float64(j)
	}
	return p1, float64(n) * (z*p1 - p0) / (z*z - 1)
}

// BaselineKind selects the reference input of IG.
type BaselineKind string

// Baseline kinds.
const (
	BaselineZeros    BaselineKind = "zeros"
	BaselineConstant BaselineKind = "constant"
	BaselineBlur     BaselineKind = "blur"
	BaselineUniform  BaselineKind = "uniform"
	BaselineTensor   BaselineKind = "tensor"
)

// Baseline is the reference input b of integrated gradients.
type Baseline struct {
	Kind BaselineKind
	// Value is the constant of BaselineConstant.
	Value float64
	// Sigma is the standard deviation in pixels of BaselineBlur's Gaussian
	// (0: a quarter of the smaller image side, at least 1); the image is padded by
	// reflection.
	Sigma float64
	// Lo and Hi bound BaselineUniform's noise (both 0: [0, 1)); Seed seeds it.
	Lo, Hi float64
	Seed   uint64
	// Tensor is BaselineTensor's reference: shaped like the input, or one image
	// (1, C, H, W) or (C, H, W) used for every input.
	Tensor *torch.Tensor
}

// build returns the baseline of the inputs x (N, C, H, W), in s.
func (b Baseline) build(s *torch.Scope, x *torch.Tensor) (*torch.Tensor, error) {
	var out *torch.Tensor
	x = x.In(s)
	switch b.Kind {
	case BaselineZeros, "":
		out = x.ZerosLike().Detach()
	case BaselineConstant:
		out = x.FullLike(b.Value).Detach()
	case BaselineBlur:
		out = gaussianBlur(x.Detach(), b.Sigma)
	case BaselineUniform:
		lo, hi := b.Lo, b.Hi
		if lo == 0 && hi == 0 {
			hi = 1
		}
		if !(hi > lo) {
			return nil, fmt.Errorf("uniform baseline: empty range [%g, %g)", lo, hi)
		}
		torch.ManualSeed(b.Seed)
		out = x.Detach().RandLike().MulScalar(hi - lo).AddScalar(lo)
	case BaselineTensor:
		if b.Tensor == nil {
			return nil, fmt.Errorf("baseline tensor missing")
		}
		t := b.Tensor.In(s)
		sh, xs := t.Shape(), x.Shape()
		if len(sh) == 3 {
			t = t.Unsqueeze(0)
			sh = t.Shape()
		}
		if len(sh) != 4 || (sh[0] != 1 && sh[0] != xs[0]) || sh[1] != xs[1] || sh[2] != xs[2] || sh[3] != xs[3] {
			return nil, fmt.Errorf("baseline shape %v does not fit inputs %v (want (N, C, H, W), (1, C, H, W) or (C, H, W))", b.Tensor.Shape(), xs)
		}
		if t.DType() != x.DType() {
			return nil, fmt.Errorf("baseline dtype %v, inputs %v", t.DType(), x.DType())
		}
		out = t.To(x.Device()).Detach().Expand(xs).Contiguous()
	default:
		return nil, fmt.Errorf("unknown baseline %q (want zeros, constant, blur, uniform or a tensor)", string(b.Kind))
	}
	if err := out.Err(); err != nil {
		return nil, fmt.Errorf("baseline %s: %w", b.Kind, err)
	}
	return out, nil
}

// gaussianBlur blurs each channel of x with a separable Gaussian of standard
// deviation sigma pixels (0: default), reflecting at the borders.
func gaussianBlur(x *torch.Tensor, sigma float64) *torch.Tensor {
	h, w := x.Size(2), x.Size(3)
	if sigma <= 0 {
		sigma = math.Max(1, float64(min(h, w))/4)
	}
	r := int64(math.Ceil(3 * sigma))
	r = min(r, h-1, w-1)
	if r < 1 {
		return x.Clone()
	}
	k := make([]float64, 2*r+1)
	sum := 0.0
	for i := range k {
		d := float64(int64(i) - r)
		k[i] = math.Exp(-d * d / (2 * sigma * sigma))
		sum += k[i]
	}
	for i := range k {
		k[i] /= sum
	}
	c := x.Size(1)
	kt := torch.FromSlice(x.Scope(), k, []int64{1, 1, 1, 2*r + 1}).ToOpts(false, x.DType(), x.Device())
	kw := kt.Expand([]int64{c, 1, 1, 2*r + 1}).Contiguous()
	kh := kt.View([]int64{1, 1, 2*r + 1, 1}).Expand([]int64{c, 1, 2*r + 1, 1}).Contiguous()
	y := torch.Pad(x, []int64{r, r, r, r}, "reflect", 0)
	y = torch.Conv2d(y, kw, nil, []int64{1, 1}, []int64{0, 0}, []int64{1, 1}, c)
	return torch.Conv2d(y, kh, nil, []int64{1, 1}, []int64{0, 0}, []int64{1, 1}, c)
}

// IGOptions configures integrated gradients.
type IGOptions struct {
	// Steps is the number of path points (default 50, as Captum).
	Steps int
	// Method is the quadrature (default Gauss–Legendre).
	Method Quadrature
	// Baseline is the reference input (default zeros).
	Baseline Baseline
	// InternalBatch bounds the number of path points evaluated in one forward and
	// backward pass (0: DefaultInternalBatch). Points of all inputs are batched
	// together, several steps at a time when the batch of inputs is smaller.
	InternalBatch int
}

// DefaultInternalBatch is the number of path points per pass when IGOptions does
// not say.
const DefaultInternalBatch = 64

// IntegratedGradients returns IG attributions (shaped like x) and the convergence
// delta per input, Σ attr − (f_t(x) − f_t(b)) (N,), in s. With create the maps keep
// their graph (the delta never does).
func IntegratedGradients(s *torch.Scope, m Model, x *torch.Tensor, target Target, o IGOptions, create bool) (attr, delta *torch.Tensor, err error) {
	if err := m.check(x); err != nil {
		return nil, nil, err
	}
	t, _, err := target.resolve(s, m, x)
	if err != nil {
		return nil, nil, err
	}
	return m.ig(s, x, t, o, create, true)
}

// ig computes IG for resolved targets t; wantDelta adds the convergence delta.
func (m Model) ig(s *torch.Scope, x, t *torch.Tensor, o IGOptions, create, wantDelta bool) (attr, delta *torch.Tensor, err error) {
	steps := o.Steps
	if steps == 0 {
		steps = 50
	}
	alphas, weights, err := o.Method.Nodes(steps)
	if err != nil {
		return nil, nil, fmt.Errorf("attrib: %w", err)
	}
	ib := o.InternalBatch
	if ib == 0 {
		ib = DefaultInternalBatch
	}
	if ib < 0 {
		return nil, nil, fmt.Errorf("attrib: internal batch %d: must be positive", ib)
	}
	ws := torch.NewScope()
	defer ws.Close()
	base, err := o.Baseline.build(ws, x)
	if err != nil {
		return nil, nil, fmt.Errorf("attrib: %w", err)
	}
	acc, err := m.pathSum(ws, x, base, t, alphas, weights, ib, create)
	if err != nil {
		return nil, nil, fmt.Errorf("attrib: integrated gradients: %w", err)
	}
	attr = x.In(ws).Sub(base).Mul(acc)
	if err := attr.Err(); err != nil {
		return nil, nil, fmt.Errorf("attrib: integrated gradients: %w", err)
	}
	if wantDelta {
		fx, err := m.targetLogits(ws, x, t)
		if err != nil {
			return nil, nil, fmt.Errorf("attrib: delta: %w", err)
		}
		fb, err := m.targetLogits(ws, base, t)
		if err != nil {
			return nil, nil, fmt.Errorf("attrib: delta: %w", err)
		}
		delta = attr.Detach().SumDims([]int64{1, 2, 3}, false).Sub(fx.Sub(fb))
		if err := delta.Err(); err != nil {
			return nil, nil, fmt.Errorf("attrib: delta: %w", err)
		}
		delta.MoveTo(s)
	}
	return attr.MoveTo(s), delta, nil
}

// pathSum returns Σ_k w_k ∇f_t(b + α_k (x − b)) per input, evaluating at most ib
// path points per pass: groups of min(N, ib) inputs, and within a group
// max(1, ib / group) steps at a time.
func (m Model) pathSum(s *torch.Scope, x, base, t *torch.Tensor, alphas, weights []float64, ib int, create bool) (*torch.Tensor, error) {
	n := x.Size(0)
	g := min(n, int64(ib))
	spc := max(1, int64(ib)/g)
	steps := int64(len(alphas))
	dt, dev := x.DType(), x.Device()
	// Nodes and weights go to the device once; each pass takes a slice of them.
	allA := torch.FromSlice(s, alphas, []int64{steps, 1, 1, 1, 1}).ToOpts(false, dt, dev)
	allW := torch.FromSlice(s, weights, []int64{steps, 1, 1, 1, 1}).ToOpts(false, dt, dev)
	var parts []*torch.Tensor
	// The caching CPU allocator reuses blocks of the same size only: when the
	// rows per pass change (the last, shorter chunk), its idle blocks of the
	// previous size would stay resident beside the new ones, so they are returned
	// first, and again at the end when the call ends on another size than it began.
	first, prev := int64(-1), int64(-1)
	defer func() {
		if prev != first && !dev.IsCUDA() {
			torch.EmptyCPUCache()
		}
	}()
	for i0 := int64(0); i0 < n; i0 += g {
		gi := min(g, n-i0)
		xs, bs := x.In(s).Narrow(0, i0, gi), base.Narrow(0, i0, gi)
		diff := xs.Sub(bs)
		ts := t.In(s).Narrow(0, i0, gi)
		var acc *torch.Tensor
		for k0 := int64(0); k0 < steps; k0 += spc {
			k1 := min(steps, k0+spc)
			nk := k1 - k0
			if rows := nk * gi; rows != prev {
				if prev >= 0 && !dev.IsCUDA() {
					torch.EmptyCPUCache()
				}
				if first < 0 {
					first = rows
				}
				prev = rows
			}
			cs := torch.NewScope()
			a := allA.In(cs).Narrow(0, k0, nk)
			w := allW.In(cs).Narrow(0, k0, nk)
			pts := bs.In(cs).Unsqueeze(0).Add(a.Mul(diff.In(cs).Unsqueeze(0)))
			sh := pts.Shape()
			flat := pts.Reshape(append([]int64{nk * gi}, sh[2:]...))
			tt := ts.In(cs).Unsqueeze(0).Expand([]int64{nk, gi}).Reshape([]int64{-1})
			gr, err := m.inputGrad(cs, flat, tt, create)
			if err != nil {
				cs.Close()
				return nil, err
			}
			part := gr.View(sh).Mul(w).SumDims([]int64{0}, false)
			if acc == nil {
				acc = part.MoveTo(s)
			} else {
				acc = acc.Add(part)
			}
			if err := cs.Err(); err != nil {
				cs.Close()
				return nil, err
			}
			cs.Close()
		}
		parts = append(parts, acc)
	}
	if len(parts) == 1 {
		return parts[0], nil
	}
	out := torch.Cat(parts, 0)
	return out, out.Err()
}
