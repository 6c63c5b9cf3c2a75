package diversity

import (
	"encoding/json"
	"math"
	"os"
	"testing"
)

type tinyFile struct {
	Tiny struct {
		Oracle   [][]int        `json:"oracle"`
		Expected map[string]any `json:"expected"`
	} `json:"tiny_case"`
}

// tinyInputs turns an oracle into two-class probabilities with label 0 everywhere.
func tinyInputs(t *testing.T) (Inputs, map[string]any) {
	b, err := os.ReadFile("testdata/tiny_case.json")
	if err != nil {
		t.Fatal(err)
	}
	var f tinyFile
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	o := f.Tiny.Oracle
	m, n := len(o), len(o[0])
	in := Inputs{M: m, N: n, C: 2, Labels: make([]int64, n)}
	for i := range o {
		for _, v := range o[i] {
			if v == 1 {
				in.Probs = append(in.Probs, 0.8, 0.2)
			} else {
				in.Probs = append(in.Probs, 0.3, 0.7)
			}
		}
	}
	return in, f.Tiny.Expected
}

func approx(a, b float64) bool { return math.Abs(a-b) <= 1e-12*math.Max(1, math.Abs(b)) }

func TestTinyCase(t *testing.T) {
	in, exp := tinyInputs(t)
	r, err := Compute(in, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// The JSON file spells entropy_E; the report's keys are snake_case.
	alias := map[string]string{"entropy_E": "entropy_e", "mean_accuracy_pbar": "mean_accuracy"}
	checked := 0
	for k, want := range exp {
		key := k
		if a, ok := alias[k]; ok {
			key = a
		}
		got, ok := r.Values[key]
		if !ok {
			t.Errorf("report has no %s", key)
			continue
		}
		switch w := want.(type) {
		case float64:
			if g := got.(float64); !approx(g, w) {
				t.Errorf("%s = %v, want %v", key, g, w)
			}
		case []any:
			checkList(t, key, got, w)
		}
		checked++
	}
	if checked != len(exp) || checked < 19 {
		t.Errorf("checked %d of %d expected values", checked, len(exp))
	}
}

func checkList(t *testing.T, key string, got any, want []any) {
	switch g := got.(type) {
	case []float64:
		for i, w := range want {
			if !approx(g[i], w.(float64)) {
				t.Errorf("%s[%d] = %v, want %v", key, i, g[i], w)
			}
		}
	case [][]float64:
		for i, row := range want {
			for k, w := range row.([]any) {
				if w == nil {
					if !math.IsNaN(g[i][k]) {
						t.Errorf("%s[%d][%d] = %v, want null", key, i, k, g[i][k])
					}
					continue
				}
				if !approx(g[i][k], w.(float64)) {
					t.Errorf("%s[%d][%d] = %v, want %v", key, i, k, g[i][k], w)
				}
			}
		}
	default:
		t.Errorf("%s has type %T", key, got)
	}
}
