package ensemble

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/divres/divres/diversity"
	"github.com/divres/divres/torch"
)

// TestJointLossReference checks the joint loss against the formula evaluated in
// plain Go, and that λ = 1, γ = 0 is IndependentCE exactly.
func TestJointLossReference(t *testing.T) {
	logits := [][]float64{{0.2, -1, 0.5, 1.5, 0, -0.3}, {-0.4, 0.9, 0.1, 0.3, 0.3, -2}}
	labels := []int64{2, 0}
	err := torch.Do(func(s *torch.Scope) error {
		y := torch.FromSlice(s, labels, []int64{2})
		outs := make([]Output, 2)
		for i, l := range logits {
			outs[i] = Output{Logits: torch.FromSlice(s, l, []int64{2, 3})}
		}
		sm := func(l []float64, n int) []float64 {
			z := 0.0
			p := make([]float64, 3)
			for k := 0; k < 3; k++ {
				p[k] = math.Exp(l[3*n+k])
				z += p[k]
			}
			for k := range p {
				p[k] /= z
			}
			return p
		}
		var ind, ens, d float64
		for n := 0; n < 2; n++ {
			p0, p1 := sm(logits[0], n), sm(logits[1], n)
			ind += -(math.Log(p0[labels[n]]) + math.Log(p1[labels[n]])) / 4
			ens += -math.Log((p0[labels[n]]+p1[labels[n]])/2) / 2
			for k := 0; k < 3; k++ {
				m := (p0[k] + p1[k]) / 2
				d += ((p0[k]-m)*(p0[k]-m) + (p1[k]-m)*(p1[k]-m)) / 4
			}
		}
		for _, c := range []struct{ lambda, gamma float64 }{{1, 0}, {0.5, 0}, {0, 0.3}, {0.25, 0.1}} {
			got, err := NCL{Heuristic: HeuristicPrediction, Lambda: c.lambda, Gamma: c.gamma}.Loss(outs, y).Item()
			if err != nil {
				return err
			}
			want := c.lambda*ind + (1-c.lambda)*ens - c.gamma*d
			if math.Abs(got-want) > 1e-12 {
				t.Errorf("λ=%v γ=%v: loss %v, want %v", c.lambda, c.gamma, got, want)
			}
		}
		a, _ := NCL{Heuristic: HeuristicNone, Lambda: 1}.Loss(outs, y).Item()
		b, _ := IndependentCE{}.Loss(outs, y).Item()
		if a != b {
			t.Errorf("λ=1 γ=0: %v != independent %v", a, b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []NCL{{Heuristic: "prediction", Lambda: -0.1}, {Heuristic: "prediction", Lambda: 1.5}, {Heuristic: "prediction", Lambda: 0.5, Gamma: -1},
		{Heuristic: "prediction", Lambda: math.NaN()}, {Heuristic: "none", Lambda: 0.5, Gamma: 0.1}, {Heuristic: "entropy", Lambda: 1}} {
		if l.Validate() == nil {
			t.Errorf("%+v accepted", l)
		}
	}
	if (NCL{Heuristic: HeuristicPrediction, Lambda: 0.5, Gamma: 0.1}).Validate() != nil {
		t.Error("valid loss rejected")
	}
}

// TestJointLossGradFD compares autograd's gradient of the joint loss with respect
// to the members' logits with central finite differences in float64.
func TestJointLossGradFD(t *testing.T) {
	base := [][]float64{{0.2, -1, 0.5, 1.5, 0, -0.3}, {-0.4, 0.9, 0.1, 0.3, 0.3, -2}}
	labels := []int64{2, 0}
	for _, l := range []Loss{NCL{Heuristic: HeuristicPrediction, Lambda: 0.3, Gamma: 0.7}, NCL{Heuristic: HeuristicGNCL, Lambda: 1, Gamma: 0.9},
		NCL{Heuristic: HeuristicGNCL, Lambda: 0.4, Gamma: 0.9}, NCL{Heuristic: HeuristicClassic, Lambda: 0.6, Gamma: 0.5}, NCL{Heuristic: HeuristicNone, Lambda: 0.2}} {
		testLossGradFD(t, l, base, labels)
	}
}

func testLossGradFD(t *testing.T, l Loss, base [][]float64, labels []int64) {
	eval := func(s *torch.Scope, vals [][]float64, grad bool) ([]*torch.Tensor, *torch.Tensor) {
		y := torch.FromSlice(s, labels, []int64{2})
		outs := make([]Output, 2)
		ins := make([]*torch.Tensor, 2)
		for i, v := range vals {
			ins[i] = torch.FromSlice(s, v, []int64{2, 3}).SetRequiresGrad(grad)
			outs[i] = Output{Logits: ins[i]}
		}
		return ins, l.Loss(outs, y)
	}
	err := torch.Do(func(s *torch.Scope) error {
		ins, loss := eval(s, base, true)
		g, err := torch.Grad([]*torch.Tensor{loss}, ins, nil, false, false)
		if err != nil {
			return err
		}
		const h = 1e-6
		for i := range base {
			gi, err := g[i].Float64s()
			if err != nil {
				return err
			}
			for j := range base[i] {
				at := func(d float64) float64 {
					v := [][]float64{append([]float64(nil), base[0]...), append([]float64(nil), base[1]...)}
					v[i][j] += d
					_, lo := eval(s, v, false)
					x, _ := lo.Item()
					return x
				}
				fd := (at(h) - at(-h)) / (2 * h)
				if math.Abs(fd-gi[j]) > 1e-7 {
					t.Errorf("%T d/dlogit[%d][%d]: autograd %v, finite difference %v", l, i, j, gi[j], fd)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestGNCLReference checks GNCL's value against the quadratic form with the full
// Hessian matrix diag(p) − ppᵀ built in plain Go.
func TestGNCLReference(t *testing.T) {
	logits := [][]float64{{0.2, -1, 0.5, 1.5, 0, -0.3}, {-0.4, 0.9, 0.1, 0.3, 0.3, -2}}
	labels := []int64{2, 0}
	err := torch.Do(func(s *torch.Scope) error {
		y := torch.FromSlice(s, labels, []int64{2})
		outs := []Output{{Logits: torch.FromSlice(s, logits[0], []int64{2, 3})}, {Logits: torch.FromSlice(s, logits[1], []int64{2, 3})}}
		ind, _ := IndependentCE{}.Loss(outs, y).Item()
		q := 0.0
		for n := 0; n < 2; n++ {
			fb := make([]float64, 3)
			z := 0.0
			for k := range fb {
				fb[k] = (logits[0][3*n+k] + logits[1][3*n+k]) / 2
				z += math.Exp(fb[k])
			}
			p := make([]float64, 3)
			for k := range p {
				p[k] = math.Exp(fb[k]) / z
			}
			for i := 0; i < 2; i++ {
				for a := 0; a < 3; a++ {
					for b := 0; b < 3; b++ {
						h := -p[a] * p[b]
						if a == b {
							h += p[a]
						}
						q += (logits[i][3*n+a] - fb[a]) * h * (logits[i][3*n+b] - fb[b])
					}
				}
			}
		}
		const g = 0.8
		want := ind - g/(2*2*2)*q
		got, err := NCL{Heuristic: HeuristicGNCL, Lambda: 1, Gamma: g}.Loss(outs, y).Item()
		if err != nil {
			return err
		}
		if math.Abs(got-want) > 1e-12 {
			t.Errorf("GNCL %v, want %v", got, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestActivationDiversity checks the activation term (1 − linear CKA, members of
// different widths) against diversity.LinearCKA, an independent float64
// implementation, and its gradient with respect to the features against finite
// differences.
func TestActivationDiversity(t *testing.T) {
	const n = 4
	dims := []int{3, 3, 2}
	feats := [][]float64{{1, 2, -1, 0.5, 0.3, -0.7, 2, 1, 0.1, -0.2, 0.4, 1.5}, {0.4, -1, 1, 2, 1.1, 0.2, -0.5, 1, 0.3, 0.9, -1.2, 0.6},
		{-1, 0.5, 0.5, 1, 0.9, 0.8, 0.1, -2}}
	build := func(s *torch.Scope, v [][]float64, grad bool) ([]*torch.Tensor, *torch.Tensor) {
		ins := make([]*torch.Tensor, len(v))
		outs := make([]Output, len(v))
		for i := range v {
			ins[i] = torch.FromSlice(s, v[i], []int64{n, int64(dims[i])}).SetRequiresGrad(grad)
			outs[i] = Output{Features: ins[i]}
		}
		return ins, activationDiversity(outs)
	}
	err := torch.Do(func(s *torch.Scope) error {
		cka := 0.0
		for i := 0; i < 3; i++ {
			for j := i + 1; j < 3; j++ {
				cka += diversity.LinearCKA(feats[i], feats[j], n, dims[i], dims[j])
			}
		}
		want := 1 - cka/3
		ins, div := build(s, feats, true)
		got, err := div.Item()
		if err != nil {
			return err
		}
		if math.Abs(got-want) > 1e-6 {
			t.Errorf("activation diversity %v, want %v", got, want)
		}
		g, err := torch.Grad([]*torch.Tensor{div}, ins, nil, false, false)
		if err != nil {
			return err
		}
		const h = 1e-6
		for i := range feats {
			gi, _ := g[i].Float64s()
			for j := range feats[i] {
				at := func(d float64) float64 {
					v := make([][]float64, len(feats))
					for k := range feats {
						v[k] = append([]float64(nil), feats[k]...)
					}
					v[i][j] += d
					_, o := build(s, v, false)
					x, _ := o.Item()
					return x
				}
				if fd := (at(h) - at(-h)) / (2 * h); math.Abs(fd-gi[j]) > 1e-7 {
					t.Errorf("d/dfeat[%d][%d]: autograd %v, finite difference %v", i, j, gi[j], fd)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// tinyMembers are three float64 one-hidden-layer tanh networks of different
// widths on 3 inputs with 3 classes: logits = tanh(x·W1 + b1)·W2, features the
// hidden layer. Smooth, so that second derivatives (attribution) are well defined.
var tinyHidden = []int{4, 3, 5}

const tinyIn, tinyClasses, tinyN = 3, 3, 4

func tinyParams() [][]float64 {
	r := rand.New(rand.NewPCG(7, 8))
	ps := make([][]float64, 3*len(tinyHidden))
	for i, h := range tinyHidden {
		for k, size := range []int{tinyIn * h, h, h * tinyClasses} {
			v := make([]float64, size)
			for j := range v {
				v[j] = r.NormFloat64() * 0.8
			}
			ps[3*i+k] = v
		}
	}
	return ps
}

// tinyForward builds the members' outputs on a fixed batch from flat parameters.
func tinyForward(s *torch.Scope, ps [][]float64, grad bool) (leaves []*torch.Tensor, outs []Output, x, y *torch.Tensor) {
	xs := []float64{0.5, -1, 0.3, 1.2, 0.1, -0.4, -0.7, 0.9, 1.1, 0.2, -0.3, -1.5}
	x = torch.FromSlice(s, xs, []int64{tinyN, tinyIn}).SetRequiresGrad(true)
	y = torch.FromSlice(s, []int64{2, 0, 1, 2}, []int64{tinyN})
	for i, h := range tinyHidden {
		w1 := torch.FromSlice(s, ps[3*i], []int64{tinyIn, int64(h)}).SetRequiresGrad(grad)
		b1 := torch.FromSlice(s, ps[3*i+1], []int64{int64(h)}).SetRequiresGrad(grad)
		w2 := torch.FromSlice(s, ps[3*i+2], []int64{int64(h), tinyClasses}).SetRequiresGrad(grad)
		leaves = append(leaves, w1, b1, w2)
		hid := x.Mm(w1).Add(b1).Tanh()
		outs = append(outs, Output{Logits: hid.Mm(w2), Features: hid})
	}
	return leaves, outs, x, y
}

// TestNCLGradFDTinyMembers compares autograd's gradient with respect to the
// members' weights with central finite differences in float64, for every
// diversity term alone and for the whole loss with every heuristic (the
// attribution term through double backward).
func TestNCLGradFDTinyMembers(t *testing.T) {
	pbar := func(outs []Output) ([]*torch.Tensor, *torch.Tensor) {
		ps := make([]*torch.Tensor, len(outs))
		var sum *torch.Tensor
		for i, o := range outs {
			ps[i] = o.Logits.Softmax(1)
			if sum == nil {
				sum = ps[i]
			} else {
				sum = sum.Add(ps[i])
			}
		}
		return ps, sum.MulScalar(1 / float64(len(ps)))
	}
	fs := map[string]func(outs []Output, x, y *torch.Tensor) *torch.Tensor{
		"D prediction": func(outs []Output, _, _ *torch.Tensor) *torch.Tensor {
			ps, pb := pbar(outs)
			return spreadDiversity(ps, pb)
		},
		"D activation":  func(outs []Output, _, _ *torch.Tensor) *torch.Tensor { return activationDiversity(outs) },
		"D attribution": func(outs []Output, x, y *torch.Tensor) *torch.Tensor { return attributionDiversity(outs, x, y) },
		"D gncl":        func(outs []Output, _, _ *torch.Tensor) *torch.Tensor { return gnclPenalty(outs) },
	}
	for _, h := range Heuristics() {
		if h == HeuristicClassic {
			continue // its gradient holds p̄ constant: TestClassicNCLGradient
		}
		l := NCL{Heuristic: h, Lambda: 0.4, Gamma: 0.7, LabelSmoothing: 0.1}
		if h == HeuristicNone {
			l.Gamma = 0
		}
		fs["L "+h] = l.Value
	}
	base := tinyParams()
	for name, f := range fs {
		err := torch.Do(func(s *torch.Scope) error {
			leaves, outs, x, y := tinyForward(s, base, true)
			v := f(outs, x, y)
			g, err := torch.Grad([]*torch.Tensor{v}, leaves, nil, false, false)
			if err != nil {
				return err
			}
			const h = 1e-6
			worst := 0.0
			for i := range base {
				gi := make([]float64, len(base[i])) // nil: the value does not depend on it
				if g[i] != nil {
					if gi, err = g[i].Float64s(); err != nil {
						return err
					}
				}
				for j := range base[i] {
					at := func(d float64) float64 {
						ps := make([][]float64, len(base))
						for k := range base {
							ps[k] = append([]float64(nil), base[k]...)
						}
						ps[i][j] += d
						_, o, x, y := tinyForward(s, ps, false)
						r, _ := f(o, x, y).Item()
						return r
					}
					fd := (at(h) - at(-h)) / (2 * h)
					if e := math.Abs(fd - gi[j]); e > 1e-7*math.Max(1, math.Abs(fd)) {
						t.Errorf("%s: d/dparam[%d][%d]: autograd %v, finite difference %v", name, i, j, gi[j], fd)
					} else {
						worst = math.Max(worst, e)
					}
				}
			}
			t.Logf("%s: largest |autograd − FD| %.2g", name, worst)
			return s.Err()
		})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
}

// TestClassicNCLGradient checks the classic (Liu & Yao) penalty: its value is the
// plain-Go formula and its gradient with respect to the logits is the finite
// difference of the same formula with p̄ held at its value, as in their
// derivation.
func TestClassicNCLGradient(t *testing.T) {
	const m, n, k = 3, 2, 3
	base := [][]float64{{0.2, -1, 0.5, 1.5, 0, -0.3}, {-0.4, 0.9, 0.1, 0.3, 0.3, -2}, {1, 0.2, -0.6, 0.4, -1.1, 0.8}}
	labels := []int64{2, 0}
	const gamma = 0.9
	softmax := func(l []float64, s int) []float64 {
		p := make([]float64, k)
		z := 0.0
		for c := range p {
			p[c] = math.Exp(l[k*s+c])
			z += p[c]
		}
		for c := range p {
			p[c] /= z
		}
		return p
	}
	pbar0 := make([]float64, n*k)
	for _, l := range base {
		for s := 0; s < n; s++ {
			for c, v := range softmax(l, s) {
				pbar0[k*s+c] += v / m
			}
		}
	}
	// frozen is L with λ = 1 and p̄ fixed at pbar0.
	frozen := func(ls [][]float64) float64 {
		v := 0.0
		for _, l := range ls {
			for s := 0; s < n; s++ {
				p := softmax(l, s)
				v -= math.Log(p[labels[s]]) / (m * n)
				for c := range p {
					d := p[c] - pbar0[k*s+c]
					v -= gamma * d * d / (2 * m * n)
				}
			}
		}
		return v
	}
	err := torch.Do(func(s *torch.Scope) error {
		y := torch.FromSlice(s, labels, []int64{n})
		ins := make([]*torch.Tensor, m)
		outs := make([]Output, m)
		for i, l := range base {
			ins[i] = torch.FromSlice(s, l, []int64{n, k}).SetRequiresGrad(true)
			outs[i] = Output{Logits: ins[i]}
		}
		loss := NCL{Heuristic: HeuristicClassic, Lambda: 1, Gamma: gamma}.Value(outs, nil, y)
		got, err := loss.Item()
		if err != nil {
			return err
		}
		if want := frozen(base); math.Abs(got-want) > 1e-12 {
			t.Errorf("classic NCL %v, want %v", got, want)
		}
		g, err := torch.Grad([]*torch.Tensor{loss}, ins, nil, false, false)
		if err != nil {
			return err
		}
		const h = 1e-6
		for i := range base {
			gi, _ := g[i].Float64s()
			for j := range base[i] {
				at := func(d float64) float64 {
					v := [][]float64{append([]float64(nil), base[0]...), append([]float64(nil), base[1]...), append([]float64(nil), base[2]...)}
					v[i][j] += d
					return frozen(v)
				}
				if fd := (at(h) - at(-h)) / (2 * h); math.Abs(fd-gi[j]) > 1e-8 {
					t.Errorf("d/dlogit[%d][%d]: autograd %v, finite difference (p̄ fixed) %v", i, j, gi[j], fd)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestNCLObjectiveScaling: the trained objective is M·L (the report is L), and
// with λ = 1, γ = 0 it is the plain sum of the members' cross-entropies, bit for
// bit.
func TestNCLObjectiveScaling(t *testing.T) {
	err := torch.Do(func(s *torch.Scope) error {
		_, outs, x, y := tinyForward(s, tinyParams(), false)
		for _, l := range []NCL{{Heuristic: HeuristicPrediction, Lambda: 0.3, Gamma: 0.5}, {Heuristic: HeuristicAttribution, Lambda: 0.7, Gamma: 0.2},
			{Heuristic: HeuristicActivation, Lambda: 0, Gamma: 1}, {Heuristic: HeuristicGNCL, Lambda: 1, Gamma: 2}} {
			obj, rep := l.LossInput(outs, x, y)
			o, _ := obj.Item()
			r, _ := rep.Item()
			v, err := l.Value(outs, x, y).Item()
			if err != nil {
				return err
			}
			if math.Abs(o-3*v) > 1e-12 || math.Abs(r-v) > 1e-12 {
				t.Errorf("%+v: objective %v report %v, want 3·%v and %v", l, o, r, v, v)
			}
		}
		obj, _ := NCL{Heuristic: HeuristicNone, Lambda: 1}.LossInput(outs, x, y)
		o, _ := obj.Item()
		var sum float64
		for _, out := range outs {
			c, _ := torch.CrossEntropy(out.Logits, y, 0).Item()
			sum += c
		}
		if o != sum {
			t.Errorf("λ=1 γ=0 objective %v, want Σ CE = %v exactly", o, sum)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestCheckClassCounts: equal counts pass, a differing member is named.
func TestCheckClassCounts(t *testing.T) {
	if err := CheckClassCounts([]string{"a", "b"}, []int{10, 10}); err != nil {
		t.Error(err)
	}
	err := CheckClassCounts([]string{"a", "b", "c"}, []int{10, 10, 100})
	if err == nil || err.Error() != "ncl: member c has 100 classes but member a has 10" {
		t.Errorf("got %v", err)
	}
}
