package study

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/divres/divres/corrupt"
	"github.com/divres/divres/ensemble"
	"github.com/divres/divres/internal/atomicfile"
)

// outcomesFile holds a member's per-image outcomes beside its eval.json.
const outcomesFile = "outcomes.json"

// SliceOutcome is which test images a model got wrong on one slice: the clean
// test set (Corruption "", Severity 0) or one corruption × severity. Wrong has
// one character per image, '1' for a wrong prediction and '0' for a right one.
type SliceOutcome struct {
	Corruption string `json:"corruption"`
	Severity   int    `json:"severity"`
	Wrong      string `json:"wrong"`
}

// Outcomes are a model's per-image outcomes on every slice of the benchmark, the
// raw material of the bootstrap over test images.
type Outcomes struct {
	N      int            `json:"n"`
	Slices []SliceOutcome `json:"slices"`
}

func (o *Outcomes) add(c string, s int, p *ensemble.Predictions) {
	var b strings.Builder
	for i := range p.Pred {
		if p.Pred[i] != p.Labels[i] {
			b.WriteByte('1')
		} else {
			b.WriteByte('0')
		}
	}
	o.Slices = append(o.Slices, SliceOutcome{Corruption: c, Severity: s, Wrong: b.String()})
}

func (o *Outcomes) write(path string) error {
	js, err := json.Marshal(o)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(path, append(js, '\n'))
}

// check validates the outcomes: N characters of 0 or 1 per slice, severities in
// 0..5 (0 only for the clean slice), no slice twice.
func (o *Outcomes) check() error {
	seen := map[sliceKey]bool{}
	for _, s := range o.Slices {
		k := sliceKey{s.Corruption, s.Severity}
		if seen[k] || len(s.Wrong) != o.N || s.Severity < 0 || s.Severity > corrupt.NumSeverities || (s.Severity == 0) != (s.Corruption == "") {
			return fmt.Errorf("slice %q severity %d: duplicate, out of range or not %d outcomes", s.Corruption, s.Severity, o.N)
		}
		seen[k] = true
		if strings.Trim(s.Wrong, "01") != "" {
			return fmt.Errorf("slice %q severity %d: outcomes other than 0 and 1", s.Corruption, s.Severity)
		}
	}
	if !seen[sliceKey{}] {
		return fmt.Errorf("no clean slice")
	}
	return nil
}

// sliceKey names a slice; the zero key is the clean test set.
type sliceKey struct {
	corruption string
	severity   int
}

// memberEval is the evaluation of one model trained with one seed.
type memberEval struct {
	Result   *corrupt.Result
	Outcomes *Outcomes
	wrong    map[sliceKey][]bool
}

// wrongOn returns the per-image outcomes of a slice (nil when not evaluated).
func (e *memberEval) wrongOn(k sliceKey) []bool {
	if e.wrong == nil {
		e.wrong = map[sliceKey][]bool{}
		for _, s := range e.Outcomes.Slices {
			w := make([]bool, len(s.Wrong))
			for i := range w {
				w[i] = s.Wrong[i] == '1'
			}
			e.wrong[sliceKey{s.Corruption, s.Severity}] = w
		}
	}
	return e.wrong[k]
}

// readMemberEval reads a member's eval.json and outcomes.json.
func readMemberEval(dir string) (*memberEval, error) {
	r, err := corrupt.ReadResult(filepath.Join(dir, "eval.json"))
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, outcomesFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var o Outcomes
	if err := json.Unmarshal(b, &o); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := o.check(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &memberEval{Result: r, Outcomes: &o}, nil
}

// meanResult is the result of a model as the mean over its seeds: clean error
// and every E(s,c) averaged (a severity counts only when every seed has it), the
// corruption accuracy recomputed; CE is left to corrupt.ComputeCE.
func meanResult(name string, evs []*memberEval) *corrupt.Result {
	first := evs[0].Result
	r := &corrupt.Result{Model: name, Arch: first.Arch, Style: first.Style, Width: first.Width, Params: first.Params,
		Dataset: first.Dataset, Corruptions: first.Corruptions, Errors: map[string][]float64{}}
	k := float64(len(evs))
	for _, ev := range evs {
		r.CleanError += ev.Result.CleanError / k
	}
	for c := range first.Errors {
		row := make([]float64, corrupt.NumSeverities)
		for s := range row {
			sum, ok := 0.0, true
			for _, ev := range evs {
				e := ev.Result.Errors[c]
				if len(e) <= s || e[s] < 0 {
					ok = false
					break
				}
				sum += e[s]
			}
			row[s] = corrupt.NotEvaluated
			if ok {
				row[s] = sum / k
			}
		}
		r.Errors[c] = row
	}
	_ = r.FillCorruptionAccuracy() // a partial benchmark gives the mean over what is there
	return r
}
