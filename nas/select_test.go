package nas

import (
	"math"
	"slices"
	"testing"
)

// TestMostDiverse: exhaustive and greedy choices on a matrix whose most diverse
// triple is known; meanPairs averages both directions.
func TestMostDiverse(t *testing.T) {
	n := 6
	mat := make([][]float64, n)
	for i := range mat {
		mat[i] = make([]float64, n)
		for k := range mat[i] {
			mat[i][k] = 0.1
		}
		mat[i][i] = math.NaN()
	}
	for _, p := range [][2]int{{1, 3}, {1, 4}, {3, 4}} {
		mat[p[0]][p[1]], mat[p[1]][p[0]] = 0.9, 0.7
	}
	if got := mostDiverse(mat, 3); !slices.Equal(got, []int{1, 3, 4}) {
		t.Fatalf("most diverse triple %v, want [1 3 4]", got)
	}
	if v := meanPairs(mat, []int{1, 3, 4}); math.Abs(v-0.8) > 1e-12 {
		t.Fatalf("mean pairwise %v, want 0.8", v)
	}
	if v := meanPairs(mat, []int{0, 2}); math.Abs(v-0.1) > 1e-12 {
		t.Fatalf("mean pairwise %v, want 0.1", v)
	}
}
