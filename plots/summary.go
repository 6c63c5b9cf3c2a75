package plots

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/divres/divres/corrupt"
)

// Summary holds one model's headline numbers, all as fractions or ratios; NaN
// marks a value that cannot be known (no baseline and none stored in the result).
type Summary struct {
	Model      string
	Arch       string
	Params     int64
	IsBaseline bool
	// CleanError and CorruptionError are error fractions; CorruptionError is the
	// mean over the benchmark corruptions and severities.
	CleanError, CorruptionError float64
	// CorruptionAccuracy is the stored value, or 1 − CorruptionError when absent.
	CorruptionAccuracy float64
	// MCE and RelativeMCE are ratios to the baseline (1 = as resilient).
	MCE, RelativeMCE float64
	// CE and RelativeCE are per corruption.
	CE, RelativeCE map[string]float64
	// Scored is the number of corruptions the mCE averages when it was computed
	// here (15 for the full benchmark), 0 when it was read from the result.
	Scored int
}

// FindBaseline returns the index of the baseline among the results, or -1. A
// non-empty name must match a model name, or else the architecture of exactly one
// result. An empty name picks the baseline the results themselves name (their
// "baseline" field), else the one resnet50 among them, else none.
func FindBaseline(results []Result, name string) (int, error) {
	if name != "" {
		if i := matchModel(results, name); i >= 0 {
			return i, nil
		}
		var byArch []int
		for i, r := range results {
			if r.Arch == name {
				byArch = append(byArch, i)
			}
		}
		switch len(byArch) {
		case 1:
			return byArch[0], nil
		case 0:
			return -1, fmt.Errorf("baseline %q is not among the results (models: %s)", name, strings.Join(modelNames(results), ", "))
		}
		return -1, fmt.Errorf("baseline %q: %d results have that architecture; name the model", name, len(byArch))
	}
	named := ""
	for _, r := range results {
		if r.Baseline == "" {
			continue
		}
		if named != "" && named != r.Baseline {
			named = ""
			break
		}
		named = r.Baseline
	}
	if i := matchModel(results, named); named != "" && i >= 0 {
		return i, nil
	}
	found := -1
	for i, r := range results {
		if r.Model == "resnet50" || r.Arch == "resnet50" {
			if found >= 0 {
				return -1, nil
			}
			found = i
		}
	}
	return found, nil
}

func matchModel(results []Result, name string) int {
	for i, r := range results {
		if r.Model == name {
			return i
		}
	}
	return -1
}

func modelNames(results []Result) []string {
	names := make([]string, len(results))
	for i, r := range results {
		names[i] = r.Model
	}
	return names
}

// Summarize computes every model's summary. With a baseline among the results
// (base ≥ 0), CE, mCE and their relative forms are computed from the raw errors as
// DESIGN.md defines them, over the benchmark corruptions both models have; without
// one (base < 0) the values stored in the results are used.
func Summarize(results []Result, base int) []Summary {
	out := make([]Summary, len(results))
	for i, r := range results {
		s := Summary{
			Model: r.Model, Arch: r.Arch, Params: r.Params, IsBaseline: i == base,
			CleanError:      r.CleanError,
			CorruptionError: meanCorruptionError(r),
			MCE:             math.NaN(), RelativeMCE: math.NaN(),
		}
		s.CorruptionAccuracy = r.CorruptionAccuracy
		if s.CorruptionAccuracy == 0 {
			s.CorruptionAccuracy = 1 - s.CorruptionError
		}
		if base >= 0 {
			s.CE, s.RelativeCE, s.MCE, s.RelativeMCE, s.Scored = compareTo(r, results[base])
		} else {
			s.CE, s.RelativeCE = r.CE, r.RelativeCE
			if r.MCE != nil {
				s.MCE = *r.MCE
			}
			if r.RelativeMCE != nil {
				s.RelativeMCE = *r.RelativeMCE
			}
		}
		out[i] = s
	}
	return out
}

// compareTo computes CE and relative CE of r against base for every corruption
// both have complete (every severity they are evaluated at, the same for both),
// and their means, as
// corrupt.ComputeCE defines them: CE is undefined where the baseline makes no
// error, relative CE where the corruption does not raise the baseline's error;
// undefined values are left out of the maps and the means. The means run over the
// benchmark corruptions (over all common ones when there is no benchmark
// corruption in common); unlike ComputeCE they are also given when some benchmark
// corruptions are missing, and scored says how many entered the mCE.
func compareTo(r, base Result) (ce, rce map[string]float64, mce, rmce float64, scored int) {
	ce, rce = map[string]float64{}, map[string]float64{}
	sev := r.Severities()
	if !slices.Equal(sev, base.Severities()) {
		sev = nil
	}
	for c, es := range r.Errors {
		bs, ok := base.Errors[c]
		if !ok || !completeAt(es, sev) || !completeAt(bs, sev) {
			continue
		}
		v, rv, ok, rok := corrupt.CorruptionCE(es, bs, r.CleanError, base.CleanError)
		if ok {
			ce[c] = v
		}
		if rok {
			rce[c] = rv
		}
	}
	both := map[string][]float64{}
	for c := range ce {
		both[c] = nil
	}
	names := scoredCorruptions(both, nil)
	return ce, rce, meanOver(ce, names), meanOver(rce, names), len(names)
}

// meanOver averages m over the names it has; NaN when it has none of them.
func meanOver(m map[string]float64, names []string) float64 {
	sum, n := 0.0, 0
	for _, c := range names {
		if v, ok := m[c]; ok {
			sum += v
			n++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return sum / float64(n)
}

// SortSummaries orders summaries from most to least resilient: by relative mCE,
// then mCE, then mean corruption error, then name; unknown (NaN) values last.
func SortSummaries(ss []Summary) {
	sort.SliceStable(ss, func(i, j int) bool {
		a, b := ss[i], ss[j]
		for _, k := range [][2]float64{{a.RelativeMCE, b.RelativeMCE}, {a.MCE, b.MCE}, {a.CorruptionError, b.CorruptionError}} {
			if c := cmpNaNLast(k[0], k[1]); c != 0 {
				return c < 0
			}
		}
		return a.Model < b.Model
	})
}

// cmpNaNLast compares two values with NaN after every number.
func cmpNaNLast(a, b float64) int {
	switch na, nb := math.IsNaN(a), math.IsNaN(b); {
	case na && nb:
		return 0
	case na:
		return 1
	case nb:
		return -1
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
