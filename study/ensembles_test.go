package study

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/divres/divres/diversity"
)

// The ensembles are the k-subsets of the first seeds plus those of each
// homogeneous group, never mixing a group's later seeds with other architectures.
func TestEnsembleSubsets(t *testing.T) {
	p := poolLayout{hetero: []int{0, 1, 2, 3}, homo: [][]int{{0, 4, 5}}}
	subs, err := p.subsets(EnsembleRecipe{KMin: 2, KMax: 3})
	if err != nil {
		t.Fatal(err)
	}
	// C(4,2)+C(4,3) heterogeneous, C(3,2)+C(3,3) homogeneous.
	if len(subs) != 6+4+3+1 {
		t.Fatalf("%d ensembles, want 14", len(subs))
	}
	for _, s := range subs[10:] {
		for _, m := range s {
			if m != 0 && m != 4 && m != 5 {
				t.Fatalf("homogeneous ensemble %v holds another architecture", s)
			}
		}
	}
}

// Relative mCE is better when lower: a negative ρ supports finding 2 for it, a
// positive one for accuracy.
func TestFindingTwoDirection(t *testing.T) {
	est := func(v, lo, hi float64) diversity.Estimate { return diversity.Estimate{Value: v, Low: lo, High: hi} }
	table := []diversity.CorrRow{
		{Diversity: "disagreement", Target: "accuracy", Correlation: diversity.Correlation{N: 9, Spearman: est(0.8, 0.5, 0.95)}},
		{Diversity: "disagreement", Target: "relative_mce", Correlation: diversity.Correlation{N: 9, Spearman: est(0.8, 0.5, 0.95)}},
	}
	cells := findingTwoCells(table)
	if len(cells) != 2 || cells[0].Verdict != Supported || cells[1].Verdict != Contradicted {
		t.Fatalf("cells %+v", cells)
	}
}

// An ensemble's attribution similarity from the pool's pairwise matrix equals
// diversity.Compute on the ensemble's own maps.
func TestAttributionFromPoolPairs(t *testing.T) {
	const m, n, size = 4, 5, 6
	rng := rand.New(rand.NewPCG(3, 9))
	all := make([]float32, m*n*size)
	for i := range all {
		all[i] = float32(rng.NormFloat64())
	}
	for _, meth := range []string{"cosine", "spearman"} {
		sim, _ := diversity.AttributionSimilarity(all, m, n, size, meth)
		sub := []int{0, 2, 3}
		var a []float32
		for _, k := range sub {
			a = append(a, all[k*n*size:(k+1)*n*size]...)
		}
		probs := make([]float32, len(sub)*n*2)
		for i := range probs {
			probs[i] = 0.5
		}
		rep, err := diversity.Compute(diversity.Inputs{M: len(sub), N: n, C: 2, Probs: probs, Labels: make([]int64, n),
			Attributions: a, AttrSize: size}, diversity.Options{Metrics: []string{"attribution_" + meth}})
		if err != nil {
			t.Fatal(err)
		}
		want, _ := rep.Float("attribution_" + meth)
		if got := meanPairs(sim, sub); math.Abs(got-want) > 1e-12 {
			t.Errorf("%s: %v from the pool's pairs, %v from Compute", meth, got, want)
		}
	}
}
