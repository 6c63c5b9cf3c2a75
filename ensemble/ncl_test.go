package ensemble

import (
	"math"
	"testing"

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

// TestActivationDiversity checks the activation term's value against plain Go and
// its gradient with respect to the features against finite differences.
func TestActivationDiversity(t *testing.T) {
	feats := [][]float64{{1, 2, -1, 0.5, 0.3, -0.7, 2, 1}, {0.4, -1, 1, 2, 1.1, 0.2, -0.5, 1}, {-1, 0.5, 0.5, 1, 0.9, 0.8, 0.1, -2}}
	build := func(s *torch.Scope, v [][]float64, grad bool) ([]*torch.Tensor, *torch.Tensor) {
		ins := make([]*torch.Tensor, len(v))
		outs := make([]Output, len(v))
		for i := range v {
			ins[i] = torch.FromSlice(s, v[i], []int64{2, 2, 2}).SetRequiresGrad(grad)
			outs[i] = Output{Features: ins[i]}
		}
		return ins, activationDiversity(outs)
	}
	err := torch.Do(func(s *torch.Scope) error {
		cos := 0.0
		for n := 0; n < 2; n++ {
			for i := 0; i < 3; i++ {
				for j := i + 1; j < 3; j++ {
					var d, a, b float64
					for k := 0; k < 4; k++ {
						x, y := feats[i][4*n+k], feats[j][4*n+k]
						d, a, b = d+x*y, a+x*x, b+y*y
					}
					cos += d / math.Sqrt(a*b)
				}
			}
		}
		want := 1 - cos/6
		ins, div := build(s, feats, true)
		got, err := div.Item()
		if err != nil {
			return err
		}
		if math.Abs(got-want) > 1e-9 {
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
