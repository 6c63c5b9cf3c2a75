package nas

import (
	"fmt"
	"math"
	"math/rand"
)

// IntProblem is a box-bounded multi-objective minimisation problem over integer
// vectors.
type IntProblem struct {
	Lower, Upper []int
	// Normalize maps a vector to its canonical form (nil: the identity); vectors
	// with the same canonical form are the same solution, evaluated once and kept
	// once in a population.
	Normalize func(x []int) []int
	Evaluate  func(x []int) ([]float64, error)
}

// IntIndividual is an integer solution with its objectives.
type IntIndividual struct {
	X []int
	F []float64
}

// IntResult is the outcome of NSGA2Int.
type IntResult struct {
	// Population is the final population, best front first.
	Population []IntIndividual
	// Evaluated holds every distinct solution evaluated, in order of evaluation.
	Evaluated []IntIndividual
}

// NSGA2Int runs NSGA-II over integer vectors: SBX crossover and polynomial
// mutation (o.EtaC, o.EtaM, o.CrossoverProb, mutation probability 1/len) act on the
// integers as reals over [lower−0.5, upper+0.5) and the children are rounded back,
// so every integer of the range is equally reachable. Duplicates are removed: a
// child equal (after Normalize) to a member of the population or to another child
// is redrawn, up to 50 times, and then replaced by a uniformly random new
// solution when one exists. initial seeds the first population (e.g. the full
// network); the rest is uniform. Evaluations are cached by canonical form.
func NSGA2Int(p IntProblem, o NSGA2Options, initial [][]int) (*IntResult, error) {
	n := len(p.Lower)
	if n == 0 || len(p.Upper) != n {
		return nil, fmt.Errorf("nsga2: %d lower and %d upper bounds", len(p.Lower), len(p.Upper))
	}
	for j := range p.Lower {
		if p.Lower[j] > p.Upper[j] {
			return nil, fmt.Errorf("nsga2: variable %d has bounds %d > %d", j, p.Lower[j], p.Upper[j])
		}
	}
	if o.Population < 2 {
		return nil, fmt.Errorf("nsga2: population %d (want ≥ 2)", o.Population)
	}
	norm := func(x []int) []int {
		if p.Normalize != nil {
			return p.Normalize(x)
		}
		return append([]int(nil), x...)
	}
	key := func(x []int) string { return fmt.Sprint(x) }
	rng := rand.New(rand.NewSource(o.Seed))
	res := &IntResult{}
	cache := map[string][]float64{}
	eval := func(x []int) (IntIndividual, error) {
		x = norm(x)
		k := key(x)
		if f, ok := cache[k]; ok {
			return IntIndividual{x, f}, nil
		}
		f, err := p.Evaluate(x)
		if err != nil {
			return IntIndividual{}, err
		}
		cache[k] = f
		res.Evaluated = append(res.Evaluated, IntIndividual{x, f})
		return IntIndividual{x, f}, nil
	}
	randomX := func() []int {
		x := make([]int, n)
		for j := range x {
			x[j] = p.Lower[j] + rng.Intn(p.Upper[j]-p.Lower[j]+1)
		}
		return norm(x)
	}
	// fresh draws a random solution not in seen (nil when 200 draws fail: the
	// space is nearly exhausted).
	fresh := func(seen map[string]bool) []int {
		for range 200 {
			if x := randomX(); !seen[key(x)] {
				return x
			}
		}
		return nil
	}
	seen := map[string]bool{}
	var pop []IntIndividual
	for _, x := range initial {
		x = norm(x)
		if len(pop) < o.Population && !seen[key(x)] {
			seen[key(x)] = true
			ind, err := eval(x)
			if err != nil {
				return nil, err
			}
			pop = append(pop, ind)
		}
	}
	for len(pop) < o.Population {
		x := fresh(seen)
		if x == nil {
			break
		}
		seen[key(x)] = true
		ind, err := eval(x)
		if err != nil {
			return nil, err
		}
		pop = append(pop, ind)
	}
	if len(pop) < 2 {
		return nil, fmt.Errorf("nsga2: the space has fewer than 2 distinct solutions")
	}
	fp := Problem{Lower: make([]float64, n), Upper: make([]float64, n)}
	for j := range fp.Lower {
		fp.Lower[j], fp.Upper[j] = float64(p.Lower[j])-0.5, float64(p.Upper[j])+0.5-1e-9
	}
	toF := func(x []int) []float64 {
		v := make([]float64, n)
		for j := range x {
			v[j] = float64(x[j])
		}
		return v
	}
	toI := func(v []float64) []int {
		x := make([]int, n)
		for j := range v {
			x[j] = min(p.Upper[j], max(p.Lower[j], int(math.Round(v[j]))))
		}
		return norm(x)
	}
	for g := 0; g < o.Generations; g++ {
		ipop := make([]Individual, len(pop))
		for i := range pop {
			ipop[i] = Individual{X: toF(pop[i].X), F: pop[i].F}
		}
		rank, crowd := rankCrowd(ipop)
		pick := tournament(rng, rank, crowd)
		inGen := map[string]bool{}
		for _, ind := range pop {
			inGen[key(ind.X)] = true
		}
		var kids []IntIndividual
		for len(kids) < o.Population {
			var child []int
			for try := 0; try < 50 && child == nil; try++ {
				c1, c2 := sbx(ipop[pick()].X, ipop[pick()].X, fp, o, rng)
				for _, c := range [][]float64{c1, c2} {
					mutate(c, fp, o, rng)
					if x := toI(c); !inGen[key(x)] {
						child = x
						break
					}
				}
			}
			if child == nil {
				if child = fresh(inGen); child == nil {
					break
				}
			}
			inGen[key(child)] = true
			ind, err := eval(child)
			if err != nil {
				return nil, err
			}
			kids = append(kids, ind)
		}
		all := append(append([]IntIndividual{}, pop...), kids...)
		objs := make([][]float64, len(all))
		for i := range all {
			objs[i] = all[i].F
		}
		next := make([]IntIndividual, 0, o.Population)
		for _, i := range survivors(objs, o.Population) {
			next = append(next, all[i])
		}
		pop = next
	}
	objs := make([][]float64, len(pop))
	for i := range pop {
		objs[i] = pop[i].F
	}
	var sorted []IntIndividual
	for _, f := range NonDominatedSort(objs) {
		for _, i := range f {
			sorted = append(sorted, pop[i])
		}
	}
	res.Population = sorted
	return res, nil
}
