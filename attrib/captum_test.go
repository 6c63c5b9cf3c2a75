package attrib

import (
	"fmt"
	"testing"

	"github.com/divres/divres/torch"
)

const weightsPath = "testdata/attr_model.safetensors"

// captumCase is one reference array and how to compute it.
type captumCase struct {
	ref  string
	opts Options
	// delta names the reference convergence delta, if any.
	delta string
}

func captumCases(t testing.TB, s *torch.Scope, dtype torch.DType, suffix string) []captumCase {
	ig := func(q Quadrature) IGOptions { return IGOptions{Steps: 32, Method: q} }
	noise := refTensor(t, s, "smoothgrad_noise", dtype)
	nt := func(inner Method) Options {
		return Options{Method: SmoothGrad, Inner: inner, NTSamples: 16, Stdev: 0.15, Noise: noise}
	}
	return []captumCase{
		{ref: "saliency_abs", opts: Options{Method: Saliency}},
		{ref: "saliency_noabs", opts: Options{Method: SaliencySigned}},
		{ref: "input_x_gradient", opts: Options{Method: InputXGradient}},
		{ref: "ig_riemann_trapezoid", opts: Options{Method: IG, IG: ig(RiemannTrapezoid)}, delta: "ig_riemann_trapezoid_delta"},
		{ref: "ig_gausslegendre", opts: Options{Method: IG, IG: ig(GaussLegendre)}, delta: "ig_gausslegendre_delta"},
		{ref: "smoothgrad_abs", opts: nt(Saliency)},
		{ref: "smoothgrad_noabs", opts: nt(SaliencySigned)},
		{ref: "layergradcam", opts: Options{Method: GradCAM, Layer: "conv2"}},
		{ref: "layergradcam_relu", opts: Options{Method: GradCAM, Layer: "conv2", ReLU: true}},
		{ref: "layergradcam_up_nearest", opts: Options{Method: GradCAM, Layer: "conv2", Upsample: "nearest"}},
		{ref: "layergradcam_up_bilinear", opts: Options{Method: GradCAM, Layer: "conv2", Upsample: "bilinear"}},
	}
}

// TestCaptumParity reproduces every Captum array in float32 to 1e-6 and the
// float64 arrays to 1e-10, with internal batches that split the work differently.
func TestCaptumParity(t *testing.T) {
	for _, dt := range []struct {
		dtype  torch.DType
		suffix string
		tol    float64
	}{{torch.Float32, "", 1e-6}, {torch.Float64, "_f64", 1e-10}} {
		m := newAttrCNN(t, dt.dtype, weightsPath)
		s := torch.NewScope()
		x := refTensor(t, s, "inputs", dt.dtype)
		tg := Labels(refTargets(t))
		logits := values(t, m.logits(x))
		ref, _ := refArray(t, "logits"+dt.suffix)
		if d := maxAbsDiff(t, logits, ref); d > dt.tol {
			t.Fatalf("%v logits differ by %g", dt.dtype, d)
		}
		for _, c := range captumCases(t, s, dt.dtype, dt.suffix) {
			ibs := []int{0, 5}
			if dt.dtype == torch.Float64 {
				ibs = ibs[:1]
			}
			for _, ib := range ibs {
				c.opts.IG.InternalBatch = ib
				name := fmt.Sprintf("%s%s/ib%d", c.ref, dt.suffix, ib)
				r, err := Attribute(s, m, x, tg, c.opts)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				want, wsh := refArray(t, c.ref+dt.suffix)
				if got := r.Maps.Shape(); !equalShape(got, wsh) {
					t.Fatalf("%s: shape %v, want %v", name, got, wsh)
				}
				got := values(t, r.Maps)
				if d := maxAbsDiff(t, got, want); d > dt.tol {
					t.Errorf("%s: max |diff| %.3g > %g (max |ref| %.3g)", name, d, dt.tol, maxAbs(want))
				}
				if c.delta != "" {
					wd, _ := refArray(t, c.delta+dt.suffix)
					// A sum of 784 terms: ten times the tolerance of one value.
					if d := maxAbsDiff(t, values(t, r.Delta), wd); d > 10*dt.tol {
						t.Errorf("%s: delta differs by %.3g", name, d)
					}
				}
			}
		}
		s.Close()
	}
}

// TestQuadratureNodes checks the nodes and weights against Captum's.
func TestQuadratureNodes(t *testing.T) {
	for _, q := range []Quadrature{RiemannTrapezoid, GaussLegendre} {
		a, w, err := q.Nodes(32)
		if err != nil {
			t.Fatal(err)
		}
		ra, _ := refArray(t, "ig_"+string(q)+"_alphas")
		rw, _ := refArray(t, "ig_"+string(q)+"_weights")
		if d := maxAbsDiff(t, a, ra); d > 1e-14 {
			t.Errorf("%s alphas differ by %g", q, d)
		}
		if d := maxAbsDiff(t, w, rw); d > 1e-14 {
			t.Errorf("%s weights differ by %g", q, d)
		}
	}
}
