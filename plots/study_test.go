package plots

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestSummaryTableCSV(t *testing.T) {
	rs := synthResults(t, 5, 11)
	p := filepath.Join(t.TempDir(), "summary.csv")
	if err := SummaryTable(rs, "resnet50", p); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 6 || strings.Join(rows[0], ",") != "rank,model,arch,params,baseline,clean_error_pct,corruption_accuracy_pct,mce_pct,relative_mce_pct" {
		t.Fatalf("header %v, %d rows", rows[0], len(rows))
	}
	prev := -1.0
	seenBase := false
	for i, row := range rows[1:] {
		if row[0] != strconv.Itoa(i+1) {
			t.Errorf("rank %s at row %d", row[0], i+1)
		}
		rel, err := strconv.ParseFloat(row[8], 64)
		if err != nil {
			t.Fatal(err)
		}
		if rel < prev {
			t.Errorf("relative mCE %v after %v: not sorted", rel, prev)
		}
		prev = rel
		var r Result
		for _, x := range rs {
			if x.Model == row[1] {
				r = x
			}
		}
		clean, _ := strconv.ParseFloat(row[5], 64)
		acc, _ := strconv.ParseFloat(row[6], 64)
		if !closeTo(clean, 100*r.CleanError, 1e-4) || !closeTo(acc, 100*r.CorruptionAccuracy, 1e-4) {
			t.Errorf("%s: clean %v, accuracy %v; want %v, %v", r.Model, clean, acc, 100*r.CleanError, 100*r.CorruptionAccuracy)
		}
		if row[3] != strconv.FormatInt(r.Params, 10) {
			t.Errorf("%s: params %s", r.Model, row[3])
		}
		if row[4] == "true" {
			seenBase = true
			if row[1] != "resnet50" || row[7] != "100.0000" || row[8] != "100.0000" {
				t.Errorf("baseline row %v", row)
			}
		}
	}
	if !seenBase {
		t.Error("no baseline row")
	}
}

func closeTo(a, b, tol float64) bool { return a-b <= tol && b-a <= tol }

func TestSummaryTableMarkdown(t *testing.T) {
	rs := synthResults(t, 3, 11)
	rs[1].Model = "odd|name"
	p := filepath.Join(t.TempDir(), "summary.md")
	if err := SummaryTable(rs, "", p); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	md := string(b)
	lines := strings.Split(md, "\n")
	if !strings.HasPrefix(lines[0], "| # | model |") || !strings.HasPrefix(lines[1], "|--:|") {
		t.Errorf("no Markdown table header:\n%s", md)
	}
	for _, want := range []string{"**resnet50** (baseline)", `odd\|name`, "| 100.0 | 100.0 |", "percent of the baseline resnet50"} {
		if !strings.Contains(md, want) {
			t.Errorf("table lacks %q:\n%s", want, md)
		}
	}
	cells := strings.Count(lines[0], "|")
	for _, l := range lines[1:5] {
		if strings.Count(l, "|")-strings.Count(l, `\|`) != cells {
			t.Errorf("row %q has a different number of cells", l)
		}
	}
	if err := SummaryTable(rs, "", filepath.Join(t.TempDir(), "summary.txt")); err == nil || !strings.Contains(err.Error(), "use .md or .csv") {
		t.Errorf("txt: %v", err)
	}
}

func TestHumanCount(t *testing.T) {
	for n, want := range map[int64]string{0: "–", 950: "950", 272_474: "272.5k", 23_520_842: "23.52M"} {
		if got := humanCount(n); got != want {
			t.Errorf("humanCount(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestStudyWritesEverything(t *testing.T) {
	run := t.TempDir()
	for _, r := range synthResults(t, 4, 12) {
		writeJSON(t, run, filepath.Join("eval", r.Model, "eval.json"), r)
	}
	out := filepath.Join(run, "figures")
	if err := Study(run, out, "resnet50"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{FigRelativeMCE, FigSeverity, FigHeatmap, FigHeatmapCE, FigScatter} {
		for _, ext := range []string{".png", ".svg"} {
			if st, err := os.Stat(filepath.Join(out, name+ext)); err != nil || st.Size() < 1000 {
				t.Errorf("%s%s: %v", name, ext, err)
			}
		}
	}
	for _, name := range []string{"summary.md", "summary.csv"} {
		if _, err := os.Stat(filepath.Join(out, name)); err != nil {
			t.Error(err)
		}
	}
	ents, _ := os.ReadDir(out)
	if len(ents) != 12 {
		t.Errorf("%d files in the output, want 12", len(ents))
	}
	noTempFiles(t, out)
	// A second run over the same folder ignores the figures it wrote.
	rep, err := RunStudy(StudyOptions{Results: []string{run}, Out: out, Formats: []string{"svg"}})
	if err != nil || rep.Results != 4 || rep.Baseline != "resnet50" {
		t.Fatalf("rerun: %+v, %v", rep, err)
	}
}

func TestRunStudyWithoutBaseline(t *testing.T) {
	run := t.TempDir()
	for _, r := range synthResults(t, 3, 12)[1:] {
		r.Baseline = ""
		writeJSON(t, run, r.Model+".json", r)
	}
	rep, err := RunStudy(StudyOptions{Results: []string{run}, Out: filepath.Join(run, "fig"), Formats: []string{"png"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Skipped) != 3 || rep.Skipped[FigRelativeMCE] == "" || rep.Baseline != "" {
		t.Errorf("skipped %v, baseline %q", rep.Skipped, rep.Baseline)
	}
	if len(rep.Written) != 4 { // severity, heat map, summary.md, summary.csv
		t.Errorf("wrote %v", rep.Written)
	}
}

func TestRunStudyErrors(t *testing.T) {
	run := t.TempDir()
	rs := synthResults(t, 2, 12)
	rs[1].Dataset = "cifar10"
	writeJSON(t, run, "a.json", rs[0])
	writeJSON(t, run, "b.json", rs[1])
	for name, tc := range map[string]struct {
		o    StudyOptions
		want string
	}{
		"mixed":    {StudyOptions{Results: []string{run}, Out: t.TempDir()}, "plot them separately"},
		"format":   {StudyOptions{Results: []string{run}, Out: t.TempDir(), Formats: []string{"png", "gif"}}, `format "gif"`},
		"no out":   {StudyOptions{Results: []string{run}}, "no output directory"},
		"baseline": {StudyOptions{Results: []string{filepath.Join(run, "a.json")}, Out: t.TempDir(), Baseline: "vgg"}, "not among"},
		"empty":    {StudyOptions{Results: []string{t.TempDir()}, Out: t.TempDir()}, "no result files"},
	} {
		_, err := RunStudy(tc.o)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
}
