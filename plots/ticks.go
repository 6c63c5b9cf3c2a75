package plots

import (
	"math"
	"strconv"

	"gonum.org/v1/plot"
)

// niceTicks places about Target labelled ticks at round steps (1, 2, 2.5 or 5
// times a power of ten) and labels them with no more decimals than the step needs.
type niceTicks struct {
	Target int // default 6
	Suffix string
}

// Ticks implements plot.Ticker.
func (t niceTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(hi > lo) || math.IsInf(lo, 0) || math.IsInf(hi, 0) {
		return nil
	}
	target := t.Target
	if target <= 0 {
		target = 6
	}
	step := niceStep((hi - lo) / float64(target))
	if !(step > 0) || math.IsInf(step, 0) {
		return nil
	}
	dec := 0
	for s := step; s < 1 && dec < 6; s *= 10 {
		dec++
	}
	if f := step * math.Pow(10, float64(dec)); math.Abs(f-math.Round(f)) > 1e-9 {
		dec++ // 2.5 × 10^k needs one more decimal
	}
	var ticks []plot.Tick
	first := math.Ceil(lo/step - 1e-9)
	for k := 0.0; k <= 4*float64(target); k++ {
		v := (first + k) * step
		if v > hi+step*1e-9 {
			break
		}
		if math.Abs(v) < step*1e-9 {
			v = 0
		}
		ticks = append(ticks, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', dec, 64) + t.Suffix})
	}
	return ticks
}

// niceStep rounds a raw step up to 1, 2, 2.5 or 5 times a power of ten.
func niceStep(raw float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*p >= raw*(1-1e-9) {
			return m * p
		}
	}
	return 10 * p
}
