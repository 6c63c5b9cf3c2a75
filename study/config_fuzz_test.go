package study

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoadConfig: any study config file loads into a recipe that survives a
// round trip through its own JSON and whose validation answers without a
// panic, or gives a one-line error naming the file. Run longer with
//
//	go test ./study -run '^$' -fuzz '^FuzzLoadConfig$' -fuzztime 60s
func FuzzLoadConfig(f *testing.F) {
	def := Default().JSON()
	f.Add(def)
	f.Add(def[:len(def)/2])
	f.Add([]byte(`{"data": "fashion-mnist", "models": [{"arch": "lenet", "width": 1}], "baseline": "lenet", "seeds": 2}`))
	f.Add([]byte(`{"models": [{"arch": "lenet"}, {"arch": "lenet"}]}`))
	f.Add([]byte(`{"corruptions": ["no_such"], "severities": [9]}`))
	f.Add([]byte(`{"seeds": -1, "bootstrap": -5}`))
	f.Add([]byte(`{"ensembles": {"k_min": 3, "k_max": 2}, "nas": {}, "ncl": {"lambdas": [0.5]}}`))
	f.Add([]byte(`{"unknown": 1}`))
	f.Add([]byte(`{"members": 3, "models": "x", "stages": 7, "results": 1, "name": [1]}`))
	f.Add([]byte(`{"lr": 1e999}`))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, in []byte) {
		dir := t.TempDir()
		path := filepath.Join(dir, "study.json")
		if err := os.WriteFile(path, in, 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, err := LoadConfig(path)
		if err != nil {
			if msg := err.Error(); strings.Contains(msg, "\n") || !strings.Contains(msg, path) {
				t.Fatalf("error is not one line naming %s: %q", path, msg)
			}
			return
		}
		js := cfg.JSON()
		again := filepath.Join(dir, "again.json")
		if err := os.WriteFile(again, js, 0o644); err != nil {
			t.Fatal(err)
		}
		cfg2, err := LoadConfig(again)
		if err != nil {
			t.Fatalf("the recipe's own JSON does not load: %v\n%s", err, js)
		}
		if js2 := cfg2.JSON(); !bytes.Equal(js, js2) {
			t.Fatalf("round trip changed the recipe:\n%s\nthen\n%s", js, js2)
		}
		if err := cfg.Validate(); err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("validation error is not one line: %q", err)
			}
			return
		}
		if cfg.Seeds <= 1<<10 {
			if n, want := len(cfg.SeedList()), max(cfg.Seeds, 1); n != want {
				t.Fatalf("%d seeds listed for seeds = %d", n, cfg.Seeds)
			}
		}
	})
}
