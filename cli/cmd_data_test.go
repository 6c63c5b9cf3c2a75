package main

import (
	"bytes"
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runDivres(t *testing.T, args ...string) (string, error) {
	t.Helper()
	app := newApp()
	var out bytes.Buffer
	app.Writer = &out
	app.ErrWriter = &out
	err := app.Run(append([]string{"divres"}, args...))
	return out.String(), err
}

func TestDataInfoCorruptionSet(t *testing.T) {
	set := filepath.Join("..", "data", "testdata", "cset")
	out, err := runDivres(t, "data", "info", "--data", set, "--corruption", "alpha", "--severity", "2", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var r dataInfoReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v in %q", err, out)
	}
	if r.Split != "test" || r.Images != 3 || r.Channels != 3 || r.Height != 4 || r.Width != 5 || len(r.Classes) != 10 || len(r.Pixels) != 3 {
		t.Errorf("report %+v", r)
	}
	if r.Classes[3].Count != 1 || r.Classes[3].Name != "cat" {
		t.Errorf("class 3: %+v", r.Classes[3])
	}
	out, err = runDivres(t, "data", "info", "--data", set, "--corruption", "alpha", "--severity", "2")
	if err != nil || !strings.Contains(out, "shape    3×4×5") || !strings.Contains(out, "3      cat") {
		t.Errorf("table output %q (%v)", out, err)
	}
	if _, err := runDivres(t, "data", "info", "--data", set, "--corruption", "alpha", "--severity", "2", "--split", "train"); err == nil {
		t.Error("train split of a corruption set accepted")
	}
	if _, err := runDivres(t, "data", "info", "--data", set); err == nil || !strings.Contains(err.Error(), "choose a corruption (alpha, beta)") {
		t.Errorf("no corruption: %v", err)
	}
}

func TestDataGrid(t *testing.T) {
	set := filepath.Join("..", "data", "testdata", "cset")
	out := filepath.Join(t.TempDir(), "grid.png")
	if _, err := runDivres(t, "data", "grid", "--data", set, "--corruption", "beta", "--severity", "5", "--out", out, "--n", "64"); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	// 3 images (n is capped at the set size) of 4×5 (H×W) enlarged 13× to 52×65, in
	// cells 70 wide (10 characters) with a 13-pixel caption → 2 columns, 2 rows.
	if b := img.Bounds(); b.Dx() != 4+2*(70+4) || b.Dy() != 4+2*(52+13+4) {
		t.Errorf("grid %v", b)
	}
	ents, _ := os.ReadDir(filepath.Dir(out))
	if len(ents) != 1 {
		t.Errorf("temporary files left: %d entries", len(ents))
	}
}
