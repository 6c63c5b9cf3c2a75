package corrupt

import (
	"encoding/csv"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// uniformResult has the same five errors for each of the 15 benchmark corruptions.
func uniformResult(name string, clean float64, row []float64) *Result {
	r := &Result{Model: name, CleanError: clean, Errors: map[string][]float64{}}
	for _, c := range BenchmarkNames() {
		r.Errors[c] = append([]float64(nil), row...)
	}
	return r
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-12 }

func TestComputeCESelfIsOne(t *testing.T) {
	r := uniformResult("m", 0.05, []float64{0.1, 0.2, 0.3, 0.4, 0.5})
	base := uniformResult("base", 0.05, []float64{0.1, 0.2, 0.3, 0.4, 0.5})
	if err := ComputeCE(r, base); err != nil {
		t.Fatal(err)
	}
	if r.Baseline != "base" || r.MCE == nil || r.RelativeMCE == nil {
		t.Fatalf("baseline %q mce %v rmce %v", r.Baseline, r.MCE, r.RelativeMCE)
	}
	if !near(*r.MCE, 1) || !near(*r.RelativeMCE, 1) {
		t.Errorf("mCE %v relative mCE %v, want 1 and 1", *r.MCE, *r.RelativeMCE)
	}
	for _, c := range BenchmarkNames() {
		if !near(r.CE[c], 1) || !near(r.RelativeCE[c], 1) {
			t.Errorf("%s: CE %v relative %v, want 1", c, r.CE[c], r.RelativeCE[c])
		}
	}
}

func TestComputeCEHandValues(t *testing.T) {
	// Baseline: Σ E = 1.5, clean 0.05 → Σ (E − clean) = 1.25.
	base := uniformResult("base", 0.05, []float64{0.1, 0.2, 0.3, 0.4, 0.5})
	// Model: Σ E = 1.0, clean 0.1 → Σ (E − clean) = 0.5. CE = 1/1.5, relative 0.5/1.25.
	r := uniformResult("m", 0.1, []float64{0.2, 0.2, 0.2, 0.2, 0.2})
	// On fog the model does worse: Σ E = 3.0 → CE 2, relative (3 − 0.5)/1.25 = 2.
	r.Errors["fog"] = []float64{0.6, 0.6, 0.6, 0.6, 0.6}
	// An extra corruption gets a CE but does not enter the means.
	r.Errors["saturate"] = []float64{0.3, 0.3, 0.3, 0.3, 0.3}
	base.Errors["saturate"] = []float64{0.1, 0.1, 0.1, 0.1, 0.1}
	if err := ComputeCE(r, base); err != nil {
		t.Fatal(err)
	}
	if !near(r.CE["gaussian_noise"], 1/1.5) || !near(r.RelativeCE["gaussian_noise"], 0.4) {
		t.Errorf("gaussian_noise: CE %v relative %v, want %v and 0.4", r.CE["gaussian_noise"], r.RelativeCE["gaussian_noise"], 1/1.5)
	}
	if !near(r.CE["fog"], 2) || !near(r.RelativeCE["fog"], 2) {
		t.Errorf("fog: CE %v relative %v, want 2 and 2", r.CE["fog"], r.RelativeCE["fog"])
	}
	if !near(r.CE["saturate"], 3) || !near(r.RelativeCE["saturate"], (1.5-0.5)/(0.5-0.25)) {
		t.Errorf("saturate: CE %v relative %v", r.CE["saturate"], r.RelativeCE["saturate"])
	}
	wantMCE := (14*(1/1.5) + 2) / 15
	wantRel := (14*0.4 + 2) / 15
	if !near(*r.MCE, wantMCE) || !near(*r.RelativeMCE, wantRel) {
		t.Errorf("mCE %v relative %v, want %v and %v", *r.MCE, *r.RelativeMCE, wantMCE, wantRel)
	}
	if err := r.FillCorruptionAccuracy(); err != nil {
		t.Fatal(err)
	}
	if want := 1 - (14*0.2+0.6)/15; !near(r.CorruptionAccuracy, want) {
		t.Errorf("corruption accuracy %v, want %v", r.CorruptionAccuracy, want)
	}
}

func TestComputeCEUnhurtBaseline(t *testing.T) {
	base := uniformResult("base", 0.1, []float64{0.2, 0.2, 0.2, 0.2, 0.2})
	// brightness does not hurt the baseline on average: Σ (E − clean) = 0.
	base.Errors["brightness"] = []float64{0.1, 0.05, 0.1, 0.15, 0.1}
	r := uniformResult("m", 0.1, []float64{0.3, 0.3, 0.3, 0.3, 0.3})
	if err := ComputeCE(r, base); err != nil {
		t.Fatal(err)
	}
	if _, ok := r.RelativeCE["brightness"]; ok {
		t.Errorf("relative CE of brightness should be undefined, got %v", r.RelativeCE["brightness"])
	}
	if !near(r.CE["brightness"], 1.5/0.5) {
		t.Errorf("CE of brightness %v, want 3", r.CE["brightness"])
	}
	// The other 14: relative CE = (1.5 − 0.5)/(1.0 − 0.5) = 2; the mean is over them.
	if !near(*r.RelativeMCE, 2) {
		t.Errorf("relative mCE %v, want 2 (mean over the 14 defined corruptions)", *r.RelativeMCE)
	}
	if got := UndefinedRelativeCE(base); !reflect.DeepEqual(got, []string{"brightness"}) {
		t.Errorf("UndefinedRelativeCE = %v", got)
	}
}

func TestComputeCEIncomplete(t *testing.T) {
	base := uniformResult("base", 0.05, []float64{0.1, 0.2, 0.3, 0.4, 0.5})
	r := uniformResult("m", 0.05, []float64{0.1, 0.2, 0.3, 0.4, 0.5})
	delete(r.Errors, "frost")
	err := ComputeCE(r, base)
	if !errors.Is(err, ErrIncomplete) {
		t.Fatalf("missing corruption: err = %v, want ErrIncomplete", err)
	}
	if r.MCE != nil || r.RelativeMCE != nil {
		t.Error("mCE set although frost is missing")
	}
	if len(r.CE) != 14 {
		t.Errorf("%d CE values, want the 14 complete ones", len(r.CE))
	}
	if err := r.FillCorruptionAccuracy(); !errors.Is(err, ErrIncomplete) {
		t.Errorf("corruption accuracy without frost: err = %v", err)
	}
	if want := 1 - 0.3; !near(r.CorruptionAccuracy, want) {
		t.Errorf("partial corruption accuracy %v, want %v", r.CorruptionAccuracy, want)
	}

	r = uniformResult("m", 0.05, []float64{0.1, 0.2, 0.3, 0.4, 0.5})
	r.Errors["snow"][2] = NotEvaluated
	if err := ComputeCE(r, base); !errors.Is(err, ErrIncomplete) {
		t.Errorf("missing severity: err = %v, want ErrIncomplete", err)
	}
	r.Errors["snow"] = []float64{0.1, 0.2}
	if err := ComputeCE(r, base); err == nil {
		t.Error("two severities accepted")
	}
	r = uniformResult("m", 0.05, []float64{0.1, 0.2, 0.3, 0.4, 0.5})
	base.Errors["fog"] = []float64{0, 0, 0, 0, 0}
	if err := ComputeCE(r, base); err == nil || r.MCE != nil {
		t.Errorf("zero baseline error: err = %v, mCE %v", err, r.MCE)
	}
	base.Errors["fog"] = []float64{0.1, 0.2, 1.3, 0.4, 0.5}
	if err := ComputeCE(r, base); err == nil {
		t.Error("error 1.3 accepted")
	}
}

func TestWriteReadResult(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "eval", "m")
	r := uniformResult("m", 0.05, []float64{0.1, 0.2, 0.3, 0.4, 0.5})
	r.Arch, r.Style, r.Width, r.Params, r.Dataset = "resnet18", "cifar", 0.25, 12345, "fashion-mnist"
	r.Errors["spatter"] = []float64{0.1, NotEvaluated, 0.3, 0.4, 0.5}
	base := uniformResult("base", 0.1, []float64{0.2, 0.2, 0.2, 0.2, 0.2})
	if err := ComputeCE(r, base); err == nil {
		t.Fatal("spatter is not in the baseline: want an error")
	}
	if err := r.FillCorruptionAccuracy(); err != nil {
		t.Fatal(err)
	}
	if err := WriteResult(dir, r); err != nil {
		t.Fatal(err)
	}
	got, err := ReadResult(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, r) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, r)
	}
	f, err := os.Open(filepath.Join(dir, ResultCSV))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	// header + clean + 15×5 + 4 evaluated spatter severities
	if len(rows) != 1+1+75+4 {
		t.Fatalf("%d CSV rows", len(rows))
	}
	if !reflect.DeepEqual(rows[0], []string{"model", "corruption", "severity", "error"}) ||
		!reflect.DeepEqual(rows[1], []string{"m", "clean", "0", "0.05"}) ||
		!reflect.DeepEqual(rows[2], []string{"m", "gaussian_noise", "1", "0.1"}) {
		t.Errorf("CSV starts %v", rows[:3])
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 2 {
		t.Errorf("directory holds %d entries, want eval.json and eval.csv only", len(ents))
	}
	// Not a result.
	bad := filepath.Join(t.TempDir(), "config.json")
	os.WriteFile(bad, []byte(`{"arch":"x"}`), 0o644)
	if _, err := ReadResult(bad); err == nil {
		t.Error("a config file was accepted as a result")
	}
}

// A result evaluated at a subset of the severities has CE, mCE and corruption
// accuracy over that subset; a baseline at another subset is refused.
func TestComputeCESeveritySubset(t *testing.T) {
	ne := NotEvaluated
	base := uniformResult("base", 0.05, []float64{ne, 0.2, ne, 0.4, ne})
	r := uniformResult("m", 0.1, []float64{ne, 0.3, ne, 0.5, ne})
	if got := r.Severities(); !reflect.DeepEqual(got, []int{2, 4}) {
		t.Fatalf("severities %v, want [2 4]", got)
	}
	if err := ComputeCE(r, base); err != nil {
		t.Fatal(err)
	}
	if want := (0.3 + 0.5) / (0.2 + 0.4); r.MCE == nil || !near(*r.MCE, want) {
		t.Errorf("mCE %v, want %v", r.MCE, want)
	}
	if want := (0.2 + 0.4) / (0.15 + 0.35); r.RelativeMCE == nil || !near(*r.RelativeMCE, want) {
		t.Errorf("relative mCE %v, want %v", r.RelativeMCE, want)
	}
	if err := r.FillCorruptionAccuracy(); err != nil || !near(r.CorruptionAccuracy, 1-0.4) {
		t.Errorf("corruption accuracy %v (%v), want 0.6", r.CorruptionAccuracy, err)
	}
	full := uniformResult("full", 0.1, []float64{0.1, 0.3, 0.4, 0.5, 0.6})
	if err := ComputeCE(full, base); !errors.Is(err, ErrIncomplete) || full.MCE != nil {
		t.Errorf("a model at five severities against a baseline at two: %v", err)
	}
	r.Errors["fog"][1] = ne
	if err := ComputeCE(r, base); !errors.Is(err, ErrIncomplete) {
		t.Errorf("fog without severity 2 of the subset: %v", err)
	}
}
