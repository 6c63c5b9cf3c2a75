package attrib

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/divres/divres/torch"
)

// igBySums computes IG as (x − b)·Σ_k w_k ∇f_t(b + α_k (x − b)) with one plain
// gradient call per input and step.
func igBySums(t *testing.T, s *torch.Scope, m Model, x, base *torch.Tensor, targets []int64, q Quadrature, steps int) []float64 {
	t.Helper()
	alphas, weights, err := q.Nodes(steps)
	if err != nil {
		t.Fatal(err)
	}
	n := x.Size(0)
	var out []float64
	for i := int64(0); i < n; i++ {
		xi, bi := x.Narrow(0, i, 1), base.Narrow(0, i, 1)
		ti := torch.FromSlice(s, []int64{targets[i]}, []int64{1})
		acc := xi.ZerosLike()
		for k := range alphas {
			g, err := m.inputGrad(s, bi.Add(xi.Sub(bi).MulScalar(alphas[k])), ti, false)
			if err != nil {
				t.Fatal(err)
			}
			acc = acc.Add(g.MulScalar(weights[k]))
		}
		out = append(out, values(t, xi.Sub(bi).Mul(acc))...)
	}
	return out
}

// TestIGBaselinesByFiniteSums checks the baselines and quadratures that Captum's
// vectors do not cover against sums of plain gradients in float64.
func TestIGBaselinesByFiniteSums(t *testing.T) {
	m := newAttrCNN(t, torch.Float64, weightsPath)
	s := torch.NewScope()
	defer s.Close()
	x := refTensor(t, s, "inputs", torch.Float64).Narrow(0, 0, 3)
	targets := []int64{0, 4, 9}
	torch.ManualSeed(5)
	given := torch.Rand(s, []int64{1, 1, 28, 28}, torch.Float64).MulScalar(0.2)
	cases := []struct {
		name string
		b    Baseline
		q    Quadrature
	}{
		{"constant", Baseline{Kind: BaselineConstant, Value: 0.3}, RiemannLeft},
		{"blur", Baseline{Kind: BaselineBlur, Sigma: 2}, RiemannRight},
		{"uniform", Baseline{Kind: BaselineUniform, Lo: -0.1, Hi: 0.1, Seed: 9}, RiemannMiddle},
		{"tensor", Baseline{Kind: BaselineTensor, Tensor: given}, GaussLegendre},
	}
	for _, c := range cases {
		o := IGOptions{Steps: 6, Method: c.q, Baseline: c.b, InternalBatch: 4}
		attr, delta, err := IntegratedGradients(s, m, x, Labels(targets), o, false)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		base, err := c.b.build(s, x)
		if err != nil {
			t.Fatal(err)
		}
		want := igBySums(t, s, m, x, base, targets, c.q, 6)
		if d := maxAbsDiff(t, values(t, attr), want); d > 1e-12 {
			t.Errorf("%s baseline, %s: differs from the finite sum by %g", c.name, c.q, d)
		}
		// The delta is Σ attr − (f(x) − f(b)), from separate forward passes.
		fx := values(t, m.logits(x))
		fb := values(t, m.logits(base))
		av := values(t, attr)
		dv := values(t, delta)
		for i := range targets {
			sum := 0.0
			for _, v := range av[i*784 : (i+1)*784] {
				sum += v
			}
			want := sum - (fx[i*10+int(targets[i])] - fb[i*10+int(targets[i])])
			if math.Abs(dv[i]-want) > 1e-12 {
				t.Errorf("%s: delta %d = %g, want %g", c.name, i, dv[i], want)
			}
		}
	}
	// The blurred image of a constant image is that constant.
	blur := gaussianBlur(x.FullLike(0.7), 2)
	if d := maxAbs(values(t, blur.SubScalar(0.7))); d > 1e-12 {
		t.Errorf("blur of a constant image changes it by %g", d)
	}
}

// TestIGCompleteness: the convergence delta shrinks as the number of steps grows,
// and the attributions sum to f(x) − f(b) within it.
func TestIGCompleteness(t *testing.T) {
	m := newAttrCNN(t, torch.Float64, weightsPath)
	s := torch.NewScope()
	defer s.Close()
	x := refTensor(t, s, "inputs", torch.Float64).Narrow(0, 0, 4)
	classes := refTargets(t)[:4]
	tg := Labels(classes)
	fx := values(t, m.logits(x))
	f0 := values(t, m.logits(x.ZerosLike()))
	prev := math.Inf(1)
	for _, steps := range []int{4, 16, 64, 128} {
		attr, delta, err := IntegratedGradients(s, m, x, tg, IGOptions{Steps: steps, InternalBatch: 128}, false)
		if err != nil {
			t.Fatal(err)
		}
		dv := values(t, delta)
		mean := 0.0
		av := values(t, attr)
		for i, c := range classes {
			mean += math.Abs(dv[i]) / 4
			sum := 0.0
			for _, v := range av[i*784 : (i+1)*784] {
				sum += v
			}
			gap := fx[i*10+int(c)] - f0[i*10+int(c)]
			if math.Abs(sum-gap) > math.Abs(dv[i])+1e-12 {
				t.Errorf("%d steps, sample %d: |Σ attr − Δf| = %g exceeds |delta| %g", steps, i, math.Abs(sum-gap), math.Abs(dv[i]))
			}
		}
		t.Logf("%3d steps: mean |delta| %.3g", steps, mean)
		if mean >= prev {
			t.Errorf("%d steps: mean |delta| %g did not shrink (was %g)", steps, mean, prev)
		}
		prev = mean
	}
	if prev > 5e-5 {
		t.Errorf("mean |delta| at 128 steps is %g", prev)
	}
}

// TestNoiseTunnelBySums checks SmoothGrad², VarGrad and IG under the noise tunnel
// against loops over the noisy copies, and that the seed decides the noise.
func TestNoiseTunnelBySums(t *testing.T) {
	m := newAttrCNN(t, torch.Float64, weightsPath)
	s := torch.NewScope()
	defer s.Close()
	x := refTensor(t, s, "inputs", torch.Float64).Narrow(0, 2, 2)
	targets := []int64{2, 3}
	const S = 3
	torch.ManualSeed(21)
	noise := torch.Randn(s, []int64{2, S, 1, 28, 28}, torch.Float64).MulScalar(0.1)
	for _, c := range []struct {
		method, inner Method
	}{{SmoothGradSq, Saliency}, {VarGrad, InputXGradient}, {SmoothGrad, IG}} {
		o := Options{Method: c.method, Inner: c.inner, NTSamples: S, Noise: noise, IG: IGOptions{Steps: 4, InternalBatch: 5}}
		r, err := Attribute(s, m, x, Labels(targets), o)
		if err != nil {
			t.Fatal(err)
		}
		var want []float64
		for i := int64(0); i < 2; i++ {
			sum, sq := make([]float64, 784), make([]float64, 784)
			for k := int64(0); k < S; k++ {
				xn := x.Narrow(0, i, 1).Add(noise.Select(0, i).Narrow(0, k, 1))
				single, err := Attribute(s, m, xn, Labels(targets[i:i+1]), Options{Method: c.inner, IG: o.IG})
				if err != nil {
					t.Fatal(err)
				}
				for j, v := range values(t, single.Maps) {
					sum[j] += v / S
					sq[j] += v * v / S
				}
			}
			for j := range sum {
				switch c.method {
				case SmoothGrad:
					want = append(want, sum[j])
				case SmoothGradSq:
					want = append(want, sq[j])
				case VarGrad:
					want = append(want, sq[j]-sum[j]*sum[j])
				}
			}
		}
		if d := maxAbsDiff(t, values(t, r.Maps), want); d > 1e-12 {
			t.Errorf("%s over %s differs from the loop by %g", c.method, c.inner, d)
		}
	}
	seeded := func(seed uint64) []float64 {
		r, err := Attribute(s, m, x, Labels(targets), Options{Method: SmoothGrad, NTSamples: 4, Stdev: 0.2, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		return values(t, r.Maps)
	}
	a, b, c := seeded(1), seeded(1), seeded(2)
	if maxAbsDiff(t, a, b) != 0 {
		t.Error("the same seed gave different SmoothGrad maps")
	}
	if maxAbsDiff(t, a, c) == 0 {
		t.Error("different seeds gave the same SmoothGrad maps")
	}
}

// TestGradientSHAPBySums reproduces GradientSHAP's draws and sums plain gradients.
func TestGradientSHAPBySums(t *testing.T) {
	m := newAttrCNN(t, torch.Float64, weightsPath)
	s := torch.NewScope()
	defer s.Close()
	x := refTensor(t, s, "inputs", torch.Float64).Narrow(0, 0, 2)
	targets := []int64{1, 7}
	torch.ManualSeed(8)
	dist := torch.Rand(s, []int64{4, 1, 28, 28}, torch.Float64).MulScalar(0.5)
	const S, stdev, seed = 3, 0.05, 77
	r, err := Attribute(s, m, x, Labels(targets), Options{Method: GradientSHAP, IG: IGOptions{InternalBatch: 4},
		SHAP: SHAPOptions{Baselines: dist, Samples: S, Stdev: stdev, Seed: seed}})
	if err != nil {
		t.Fatal(err)
	}
	idx, alpha := shapDraws(seed, 2, S, 4)
	torch.ManualSeed(seed)
	noise := torch.Randn(s, []int64{2 * S, 1, 28, 28}, torch.Float64).MulScalar(stdev)
	var want []float64
	for i := int64(0); i < 2; i++ {
		acc := make([]float64, 784)
		for k := int64(0); k < S; k++ {
			row := i*S + k
			xn := x.Narrow(0, i, 1).Add(noise.Narrow(0, row, 1))
			b := dist.Narrow(0, idx[row], 1)
			g, err := m.inputGrad(s, b.Add(xn.Sub(b).MulScalar(alpha[row])), torch.FromSlice(s, []int64{targets[i]}, []int64{1}), false)
			if err != nil {
				t.Fatal(err)
			}
			for j, v := range values(t, g.Mul(xn.Sub(b))) {
				acc[j] += v / S
			}
		}
		want = append(want, acc...)
	}
	if d := maxAbsDiff(t, values(t, r.Maps), want); d > 1e-12 {
		t.Errorf("GradientSHAP differs from the finite sum by %g", d)
	}
	if _, err := Attribute(s, m, x, Labels(targets), Options{Method: GradientSHAP,
		SHAP: SHAPOptions{Baselines: dist.Narrow(2, 0, 27)}}); err == nil || !strings.Contains(err.Error(), "baselines shape") {
		t.Errorf("baselines of the wrong shape: %v", err)
	}
}

// TestBadInput: one clear error for each user mistake.
func TestBadInput(t *testing.T) {
	m := newAttrCNN(t, torch.Float32, weightsPath)
	s := torch.NewScope()
	defer s.Close()
	x := refTensor(t, s, "inputs", torch.Float32).Narrow(0, 0, 2)
	tg := Labels([]int64{0, 1})
	check := func(name, want string, err error) {
		t.Helper()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want one containing %q", name, err, want)
		}
	}
	_, err := Attribute(s, m, x.View([]int64{2, 28, 28}), tg, Options{Method: Saliency})
	check("3-D input", "want 4 dimensions", err)
	_, err = Attribute(s, m, x.ToDType(torch.Float64), tg, Options{Method: Saliency})
	check("float64 input", "dtype float64", err)
	_, err = Attribute(s, m, x.Expand([]int64{2, 3, 28, 28}), tg, Options{Method: Saliency})
	check("3 channels", "3 channels", err)
	_, err = Attribute(s, m, x, Labels([]int64{0, 10}), Options{Method: Saliency})
	check("target 10", "target 10 of sample 1 is out of range [0, 10)", err)
	_, err = Attribute(s, m, x, Labels([]int64{0}), Options{Method: Saliency})
	check("one target", "1 targets for 2 inputs", err)
	_, err = Attribute(s, m, x, tg, Options{Method: GradCAM, Layer: "conv3"})
	check("unknown layer", `unknown layer "conv3"`, err)
	_, err = Attribute(s, m, x, tg, Options{Method: GradCAM, Layer: "fc"})
	check("fc layer", "needs a (N, C, H, W) feature map", err)
	_, err = Attribute(s, m, x, tg, Options{Method: IG, IG: IGOptions{Method: "simpson"}})
	check("quadrature", `unknown integration method "simpson"`, err)
	_, err = Attribute(s, m, x, tg, Options{Method: "lime"})
	check("method", `unknown attribution method "lime"`, err)
	m.Store.SetTraining(true)
	_, err = Attribute(s, m, x, tg, Options{Method: Saliency})
	if !errors.Is(err, ErrTrainMode) {
		t.Errorf("training mode: error %v", err)
	}
	m.Store.SetTraining(false)
	r, err := Attribute(s, m, x, PredictedClass(), Options{Method: Saliency})
	if err != nil {
		t.Fatal(err)
	}
	pred, _ := refArray(t, "predicted")
	for i, c := range r.Targets {
		if float64(c) != pred[i] {
			t.Errorf("predicted target %d = %d, reference %g", i, c, pred[i])
		}
	}
}

// TestNormalized: attributions through a normalising front end are the chain rule
// of the plain ones: ∂f(N(x))/∂x = ∂f/∂z(N(x)) / std.
func TestNormalized(t *testing.T) {
	m := newAttrCNN(t, torch.Float64, weightsPath)
	s := torch.NewScope()
	defer s.Close()
	x := refTensor(t, s, "inputs", torch.Float64).Narrow(0, 0, 2)
	tg := Labels([]int64{3, 5})
	nm, err := Normalized(m, []float32{0.5}, []float32{0.25})
	if err != nil {
		t.Fatal(err)
	}
	a, err := Attribute(s, nm, x, tg, Options{Method: SaliencySigned})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Attribute(s, m, x.SubScalar(0.5).DivScalar(0.25), tg, Options{Method: SaliencySigned})
	if err != nil {
		t.Fatal(err)
	}
	if d := maxAbsDiff(t, values(t, a.Maps), values(t, b.Maps.DivScalar(0.25))); d > 1e-15 {
		t.Errorf("normalised saliency differs from the chain rule by %g", d)
	}
	if _, err := Normalized(m, []float32{0.5, 0.5}, []float32{1, 1}); err == nil {
		t.Error("two constants for one channel: no error")
	}
	if _, err := Normalized(m, []float32{0.5}, []float32{0}); err == nil {
		t.Error("zero standard deviation: no error")
	}
}
