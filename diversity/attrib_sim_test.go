package diversity

import (
	"math"
	"math/rand/v2"
	"testing"
)

// AttributionSimilarity (unit vectors per map and sample, one dot product per
// pair) equals the mean over samples of the pairwise SpearmanSimilarity and
// Cosine, on maps with ties, a constant map (skipped) and a zero map.
func TestAttributionSimilarityMatchesPairwise(t *testing.T) {
	const m, n, size = 4, 6, 30
	rng := rand.New(rand.NewPCG(9, 10))
	a := make([]float32, m*n*size)
	for i := range a {
		a[i] = float32(rng.IntN(7)) - 3 // many ties
	}
	for t := 0; t < size; t++ {
		a[(1*n+2)*size+t] = 2 // member 1, sample 2: constant
		a[(3*n+4)*size+t] = 0 // member 3, sample 4: zero
	}
	for _, method := range []string{"spearman", "cosine"} {
		f := Cosine
		if method == "spearman" {
			f = SpearmanSimilarity
		}
		sim, skipped := AttributionSimilarity(a, m, n, size, method)
		wantSkipped := 0
		for i := 0; i < m; i++ {
			if sim[i][i] != 1 {
				t.Errorf("%s: diagonal %v", method, sim[i][i])
			}
			for k := i + 1; k < m; k++ {
				var s float64
				cnt := 0
				for j := 0; j < n; j++ {
					v := f(a[(i*n+j)*size:(i*n+j+1)*size], a[(k*n+j)*size:(k*n+j+1)*size])
					if math.IsNaN(v) {
						wantSkipped++
						continue
					}
					s += v
					cnt++
				}
				want := s / float64(cnt)
				if math.Abs(sim[i][k]-want) > 1e-12 || sim[k][i] != sim[i][k] {
					t.Errorf("%s [%d][%d]: %v, pairwise %v", method, i, k, sim[i][k], want)
				}
			}
		}
		if skipped != wantSkipped || skipped == 0 {
			t.Errorf("%s: %d skipped, pairwise %d", method, skipped, wantSkipped)
		}
	}
}

// Ranks gives tied values their mean rank and ranks NaNs first, tied.
func TestRanksTiesAndNaN(t *testing.T) {
	got := Ranks([]float64{3, 1, 3, math.NaN(), 2, math.NaN()})
	want := []float64{5.5, 3, 5.5, 1.5, 4, 1.5}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("ranks %v, want %v", got, want)
		}
	}
}
