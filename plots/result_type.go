package plots

import "github.com/divres/divres/corrupt"

// Result is one model's evaluation on the corruption benchmark, as the eval stage
// writes it (corrupt.Result). Errors are fractions in [0, 1], with
// corrupt.NotEvaluated (−1) for a severity that was not measured; CE and mCE
// values are ratios (1 = the baseline).
type Result = corrupt.Result

// evaluated reports whether an error cell holds a measurement.
func evaluated(e float64) bool { return e >= 0 }

// completeAt reports whether a row holds an error at every severity of sev (the
// severities its result is evaluated at, Result.Severities).
func completeAt(es []float64, sev []int) bool {
	for _, s := range sev {
		if len(es) < s || !evaluated(es[s-1]) {
			return false
		}
	}
	return len(sev) > 0
}
