package diversity

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
)

// Ensemble is one row of the ensembles table (see the package comment).
type Ensemble struct {
	Name        string             `json:"name"`
	Members     []string           `json:"members"`
	Homogeneous bool               `json:"homogeneous,omitempty"`
	Metrics     map[string]float64 `json:"-"`
	Diversity   map[string]float64 `json:"-"`
}

type rawEnsemble struct {
	Name        string                     `json:"name"`
	Members     []string                   `json:"members"`
	Homogeneous bool                       `json:"homogeneous"`
	Metrics     map[string]json.RawMessage `json:"metrics"`
	Diversity   map[string]json.RawMessage `json:"diversity"`
}

// numbers keeps the numeric (and null, read as NaN) entries of a JSON object.
func numbers(m map[string]json.RawMessage) map[string]float64 {
	out := map[string]float64{}
	for k, v := range m {
		if string(v) == "null" {
			out[k] = math.NaN()
			continue
		}
		var f float64
		if json.Unmarshal(v, &f) == nil {
			out[k] = f
		}
	}
	return out
}

// ReadEnsembles reads dir/ensembles.json (or the file itself when path is a file).
func ReadEnsembles(path string) ([]Ensemble, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, "ensembles.json")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read ensembles: %w", err)
	}
	var raw struct {
		Ensembles []rawEnsemble `json:"ensembles"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("read ensembles %s: %w", path, err)
	}
	if len(raw.Ensembles) == 0 {
		return nil, fmt.Errorf("read ensembles %s: no entries under \"ensembles\"", path)
	}
	out := make([]Ensemble, len(raw.Ensembles))
	for i, r := range raw.Ensembles {
		out[i] = Ensemble{Name: r.Name, Members: r.Members, Homogeneous: r.Homogeneous,
			Metrics: numbers(r.Metrics), Diversity: numbers(r.Diversity)}
		if out[i].Name == "" {
			out[i].Name = fmt.Sprintf("#%d", i)
		}
	}
	return out, nil
}

// CorrRow is the correlation of one diversity metric with one target over the
// ensembles that have both values.
type CorrRow struct {
	Diversity string `json:"diversity"`
	Target    string `json:"target"`
	Correlation
	Reason string `json:"reason,omitempty"`
}

// CorrelationTable correlates every diversity key with every metrics key (sorted by
// diversity, then target). Pairs with fewer than 3 usable ensembles, or with a
// constant variable, get NaN values and a reason instead of an error.
func CorrelationTable(ens []Ensemble, o CorrOptions) []CorrRow {
	dk, tk := map[string]bool{}, map[string]bool{}
	for _, e := range ens {
		for k := range e.Diversity {
			dk[k] = true
		}
		for k := range e.Metrics {
			tk[k] = true
		}
	}
	ds, ts := sortedKeys(dk), sortedKeys(tk)
	type job struct{ x, y []float64 }
	var rows []CorrRow
	var jobs []job
	for _, d := range ds {
		for _, t := range ts {
			var x, y []float64
			for _, e := range ens {
				a, ok1 := e.Diversity[d]
				b, ok2 := e.Metrics[t]
				if ok1 && ok2 && !math.IsNaN(a) && !math.IsNaN(b) && !math.IsInf(a, 0) && !math.IsInf(b, 0) {
					x, y = append(x, a), append(y, b)
				}
			}
			rows = append(rows, CorrRow{Diversity: d, Target: t})
			jobs = append(jobs, job{x, y})
		}
	}
	// Each correlation has its own seeded bootstrap: computing them side by side
	// gives the same rows as one after another.
	parallelFor(len(jobs), func(i int) {
		row := &rows[i]
		c, err := Correlate(jobs[i].x, jobs[i].y, o)
		if err != nil {
			nan := Estimate{math.NaN(), math.NaN(), math.NaN(), math.NaN()}
			c = Correlation{N: len(jobs[i].x), Pearson: nan, Spearman: nan, KendallTauB: nan}
			row.Reason = err.Error()
		} else if math.IsNaN(c.Pearson.Value) {
			row.Reason = "a variable is constant over these ensembles"
		}
		row.Correlation = c
	})
	return rows
}

func sortedKeys(m map[string]bool) []string {
	s := make([]string, 0, len(m))
	for k := range m {
		s = append(s, k)
	}
	sort.Strings(s)
	return s
}
