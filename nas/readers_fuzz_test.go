package nas

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// namedLine fails unless err is one line naming path.
func namedLine(t *testing.T, err error, path string) {
	t.Helper()
	if msg := err.Error(); strings.Contains(msg, "\n") || !strings.Contains(msg, path) {
		t.Fatalf("error is not one line naming %s: %q", path, msg)
	}
}

// FuzzReadPSConfig: any nas_config.json reads into a configuration whose
// validation answers without a panic, or gives a one-line error naming the file.
// Run longer with
//
//	go test ./nas -run '^$' -fuzz '^FuzzReadPSConfig$' -fuzztime 60s
func FuzzReadPSConfig(f *testing.F) {
	valid, err := json.Marshal(psConfig("/runs/base"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid)
	f.Add(valid[:len(valid)/2])
	f.Add([]byte(`{"base": 3, "stages": "x", "space": [1]}`))
	f.Add([]byte(`{"space": {"blocks": [3, 4], "min_depth": [9]}, "stages": [{"name": "depth", "epochs": -1}]}`))
	f.Add([]byte(`{}`))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, in []byte) {
		dir := t.TempDir()
		path := filepath.Join(dir, PSConfigFile)
		if err := os.WriteFile(path, in, 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := ReadPSConfig(dir)
		if err != nil {
			namedLine(t, err, path)
			return
		}
		if err := c.Validate(); err != nil && strings.Contains(err.Error(), "\n") {
			t.Fatalf("validation error is not one line: %q", err)
		}
	})
}

// FuzzReadSearch: any search.json reads into a result, or gives a one-line
// error naming the file; never a panic. The genomes it holds key without a
// panic, whatever their shape. Run longer with
//
//	go test ./nas -run '^$' -fuzz '^FuzzReadSearch$' -fuzztime 60s
func FuzzReadSearch(f *testing.F) {
	sp := tinySpace()
	g := sp.Max()
	r := SearchResult{Supernet: "/runs/super", InputSize: 16, ValImages: 4, FullMACs: 100, FullError: 0.5,
		Candidates: []Candidate{{Key: g.Key(), Genome: g, Error: 0.5, MACs: 100, Pareto: true, Full: true}}}
	r.Pareto = r.Candidates
	valid, err := json.Marshal(r)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid)
	f.Add(valid[:len(valid)/2])
	f.Add([]byte(`{"pareto": 3, "candidates": "x"}`))
	f.Add([]byte(`{"pareto": [{"key": "zzz", "genome": {"depth": [9, 9], "width": [[1], [], [7, 7, 7]]}}]}`))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, in []byte) {
		path := filepath.Join(t.TempDir(), SearchFile)
		if err := os.WriteFile(path, in, 0o644); err != nil {
			t.Fatal(err)
		}
		r, err := ReadSearch(filepath.Dir(path))
		if err != nil {
			namedLine(t, err, path)
			return
		}
		for _, c := range append(append([]Candidate(nil), r.Candidates...), r.Pareto...) {
			if err := sp.Check(c.Genome); err == nil && c.Genome.Key() == "" {
				t.Fatalf("genome %+v of the space has no key", c.Genome)
			}
		}
	})
}
