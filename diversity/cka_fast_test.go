package diversity

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The float32 batch products of linear CKA, accumulated in float64, agree with the
// all-float64 computation within 1e-6 relative, on features with a large common
// offset (centring matters) and a shared component (CKA well inside (0, 1)).
func TestLinearCKAsFloat32MatchesFloat64(t *testing.T) {
	const m, n, d = 3, 2500, 40
	feat := offsetFeatures(rand.New(rand.NewPCG(21, 22)), m, n, d)
	exact := linearCKAs(feat, m, n, d, 1000, false)
	fast := linearCKAs(feat, m, n, d, 1000, true)
	for i := 0; i < m; i++ {
		for k := 0; k < m; k++ {
			for _, c := range []struct {
				name      string
				want, got float64
			}{{"linear", exact.Linear[i][k], fast.Linear[i][k]}, {"debiased", exact.Debiased[i][k], fast.Debiased[i][k]}} {
				if c.want <= 0.2 || c.want > 1+1e-12 {
					t.Fatalf("%s CKA[%d][%d] = %v: the case is not the intended one", c.name, i, k, c.want)
				}
				if r := math.Abs(c.got-c.want) / c.want; r > 1e-6 {
					t.Errorf("%s CKA[%d][%d]: float32 %v, float64 %v (relative %g)", c.name, i, k, c.got, c.want, r)
				}
			}
		}
	}
	// The float32 path is not the float64 one under another name.
	if fast.Linear[0][1] == exact.Linear[0][1] && fast.Linear[0][2] == exact.Linear[0][2] && fast.Debiased[1][2] == exact.Debiased[1][2] {
		t.Error("float32 and float64 results are bit-identical")
	}
}

// offsetFeatures is m members' n×d features with a large common offset (centring
// matters) and a shared component (CKA well inside (0, 1)).
func offsetFeatures(rng *rand.Rand, m, n, d int) []float32 {
	feat := make([]float32, m*n*d)
	shared := make([]float64, n*d)
	for i := range shared {
		shared[i] = rng.NormFloat64()
	}
	for i := range feat {
		member := i / (n * d)
		feat[i] = float32(20 + float64(member) + shared[i%(n*d)] + 0.8*rng.NormFloat64())
	}
	return feat
}

// The libtorch batch products of linear CKA equal gonum's: to 1e-12 relative in
// float64, to 1e-6 in float32, for a batch that divides n and one that does not.
func TestLinearCKAsTorchMatchesGonum(t *testing.T) {
	const m, n, d = 4, 600, 24
	feat := offsetFeatures(rand.New(rand.NewPCG(31, 32)), m, n, d)
	for _, batch := range []int{7, 200, 5000} {
		for _, single := range []bool{false, true} {
			want := linearCKAsGo(feat, m, n, d, batch, single)
			got, err := linearCKAsTorch(feat, m, n, d, batch, single)
			if err != nil {
				t.Fatal(err)
			}
			tol := 1e-12
			if single {
				tol = 1e-6
			}
			for i := 0; i < m; i++ {
				for k := 0; k < m; k++ {
					for _, c := range [][2]float64{{want.Linear[i][k], got.Linear[i][k]}, {want.Debiased[i][k], got.Debiased[i][k]}} {
						if r := math.Abs(c[1]-c[0]) / math.Abs(c[0]); !(r <= tol) {
							t.Errorf("batch %d single %v [%d][%d]: torch %v, gonum %v (relative %g)", batch, single, i, k, c[1], c[0], r)
						}
					}
				}
			}
		}
	}
}

// rbfReference is RBF CKA as computed before libtorch: per batch and threshold each
// member's RBFGram of the uncentred float64 features, GramCKA per pair.
func rbfReference(feat []float32, m, n, d int, ts []float64, bs int) [][][]float64 {
	nb := (n + bs - 1) / bs
	sums := make([][][]float64, len(ts))
	for t := range ts {
		sums[t] = square(m)
	}
	grams := make([][]float64, m)
	for b := 0; b < nb; b++ {
		a0, a1 := b*n/nb, (b+1)*n/nb
		rows := a1 - a0
		for t, th := range ts {
			for i := 0; i < m; i++ {
				x := make([]float64, rows*d)
				for j, v := range feat[(i*n+a0)*d : (i*n+a1)*d] {
					x[j] = float64(v)
				}
				grams[i] = RBFGram(x, rows, d, th)
			}
			for i := 0; i < m; i++ {
				for k := i; k < m; k++ {
					sums[t][i][k] += GramCKA(grams[i], grams[k]) / float64(nb)
					sums[t][k][i] = sums[t][i][k]
				}
			}
		}
	}
	return sums
}

// RBF CKA through libtorch in float64 (centred batches, one Gram per member for all
// thresholds, median on the upper triangle, symmetric inner products) equals the
// RBFGram recipe to 1e-9 relative, with batches of odd and even rows.
func TestRBFCKAsMatchRBFGram(t *testing.T) {
	const m, d = 3, 16
	ts := []float64{0.5, 1, 2}
	for _, c := range []struct{ n, bs int }{{467, 200}, {300, 1000}, {800, 1000}, {9, 4}} {
		feat := offsetFeatures(rand.New(rand.NewPCG(41, uint64(c.n))), m, c.n, d)
		want := rbfReference(feat, m, c.n, d, ts, c.bs)
		got, _, err := rbfCKAs(feat, m, c.n, d, ts, c.bs, false)
		if err != nil {
			t.Fatal(err)
		}
		for th := range ts {
			for i := 0; i < m; i++ {
				for k := 0; k < m; k++ {
					w, g := want[th][i][k], got[th][i][k]
					if r := math.Abs(g-w) / math.Abs(w); !(r <= 1e-9) {
						t.Errorf("n %d batch %d t %v [%d][%d]: %v, want %v (relative %g)", c.n, c.bs, ts[th], i, k, g, w, r)
					}
				}
			}
		}
	}
}

// The float32 Gram products of the centred features keep RBF CKA within 1e-6
// relative of float64 on features with a large common offset.
func TestRBFCKAsFloat32MatchesFloat64(t *testing.T) {
	const m, n, d = 3, 2500, 40
	feat := offsetFeatures(rand.New(rand.NewPCG(21, 22)), m, n, d)
	ts := []float64{0.5, 1}
	exact, _, err := rbfCKAs(feat, m, n, d, ts, 1000, false)
	if err != nil {
		t.Fatal(err)
	}
	fast, _, err := rbfCKAs(feat, m, n, d, ts, 1000, true)
	if err != nil {
		t.Fatal(err)
	}
	same := true
	for th := range ts {
		for i := 0; i < m; i++ {
			for k := 0; k < m; k++ {
				w, g := exact[th][i][k], fast[th][i][k]
				if w <= 0.2 || w > 1+1e-12 {
					t.Fatalf("RBF CKA[%d][%d] = %v at t %v: the case is not the intended one", i, k, w, ts[th])
				}
				if r := math.Abs(g-w) / w; r > 1e-6 {
					t.Errorf("t %v [%d][%d]: float32 %v, float64 %v (relative %g)", ts[th], i, k, g, w, r)
				}
				same = same && (i == k || g == w)
			}
		}
	}
	if same {
		t.Error("float32 and float64 results are bit-identical")
	}
}

// upperMedian equals the median of the full symmetric matrix (zero diagonal).
func TestUpperMedian(t *testing.T) {
	rng := rand.New(rand.NewPCG(51, 52))
	for trial := 0; trial < 300; trial++ {
		b := 1 + rng.IntN(12)
		if trial%10 == 0 {
			b = 50 + rng.IntN(100)
		}
		full := make([]float64, b*b)
		var u []float64
		for a := 0; a < b; a++ {
			for c := a + 1; c < b; c++ {
				v := float64(rng.IntN(1 + trial%7))
				if trial%3 == 0 {
					v = rng.ExpFloat64() * math.Pow(10, float64(trial%11-5))
				}
				full[a*b+c], full[c*b+a] = v, v
				u = append(u, v)
			}
		}
		if got, want := upperMedian(u, b), median(full); got != want {
			t.Fatalf("b %d: upperMedian %v, median %v", b, got, want)
		}
	}
}
