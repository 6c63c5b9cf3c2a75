package plots

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

func TestParetoFront(t *testing.T) {
	dir := t.TempDir()
	pts := []ParetoPoint{
		{Key: "a", Error: 0.10, MACs: 300e6, Pareto: true, Full: true},
		{Key: "b", Error: 0.12, MACs: 200e6, Pareto: true},
		{Key: "c", Error: 0.20, MACs: 100e6, Pareto: true},
		{Key: "d", Error: 0.25, MACs: 250e6},
	}
	b, _ := json.Marshal(map[string]any{"candidates": pts})
	if err := os.WriteFile(filepath.Join(dir, "search.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	back, err := ReadParetoPoints(dir)
	if err != nil || len(back) != 4 || !back[0].Full || back[3].Pareto {
		t.Fatalf("read %+v, %v", back, err)
	}
	for _, name := range []string{"pareto.png", "pareto.svg"} {
		out := filepath.Join(dir, name)
		if err := ParetoFront(back, "", out); err != nil {
			t.Fatal(err)
		}
		if st, err := os.Stat(out); err != nil || st.Size() < 1000 {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if err := ParetoFront(nil, "", filepath.Join(dir, "x.png")); err == nil {
		t.Fatal("no points accepted")
	}
	if err := ParetoFront(back, "", filepath.Join(dir, "x.bmp")); err == nil {
		t.Fatal("unknown format accepted")
	}
}
