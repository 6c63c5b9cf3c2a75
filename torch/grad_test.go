package torch

import (
	"math"
	"math/rand"
	"testing"
)

// fdCheck compares the gradient of the scalar f(inputs) with respect to every input
// (float64) with central finite differences.
func fdCheck(t *testing.T, name string, inputs [][]float64, shapes [][]int64, f func(s *Scope, xs []*Tensor) *Tensor) {
	t.Helper()
	s := NewScope()
	defer s.Close()
	xs := make([]*Tensor, len(inputs))
	for i := range inputs {
		xs[i] = FromSlice(s, inputs[i], shapes[i]).SetRequiresGrad(true)
	}
	out := f(s, xs)
	grads, err := Grad([]*Tensor{out}, xs, nil, false, false)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	eval := func(vals [][]float64) float64 {
		es := NewScope(NoGrad())
		defer es.Close()
		ys := make([]*Tensor, len(vals))
		for i := range vals {
			ys[i] = FromSlice(es, vals[i], shapes[i])
		}
		v, err := f(es, ys).Item()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return v
	}
	const h = 1e-6
	worst := 0.0
	for i := range inputs {
		g, err := grads[i].Float64s()
		if err != nil {
			t.Fatalf("%s: grad %d: %v", name, i, err)
		}
		for j := range inputs[i] {
			orig := inputs[i][j]
			inputs[i][j] = orig + h
			up := eval(inputs)
			inputs[i][j] = orig - h
			down := eval(inputs)
			inputs[i][j] = orig
			num := (up - down) / (2 * h)
			diff := math.Abs(num - g[j])
			if diff > 1e-5*math.Max(1, math.Abs(num)) {
				t.Errorf("%s: d/dx%d[%d]: autograd %.9g, finite difference %.9g", name, i, j, g[j], num)
			}
			worst = math.Max(worst, diff)
		}
	}
	t.Logf("%s: max |autograd − finite difference| = %.2e", name, worst)
}

func randVals(r *rand.Rand, n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = r.NormFloat64()
	}
	return v
}

// weighted reduces a tensor to a scalar with fixed pseudo-random weights, so that
// every output element's gradient matters.
func weighted(s *Scope, y *Tensor) *Tensor {
	w := Linspace(s, -1, 2, y.Numel(), Float64).View(y.Shape())
	return y.Mul(w.Sin()).Sum()
}

func TestGradConv2d(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for _, cfg := range []struct {
		name                     string
		stride, pad, dil, groups int64
	}{{"plain", 1, 0, 1, 1}, {"stride2-pad1", 2, 1, 1, 1}, {"dilation2", 1, 2, 2, 1}, {"groups2", 1, 1, 1, 2}} {
		x := randVals(r, 2*4*6*5)
		w := randVals(r, int(6*(4/cfg.groups)*3*3))
		b := randVals(r, 6)
		fdCheck(t, "conv2d/"+cfg.name, [][]float64{x, w, b}, [][]int64{{2, 4, 6, 5}, {6, 4 / cfg.groups, 3, 3}, {6}},
			func(s *Scope, xs []*Tensor) *Tensor {
				return weighted(s, Conv2d(xs[0], xs[1], xs[2], []int64{cfg.stride, cfg.stride}, []int64{cfg.pad, cfg.pad},
					[]int64{cfg.dil, cfg.dil}, cfg.groups))
			})
	}
}

func TestGradLinear(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	fdCheck(t, "linear", [][]float64{randVals(r, 3*5), randVals(r, 4*5), randVals(r, 4)}, [][]int64{{3, 5}, {4, 5}, {4}},
		func(s *Scope, xs []*Tensor) *Tensor { return weighted(s, Linear(xs[0], xs[1], xs[2])) })
}

func TestGradBatchNormTraining(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	fdCheck(t, "batch_norm/train", [][]float64{randVals(r, 4*3*2*2), randVals(r, 3), randVals(r, 3)},
		[][]int64{{4, 3, 2, 2}, {3}, {3}},
		func(s *Scope, xs []*Tensor) *Tensor {
			// Fresh running statistics each evaluation, so the update does not leak.
			rm, rv := Zeros(s, []int64{3}, Float64), Ones(s, []int64{3}, Float64)
			return weighted(s, BatchNorm(xs[0], xs[1], xs[2], rm, rv, true, 0.1, 1e-5))
		})
}

func TestGradBatchNormEval(t *testing.T) {
	r := rand.New(rand.NewSource(4))
	fdCheck(t, "batch_norm/eval", [][]float64{randVals(r, 2*3*2*2), randVals(r, 3), randVals(r, 3)},
		[][]int64{{2, 3, 2, 2}, {3}, {3}},
		func(s *Scope, xs []*Tensor) *Tensor {
			rm := FromSlice(s, []float64{0.1, -0.2, 0.3}, nil)
			rv := FromSlice(s, []float64{1.5, 0.5, 2}, nil)
			return weighted(s, BatchNorm(xs[0], xs[1], xs[2], rm, rv, false, 0.1, 1e-5))
		})
}

func TestGradPooling(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	x := randVals(r, 2*3*6*6)
	shape := [][]int64{{2, 3, 6, 6}}
	fdCheck(t, "max_pool2d", [][]float64{x}, shape, func(s *Scope, xs []*Tensor) *Tensor {
		return weighted(s, MaxPool2d(xs[0], []int64{3, 3}, []int64{2, 2}, []int64{1, 1}, []int64{1, 1}, false))
	})
	fdCheck(t, "avg_pool2d", [][]float64{x}, shape, func(s *Scope, xs []*Tensor) *Tensor {
		return weighted(s, AvgPool2d(xs[0], []int64{2, 2}, []int64{2, 2}, []int64{0, 0}, false, true))
	})
	fdCheck(t, "adaptive_avg_pool2d", [][]float64{x}, shape, func(s *Scope, xs []*Tensor) *Tensor {
		return weighted(s, AdaptiveAvgPool2d(xs[0], []int64{4, 3}))
	})
}

func TestGradSoftmaxCrossEntropy(t *testing.T) {
	r := rand.New(rand.NewSource(6))
	for _, ls := range []float64{0, 0.1} {
		fdCheck(t, "cross_entropy", [][]float64{randVals(r, 5*4)}, [][]int64{{5, 4}}, func(s *Scope, xs []*Tensor) *Tensor {
			y := FromSlice(s, []int64{0, 3, 1, 1, 2}, nil)
			return CrossEntropy(xs[0], y, ls)
		})
	}
	fdCheck(t, "log_softmax", [][]float64{randVals(r, 3*4)}, [][]int64{{3, 4}}, func(s *Scope, xs []*Tensor) *Tensor {
		return weighted(s, LogSoftmax(xs[0], 1))
	})
}

// The loss contains an input gradient (computed with createGraph), so its gradient
// needs double backward. Checked against finite differences of the whole
// computation.
func TestDoubleBackward(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	f := func(s *Scope, xs []*Tensor) *Tensor {
		x, w1, w2 := xs[0], xs[1], xs[2]
		xin := x.Detach().SetRequiresGrad(true)
		h := Tanh(Linear(xin, w1, nil))
		out := Linear(h, w2, nil).Sum()
		// Input gradient with a graph, so that it can be differentiated again.
		g, err := Grad([]*Tensor{out}, []*Tensor{xin}, nil, true, true)
		if err != nil {
			t.Fatal(err)
		}
		return g[0].Square().Sum().Add(out.MulScalar(0.5))
	}
	// Under NoGrad the inner Grad would fail: evaluate the numeric side with grad on.
	s := NewScope()
	defer s.Close()
	x := FromSlice(s, randVals(r, 2*3), []int64{2, 3}).SetRequiresGrad(true)
	w1 := FromSlice(s, randVals(r, 4*3), []int64{4, 3}).SetRequiresGrad(true)
	w2 := FromSlice(s, randVals(r, 1*4), []int64{1, 4}).SetRequiresGrad(true)
	loss := f(s, []*Tensor{x, w1, w2})
	grads, err := Grad([]*Tensor{loss}, []*Tensor{w1, w2}, nil, false, false)
	if err != nil {
		t.Fatal(err)
	}
	for k, w := range []*Tensor{w1, w2} {
		vals, _ := w.Float64s()
		g, _ := grads[k].Float64s()
		for j := range vals {
			num := func(delta float64) float64 {
				es := NewScope()
				defer es.Close()
				ws := []*Tensor{x.Detach().In(es), w1.Detach().In(es), w2.Detach().In(es)}
				pv := append([]float64(nil), vals...)
				pv[j] += delta
				ws[k+1] = FromSlice(es, pv, w.Shape())
				v, err := f(es, ws).Item()
				if err != nil {
					t.Fatal(err)
				}
				return v
			}
			const h = 1e-6
			fd := (num(h) - num(-h)) / (2 * h)
			if math.Abs(fd-g[j]) > 1e-5*math.Max(1, math.Abs(fd)) {
				t.Errorf("double backward d/dw%d[%d]: autograd %.9g, finite difference %.9g", k+1, j, g[j], fd)
			}
		}
	}
}
