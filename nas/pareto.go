package nas

import (
	"math"
	"sort"
)

// Dominates reports whether objective vector a Pareto-dominates b under
// minimisation: a is no worse in every objective and better in at least one.
func Dominates(a, b []float64) bool {
	better := false
	for i := range a {
		if a[i] > b[i] {
			return false
		}
		if a[i] < b[i] {
			better = true
		}
	}
	return better
}

// NonDominatedSort splits the indices of objs into successive Pareto fronts
// (front 0 is the non-dominated set), using the fast non-dominated sort.
func NonDominatedSort(objs [][]float64) [][]int {
	n := len(objs)
	dominated := make([][]int, n)
	count := make([]int, n)
	var fronts [][]int
	var cur []int
	for p := 0; p < n; p++ {
		for q := 0; q < n; q++ {
			if p == q {
				continue
			}
			if Dominates(objs[p], objs[q]) {
				dominated[p] = append(dominated[p], q)
			} else if Dominates(objs[q], objs[p]) {
				count[p]++
			}
		}
		if count[p] == 0 {
			cur = append(cur, p)
		}
	}
	for len(cur) > 0 {
		fronts = append(fronts, cur)
		var next []int
		for _, p := range cur {
			for _, q := range dominated[p] {
				count[q]--
				if count[q] == 0 {
					next = append(next, q)
				}
			}
		}
		cur = next
	}
	return fronts
}

// CrowdingDistance returns the crowding distance of each member of front
// (indices into objs), in the order of front; boundary points get +Inf.
func CrowdingDistance(objs [][]float64, front []int) []float64 {
	d := make([]float64, len(front))
	if len(front) == 0 {
		return d
	}
	order := make([]int, len(front))
	for m := range objs[front[0]] {
		for i := range order {
			order[i] = i
		}
		sort.Slice(order, func(a, b int) bool { return objs[front[order[a]]][m] < objs[front[order[b]]][m] })
		lo, hi := objs[front[order[0]]][m], objs[front[order[len(order)-1]]][m]
		d[order[0]], d[order[len(order)-1]] = math.Inf(1), math.Inf(1)
		if hi == lo {
			continue
		}
		for i := 1; i < len(order)-1; i++ {
			d[order[i]] += (objs[front[order[i+1]]][m] - objs[front[order[i-1]]][m]) / (hi - lo)
		}
	}
	return d
}

// Hypervolume2D returns the area dominated by the two-objective points and
// bounded by the reference point ref (minimisation); points not strictly
// better than ref in both objectives contribute nothing.
func Hypervolume2D(points [][2]float64, ref [2]float64) float64 {
	var ps [][2]float64
	for _, p := range points {
		if p[0] < ref[0] && p[1] < ref[1] {
			ps = append(ps, p)
		}
	}
	sort.Slice(ps, func(a, b int) bool { return ps[a][0] < ps[b][0] })
	hv, bestY := 0.0, ref[1]
	for _, p := range ps {
		if p[1] >= bestY {
			continue
		}
		hv += (ref[0] - p[0]) * (bestY - p[1])
		bestY = p[1]
	}
	return hv
}
