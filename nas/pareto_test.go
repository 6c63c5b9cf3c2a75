package nas

import (
	"math"
	"testing"
)

func TestNonDominatedSort(t *testing.T) {
	objs := [][]float64{{1, 4}, {2, 2}, {4, 1}, {3, 3}, {5, 5}, {2, 2}}
	f := NonDominatedSort(objs)
	want := [][]int{{0, 1, 2, 5}, {3}, {4}}
	if len(f) != len(want) {
		t.Fatalf("fronts %v, want %v", f, want)
	}
	for i := range want {
		if len(f[i]) != len(want[i]) {
			t.Fatalf("front %d = %v, want %v", i, f[i], want[i])
		}
		for j := range want[i] {
			if f[i][j] != want[i][j] {
				t.Fatalf("front %d = %v, want %v", i, f[i], want[i])
			}
		}
	}
}

func TestCrowdingDistance(t *testing.T) {
	objs := [][]float64{{0, 4}, {1, 2}, {4, 0}}
	d := CrowdingDistance(objs, []int{0, 1, 2})
	if !math.IsInf(d[0], 1) || !math.IsInf(d[2], 1) || math.Abs(d[1]-2) > 1e-12 {
		t.Fatalf("crowding %v, want [+Inf 2 +Inf]", d)
	}
}

func TestHypervolume2DZDT1Front(t *testing.T) {
	// ZDT1's optimal front f2 = 1 - sqrt(f1) with reference (1,1) has
	// hypervolume ∫ sqrt(x) dx = 2/3; a fine sampling must approach it from below.
	n := 2001
	pts := make([][2]float64, n)
	for i := range pts {
		x := float64(i) / float64(n-1)
		pts[i] = [2]float64{x, 1 - math.Sqrt(x)}
	}
	hv := Hypervolume2D(pts, [2]float64{1.0000001, 1.0000001})
	if hv > 2.0/3+1e-6 || hv < 2.0/3-2e-3 {
		t.Fatalf("hypervolume %v, want about 2/3", hv)
	}
	if got := Hypervolume2D([][2]float64{{0.5, 0.5}, {0.6, 0.6}}, [2]float64{1, 1}); math.Abs(got-0.25) > 1e-12 {
		t.Fatalf("dominated point counted: %v", got)
	}
}
