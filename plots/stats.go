package plots

import (
	"math"

	"github.com/divres/divres/diversity"
)

// pearson is the Pearson correlation of x and y; NaN with fewer than two points
// or a constant series.
func pearson(x, y []float64) float64 {
	n := len(x)
	if n < 2 || len(y) != n {
		return math.NaN()
	}
	var mx, my float64
	for i := range x {
		mx += x[i]
		my += y[i]
	}
	mx /= float64(n)
	my /= float64(n)
	var sxy, sxx, syy float64
	for i := range x {
		dx, dy := x[i]-mx, y[i]-my
		sxy += dx * dy
		sxx += dx * dx
		syy += dy * dy
	}
	if sxx == 0 || syy == 0 {
		return math.NaN()
	}
	return sxy / math.Sqrt(sxx*syy)
}

// spearman is the Spearman rank correlation: Pearson's on ranks, ties sharing
// their mean rank.
func spearman(x, y []float64) float64 {
	return pearson(diversity.Ranks(x), diversity.Ranks(y))
}
