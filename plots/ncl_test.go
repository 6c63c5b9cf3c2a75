package plots

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func nclTestRows() []NCLRow {
	f := func(v float64) *float64 { return &v }
	var rows []NCLRow
	for _, l := range []float64{0, 0.5, 1} {
		rows = append(rows, NCLRow{Kind: "ncl", Heuristic: "none", Lambda: l, CleanError: 0.1, CorruptionError: 0.3 + 0.1*l,
			MCE: f(0.9 + 0.1*l), PredictionDiversity: f(0.05), ActivationDiversity: f(0.2), AttributionDiversity: f(0.8)})
		for _, h := range []string{"prediction", "attribution"} {
			rows = append(rows, NCLRow{Kind: "ncl", Heuristic: h, Lambda: l, Gamma: 0.5, CleanError: 0.12, CorruptionError: 0.28 + 0.1*l,
				MCE: f(0.85 + 0.1*l), PredictionDiversity: f(0.08), ActivationDiversity: f(0.25), AttributionDiversity: f(0.9)})
		}
	}
	rows = append(rows, NCLRow{Kind: "reference", Heuristic: "independent", Lambda: 1, Members: "lenet+resnet18", CleanError: 0.1,
		CorruptionError: 0.33, MCE: f(0.95), PredictionDiversity: f(0.1), ActivationDiversity: f(0.4)})
	return rows
}

// TestNCLFigures: both figures render to SVG with a line per heuristic and γ, the
// reference ensemble in the legend; a table without cells or values is an error.
func TestNCLFigures(t *testing.T) {
	dir := t.TempDir()
	rows := nclTestRows()
	res, div := filepath.Join(dir, "res.svg"), filepath.Join(dir, "div.svg")
	if err := NCLResilience(rows, res); err != nil {
		t.Fatal(err)
	}
	if err := NCLDiversity(rows, div); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string][]string{
		res: {"mCE (%)", "prediction, γ = 0.5", "attribution, γ = 0.5", "none (balanced loss)", "lenet+resnet18 (independent)"},
		div: {"prediction (disagreement)", "activation (1 − linear CKA)", "attribution (1 − saliency cosine)", "lenet+resnet18"},
	} {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range want {
			if !strings.Contains(string(b), w) {
				t.Errorf("%s lacks %q", filepath.Base(path), w)
			}
		}
	}
	// Without mCE everywhere the resilience axis is the mean corruption error.
	rows[0].MCE = nil
	if err := NCLResilience(rows, res); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(res); !strings.Contains(string(b), "mean corruption error (%)") {
		t.Error("without mCE the axis is not the corruption error")
	}
	if err := NCLResilience(rows[len(rows)-1:], res); err == nil {
		t.Error("a table of references only was drawn")
	}
	if err := NCLDiversity([]NCLRow{{Kind: "ncl"}}, div); err == nil {
		t.Error("a table without diversities was drawn")
	}
	if err := NCLDiversity(rows, filepath.Join(dir, "x.bmp")); err == nil {
		t.Error("unknown format accepted")
	}
}

// TestNCLTableCSV: the CSV row has one field per column, empty for absent values,
// and LoadNCLTable reads what encoding/json wrote.
func TestNCLTableCSV(t *testing.T) {
	rows := nclTestRows()
	ref := rows[len(rows)-1]
	rec := ref.CSV()
	if len(rec) != len(NCLColumns) {
		t.Fatalf("%d fields for %d columns", len(rec), len(NCLColumns))
	}
	if rec[11] != "" || rec[7] != "0.95" || rec[0] != "reference" {
		t.Errorf("fields %q", rec)
	}
	dir := t.TempDir()
	if _, err := LoadNCLTable(filepath.Join(dir, "none.json")); err == nil {
		t.Error("missing table read")
	}
	p := filepath.Join(dir, "ncl.json")
	if err := os.WriteFile(p, []byte(`[{"kind":"ncl","heuristic":"gncl","lambda":0.5,"gamma":0.1,"mce":0.8}]`), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := LoadNCLTable(p)
	if err != nil || len(got) != 1 || got[0].Heuristic != "gncl" || got[0].MCE == nil || *got[0].MCE != 0.8 || got[0].RelativeMCE != nil {
		t.Errorf("loaded %+v, %v", got, err)
	}
}
