package main

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/divres/divres/internal/npyfile"
)

func writeNPY(t *testing.T, path, descr string, shape []int, vals []float64) {
	t.Helper()
	b := npyfile.HeaderBytes(descr, shape)
	for _, v := range vals {
		switch descr {
		case "<f4":
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(float32(v)))
		case "<f8":
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
		case "<i8":
			b = binary.LittleEndian.AppendUint64(b, uint64(int64(v)))
		}
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestDiversityArrays(t *testing.T) {
	dir := t.TempDir()
	// 2 members, 4 samples, 2 classes; member 0 right on 0,1,2, member 1 on 1,2,3.
	p := []float64{0.9, 0.1, 0.8, 0.2, 0.7, 0.3, 0.6, 0.4,
		0.2, 0.8, 0.6, 0.4, 0.9, 0.1, 0.1, 0.9}
	writeNPY(t, filepath.Join(dir, "p.npy"), "<f8", []int{2, 4, 2}, p)
	writeNPY(t, filepath.Join(dir, "l.npy"), "<i8", []int{4}, []float64{0, 0, 0, 1})
	feat := []float64{1, 0, 2, 1, 3, 5, 4, 2, 1, 1, 2, 3, 3, 2, 5, 5}
	writeNPY(t, filepath.Join(dir, "f.npy"), "<f4", []int{2, 4, 2}, feat)
	writeNPY(t, filepath.Join(dir, "a.npy"), "<f4", []int{2, 4, 1, 2}, feat)
	out := filepath.Join(dir, "out")
	if s, err := runDivres(t, "diversity", "--probs", filepath.Join(dir, "p.npy"), "--labels", filepath.Join(dir, "l.npy"),
		"--features", filepath.Join(dir, "f.npy"), "--attributions", filepath.Join(dir, "a.npy"), "--out", out); err != nil {
		t.Fatalf("%v\n%s", err, s)
	}
	b, err := os.ReadFile(filepath.Join(out, "diversity.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r map[string]any
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	// Disagreement: samples 0 and 3 → 0.5; double fault 0; Q = (2·0 - 1·1)/(0 + 1) = -1.
	if r["disagreement"] != 0.5 || r["double_fault"] != 0.0 || r["q_statistic"] != -1.0 {
		t.Errorf("disagreement %v double fault %v Q %v", r["disagreement"], r["double_fault"], r["q_statistic"])
	}
	for _, k := range []string{"linear_cka", "debiased_linear_cka", "rbf_cka", "rbf_cka_0.5", "rbf_cka_1", "attribution_cosine", "kl_divergence", "js_divergence", "entropy_e", "reasons"} {
		if _, ok := r[k]; !ok {
			t.Errorf("no %s in %s", k, b)
		}
	}
	if v := r["attribution_cosine"].(float64); v <= 0 || v >= 1 {
		t.Errorf("attribution cosine %v", v)
	}
}

func TestDiversityArraysErrors(t *testing.T) {
	dir := t.TempDir()
	good := []float64{0.9, 0.1, 0.8, 0.2, 0.2, 0.8, 0.6, 0.4}
	writeNPY(t, filepath.Join(dir, "p.npy"), "<f4", []int{2, 2, 2}, good)
	writeNPY(t, filepath.Join(dir, "nan.npy"), "<f4", []int{2, 2, 2}, append([]float64{math.NaN()}, good[1:]...))
	writeNPY(t, filepath.Join(dir, "logits.npy"), "<f4", []int{2, 2, 2}, []float64{0.9, 0.9, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5})
	writeNPY(t, filepath.Join(dir, "flat.npy"), "<f4", []int{8}, good)
	writeNPY(t, filepath.Join(dir, "l.npy"), "<i8", []int{2}, []float64{0, 1})
	writeNPY(t, filepath.Join(dir, "l3.npy"), "<i8", []int{3}, []float64{0, 1, 1})
	writeNPY(t, filepath.Join(dir, "lbig.npy"), "<i8", []int{2}, []float64{0, 5})
	writeNPY(t, filepath.Join(dir, "f.npy"), "<f4", []int{2, 3, 1}, []float64{1, 2, 3, 4, 5, 6})
	j := func(n string) string { return filepath.Join(dir, n) }
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--probs", j("nan.npy"), "--labels", j("l.npy")}, "non-finite values"},
		{[]string{"--probs", j("logits.npy"), "--labels", j("l.npy")}, "not 1"},
		{[]string{"--probs", j("flat.npy"), "--labels", j("l.npy")}, "want (M, N, C)"},
		{[]string{"--probs", j("p.npy"), "--labels", j("l3.npy")}, "has 3 labels, want N = 2"},
		{[]string{"--probs", j("p.npy"), "--labels", j("lbig.npy")}, "outside [0, 2)"},
		{[]string{"--probs", j("p.npy"), "--labels", j("l.npy"), "--features", j("f.npy")}, "to match the probabilities"},
		{[]string{"--probs", j("p.npy"), "--labels", j("l.npy"), "--metrics", "bogus"}, "unknown metric"},
		{[]string{"--probs", j("l.npy"), "--labels", j("l.npy")}, "want float32 or float64"},
		{[]string{"--labels", j("l.npy")}, "give --members"},
	} {
		_, err := runDivres(t, append(append([]string{"diversity"}, tc.args...), "--out", j("o"))...)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: error %v, want one line with %q", tc.args, err, tc.want)
		}
	}
}

func TestCorrelateCommand(t *testing.T) {
	dir := t.TempDir()
	js := `{"ensembles": [
 {"name": "a", "members": ["r1", "r2"], "metrics": {"accuracy": 0.90, "relative_mce": 1.2}, "diversity": {"disagreement": 0.1}},
 {"name": "b", "members": ["r1", "r3"], "metrics": {"accuracy": 0.93, "relative_mce": 1.1}, "diversity": {"disagreement": 0.2}},
 {"name": "c", "members": ["r2", "r3"], "metrics": {"accuracy": 0.92, "relative_mce": 1.0}, "diversity": {"disagreement": 0.3}},
 {"name": "d", "members": ["r1", "r4"], "metrics": {"accuracy": 0.96, "relative_mce": 0.8}, "diversity": {"disagreement": 0.4}}]}`
	if err := os.WriteFile(filepath.Join(dir, "ensembles.json"), []byte(js), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "corr")
	if s, err := runDivres(t, "correlate", "--ensembles", dir, "--out", out, "--bootstrap", "50"); err != nil {
		t.Fatalf("%v\n%s", err, s)
	}
	csv, err := os.ReadFile(filepath.Join(out, "correlations.csv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(csv)), "\n")
	// Spearman of disagreement with relative mCE: ranks (1,2,3,4) vs (4,3,2,1) = -1.
	if len(lines) != 3 || !strings.HasPrefix(lines[2], "disagreement,relative_mce,4,") || !strings.Contains(lines[2], ",-1,") {
		t.Errorf("csv:\n%s", csv)
	}
	if _, err := runDivres(t, "correlate", "--ensembles", filepath.Join(dir, "none"), "--out", out); err == nil {
		t.Error("missing table accepted")
	}
}
