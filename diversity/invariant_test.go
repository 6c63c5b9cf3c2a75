package diversity

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
)

func randomInputs(rng *rand.Rand, m, n, c int) Inputs {
	in := Inputs{M: m, N: n, C: c, Labels: make([]int64, n)}
	for j := range in.Labels {
		in.Labels[j] = int64(rng.IntN(c))
	}
	for i := 0; i < m*n; i++ {
		row := make([]float64, c)
		var s float64
		for k := range row {
			row[k] = rng.ExpFloat64()
			if k == int(in.Labels[i%n]) {
				row[k] += 1.5 // members are better than chance
			}
			s += row[k]
		}
		for _, v := range row {
			in.Probs = append(in.Probs, float32(v/s))
		}
	}
	return in
}

func TestKWAndKappaIdentities(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, m := range []int{2, 3, 5, 7} {
		in := randomInputs(rng, m, 200, 4)
		r, err := Compute(in, Options{})
		if err != nil {
			t.Fatal(err)
		}
		d, _ := r.Float("disagreement")
		kw, _ := r.Float("kohavi_wolpert")
		kappa, _ := r.Float("kappa")
		pbar, _ := r.Float("mean_accuracy")
		M := float64(m)
		if want := (M - 1) / (2 * M) * d; math.Abs(kw-want) > 1e-12 {
			t.Errorf("M=%d: KW %v, (M-1)/(2M)·D = %v", m, kw, want)
		}
		if want := 1 - M*kw/((M-1)*pbar*(1-pbar)); math.Abs(kappa-want) > 1e-12 {
			t.Errorf("M=%d: kappa %v, identity gives %v", m, kappa, want)
		}
		if kw <= 0 || kw > 0.25 {
			t.Errorf("M=%d: KW %v outside (0, 1/4]", m, kw)
		}
		js, _ := r.Float("js_divergence")
		if !(js > 0 && js <= math.Ln2) {
			t.Errorf("M=%d: JS %v outside (0, ln 2]", m, js)
		}
	}
}

func TestDegenerateIsNullWithReason(t *testing.T) {
	// Member 0 is always right: N00 = N01 = 0, so Q's denominator is 0 for every pair.
	in := Inputs{M: 2, N: 3, C: 2, Labels: []int64{0, 0, 0},
		Probs: []float32{1, 0, 1, 0, 1, 0, 1, 0, 0, 1, 1, 0}}
	r, err := Compute(in, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if q, _ := r.Float("q_statistic"); !math.IsNaN(q) {
		t.Errorf("Q = %v, want NaN", q)
	}
	if !strings.Contains(r.Reasons["q_statistic"], "pair (0,1)") || r.Reasons["correlation_rho"] == "" {
		t.Errorf("reasons %v", r.Reasons)
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back["q_statistic"] != nil || back["disagreement"] != 1.0/3 {
		t.Errorf("json q=%v disagreement=%v", back["q_statistic"], back["disagreement"])
	}
	dm := back["disagreement_matrix"].([]any)
	if dm[0].([]any)[0] != nil || dm[0].([]any)[1] != 1.0/3 {
		t.Errorf("disagreement matrix %v", dm)
	}
	// Debiased CKA needs 4 samples.
	in.Features, in.D = []float32{1, 2, 3, 4, 5, 7}, 1
	r, err = Compute(in, Options{Metrics: []string{"debiased_linear_cka", "linear_cka"}})
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := r.Float("debiased_linear_cka"); !math.IsNaN(v) || r.Reasons["debiased_linear_cka"] == "" {
		t.Errorf("debiased CKA with N=3: %v, reason %q", v, r.Reasons["debiased_linear_cka"])
	}
}

func TestValidate(t *testing.T) {
	good := Inputs{M: 1, N: 2, C: 2, Labels: []int64{0, 1}, Probs: []float32{0.5, 0.5, 0.2, 0.8}}
	nan := float32(math.NaN())
	for _, tc := range []struct {
		mod  func(*Inputs)
		want string
	}{
		{func(in *Inputs) { in.Probs = in.Probs[:3] }, "want M*N*C"},
		{func(in *Inputs) { in.Labels = []int64{0} }, "labels have 1 values"},
		{func(in *Inputs) { in.Labels = []int64{0, 2} }, "outside [0, 2)"},
		{func(in *Inputs) { in.Probs = []float32{nan, 0.5, 0.2, 0.8} }, "not in [0, 1]"},
		{func(in *Inputs) { in.Probs = []float32{0.6, 0.5, 0.2, 0.8} }, "sum to 1.1"},
		{func(in *Inputs) { in.Features, in.D = []float32{1, 2, 3}, 2 }, "features have 3 values"},
	} {
		in := good
		tc.mod(&in)
		_, err := Compute(in, Options{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want %q", err, tc.want)
		}
	}
	if _, err := Compute(good, Options{Metrics: []string{"nope"}}); err == nil || !strings.Contains(err.Error(), "unknown metric") {
		t.Errorf("unknown metric: %v", err)
	}
}

func randMat(rng *rand.Rand, n, d int) []float64 {
	x := make([]float64, n*d)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	return x
}

func orthogonal(rng *rand.Rand, d int) *mat.Dense {
	var qr mat.QR
	qr.Factorize(mat.NewDense(d, d, randMat(rng, d, d)))
	var q mat.Dense
	qr.QTo(&q)
	return &q
}

func TestCKAInvariants(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	n, d := 40, 6
	x := randMat(rng, n, d)
	y := make([]float64, n*d) // y depends on x: a noisy nonlinear map
	for i := range y {
		y[i] = math.Tanh(x[i]) + 0.5*rng.NormFloat64()
	}
	q := orthogonal(rng, d)
	var xq mat.Dense
	xq.Mul(mat.NewDense(n, d, x), q)
	xr := xq.RawMatrix().Data
	xs := make([]float64, len(x))
	for i, v := range xr {
		xs[i] = 3.5*v + 2 // rotated, scaled, translated
	}
	for name, f := range map[string]func(a, b []float64) float64{
		"linear":   func(a, b []float64) float64 { return LinearCKA(a, b, n, d, d) },
		"debiased": func(a, b []float64) float64 { return DebiasedLinearCKA(a, b, n, d, d) },
		"rbf":      func(a, b []float64) float64 { return RBFCKA(a, b, n, d, d, 0.8) },
	} {
		if v := f(x, x); math.Abs(v-1) > 1e-6 {
			t.Errorf("%s CKA(X, X) = %v", name, v)
		}
		base := f(x, y)
		if base <= 0.05 || base >= 0.99 {
			t.Errorf("%s CKA(X, Y) = %v, want a value strictly between", name, base)
		}
		if v := f(xs, y); math.Abs(v-base) > 1e-6 {
			t.Errorf("%s CKA(c·XQ + b, Y) = %v, CKA(X, Y) = %v", name, v, base)
		}
	}
	// Feature-space accumulation (small batches) equals the Gram-matrix recipes.
	feat := append(toF32(x), toF32(y)...)
	x32, y32 := make([]float64, n*d), make([]float64, n*d)
	for i := range x32 {
		x32[i], y32[i] = float64(feat[i]), float64(feat[n*d+i])
	}
	f := LinearCKAs(feat, 2, n, d, 7)
	kx, ky := LinearGram(x32, n, d), LinearGram(y32, n, d)
	CenterGram(kx, n)
	CenterGram(ky, n)
	if g := GramCKA(kx, ky); math.Abs(f.Linear[0][1]-g) > 1e-10 {
		t.Errorf("linear CKA from features %v, from Gram matrices %v", f.Linear[0][1], g)
	}
	ux, uy := LinearGram(x32, n, d), LinearGram(y32, n, d) // uncentred features
	CenterGramUnbiased(ux, n)
	CenterGramUnbiased(uy, n)
	if g := GramCKA(ux, uy); math.Abs(f.Debiased[0][1]-g) > 1e-10 {
		t.Errorf("debiased CKA from features %v, from Gram matrices %v", f.Debiased[0][1], g)
	}
}

func TestAttributionSimilarity(t *testing.T) {
	// Member 1's maps are a positive multiple of member 0's (cosine 1, Spearman 1);
	// member 2's are member 0's negated (cosine -1).
	a0 := []float32{1, 2, 3, 0.5, -1, 4}
	var a []float32
	a = append(a, a0...)
	for _, v := range a0 {
		a = append(a, 2*v)
	}
	for _, v := range a0 {
		a = append(a, -v)
	}
	sim, skipped := AttributionSimilarity(a, 3, 2, 3, "cosine")
	if skipped != 0 || math.Abs(sim[0][1]-1) > 1e-12 || math.Abs(sim[0][2]+1) > 1e-12 {
		t.Errorf("cosine %v skipped %d", sim, skipped)
	}
	sp, _ := AttributionSimilarity(a, 3, 2, 3, "spearman")
	if math.Abs(sp[0][1]-1) > 1e-12 || math.Abs(sp[1][2]+1) > 1e-12 {
		t.Errorf("spearman %v", sp)
	}
}

// median (by selection) equals the median of the sorted values, for odd and even
// lengths and many ties.
func TestMedianBySelection(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for trial := 0; trial < 200; trial++ {
		n := 1 + rng.IntN(50)
		v := make([]float64, n)
		for i := range v {
			v[i] = float64(rng.IntN(1 + trial%9))
		}
		s := append([]float64(nil), v...)
		slices.Sort(s)
		want := s[n/2]
		if n%2 == 0 {
			want = (s[n/2-1] + s[n/2]) / 2
		}
		if got := median(v); got != want {
			t.Fatalf("median of %v = %v, want %v", s, got, want)
		}
	}
}
