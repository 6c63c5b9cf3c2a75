package diversity

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzReadEnsembles: any ensembles.json reads into a non-empty table whose rows
// are named and hold only numbers, or gives a one-line error naming the file;
// never a panic. Run longer with
//
//	go test ./diversity -run '^$' -fuzz '^FuzzReadEnsembles$' -fuzztime 60s
func FuzzReadEnsembles(f *testing.F) {
	f.Add([]byte(`{"ensembles": [{"name": "a+b", "members": ["a", "b"], "metrics": {"accuracy": 0.5, "mce": 1.0},
		"diversity": {"disagreement": 0.25, "cka": null, "note": "x"}}]}`))
	f.Add([]byte(`{"ensembles": [{"members": ["a"]}, {"name": "c", "homogeneous": true}]}`))
	f.Add([]byte(`{"ensembles": []}`))
	f.Add([]byte(`{"ensembles": [{"name": "a+b", "metrics": {"accuracy": 0.5`))
	f.Add([]byte(`{"ensembles": 3}`))
	f.Add([]byte(`{"ensembles": [{"metrics": {"a": 1e999}}]}`))
	f.Add([]byte(`[]`))
	f.Add([]byte{})
	f.Add([]byte("\x00\x01binary"))
	f.Fuzz(func(t *testing.T, in []byte) {
		path := filepath.Join(t.TempDir(), "ensembles.json")
		if err := os.WriteFile(path, in, 0o644); err != nil {
			t.Fatal(err)
		}
		ens, err := ReadEnsembles(filepath.Dir(path))
		if err != nil {
			if msg := err.Error(); strings.Contains(msg, "\n") || !strings.Contains(msg, path) {
				t.Fatalf("error is not one line naming %s: %q", path, msg)
			}
			return
		}
		if len(ens) == 0 {
			t.Fatal("no rows and no error")
		}
		for i, e := range ens {
			if e.Name == "" || e.Metrics == nil || e.Diversity == nil {
				t.Fatalf("row %d: %+v", i, e)
			}
		}
		// The table feeds the correlations without a panic.
		CorrelationTable(ens, CorrOptions{Bootstrap: 20})
	})
}
