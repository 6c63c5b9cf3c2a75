package plots

import (
	"math"
	"sort"

	"github.com/divres/divres/corrupt"
)

// Families lists the corruption families in the order the figures show them.
var Families = []string{"noise", "blur", "weather", "digital"}

// benchmarkFamily is the grouping of the 15 benchmark corruptions (Hendrycks &
// Dietterich 2019); extraFamily places the 4 extra corruptions.
var (
	benchmarkFamily = map[string]string{
		"gaussian_noise": "noise", "shot_noise": "noise", "impulse_noise": "noise",
		"defocus_blur": "blur", "glass_blur": "blur", "motion_blur": "blur", "zoom_blur": "blur",
		"snow": "weather", "frost": "weather", "fog": "weather", "brightness": "weather",
		"contrast": "digital", "elastic_transform": "digital", "pixelate": "digital", "jpeg_compression": "digital",
	}
	extraFamily = map[string]string{
		"speckle_noise": "noise", "gaussian_blur": "blur", "spatter": "weather", "saturate": "digital",
	}
)

// FamilyOf returns the family of a corruption and whether it is one of the 15
// benchmark corruptions; the family is "" for a corruption divres does not know.
func FamilyOf(corruption string) (family string, benchmark bool) {
	if f, ok := benchmarkFamily[corruption]; ok {
		return f, true
	}
	return extraFamily[corruption], false
}

// FamilyErrors returns a result's error against severity for one family: index 0
// is the clean error, 1..5 the mean over the family's corruptions at that
// severity (NaN where none was evaluated). The family's benchmark corruptions are
// averaged, those with every severity evaluated when there are any; its extra
// ones only when the result has none of the benchmark ones. ok is false when the
// result has no corruption of the family.
func FamilyErrors(r Result, family string) (errs [severities + 1]float64, ok bool) {
	cs := familyCorruptions(r, family)
	if len(cs) == 0 {
		return errs, false
	}
	errs[0] = r.CleanError
	for s := 1; s <= severities; s++ {
		sum, n := 0.0, 0
		for _, c := range cs {
			if e := r.Errors[c][s-1]; evaluated(e) {
				sum += e
				n++
			}
		}
		errs[s] = math.NaN()
		if n > 0 {
			errs[s] = sum / float64(n)
		}
	}
	return errs, true
}

// familyCorruptions lists the corruptions of r that count for a family average:
// the benchmark ones (the extra ones when there is none), and of those only the
// complete rows when there are any, so that a severity missing from one
// corruption does not bend the curve.
func familyCorruptions(r Result, family string) []string {
	var bench, extra []string
	for c := range r.Errors {
		f, b := FamilyOf(c)
		switch {
		case f != family:
		case b:
			bench = append(bench, c)
		default:
			extra = append(extra, c)
		}
	}
	if len(bench) == 0 {
		bench = extra
	}
	var full []string
	sev := r.Severities()
	for _, c := range bench {
		if completeAt(r.Errors[c], sev) {
			full = append(full, c)
		}
	}
	if len(full) > 0 {
		bench = full
	}
	sort.Strings(bench)
	return bench
}

// meanCorruptionError is the mean error over the evaluated severities of the
// benchmark corruptions of r (of all its corruptions when it has none of those).
func meanCorruptionError(r Result) float64 {
	var all []float64
	for _, c := range scoredCorruptions(r.Errors, nil) {
		all = append(all, r.Errors[c]...)
	}
	return meanEvaluated(all)
}

// meanEvaluated is the mean of the evaluated cells of es; NaN when there is none.
func meanEvaluated(es []float64) float64 {
	sum, n := 0.0, 0
	for _, e := range es {
		if evaluated(e) {
			sum += e
			n++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return sum / float64(n)
}

// scoredCorruptions lists the corruptions a mean runs over: those of a present in
// b too (b nil: all of a), restricted to the benchmark ones when there are any.
func scoredCorruptions(a, b map[string][]float64) []string {
	var bench, all []string
	for c := range a {
		if b != nil {
			if _, ok := b[c]; !ok {
				continue
			}
		}
		all = append(all, c)
		if _, ok := benchmarkFamily[c]; ok {
			bench = append(bench, c)
		}
	}
	if len(bench) == 0 {
		bench = all
	}
	sort.Strings(bench)
	return bench
}

// corruptionOrder sorts corruption names as the benchmark does: the 19 known
// corruptions in their index order (which groups the 15 by family), then unknown
// names alphabetically.
func corruptionOrder(names []string) []string {
	index := map[string]int{}
	for i, n := range corrupt.Names {
		index[n] = i
	}
	out := append([]string(nil), names...)
	sort.SliceStable(out, func(i, j int) bool {
		a, okA := index[out[i]]
		b, okB := index[out[j]]
		switch {
		case okA && okB:
			return a < b
		case okA != okB:
			return okA
		}
		return out[i] < out[j]
	})
	return out
}
