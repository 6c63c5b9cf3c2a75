package study

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/divres/divres/data"
	"github.com/divres/divres/diversity"
	"github.com/divres/divres/torch"
)

// reportFixture writes the result files of stages 1, 2 and 4 of a run by hand
// (no training): stage 1 and 2 complete, stage 4 with a table and a finding but
// no record, stage 3 absent. It returns the run and the names of its figures.
func reportFixture(t *testing.T) (*Run, []string) {
	t.Helper()
	dir := t.TempDir()
	cfg := Default()
	cfg.Baseline = "resnet18"
	cfg.Models = []Model{{Arch: "resnet18", Width: 0.125}, {Arch: "lenet", Width: 0.5}}
	cfg.Seeds, cfg.TestSubset, cfg.Epochs, cfg.Bootstrap = 2, 24, 1, 100
	cfg.Corruptions = []string{"fog", "contrast"}
	if err := saveConfig(dir, cfg, nil); err != nil {
		t.Fatal(err)
	}
	r := &Run{Config: cfg, Dir: dir}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	nan := math.NaN()
	sd := 0.0123456
	st := IndividualStats{TestImages: 24, Seeds: 2, Epochs: 1, Resamples: 100, Level: confidence, Baseline: "resnet18_w0.125",
		Models: []ModelStats{
			{Model: "resnet18_w0.125", Seeds: 2, CleanError: Interval{0.2083333, 0.125, 0.3333}, CorruptionAccuracy: Interval{0.61, 0.52, 0.7},
				MCE: Interval{1, 1, 1}, RelativeMCE: Interval{1, 1, 1}, CleanErrorSD: &sd},
			{Model: "lenet_w0.5", Seeds: 2, CleanError: Interval{0.291666, 0.2, 0.41}, CorruptionAccuracy: Interval{0.55, nan, 0.66},
				MCE: Interval{1.0523, 0.93, 1.2}, RelativeMCE: Interval{0.8765, 0.5, 1.31},
				VersusBaseline: &ClaimResult{Claim: Claim{Statement: "lenet is more resilient", Threshold: 1, Below: true},
					Estimate: Interval{0.8765, 0.5, 1.31}, Verdict: Inconclusive}},
		},
		Correlation: ClaimResult{Claim: Claim{Statement: "ρ above 0"}, Estimate: Interval{1, nan, nan}, Verdict: Inconclusive}}
	must(writeIndividualStats(filepath.Join(dir, "stats"), st))
	for _, d := range []string{"train", "corruptions", "seeds", "eval", "figures"} {
		must(os.MkdirAll(filepath.Join(dir, d), 0o755))
	}
	must(os.WriteFile(filepath.Join(dir, "figures", "summary.md"), []byte("| x |\n"), 0o644))
	must(os.WriteFile(filepath.Join(dir, "figures", "summary.csv"), []byte(
		"rank,model,arch,params,baseline,clean_error_pct,corruption_accuracy_pct,mce_pct,relative_mce_pct\n"+
			"1,lenet_w0.5,lenet,61706,false,29.1667,55.0000,105.2300,87.6500\n"+
			"2,resnet18_w0.125,resnet18,175258,true,20.8333,61.0000,100.0000,100.0000\n"), 0o644))
	img := image.NewRGBA(image.Rect(0, 0, 6, 4))
	img.Set(1, 1, color.RGBA{200, 10, 10, 255})
	var pb bytes.Buffer
	must(png.Encode(&pb, img))
	for _, f := range []string{"relative_mce.png", "relative_mce.svg", "heatmap_error.png"} {
		b := pb.Bytes()
		if strings.HasSuffix(f, ".svg") {
			b = []byte(`<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10" fill="red"/></svg>`)
		}
		must(os.WriteFile(filepath.Join(dir, "figures", f), b, 0o644))
	}
	must(os.WriteFile(filepath.Join(dir, "figures", "only_svg.svg"),
		[]byte(`<svg xmlns="http://www.w3.org/2000/svg" width="20" height="10"><circle cx="5" cy="5" r="4"/></svg>`), 0o644))
	must(writeFinding(dir, cfg, Finding{Number: 1, Stage: 1, Title: "Individual architectures", Statement: "Less accurate, less resilient.",
		Primary: 0, Cells: []Cell{
			{Name: "relative mCE ~ clean error", Quantity: "spearman_rho", N: 2, Estimate: st.Correlation.Estimate,
				Claim: st.Correlation.Claim, Source: "stats/individual.json"},
			{Name: "lenet_w0.5 against resnet18_w0.125 | pipes", Quantity: "relative_mce", N: 24, Estimate: Interval{0.8765, 0.5, 1.31},
				Claim: Claim{Statement: "relative mCE below 1", Threshold: 1, Below: true}, Source: "stats/individual.json"},
		}}))
	must(r.markComplete(individualStage()))

	// Stage 2.
	ens := filepath.Join(dir, ensemblesDir)
	must(os.MkdirAll(ens, 0o755))
	rows := []EnsembleRow{
		{Name: "a+b", Size: 2, Members: []string{"train/a", "train/b"}, Metrics: map[string]nullable{"accuracy": 0.8125, "relative_mce": 0.9321, "accuracy/fog": 0.7},
			Diversity: map[string]nullable{"disagreement": 0.23456, "kohavi_wolpert": 0.0617, "cka_linear": nullable(nan)}},
		{Name: "a+a2", Size: 2, Homogeneous: true, Members: []string{"train/a", "train/a2"}, Metrics: map[string]nullable{"accuracy": 0.75, "relative_mce": 1.0112},
			Diversity: map[string]nullable{"disagreement": 0.1, "kohavi_wolpert": 0.025, "cka_linear": 0.0333333}},
		{Name: "b+b2", Size: 2, Homogeneous: true, Members: []string{"train/b", "train/b2"}, Metrics: map[string]nullable{"accuracy": 0.7083, "relative_mce": 0.95},
			Diversity: map[string]nullable{"disagreement": 0.125, "kohavi_wolpert": 0.03125, "cka_linear": 0.1}},
	}
	must(writeEnsembleTable(ens, rows))
	est := func(v, lo, hi float64) diversity.Estimate {
		return diversity.Estimate{Value: v, Low: lo, High: hi, P: 0.5}
	}
	corr := []diversity.CorrRow{{Diversity: "disagreement", Target: "accuracy",
		Correlation: diversity.Correlation{N: 3, Pearson: est(0.9, -1, 1), Spearman: est(0.5, -1, 1), KendallTauB: est(0.3333, -1, 1)}},
		{Diversity: "disagreement", Target: "accuracy/fog", Correlation: diversity.Correlation{N: 3, Pearson: est(0.1, -1, 1)}}}
	must(writeCorrelations(filepath.Join(ens, correlationsFile), corr))
	must(writeFindingTwo(filepath.Join(ens, findingTwoFile), corr))
	must(writeFinding(dir, cfg, Finding{Number: 2, Stage: 2, Title: "Diversity and ensemble accuracy", Statement: "More diverse, more accurate.",
		Primary: 0, Cells: []Cell{{Name: "disagreement ~ accuracy", Quantity: "spearman_rho", N: 3, Estimate: Interval{0.5, -1, 1},
			Claim: Claim{Statement: "disagreement goes with better accuracy"}, Source: "ensembles/correlations.json"}}}))
	must(r.markComplete(ensemblesStage()))
	// A cell another stage adds to finding 2.
	must(writeFinding(dir, cfg, Finding{Number: 2, Stage: 3, Primary: -1, Cells: []Cell{{Name: "diversity − accuracy choice",
		Quantity: "corruption_accuracy_difference", N: 24, Estimate: Interval{0.0417, 0.0012, 0.09}, Source: "nas/cells.json"}}}))

	// Stage 4: a table and finding 3, no record.
	must(os.MkdirAll(filepath.Join(dir, "ncl"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "ncl", "ncl.json"), []byte(`{"test_images": 24, "attribution": "saliency", "cells": [
 {"heuristic": "none", "lambda": 1, "members": ["lenet_w0.5", "resnet18_w0.125"],
  "metrics": {"corruption_accuracy": {"value": 0.61, "low": 0.55, "high": 0.68}}, "diversity": {"disagreement": {"value": 0.12, "low": null, "high": 0.2}}},
 {"heuristic": "prediction", "lambda": 0.5, "members": ["lenet_w0.5", "resnet18_w0.125"],
  "metrics": {"corruption_accuracy": {"value": 0.6345, "low": null, "high": 0.7}}, "diversity": {"disagreement": {"value": 0.2, "low": 0.1, "high": 0.3}}}],
 "reference": {"size": 2}}`), 0o644))
	// Stage 3 left a table but no record.
	must(os.MkdirAll(filepath.Join(dir, "nas"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "nas", "nas.json"), []byte(`{"recipe": {"k": 3}, "pool_size": 6, "ensembles": [
 {"method": "accuracy", "members": [{"name": "sub1", "macs": 10}, {"name": "sub2", "macs": 12}],
  "clean_accuracy": {"value": 0.75, "low": 0.6, "high": 0.9}, "metrics": {"accuracy": 0.75, "accuracy/fog": 0.5}}]}`), 0o644))
	must(writeFinding(dir, cfg, Finding{Number: 3, Stage: 4, Title: "Balanced loss", Statement: "λ = 0.5 beats λ = 1.", Primary: 0,
		Cells: []Cell{{Name: "λ=0.5 − λ=1, heuristic none", Quantity: "corruption_accuracy_difference", N: 24,
			Estimate: Interval{0.0245, -0.01, 0.06}, Source: "ncl/ncl.json"}}}))
	return r, []string{"heatmap_error", "only_svg", "relative_mce"}
}

// parsedTable is a table read back from the report: its header and its rows as
// column → text.
type parsedTable struct {
	header []string
	rows   []map[string]string
}

// find returns the first row whose columns hold the values of kv (column,
// value, ...).
func (p *parsedTable) find(kv ...string) map[string]string {
	for _, row := range p.rows {
		ok := true
		for i := 0; i+1 < len(kv); i += 2 {
			ok = ok && row[kv[i]] == kv[i+1]
		}
		if ok {
			return row
		}
	}
	return nil
}

func (p *parsedTable) add(cells []string) {
	row := map[string]string{}
	for j, c := range cells {
		if j < len(p.header) {
			row[p.header[j]] = c
		}
	}
	p.rows = append(p.rows, row)
}

var (
	mdFinding = regexp.MustCompile("^### Finding (\\d+):")
	mdTable   = regexp.MustCompile("^Table `([^`]+)`")
)

// splitMDRow splits a Markdown table row on its unescaped pipes.
func splitMDRow(line string) []string {
	line = strings.TrimSpace(line)
	line = strings.TrimPrefix(strings.TrimSuffix(line, "|"), "|")
	var cells []string
	var cur strings.Builder
	for i := 0; i < len(line); i++ {
		switch {
		case line[i] == '\\' && i+1 < len(line) && line[i+1] == '|':
			cur.WriteByte('|')
			i++
		case line[i] == '|':
			cells = append(cells, strings.TrimSpace(cur.String()))
			cur.Reset()
		default:
			cur.WriteByte(line[i])
		}
	}
	return append(cells, strings.TrimSpace(cur.String()))
}

// parseMD reads the tables of report.md: "finding N" for each finding's cells,
// "table NAME" for each data table.
func parseMD(md string) map[string]*parsedTable {
	out := map[string]*parsedTable{}
	key := ""
	var cur *parsedTable
	for _, line := range strings.Split(md, "\n") {
		switch {
		case strings.HasPrefix(line, "#"):
			key, cur = "", nil
			if m := mdFinding.FindStringSubmatch(line); m != nil {
				key = "finding " + m[1]
			}
		case mdTable.MatchString(line):
			key, cur = "table "+mdTable.FindStringSubmatch(line)[1], nil
		case strings.HasPrefix(line, "|") && key != "":
			cells := splitMDRow(line)
			switch {
			case cur == nil:
				cur = &parsedTable{header: cells}
				out[key] = cur
			case strings.Trim(strings.Join(cells, ""), "-:") == "":
			default:
				cur.add(cells)
			}
		}
	}
	return out
}

var (
	htmlTable = regexp.MustCompile(`(?s)<table class="(?:cells|data)" data-(finding|table)="([^"]+)">(.*?)</table>`)
	htmlRow   = regexp.MustCompile(`(?s)<tr>(.*?)</tr>`)
	htmlCell  = regexp.MustCompile(`(?s)<t[hd][^>]*>(.*?)</t[hd]>`)
	htmlTag   = regexp.MustCompile(`<[^>]+>`)
)

// parseHTML reads the same tables from report.html.
func parseHTML(doc string) map[string]*parsedTable {
	out := map[string]*parsedTable{}
	for _, m := range htmlTable.FindAllStringSubmatch(doc, -1) {
		p := &parsedTable{}
		for i, row := range htmlRow.FindAllStringSubmatch(m[3], -1) {
			var cells []string
			for _, c := range htmlCell.FindAllStringSubmatch(row[1], -1) {
				cells = append(cells, html.UnescapeString(htmlTag.ReplaceAllString(c[1], "")))
			}
			if i == 0 {
				p.header = cells
			} else {
				p.add(cells)
			}
		}
		out[m[1]+" "+html.UnescapeString(m[2])] = p
	}
	return out
}

// checkReport compares every number of report.md and report.html with the
// result files, formatted the way the report formats them, and the tables
// under RUN/tables with the same files. It returns the mismatches.
func checkReport(dir string) []string {
	var bad []string
	fail := func(format string, a ...any) { bad = append(bad, fmt.Sprintf(format, a...)) }
	docs := map[string]map[string]*parsedTable{}
	for _, name := range []string{reportMD, reportHTML} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return []string{err.Error()}
		}
		if name == reportMD {
			docs[name] = parseMD(string(b))
		} else {
			docs[name] = parseHTML(string(b))
		}
	}
	eachDoc := func(key string, f func(doc string, t *parsedTable)) {
		for _, doc := range []string{reportMD, reportHTML} {
			t := docs[doc][key]
			if t == nil {
				fail("%s: no %s", doc, key)
				continue
			}
			f(doc, t)
		}
	}

	// Every cell of every finding file, as printed in both documents and as
	// written to tables/findings.csv.
	paths, _ := filepath.Glob(filepath.Join(dir, findingsDir, "*.json"))
	if len(paths) == 0 {
		fail("no finding files")
	}
	csvRows := readCSV(filepath.Join(dir, tablesDir, findingsTable+".csv"))
	cells := 0
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return []string{err.Error()}
		}
		var f Finding
		if err := json.Unmarshal(b, &f); err != nil {
			return []string{p + ": " + err.Error()}
		}
		cells += len(f.Cells)
		eachDoc(fmt.Sprintf("finding %d", f.Number), func(doc string, t *parsedTable) {
			for _, c := range f.Cells {
				row := t.find("cell", c.Name, "quantity", c.Quantity)
				switch {
				case row == nil:
					fail("%s: finding %d (%s) has no cell %q", doc, f.Number, filepath.Base(p), c.Name)
				case row["estimate [low, high]"] != formatInterval(c.Estimate):
					fail("%s: finding %d cell %q: printed %q, the file holds %q", doc, f.Number, c.Name, row["estimate [low, high]"], formatInterval(c.Estimate))
				case row["n"] != strconv.Itoa(c.N) || row["verdict"] != string(c.Verdict) || row["source"] != c.Source:
					fail("%s: finding %d cell %q: n, verdict or source %v differ from the file", doc, f.Number, c.Name, row)
				}
			}
		})
		for _, c := range f.Cells {
			row := csvRows.find("finding", strconv.Itoa(f.Number), "cell", c.Name)
			if row == nil || !sameNumber(row["estimate"], c.Estimate.Value) || !sameNumber(row["estimate_low"], c.Estimate.Low) ||
				!sameNumber(row["estimate_high"], c.Estimate.High) {
				fail("tables/findings.csv: finding %d cell %q: %v, the file holds %v", f.Number, c.Name, row, c.Estimate)
			}
		}
	}
	if len(csvRows.rows) != cells {
		fail("tables/findings.csv has %d rows for %d cells", len(csvRows.rows), cells)
	}

	// Stage 1's statistics.
	if b, err := os.ReadFile(filepath.Join(dir, "stats", individualTable+".json")); err == nil {
		var st IndividualStats
		if err := json.Unmarshal(b, &st); err != nil {
			return []string{err.Error()}
		}
		eachDoc("table "+individualTable, func(doc string, t *parsedTable) {
			for _, m := range st.Models {
				row := t.find("model", m.Model)
				if row == nil {
					fail("%s: no row of %s", doc, m.Model)
					continue
				}
				for col, iv := range map[string]Interval{"clean_error": m.CleanError, "corruption_accuracy": m.CorruptionAccuracy,
					"mce": m.MCE, "relative_mce": m.RelativeMCE} {
					if row[col] != formatInterval(iv) {
						fail("%s: %s %s: printed %q, the file holds %q", doc, m.Model, col, row[col], formatInterval(iv))
					}
				}
			}
		})
	}

	// Stage 2's ensembles: every metric and diversity of every ensemble.
	if b, err := os.ReadFile(filepath.Join(dir, ensemblesDir, ensemblesTable)); err == nil {
		var tab struct {
			Ensembles []struct {
				Name      string              `json:"name"`
				Metrics   map[string]*float64 `json:"metrics"`
				Diversity map[string]*float64 `json:"diversity"`
			} `json:"ensembles"`
		}
		if err := json.Unmarshal(b, &tab); err != nil {
			return []string{err.Error()}
		}
		csvEns := readCSV(filepath.Join(dir, tablesDir, "ensembles.csv"))
		eachDoc("table ensembles", func(doc string, t *parsedTable) {
			if len(t.rows) != len(tab.Ensembles) {
				fail("%s: %d ensembles printed, %d in the file", doc, len(t.rows), len(tab.Ensembles))
			}
			for _, e := range tab.Ensembles {
				row, crow := t.find("name", e.Name), csvEns.find("name", e.Name)
				if row == nil || crow == nil {
					fail("%s: no row of ensemble %s", doc, e.Name)
					continue
				}
				for prefix, m := range map[string]map[string]*float64{"metrics/": e.Metrics, "diversity/": e.Diversity} {
					for k, v := range m {
						col := prefix + k
						if strings.Contains(k, "/") {
							continue // per corruption: in ensembles/ensembles.csv only
						}
						if want := formatNumber(ptrValue(v)); row[col] != want {
							fail("%s: ensemble %s %s: printed %q, the file holds %q", doc, e.Name, col, row[col], want)
						}
						if !sameNumber(crow[col], ptrValue(v)) {
							fail("tables/ensembles.csv: ensemble %s %s: %q, the file holds %v", e.Name, col, crow[col], ptrValue(v))
						}
					}
				}
			}
		})
	}

	// Every other table: as printed, the values of its JSON under RUN/tables.
	tables, _ := filepath.Glob(filepath.Join(dir, tablesDir, "*.json"))
	for _, p := range tables {
		name := strings.TrimSuffix(filepath.Base(p), ".json")
		if name == findingsTable {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return []string{err.Error()}
		}
		var tj struct {
			Rows []map[string]json.RawMessage `json:"rows"`
		}
		if err := json.Unmarshal(b, &tj); err != nil {
			return []string{p + ": " + err.Error()}
		}
		eachDoc("table "+name, func(doc string, t *parsedTable) {
			if len(t.rows) != len(tj.Rows) {
				fail("%s: table %s has %d rows, tables/%s.json %d", doc, name, len(t.rows), name, len(tj.Rows))
				return
			}
			for i, row := range tj.Rows {
				for col, raw := range row {
					if got, want := t.rows[i][col], printed(raw); got != want {
						fail("%s: table %s row %d %s: printed %q, tables/%s.json holds %q", doc, name, i, col, got, name, want)
					}
				}
			}
		})
	}
	return bad
}

// printed is how the report prints a value of a table's JSON.
func printed(raw json.RawMessage) string {
	var iv Interval
	if bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) && json.Unmarshal(raw, &iv) == nil {
		return formatInterval(iv)
	}
	var v any
	_ = json.Unmarshal(raw, &v)
	switch x := v.(type) {
	case float64:
		return formatNumber(x)
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case nil:
		return formatNumber(math.NaN())
	}
	return ""
}

// sameNumber reports whether a CSV field holds exactly v (empty for NaN).
func sameNumber(field string, v float64) bool {
	if math.IsNaN(v) {
		return field == ""
	}
	f, err := strconv.ParseFloat(field, 64)
	return err == nil && f == v
}

func readCSV(path string) *parsedTable {
	p := &parsedTable{}
	b, err := os.ReadFile(path)
	if err != nil {
		return p
	}
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil || len(recs) == 0 {
		return p
	}
	p.header = recs[0]
	for _, r := range recs[1:] {
		p.add(r)
	}
	return p
}

// Every number the report prints is the one in the result files, in both
// documents and in RUN/tables; the check catches a changed value.
func TestReportNumbersMatchResults(t *testing.T) {
	r, _ := reportFixture(t)
	if err := writeReport(r, false); err != nil {
		t.Fatal(err)
	}
	if bad := checkReport(r.Dir); len(bad) > 0 {
		t.Fatalf("the report differs from the results:\n%s", strings.Join(bad, "\n"))
	}
	md := readTestFile(t, filepath.Join(r.Dir, reportMD))
	for _, want := range []string{"**Missing:** stage 3 nas", "stage 4 ncl", "fashion-mnist", "resnet18_w0.125 (resnet18, width 0.125, cifar) — baseline",
		"fog, contrast", "0, 1 (2 per architecture)", "| 24 |", "**Primary effect**: disagreement ~ accuracy (spearman_rho): 0.5 [-1, 1]",
		"What would settle it", "![only_svg](figures/only_svg.svg)", "![relative_mce](figures/relative_mce.png)", "Table `ncl`", "Table `summary`"} {
		if !strings.Contains(md, want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	if strings.Contains(md, "metrics/accuracy/fog") || strings.Contains(md, "| accuracy/fog |") {
		t.Error("the per-corruption accuracies are in the report's ensembles or correlations table")
	}
	for _, f := range []string{"findings", "individual", "summary", "ensembles", "correlations", "nas", "ncl"} {
		for _, ext := range []string{".csv", ".json"} {
			if _, err := os.Stat(filepath.Join(r.Dir, tablesDir, f+ext)); err != nil {
				t.Error(err)
			}
		}
	}
	if !strings.Contains(md, "| accuracy | sub1 + sub2 | 0.75 [0.6, 0.9] | 0.75 |") || strings.Contains(md, "accuracy/fog") {
		t.Error("the NAS table does not show the members by name and the metrics without those per corruption")
	}
	page := readTestFile(t, filepath.Join(r.Dir, reportHTML))
	for _, ext := range []string{`src="http`, `href="http`, "<link", "@import", "<script", `src="figures`} {
		if strings.Contains(page, ext) {
			t.Errorf("report.html is not self-contained: it holds %s", ext)
		}
	}
	for _, want := range []string{`<span class="verdict inconclusive">`, `data:image/png;base64,`, `data:image/svg+xml;base64,`} {
		if !strings.Contains(page, want) {
			t.Errorf("report.html lacks %s", want)
		}
	}

	t.Run("a changed finding is caught", func(t *testing.T) {
		path := filepath.Join(r.Dir, findingsDir, "finding2-s2.json")
		if _, err := os.Stat(path); err != nil {
			path = filepath.Join(r.Dir, findingsDir, "finding2.json")
		}
		var f Finding
		if err := json.Unmarshal([]byte(readTestFile(t, path)), &f); err != nil {
			t.Fatal(err)
		}
		f.Cells[0].Estimate.Value += 0.01
		b, _ := json.Marshal(f)
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		bad := checkReport(r.Dir)
		if len(bad) == 0 || !strings.Contains(strings.Join(bad, "\n"), "disagreement ~ accuracy") {
			t.Fatalf("a changed estimate was not caught: %v", bad)
		}
	})
	t.Run("a changed diversity is caught", func(t *testing.T) {
		path := filepath.Join(r.Dir, ensemblesDir, ensemblesTable)
		js := readTestFile(t, path)
		changed := strings.Replace(js, "0.23456", "0.23457", 1)
		if changed == js {
			t.Fatal("the fixture's diversity is not in ensembles.json")
		}
		if err := os.WriteFile(path, []byte(changed), 0o644); err != nil {
			t.Fatal(err)
		}
		if bad := checkReport(r.Dir); !strings.Contains(strings.Join(bad, "\n"), "diversity/disagreement") {
			t.Fatalf("a changed diversity was not caught: %v", bad)
		}
	})
	t.Run("a stale report is rewritten on resume", func(t *testing.T) {
		if err := writeReport(r, false); err != nil {
			t.Fatal(err)
		}
		st0, _ := os.Stat(filepath.Join(r.Dir, reportHTML))
		old := st0.ModTime().Add(-time.Hour)
		if err := os.Chtimes(filepath.Join(r.Dir, reportHTML), old, old); err != nil {
			t.Fatal(err)
		}
		// Nothing is newer than the report would be...
		for _, p := range readReport(r).sources {
			if err := os.Chtimes(p, old.Add(-time.Minute), old.Add(-time.Minute)); err != nil {
				t.Fatal(err)
			}
		}
		if err := writeReport(r, true); err != nil {
			t.Fatal(err)
		}
		if st, _ := os.Stat(filepath.Join(r.Dir, reportHTML)); !st.ModTime().Equal(old) {
			t.Fatal("a fresh report was rewritten")
		}
		// ...until a result changes.
		now := time.Now()
		if err := os.Chtimes(filepath.Join(r.Dir, ensemblesDir, ensemblesTable), now, now); err != nil {
			t.Fatal(err)
		}
		if err := writeReport(r, true); err != nil {
			t.Fatal(err)
		}
		if st, _ := os.Stat(filepath.Join(r.Dir, reportHTML)); st.ModTime().Equal(old) {
			t.Fatal("a stale report was kept")
		}
		if bad := checkReport(r.Dir); len(bad) > 0 {
			t.Fatalf("the rewritten report differs from the results:\n%s", strings.Join(bad, "\n"))
		}
	})
}

// With stage 1 only, the report holds its table and finding and names the
// other stages as missing; an unreadable result is named and is an error.
func TestReportPartial(t *testing.T) {
	r, _ := reportFixture(t)
	later, _ := filepath.Glob(filepath.Join(r.Dir, findingsDir, "finding[23]*.json"))
	for _, p := range append(later, filepath.Join(r.Dir, ensemblesDir), filepath.Join(r.Dir, "ncl"), filepath.Join(r.Dir, "nas"),
		filepath.Join(r.Dir, "stages", "2-ensembles.json")) {
		if err := os.RemoveAll(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := writeReport(r, false); err != nil {
		t.Fatal(err)
	}
	md := readTestFile(t, filepath.Join(r.Dir, reportMD))
	if !strings.Contains(md, "| 1 | individual (individual architectures) | complete |") ||
		!strings.Contains(md, "**Missing:** stage 2 ensembles") || !strings.Contains(md, "### Finding 1:") ||
		strings.Contains(md, "### Finding 2:") || strings.Contains(md, "Table `ensembles`") || strings.Contains(md, "Table `nas`") ||
		!strings.Contains(md, "Table `individual`") {
		t.Fatalf("report of stage 1 alone:\n%s", md)
	}
	if bad := checkReport(r.Dir); len(bad) > 0 {
		t.Fatalf("the report differs from the results:\n%s", strings.Join(bad, "\n"))
	}
	if err := os.WriteFile(filepath.Join(r.Dir, "stats", individualTable+".json"), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := writeReport(r, false)
	if err == nil || !strings.Contains(err.Error(), "stats/individual.json") {
		t.Fatalf("an unreadable table: %v", err)
	}
	if md := readTestFile(t, filepath.Join(r.Dir, reportMD)); !strings.Contains(md, "**Unreadable:** stats/individual.json") {
		t.Fatal("the report does not name the unreadable table")
	}
}

// checkScript runs in the rendered page after it loaded and writes what it finds
// into the DOM.
const checkScript = `<script>
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  var q = function (sel, f) { return Array.prototype.slice.call(document.querySelectorAll(sel)).map(f); };
  var r = {
    images: imgs.length,
    broken: imgs.filter(function (i) { return !i.complete || i.naturalWidth === 0; }).map(function (i) { return i.alt; }),
    captions: q('figcaption', function (c) { return c.textContent; }),
    tables: q('table[data-table]', function (t) { return t.getAttribute('data-table') + ':' + t.tBodies[0].rows.length; }),
    findings: q('table[data-finding]', function (t) { return t.getAttribute('data-finding') + ':' + t.tBodies[0].rows.length; })
  };
  var pre = document.createElement('pre');
  pre.id = 'divres-check';
  pre.textContent = JSON.stringify(r);
  document.body.appendChild(pre);
});
</script>`

// The report renders in headless Chromium: every figure is an image that
// decodes (a deliberately broken one is caught), every table and finding is in
// the DOM with its rows.
func TestReportRendersInChromium(t *testing.T) {
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium is not installed: run ./build.sh (it installs Debian's chromium package, which renders the report in this test)")
	}
	r, figs := reportFixture(t)
	if err := writeReport(r, false); err != nil {
		t.Fatal(err)
	}
	page := readTestFile(t, filepath.Join(r.Dir, reportHTML))
	page = strings.Replace(page, "</body>", `<img alt="deliberately-broken" src="data:image/png;base64,AAAA">`+checkScript+"</body>", 1)
	check := filepath.Join(t.TempDir(), "check.html")
	if err := os.WriteFile(check, []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir="+t.TempDir(),
		"--virtual-time-budget=10000", "--dump-dom", "file://"+check)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	dom, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	m := regexp.MustCompile(`(?s)<pre id="divres-check">(.*?)</pre>`).FindSubmatch(dom)
	if m == nil {
		t.Fatalf("the check script left no result in the DOM:\n%.2000s\n%s", dom, stderr.String())
	}
	var got struct {
		Images   int      `json:"images"`
		Broken   []string `json:"broken"`
		Captions []string `json:"captions"`
		Tables   []string `json:"tables"`
		Findings []string `json:"findings"`
	}
	if err := json.Unmarshal([]byte(html.UnescapeString(string(m[1]))), &got); err != nil {
		t.Fatal(err)
	}
	if got.Images != len(figs)+1 || !slices.Equal(got.Captions, figs) {
		t.Errorf("%d images with captions %v, want the %d figures %v and the broken one", got.Images, got.Captions, len(figs), figs)
	}
	if !slices.Equal(got.Broken, []string{"deliberately-broken"}) {
		t.Errorf("broken images %v, want only the deliberately broken one", got.Broken)
	}
	rep := readReport(r)
	var wantTables, wantFindings []string
	for _, tb := range rep.Tables[1:] {
		wantTables = append(wantTables, fmt.Sprintf("%s:%d", tb.Name, len(tb.Rows)))
	}
	for _, f := range rep.Findings {
		wantFindings = append(wantFindings, fmt.Sprintf("%d:%d", f.Number, len(f.Cells)))
	}
	if !slices.Equal(got.Tables, wantTables) || !slices.Equal(got.Findings, wantFindings) {
		t.Errorf("rendered tables %v and findings %v, want %v and %v", got.Tables, got.Findings, wantTables, wantFindings)
	}
	if len(wantTables) != 6 || len(wantFindings) != 3 {
		t.Errorf("the fixture gives tables %v and findings %v", wantTables, wantFindings)
	}
}

// A tiny real study (stages 1 and 2, then the report): the report matches the
// results, names stages 3 and 4 as missing, and a rerun leaves it as it is.
func TestReportStudy(t *testing.T) {
	if _, err := os.Stat(filepath.Join(data.FashionMNISTDir, "t10k-images-idx3-ubyte.gz")); err != nil {
		t.Fatal("Fashion-MNIST is not installed (build.sh installs dataset-fashion-mnist)")
	}
	dir := t.TempDir()
	cfg := Default()
	cfg.PerClass, cfg.TestSubset, cfg.Epochs, cfg.Batch = 4, 16, 1, 20
	cfg.Baseline = "resnet18"
	cfg.Models = []Model{{Arch: "resnet18", Width: 0.0625}, {Arch: "lenet", Width: 0.5}}
	cfg.Corruptions, cfg.Severities = []string{"fog"}, []int{1}
	cfg.Seeds, cfg.Bootstrap = 2, 50
	stages := []Stage{individualStage(), ensemblesStage(), reportStage()}
	opts := Options{Device: torch.CPU, Workers: 1}
	if err := execute(context.Background(), cfg, dir, opts, stages); err != nil {
		t.Fatal(err)
	}
	if bad := checkReport(dir); len(bad) > 0 {
		t.Fatalf("the report differs from the results:\n%s", strings.Join(bad, "\n"))
	}
	md := readTestFile(t, filepath.Join(dir, reportMD))
	for _, want := range []string{"### Finding 1:", "### Finding 2:", "Table `individual`", "Table `ensembles`", "Table `correlations`",
		"| 1 | individual (individual architectures) | complete |", "| 2 | ensembles (ensembles of different architectures) | complete |",
		"stage 3 nas", "stage 4 ncl"} {
		if !strings.Contains(md, want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	// Every figure is in both documents.
	pngs, _ := filepath.Glob(filepath.Join(dir, "figures", "*.png"))
	page := readTestFile(t, filepath.Join(dir, reportHTML))
	if len(pngs) < 3 || strings.Count(page, `<img alt=`) != len(pngs) {
		t.Errorf("%d PNG figures, %d images in report.html", len(pngs), strings.Count(page, `<img alt=`))
	}
	for _, p := range pngs {
		name := strings.TrimSuffix(filepath.Base(p), ".png")
		if !strings.Contains(md, "!["+name+"](figures/"+name+".png)") || !strings.Contains(page, "<figcaption>"+name+"</figcaption>") {
			t.Errorf("the report lacks the figure %s", name)
		}
	}
	st0, err := os.Stat(filepath.Join(dir, reportHTML))
	if err != nil {
		t.Fatal(err)
	}
	if err := execute(context.Background(), cfg, dir, opts, stages); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(filepath.Join(dir, reportHTML)); !st.ModTime().Equal(st0.ModTime()) {
		t.Error("a rerun with nothing changed rewrote the report")
	}
}

func readTestFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
