package nas

import (
	"math"
	"testing"
)

func TestNSGA2ZDT1Hypervolume(t *testing.T) {
	n := 30
	lo, hi := make([]float64, n), make([]float64, n)
	for i := range hi {
		hi[i] = 1
	}
	zdt1 := func(x []float64) []float64 {
		s := 0.0
		for _, v := range x[1:] {
			s += v
		}
		g := 1 + 9*s/float64(n-1)
		return []float64{x[0], g * (1 - math.Sqrt(x[0]/g))}
	}
	front := NSGA2(Problem{lo, hi, zdt1}, NSGA2Options{Population: 200, Generations: 600, EtaC: 20, EtaM: 20, CrossoverProb: 0.9, Seed: 1})
	pts := make([][2]float64, len(front))
	for i, f := range front {
		pts[i] = [2]float64{f.F[0], f.F[1]}
	}
	hv := Hypervolume2D(pts, [2]float64{1, 1})
	if hv < 0.99*2.0/3 {
		t.Fatalf("hypervolume %.5f, want within 1%% of 2/3", hv)
	}
	t.Logf("ZDT1 hypervolume %.5f (optimum 0.66667)", hv)
}
