package plots

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeJSON writes v as JSON to dir/rel, creating directories.
func writeJSON(t testing.TB, dir, rel string, v any) string {
	t.Helper()
	path := filepath.Join(dir, rel)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func writeText(t *testing.T, dir, rel, text string) string {
	t.Helper()
	path := filepath.Join(dir, rel)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadResultsFromRunDirectory(t *testing.T) {
	rs := synthResults(t, 4, 1)
	dir := t.TempDir()
	writeJSON(t, dir, "eval/resnet50/eval.json", rs[0])
	writeJSON(t, dir, "eval/resnet18/eval.json", rs[1])
	writeJSON(t, dir, "more/pair.json", rs[2:]) // an array of results
	writeJSON(t, dir, "config.json", map[string]any{"seed": 1, "archs": []string{"a"}})
	writeJSON(t, dir, "train/log.json", []int{1, 2, 3})
	writeText(t, dir, "eval/resnet18/eval.csv", "model,corruption\n")
	writeText(t, dir, ".hidden/broken.json", "{")

	got, err := LoadResults(dir)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, r := range got {
		names[r.Model] = true
	}
	if len(got) != 4 || !names["resnet50"] || !names["resnet18"] || !names[rs[2].Model] || !names[rs[3].Model] {
		t.Fatalf("loaded %v, want the 4 results", modelNames(got))
	}
	// Files and directories mix; order follows the arguments.
	got, err = LoadResults(filepath.Join(dir, "eval/resnet18/eval.json"), filepath.Join(dir, "more"))
	if err != nil || len(got) != 3 || got[0].Model != "resnet18" {
		t.Fatalf("mixed paths: %v, %v", modelNames(got), err)
	}
	if got[0].Errors["fog"][2] != rs[1].Errors["fog"][2] {
		t.Error("errors not decoded")
	}
}

func TestLoadResultsErrors(t *testing.T) {
	good := synthResults(t, 1, 2)[0]
	dir := t.TempDir()
	bad := func(mut func(m map[string]any)) string {
		b, _ := json.Marshal(good)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		mut(m)
		return writeJSON(t, t.TempDir(), "r.json", m)
	}
	for name, tc := range map[string]struct {
		paths []string
		want  string
	}{
		"nothing":       {nil, "no path given"},
		"missing":       {[]string{filepath.Join(dir, "nope")}, "no such file"},
		"empty dir":     {[]string{t.TempDir()}, "no result files"},
		"not a result":  {[]string{writeJSON(t, dir, "c.json", map[string]int{"seed": 1})}, "not a result"},
		"invalid json":  {[]string{writeText(t, dir, "x/broken.json", `{"model": "a", "errors": `)}, "x/broken.json"},
		"broken in dir": {[]string{filepath.Join(dir, "x")}, "broken.json"},
		"severities": {[]string{bad(func(m map[string]any) {
			m["errors"].(map[string]any)["fog"] = []float64{0.1, 0.2}
		})}, "fog has 2 errors"},
		"range": {[]string{bad(func(m map[string]any) {
			m["errors"].(map[string]any)["snow"] = []float64{0.1, 0.2, 1.5, 0.3, 0.4}
		})}, "snow severity 3"},
		"clean":       {[]string{bad(func(m map[string]any) { m["clean_error"] = 12.5 })}, "clean_error 12.5"},
		"no name":     {[]string{bad(func(m map[string]any) { m["model"] = " " })}, "without a model name"},
		"duplicate":   {[]string{writeJSON(t, dir, "d/a.json", good), writeJSON(t, dir, "d/b.json", good)}, "appears twice"},
		"empty array": {[]string{writeText(t, dir, "e.json", "[]")}, "no results"},
	} {
		_, err := LoadResults(tc.paths...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", name, err, tc.want)
		}
	}
}

func TestLoadResultsAcceptsNotEvaluated(t *testing.T) {
	r := synthResults(t, 1, 2)[0]
	r.Errors["fog"][4] = -1
	_, err := LoadResults(writeJSON(t, t.TempDir(), "r.json", r))
	if err != nil {
		t.Fatal(err)
	}
}
