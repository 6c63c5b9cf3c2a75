package nas

import (
	"math"
	"math/rand"
	"sort"
)

// Problem is a box-bounded multi-objective minimisation problem.
type Problem struct {
	Lower, Upper []float64                   // bounds per variable
	Evaluate     func(x []float64) []float64 // objective vector of x
}

// NSGA2Options configure the search.
type NSGA2Options struct {
	Population, Generations int
	EtaC, EtaM              float64 // SBX and polynomial-mutation distribution indices
	CrossoverProb           float64
	Seed                    int64
}

// Individual is a decision vector with its objectives.
type Individual struct {
	X, F []float64
}

// NSGA2 runs the elitist non-dominated sorting genetic algorithm with SBX
// crossover and polynomial mutation and returns the final population's first front.
func NSGA2(p Problem, o NSGA2Options) []Individual {
	rng := rand.New(rand.NewSource(o.Seed))
	n := len(p.Lower)
	pop := make([]Individual, o.Population)
	for i := range pop {
		x := make([]float64, n)
		for j := range x {
			x[j] = p.Lower[j] + rng.Float64()*(p.Upper[j]-p.Lower[j])
		}
		pop[i] = Individual{x, p.Evaluate(x)}
	}
	rank, crowd := rankCrowd(pop)
	for g := 0; g < o.Generations; g++ {
		pick := tournament(rng, rank, crowd)
		kids := make([]Individual, 0, o.Population)
		for len(kids) < o.Population {
			c1, c2 := sbx(pop[pick()].X, pop[pick()].X, p, o, rng)
			for _, c := range [][]float64{c1, c2} {
				mutate(c, p, o, rng)
				if len(kids) < o.Population {
					kids = append(kids, Individual{c, p.Evaluate(c)})
				}
			}
		}
		all := append(append([]Individual{}, pop...), kids...)
		objs := make([][]float64, len(all))
		for i := range all {
			objs[i] = all[i].F
		}
		next := make([]Individual, 0, o.Population)
		for _, i := range survivors(objs, o.Population) {
			next = append(next, all[i])
		}
		pop = next
		rank, crowd = rankCrowd(pop)
	}
	var front []Individual
	for i := range pop {
		if rank[i] == 0 {
			front = append(front, pop[i])
		}
	}
	return front
}

// tournament returns a binary tournament over a population of len(rank):
// the lower rank wins, then the larger crowding distance.
func tournament(rng *rand.Rand, rank []int, crowd []float64) func() int {
	return func() int {
		a, b := rng.Intn(len(rank)), rng.Intn(len(rank))
		if rank[a] < rank[b] || (rank[a] == rank[b] && crowd[a] > crowd[b]) {
			return a
		}
		return b
	}
}

// survivors returns the indices of the size solutions of objs that NSGA-II's
// environmental selection keeps: whole fronts in rank order, then the least
// crowded solutions of the first front that does not fit.
func survivors(objs [][]float64, size int) []int {
	next := make([]int, 0, size)
	for _, f := range NonDominatedSort(objs) {
		if len(next)+len(f) <= size {
			next = append(next, f...)
			continue
		}
		d := CrowdingDistance(objs, f)
		idx := make([]int, len(f))
		for i := range idx {
			idx[i] = i
		}
		sort.SliceStable(idx, func(a, b int) bool { return d[idx[a]] > d[idx[b]] })
		for _, i := range idx[:size-len(next)] {
			next = append(next, f[i])
		}
		break
	}
	return next
}

func rankCrowd(pop []Individual) ([]int, []float64) {
	objs := make([][]float64, len(pop))
	for i := range pop {
		objs[i] = pop[i].F
	}
	rank := make([]int, len(pop))
	crowd := make([]float64, len(pop))
	for r, f := range NonDominatedSort(objs) {
		d := CrowdingDistance(objs, f)
		for k, i := range f {
			rank[i], crowd[i] = r, d[k]
		}
	}
	return rank, crowd
}

func sbx(a, b []float64, p Problem, o NSGA2Options, rng *rand.Rand) ([]float64, []float64) {
	c1, c2 := append([]float64{}, a...), append([]float64{}, b...)
	if rng.Float64() > o.CrossoverProb {
		return c1, c2
	}
	for j := range c1 {
		if rng.Float64() > 0.5 {
			continue
		}
		u := rng.Float64()
		var beta float64
		if u <= 0.5 {
			beta = math.Pow(2*u, 1/(o.EtaC+1))
		} else {
			beta = math.Pow(1/(2*(1-u)), 1/(o.EtaC+1))
		}
		x1, x2 := a[j], b[j]
		c1[j] = clamp(0.5*((1+beta)*x1+(1-beta)*x2), p.Lower[j], p.Upper[j])
		c2[j] = clamp(0.5*((1-beta)*x1+(1+beta)*x2), p.Lower[j], p.Upper[j])
	}
	return c1, c2
}

func mutate(x []float64, p Problem, o NSGA2Options, rng *rand.Rand) {
	pm := 1 / float64(len(x))
	for j := range x {
		if rng.Float64() >= pm {
			continue
		}
		u := rng.Float64()
		var delta float64
		if u < 0.5 {
			delta = math.Pow(2*u, 1/(o.EtaM+1)) - 1
		} else {
			delta = 1 - math.Pow(2*(1-u), 1/(o.EtaM+1))
		}
		x[j] = clamp(x[j]+delta*(p.Upper[j]-p.Lower[j]), p.Lower[j], p.Upper[j])
	}
}

func clamp(v, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, v)) }
