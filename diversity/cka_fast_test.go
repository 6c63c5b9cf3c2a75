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
	rng := rand.New(rand.NewPCG(21, 22))
	feat := make([]float32, m*n*d)
	shared := make([]float64, n*d)
	for i := range shared {
		shared[i] = rng.NormFloat64()
	}
	for i := range feat {
		member := i / (n * d)
		feat[i] = float32(20 + float64(member) + shared[i%(n*d)] + 0.8*rng.NormFloat64())
	}
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
