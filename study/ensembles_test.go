package study

import (
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
