package attrib

import (
	"math"
	"testing"

	"github.com/divres/divres/torch"
)

// TestDoubleBackward: the gradient with respect to the weights of a loss made of
// attribution similarities (saliency, IG and Grad-CAM maps with their graph kept)
// matches central finite differences in float64.
func TestDoubleBackward(t *testing.T) {
	m1 := newAttrCNN(t, torch.Float64, weightsPath)
	torch.ManualSeed(13)
	m2 := newAttrCNN(t, torch.Float64, "")
	s := torch.NewScope()
	defer s.Close()
	x := refTensor(t, s, "inputs", torch.Float64).Narrow(0, 0, 3)
	tg := Labels([]int64{0, 1, 2})
	methods := []Options{
		{Method: SaliencySigned},
		{Method: IG, IG: IGOptions{Steps: 3, InternalBatch: 4}},
		{Method: GradCAM, Layer: "conv2", Upsample: "bilinear"},
		{Method: InputXGradient},
	}
	// loss = Σ_methods (1 − mean_i cos(A1_i, A2_i)); m2's maps are constants.
	loss := func(ls *torch.Scope, create bool) *torch.Tensor {
		total := torch.Zeros(ls, []int64{}, torch.Float64)
		for _, o := range methods {
			o.CreateGraph = create
			a1, err := Attribute(ls, m1, x, tg, o)
			if err != nil {
				t.Fatal(err)
			}
			o.CreateGraph = false
			a2, err := Attribute(ls, m2, x, tg, o)
			if err != nil {
				t.Fatal(err)
			}
			total = total.Add(CosineTensor(a1.Maps, a2.Maps, 0).Mean().RSubScalar(1))
		}
		return total
	}
	names := []string{"conv1.weight", "conv1.bias", "conv2.weight", "fc.weight"}
	var params []*torch.Tensor
	for _, n := range names {
		params = append(params, m1.Store.Get(n).T)
	}
	l := loss(s, true)
	if !l.RequiresGrad() {
		t.Fatal("the loss of maps computed with CreateGraph does not require gradients")
	}
	grads, err := torch.Grad([]*torch.Tensor{l}, params, nil, false, false)
	if err != nil {
		t.Fatal(err)
	}
	const h = 1e-6
	eval := func() float64 {
		ls := torch.NewScope()
		defer ls.Close()
		v, err := loss(ls, false).Item()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for pi, p := range params {
		if grads[pi] == nil {
			t.Fatalf("%s: no gradient", names[pi])
		}
		g := values(t, grads[pi])
		w := values(t, p)
		for _, j := range []int{0, len(w) / 3, len(w) - 1} {
			orig := w[j]
			w[j] = orig + h
			torch.CopyFrom(p, w)
			up := eval()
			w[j] = orig - h
			torch.CopyFrom(p, w)
			down := eval()
			w[j] = orig
			torch.CopyFrom(p, w)
			fd := (up - down) / (2 * h)
			if math.Abs(fd-g[j]) > 1e-6*math.Max(1, math.Abs(fd)) {
				t.Errorf("%s[%d]: autograd %.10g, finite difference %.10g", names[pi], j, g[j], fd)
			}
			if pi == 0 && j == 0 && math.Abs(fd) < 1e-6 {
				t.Errorf("%s[%d]: finite difference %g: the test would not see a wrong gradient", names[pi], j, fd)
			}
		}
	}
}
