package nas

import (
	"fmt"
	"testing"
)

// TestNSGA2IntFront: on x ∈ {0…20}², f = (x0, 20 − x0 + x1) the Pareto front is
// x1 = 0 (21 points); the final population holds all of it, without duplicates,
// and no solution is evaluated twice.
func TestNSGA2IntFront(t *testing.T) {
	evals := map[string]int{}
	p := IntProblem{Lower: []int{0, 0}, Upper: []int{20, 20},
		Evaluate: func(x []int) ([]float64, error) {
			evals[fmt.Sprint(x)]++
			return []float64{float64(x[0]), float64(20 - x[0] + x[1])}, nil
		}}
	r, err := NSGA2Int(p, NSGA2Options{Population: 40, Generations: 40, EtaC: 15, EtaM: 20, CrossoverProb: 0.9, Seed: 1}, [][]int{{20, 20}})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	front := 0
	for _, ind := range r.Population {
		k := fmt.Sprint(ind.X)
		if seen[k] {
			t.Fatalf("duplicate %s in the population", k)
		}
		seen[k] = true
		if ind.X[1] == 0 {
			front++
		}
	}
	if front != 21 {
		t.Fatalf("%d of the 21 front points in the final population", front)
	}
	for k, n := range evals {
		if n > 1 {
			t.Fatalf("%s evaluated %d times", k, n)
		}
	}
	if len(r.Evaluated) != len(evals) {
		t.Fatalf("%d evaluations recorded, %d made", len(r.Evaluated), len(evals))
	}
	// Normalize merges equivalent vectors: with x1 ignored only 21 solutions exist,
	// fewer than the population.
	p.Normalize = func(x []int) []int { return []int{x[0], 0} }
	r, err = NSGA2Int(p, NSGA2Options{Population: 40, Generations: 3, EtaC: 15, EtaM: 20, CrossoverProb: 0.9, Seed: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Population) != 21 {
		t.Fatalf("population of %d distinct solutions, want 21", len(r.Population))
	}
}
