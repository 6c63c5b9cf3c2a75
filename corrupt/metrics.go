package corrupt

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/divres/divres/internal/atomicfile"
)

// Result is the evaluation of one model on the corruption benchmark: the interchange
// format between evaluation (ensemble, divres eval) and the figures (plots). Errors
// are fractions in [0, 1].
//
// Errors[c][s-1] is E(f, s, c) for severities s = 1..5. A negative entry means that
// severity was not evaluated (NotEvaluated). A result may be evaluated at a subset
// of the severities (Severities): the metrics then sum and average over that
// subset, the same for every corruption, and refuse rows that lack one of its
// severities and comparisons with a baseline evaluated at another subset. With
// all five severities they are the benchmark's definitions.
type Result struct {
	Model       string               `json:"model"` // display name, e.g. "resnet18" or "resnet18_w0.25"
	Arch        string               `json:"arch"`
	Style       string               `json:"style"`
	Width       float64              `json:"width"`
	Params      int64                `json:"params"`
	Dataset     string               `json:"dataset"`
	Corruptions string               `json:"corruptions"` // source of the corrupted sets (dir or "generated seed=N rng=…")
	CleanError  float64              `json:"clean_error"` // E(f, clean)
	Errors      map[string][]float64 `json:"errors"`      // corruption → E(f,s,c) for severities 1..5
	// CorruptionAccuracy is the mean accuracy over the 15 benchmark corruptions × 5
	// severities.
	CorruptionAccuracy float64 `json:"corruption_accuracy"`
	// Baseline names the model whose errors normalise CE (see ComputeCE).
	Baseline    string             `json:"baseline,omitempty"`
	CE          map[string]float64 `json:"ce,omitempty"`
	RelativeCE  map[string]float64 `json:"relative_ce,omitempty"`
	MCE         *float64           `json:"mce,omitempty"`          // over the 15 benchmark corruptions
	RelativeMCE *float64           `json:"relative_mce,omitempty"` // over the benchmark corruptions where it is defined
}

// NumSeverities is the number of severities of the benchmark.
const NumSeverities = 5

// NotEvaluated marks a severity without a measured error in Result.Errors.
const NotEvaluated = -1.0

// ErrIncomplete is wrapped by the metric functions when benchmark corruptions or
// severities are missing: the values that could be computed are still filled in.
var ErrIncomplete = errors.New("incomplete corruption results")

// BenchmarkNames returns the names of the 15 benchmark corruptions in index order.
func BenchmarkNames() []string { return append([]string(nil), Names[:15]...) }

// isBenchmarkName reports whether name is one of the 15 benchmark corruptions.
func isBenchmarkName(name string) bool {
	for _, n := range Names[:15] {
		if n == name {
			return true
		}
	}
	return false
}

// validError reports whether v is an error rate.
func validError(v float64) bool { return v >= 0 && v <= 1 && !math.IsNaN(v) }

// Severities returns the severities (1..5) r is evaluated at: those with an
// error in at least one corruption's row.
func (r Result) Severities() []int {
	var out []int
	for s := 1; s <= NumSeverities; s++ {
		for _, es := range r.Errors {
			if len(es) >= s && es[s-1] >= 0 {
				out = append(out, s)
				break
			}
		}
	}
	return out
}

// row returns the five errors of corruption c of r (NotEvaluated outside
// r.Severities), or an error naming what is missing or invalid.
func (r *Result) row(c string) ([]float64, error) {
	es, ok := r.Errors[c]
	if !ok {
		return nil, fmt.Errorf("%s: no results for %s: %w", r.name(), c, ErrIncomplete)
	}
	if len(es) != NumSeverities {
		return nil, fmt.Errorf("%s: %s has %d severities, want %d", r.name(), c, len(es), NumSeverities)
	}
	var missing []string
	sev := r.Severities()
	for s, v := range es {
		switch {
		case v < 0 && slices.Contains(sev, s+1):
			missing = append(missing, strconv.Itoa(s+1))
		case v < 0:
		case !validError(v):
			return nil, fmt.Errorf("%s: %s severity %d: error %v not in [0, 1]", r.name(), c, s+1, v)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%s: %s severities %s not evaluated: %w", r.name(), c, strings.Join(missing, ","), ErrIncomplete)
	}
	return es, nil
}

func (r *Result) name() string {
	if r.Model == "" {
		return "result"
	}
	return r.Model
}

// sortedCorruptions returns the corruptions of errs in index order (unknown names
// last, alphabetically).
func sortedCorruptions(errs map[string][]float64) []string {
	idx := map[string]int{}
	for i, n := range Names {
		idx[n] = i
	}
	out := make([]string, 0, len(errs))
	for c := range errs {
		out = append(out, c)
	}
	sort.Slice(out, func(a, b int) bool {
		ia, oka := idx[out[a]]
		ib, okb := idx[out[b]]
		switch {
		case oka && okb:
			return ia < ib
		case oka != okb:
			return oka
		}
		return out[a] < out[b]
	})
	return out
}

// FillCorruptionAccuracy sets r.CorruptionAccuracy to 1 − the mean of E(f, s, c)
// over the 15 benchmark corruptions and 5 severities. When some are missing it uses
// the cells that are present (0 when there is none) and returns an error wrapping
// ErrIncomplete.
func (r *Result) FillCorruptionAccuracy() error {
	acc, err := r.corruptionAccuracy()
	if acc >= 0 {
		r.CorruptionAccuracy = acc
	}
	return err
}

func (r *Result) corruptionAccuracy() (float64, error) {
	var sum float64
	var n int
	var missing []string
	sev := r.Severities()
	for _, c := range Names[:15] {
		es, ok := r.Errors[c]
		if !ok || len(es) != NumSeverities {
			missing = append(missing, c)
			continue
		}
		for s, v := range es {
			if v < 0 {
				if slices.Contains(sev, s+1) {
					missing = append(missing, fmt.Sprintf("%s/%d", c, s+1))
				}
				continue
			}
			if !validError(v) {
				return -1, fmt.Errorf("%s: %s severity %d: error %v not in [0, 1]", r.name(), c, s+1, v)
			}
			sum += v
			n++
		}
	}
	acc := 0.0
	if n > 0 {
		acc = 1 - sum/float64(n)
	}
	if len(missing) > 0 {
		return acc, fmt.Errorf("%s: corruption accuracy without %s: %w", r.name(), strings.Join(missing, ", "), ErrIncomplete)
	}
	return acc, nil
}

// ComputeCE fills r's CE, RelativeCE, MCE, RelativeMCE and Baseline from the
// baseline result base (DESIGN.md, Metrics):
//
//	CE(f,c)          = Σ_s E(f,s,c) / Σ_s E(base,s,c)
//	relative CE(f,c) = Σ_s (E(f,s,c) − E(f,clean)) / Σ_s (E(base,s,c) − E(base,clean))
//
// mCE and relative mCE are the means over the 15 benchmark corruptions. CE is also
// given for every other corruption both results have (the 4 extra ones), but they do
// not enter the means.
//
// Undefined values are handled explicitly:
//   - the baseline has zero error at every severity of c: CE(f,c) is undefined, c is
//     left out of CE and the call fails (a baseline that never errs cannot
//     normalise anything);
//   - the corruption does not hurt the baseline (Σ_s E(base,s,c) − E(base,clean) ≤ 0):
//     relative CE(f,c) is undefined (it would divide by zero or flip sign), so c is
//     left out of RelativeCE, and RelativeMCE is the mean over the benchmark
//     corruptions where it is defined — the same ones for every model compared
//     against that baseline (RelativeMCE stays nil when there is none). See
//     UndefinedRelativeCE.
//
// Corruptions or severities missing from either result make the call return an
// error wrapping ErrIncomplete after filling in what it could (the means are set
// only when all 15 benchmark corruptions are complete in both).
func ComputeCE(r, base *Result) error {
	if r == nil || base == nil {
		return errors.New("compute CE: nil result")
	}
	if !validError(r.CleanError) || !validError(base.CleanError) {
		return fmt.Errorf("compute CE: clean error %v (%s) or %v (baseline %s) not in [0, 1]", r.CleanError, r.name(), base.CleanError, base.name())
	}
	r.Baseline = base.Model
	r.CE = map[string]float64{}
	r.RelativeCE = map[string]float64{}
	r.MCE, r.RelativeMCE = nil, nil
	if rs, bs := r.Severities(), base.Severities(); !slices.Equal(rs, bs) {
		return fmt.Errorf("compute CE of %s against %s: evaluated at severities %v, the baseline at %v: %w",
			r.name(), base.name(), rs, bs, ErrIncomplete)
	}
	var problems []error
	var zeroBase []string
	var mce, rmce float64
	nBench, nRel := 0, 0
	for _, c := range sortedCorruptions(r.Errors) {
		fe, err := r.row(c)
		if err != nil {
			problems = append(problems, err)
			continue
		}
		be, err := base.row(c)
		if err != nil {
			problems = append(problems, fmt.Errorf("baseline %w", err))
			continue
		}
		ce, rce, ceOK, rceOK := CorruptionCE(fe, be, r.CleanError, base.CleanError)
		if !ceOK {
			zeroBase = append(zeroBase, c)
			continue
		}
		r.CE[c] = ce
		if rceOK {
			r.RelativeCE[c] = rce
		}
		if isBenchmarkName(c) {
			nBench++
			mce += ce
			if rceOK {
				nRel++
				rmce += rce
			}
		}
	}
	for _, c := range Names[:15] {
		if _, ok := r.Errors[c]; !ok {
			problems = append(problems, fmt.Errorf("%s: no results for %s: %w", r.name(), c, ErrIncomplete))
		}
	}
	if len(zeroBase) > 0 {
		problems = append(problems, fmt.Errorf("baseline %s makes no error on %s: CE undefined", base.name(), strings.Join(zeroBase, ", ")))
	}
	if len(problems) == 0 && nBench == 15 {
		m := mce / 15
		r.MCE = &m
		if nRel > 0 {
			rm := rmce / float64(nRel)
			r.RelativeMCE = &rm
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("compute CE of %s against %s: %w", r.name(), base.name(), errors.Join(problems...))
	}
	return nil
}

// CorruptionCE returns the CE and relative CE of one corruption (see ComputeCE) from
// the per-severity errors f of a model with clean error fClean and b of the baseline
// with clean error bClean (len(b) ≥ len(f)), and whether each is defined: CE when
// Σ_s b > 0, relative CE when Σ_s (b − bClean) > 0. The sums run over the
// severities evaluated in both (entries ≥ 0).
func CorruptionCE(f, b []float64, fClean, bClean float64) (ce, rce float64, ceOK, rceOK bool) {
	var fs, bs, fd, bd float64
	for s := range f {
		if f[s] < 0 || b[s] < 0 {
			continue
		}
		fs += f[s]
		bs += b[s]
		fd += f[s] - fClean
		bd += b[s] - bClean
	}
	if bs > 0 {
		ce, ceOK = fs/bs, true
	}
	if bd > 0 {
		rce, rceOK = fd/bd, true
	}
	return ce, rce, ceOK, rceOK
}

// UndefinedRelativeCE lists the corruptions of base (in index order) whose relative
// CE is undefined because they do not raise the baseline's error on average
// (Σ_s E(base,s,c) − E(base,clean) ≤ 0). Incomplete rows are skipped.
func UndefinedRelativeCE(base *Result) []string {
	var out []string
	for _, c := range sortedCorruptions(base.Errors) {
		be, err := base.row(c)
		if err != nil {
			continue
		}
		var bd float64
		for _, v := range be {
			if v >= 0 {
				bd += v - base.CleanError
			}
		}
		if bd <= 0 {
			out = append(out, c)
		}
	}
	return out
}

// ResultFile and ResultCSV are the file names WriteResult uses in its directory.
const (
	ResultFile = "eval.json"
	ResultCSV  = "eval.csv"
)

// WriteResult writes r to dir (created if needed) as eval.json and as eval.csv, a
// table with the header model,corruption,severity,error: one row per corruption and
// evaluated severity and a row "clean" with severity 0. Both files are written
// atomically.
func WriteResult(dir string, r *Result) error {
	if r == nil {
		return errors.New("write result: nil result")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write result: %w", err)
	}
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("write result %s: %w", r.name(), err)
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	_ = w.Write([]string{"model", "corruption", "severity", "error"})
	_ = w.Write([]string{r.Model, "clean", "0", f(r.CleanError)})
	for _, c := range sortedCorruptions(r.Errors) {
		for s, v := range r.Errors[c] {
			if v >= 0 {
				_ = w.Write([]string{r.Model, c, strconv.Itoa(s + 1), f(v)})
			}
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return fmt.Errorf("write result %s: %w", r.name(), err)
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, ResultCSV), buf.Bytes()); err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dir, ResultFile), append(js, '\n'))
}

// ReadResult reads a Result written by WriteResult (a path to eval.json, or to its
// directory) and checks its shape.
func ReadResult(path string) (*Result, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, ResultFile)
	}
	js, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read result: %w", err)
	}
	var r Result
	dec := json.NewDecoder(bytes.NewReader(js))
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("read result %s: %w", path, err)
	}
	if r.Model == "" {
		return nil, fmt.Errorf("read result %s: no model name (not an evaluation result?)", path)
	}
	if r.Errors == nil {
		return nil, fmt.Errorf("read result %s: no \"errors\" table (not an evaluation result?)", path)
	}
	if !validError(r.CleanError) {
		return nil, fmt.Errorf("read result %s: clean error %v not in [0, 1]", path, r.CleanError)
	}
	for c, es := range r.Errors {
		if len(es) != NumSeverities {
			return nil, fmt.Errorf("read result %s: %s has %d severities, want %d", path, c, len(es), NumSeverities)
		}
		for s, v := range es {
			if v > 1 || math.IsNaN(v) || (v < 0 && v != NotEvaluated) {
				return nil, fmt.Errorf("read result %s: %s severity %d: error %v not in [0, 1]", path, c, s+1, v)
			}
		}
	}
	return &r, nil
}
