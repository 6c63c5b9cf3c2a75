package plots

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/divres/divres/corrupt"
)

// severities is the number of severities every result must report per corruption.
const severities = 5

// LoadResults reads evaluation results from files and directories. A directory is
// searched recursively for *.json files; those that are not results (JSON objects
// without "model" and "errors") are skipped, so a whole run folder can be passed.
// A file named explicitly must be a result, or a JSON array of results. Every
// result is checked (a model name, errors in [0, 1] or corrupt.NotEvaluated at 5
// severities), and two
// results for the same model, dataset and corruption set are an error.
func LoadResults(paths ...string) ([]Result, error) {
	if len(paths) == 0 {
		return nil, errors.New("load results: no path given")
	}
	var out []Result
	from := map[string]string{} // identity → file, to report duplicates
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("load results: %w", err)
		}
		var files []string
		if st.IsDir() {
			files, err = jsonFiles(p)
			if err != nil {
				return nil, fmt.Errorf("load results: %w", err)
			}
		} else {
			files = []string{p}
		}
		found := 0
		for _, f := range files {
			rs, err := readResultFile(f, !st.IsDir())
			if err != nil {
				return nil, fmt.Errorf("load results: %w", err)
			}
			for _, r := range rs {
				id := r.Model + "\x00" + r.Dataset + "\x00" + r.Corruptions
				if prev, dup := from[id]; dup {
					return nil, fmt.Errorf("load results: model %q (dataset %q, corruptions %q) appears twice: in %s and %s",
						r.Model, r.Dataset, r.Corruptions, prev, f)
				}
				from[id] = f
				out = append(out, r)
			}
			found += len(rs)
		}
		if found == 0 {
			return nil, fmt.Errorf("load results: no result files (JSON with \"model\" and \"errors\") under %s", p)
		}
	}
	return out, nil
}

// jsonFiles lists the *.json files under dir, sorted, skipping hidden entries.
func jsonFiles(dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if path != dir && strings.HasPrefix(name, ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.IsDir() && strings.EqualFold(filepath.Ext(name), ".json") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("search %s: %w", dir, err)
	}
	sort.Strings(files)
	return files, nil
}

// readResultFile decodes one file holding a result or an array of results. With
// strict false, a file whose JSON is not shaped like a result yields nothing.
func readResultFile(path string, strict bool) ([]Result, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	data = bytes.TrimSpace(data)
	var raws []json.RawMessage
	switch {
	case len(data) > 0 && data[0] == '[':
		if err := json.Unmarshal(data, &raws); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	case len(data) > 0 && data[0] == '{':
		raws = []json.RawMessage{data}
	default:
		if !strict && !json.Valid(data) {
			return nil, fmt.Errorf("%s: not valid JSON", path)
		}
		if strict {
			return nil, fmt.Errorf("%s: not a result (expected a JSON object or array)", path)
		}
		return nil, nil
	}
	var out []Result
	for i, raw := range raws {
		var keys map[string]json.RawMessage
		if err := json.Unmarshal(raw, &keys); err != nil {
			if !strict && len(raws) > 1 {
				return nil, nil // an array of something else
			}
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		_, hasModel := keys["model"]
		_, hasErrors := keys["errors"]
		if !hasModel || !hasErrors {
			if strict {
				return nil, fmt.Errorf("%s: not a result: no \"model\" and \"errors\" fields", where(path, i, len(raws)))
			}
			return nil, nil
		}
		var r Result
		if err := json.Unmarshal(raw, &r); err != nil {
			return nil, fmt.Errorf("%s: %w", where(path, i, len(raws)), err)
		}
		if err := validate(&r); err != nil {
			return nil, fmt.Errorf("%s: %w", where(path, i, len(raws)), err)
		}
		out = append(out, r)
	}
	if strict && len(out) == 0 {
		return nil, fmt.Errorf("%s: empty array, no results", path)
	}
	return out, nil
}

// where names a result inside a file, with its array index when there are several.
func where(path string, i, n int) string {
	if n > 1 {
		return fmt.Sprintf("%s[%d]", path, i)
	}
	return path
}

// validate checks the fields the figures rely on.
func validate(r *Result) error {
	if strings.TrimSpace(r.Model) == "" {
		return errors.New("result without a model name")
	}
	if !isFraction(r.CleanError) {
		return fmt.Errorf("model %s: clean_error %v is not a fraction in [0, 1]", r.Model, r.CleanError)
	}
	if len(r.Errors) == 0 {
		return fmt.Errorf("model %s: no corruption errors", r.Model)
	}
	for c, es := range r.Errors {
		if c == "" {
			return fmt.Errorf("model %s: corruption with an empty name", r.Model)
		}
		if len(es) != severities {
			return fmt.Errorf("model %s: corruption %s has %d errors, want one per severity 1..%d", r.Model, c, len(es), severities)
		}
		for s, e := range es {
			if e != corrupt.NotEvaluated && !isFraction(e) {
				return fmt.Errorf("model %s: %s severity %d: error %v is not a fraction in [0, 1]", r.Model, c, s+1, e)
			}
		}
	}
	if !isFraction(r.CorruptionAccuracy) {
		return fmt.Errorf("model %s: corruption_accuracy %v is not a fraction in [0, 1]", r.Model, r.CorruptionAccuracy)
	}
	for _, m := range []map[string]float64{r.CE, r.RelativeCE} {
		for c, v := range m {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("model %s: CE of %s is %v", r.Model, c, v)
			}
		}
	}
	for _, p := range []*float64{r.MCE, r.RelativeMCE} {
		if p != nil && (math.IsNaN(*p) || math.IsInf(*p, 0)) {
			return fmt.Errorf("model %s: mCE is %v", r.Model, *p)
		}
	}
	if r.Params < 0 {
		return fmt.Errorf("model %s: negative parameter count %d", r.Model, r.Params)
	}
	return nil
}

func isFraction(v float64) bool { return v >= 0 && v <= 1 }
