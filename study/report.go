package study

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/divres/divres/internal/atomicfile"
)

// The files of stage 5 in the run directory.
const (
	reportHTML = "report.html"
	reportMD   = "report.md"
	tablesDir  = "tables"
	// findingsTable is the base name of the table of every finding's cells.
	findingsTable = "findings"
)

// reportStage is stage 5: the report of what the other stages wrote. It reads
// result files only, so it runs with whatever stages ran: it has no Inputs (the
// study refuses a stage whose inputs are missing), says which stages are missing
// instead, and, when skipped as complete, rewrites the report if a file it reads
// changed since.
func reportStage() Stage {
	return Stage{
		Number: 5, Name: "report",
		Outputs: []string{reportHTML, reportMD, filepath.Join(tablesDir, findingsTable+".csv"),
			filepath.Join(tablesDir, findingsTable+".json")},
		Recipe: func(c Config) any { return c },
		Run:    func(_ context.Context, r *Run) error { return writeReport(r, false) },
		Resume: func(r *Run) error { return writeReport(r, true) },
	}
}

// formatNumber writes one number of the report, in the HTML and the Markdown
// alike: integers as such, other values with four significant digits, "–" when
// undefined.
func formatNumber(v float64) string {
	switch {
	case math.IsNaN(v):
		return "–"
	case math.IsInf(v, 1):
		return "∞"
	case math.IsInf(v, -1):
		return "−∞"
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case math.Abs(v) >= 1000:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

// formatInterval writes an estimate with its interval as "value [low, high]"
// (formatNumber for each).
func formatInterval(iv Interval) string {
	return formatNumber(iv.Value) + " [" + formatNumber(iv.Low) + ", " + formatNumber(iv.High) + "]"
}

// repValue is one cell of a report table: a string, a number, an interval, a
// boolean or nothing.
type repValue struct {
	kind byte // 's', 'n', 'i', 'b' or 0 (empty)
	s    string
	f    float64
	iv   Interval
	b    bool
}

func repStr(s string) repValue         { return repValue{kind: 's', s: s} }
func repNum(v float64) repValue        { return repValue{kind: 'n', f: v} }
func repInterval(iv Interval) repValue { return repValue{kind: 'i', iv: iv} }
func repBool(b bool) repValue          { return repValue{kind: 'b', b: b} }

// repNumPtr is the number, undefined (NaN) for nil.
func repNumPtr(p *float64) repValue { return repNum(ptrValue(p)) }

// text is the cell as the report prints it.
func (v repValue) text() string {
	switch v.kind {
	case 's':
		return v.s
	case 'n':
		return formatNumber(v.f)
	case 'i':
		return formatInterval(v.iv)
	case 'b':
		return strconv.FormatBool(v.b)
	}
	return formatNumber(math.NaN())
}

// csvText is the cell in full precision for CSV (empty when undefined).
func (v repValue) csvText() string {
	switch v.kind {
	case 'n':
		if math.IsNaN(v.f) || math.IsInf(v.f, 0) {
			return ""
		}
		return strconv.FormatFloat(v.f, 'g', -1, 64)
	case 'b', 's':
		return v.text()
	}
	return ""
}

func (v repValue) jsonValue() any {
	switch v.kind {
	case 's':
		return v.s
	case 'n':
		return finite(v.f)
	case 'i':
		return v.iv
	case 'b':
		return v.b
	}
	return nil
}

// repTable is one table of the report, written also as RUN/tables/<Name>.csv and
// .json.
type repTable struct {
	Name, Title string
	Stage       int
	// Source is the result file the table is read from, relative to the run
	// directory; Note a line printed under the title.
	Source, Note string
	Columns      []string
	Rows         [][]repValue
}

// intervalColumns says which columns hold intervals: in CSV, an interval
// column c becomes c, c_low and c_high.
func (t *repTable) intervalColumns() []bool {
	iv := make([]bool, len(t.Columns))
	for _, row := range t.Rows {
		for j, v := range row {
			iv[j] = iv[j] || v.kind == 'i'
		}
	}
	return iv
}

func (t *repTable) csv() ([]byte, error) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	isIv := t.intervalColumns()
	var head []string
	for j, c := range t.Columns {
		head = append(head, c)
		if isIv[j] {
			head = append(head, c+"_low", c+"_high")
		}
	}
	_ = w.Write(head)
	for _, row := range t.Rows {
		var rec []string
		for j, v := range row {
			if !isIv[j] {
				rec = append(rec, v.csvText())
				continue
			}
			if v.kind == 'i' {
				rec = append(rec, repNum(v.iv.Value).csvText(), repNum(v.iv.Low).csvText(), repNum(v.iv.High).csvText())
			} else {
				rec = append(rec, v.csvText(), "", "")
			}
		}
		_ = w.Write(rec)
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}

// json is {"table", "title", "stage", "source", "rows"}, each row an object
// with the columns in order (intervals as {"value", "low", "high"}, undefined
// values as null).
func (t *repTable) json() ([]byte, error) {
	var b bytes.Buffer
	head, err := json.Marshal(map[string]any{"table": t.Name, "title": t.Title, "stage": t.Stage, "source": t.Source})
	if err != nil {
		return nil, err
	}
	b.Write(head[:len(head)-1])
	b.WriteString(`,"rows":[`)
	for i, row := range t.Rows {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('{')
		for j, v := range row {
			if j > 0 {
				b.WriteByte(',')
			}
			k, _ := json.Marshal(t.Columns[j])
			val, err := json.Marshal(v.jsonValue())
			if err != nil {
				return nil, err
			}
			b.Write(k)
			b.WriteByte(':')
			b.Write(val)
		}
		b.WriteByte('}')
	}
	b.WriteString("]}")
	var out bytes.Buffer
	if err := json.Indent(&out, b.Bytes(), "", " "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

// reportStages are the stages the report covers.
var reportStages = []struct {
	Number      int
	Name, Title string
}{
	{1, "individual", "individual architectures"},
	{2, "ensembles", "ensembles of different architectures"},
	{3, "nas", "NAS ensembles"},
	{4, "ncl", "NCL joint training"},
}

// repStage is whether a stage's results are in the report.
type repStage struct {
	Number      int
	Name, Title string
	Complete    bool
	Status      string
}

// repFigure is a figure of RUN/figures, embedded in the HTML.
type repFigure struct {
	Name, File, Mime string
	Data             []byte
}

// reportData is what the report shows, read from the run directory.
type reportData struct {
	Config   Config
	Stages   []repStage
	Findings []Finding
	Tables   []*repTable
	Figures  []repFigure
	// Problems are result files that exist but could not be read.
	Problems []string
	// sources are the files read, for the freshness check.
	sources []string
}

// missing are the stages whose results are not (all) in the report.
func (rep *reportData) missing() []repStage {
	var out []repStage
	for _, s := range rep.Stages {
		if !s.Complete {
			out = append(out, s)
		}
	}
	return out
}

// readReport gathers the report of the run r.
func readReport(r *Run) *reportData {
	rep := &reportData{Config: r.Config}
	known := map[int]Stage{}
	for _, s := range Stages() {
		known[s.Number] = s
	}
	for _, info := range reportStages {
		st := repStage{Number: info.Number, Name: info.Name, Title: info.Title}
		s, ok := known[info.Number]
		record := filepath.Join(r.Dir, "stages", fmt.Sprintf("%d-%s.json", info.Number, info.Name))
		_, recErr := os.Stat(record)
		if recErr == nil {
			rep.sources = append(rep.sources, record)
		}
		switch {
		case !ok:
			st.Status = "not available in this build of divres"
		case r.complete(s):
			st.Complete, st.Status = true, "complete"
		case recErr == nil:
			st.Status = "outdated: it completed with another recipe, or an output of it is missing; rerun it"
		default:
			st.Status = "not run (or failed): run it with divres study --stages " + strconv.Itoa(info.Number)
		}
		rep.Stages = append(rep.Stages, st)
	}

	fpaths, _ := filepath.Glob(filepath.Join(r.Dir, findingsDir, "finding*.json"))
	rep.sources = append(rep.sources, fpaths...)
	if found, err := ReadFindings(r.Dir); err != nil {
		rep.Problems = append(rep.Problems, "findings: "+err.Error())
	} else {
		rep.Findings = found
	}
	rep.Tables = append(rep.Tables, findingsAsTable(rep.Findings))

	for _, spec := range reportTableSpecs {
		path := filepath.Join(r.Dir, spec.source)
		b, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		rep.sources = append(rep.sources, path)
		var t *repTable
		if err == nil {
			t, err = spec.read(b)
		}
		if err != nil {
			rep.Problems = append(rep.Problems, fmt.Sprintf("%s: %v", spec.source, err))
			continue
		}
		t.Name, t.Title, t.Stage, t.Source = spec.name, spec.title, spec.stage, spec.source
		if spec.skip != nil {
			t.dropColumns(spec.skip)
		}
		if spec.skipRow != nil {
			t.dropRows(spec.skipRow)
		}
		if spec.note != "" {
			t.Note = strings.TrimSpace(t.Note + " " + spec.note)
		}
		rep.Tables = append(rep.Tables, t)
	}

	rep.Figures, rep.Problems = readFigures(filepath.Join(r.Dir, "figures"), rep.Problems)
	for _, f := range rep.Figures {
		rep.sources = append(rep.sources, filepath.Join(r.Dir, "figures", f.File))
	}
	return rep
}

// readFigures reads every figure of dir: its PNG, or its SVG when it has no PNG.
func readFigures(dir string, problems []string) ([]repFigure, []string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, problems
	}
	files := map[string]string{}
	for _, e := range entries {
		ext := filepath.Ext(e.Name())
		name := strings.TrimSuffix(e.Name(), ext)
		if e.IsDir() || (ext != ".png" && ext != ".svg") || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if files[name] == "" || ext == ".png" {
			files[name] = e.Name()
		}
	}
	var out []repFigure
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		file := files[name]
		b, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			problems = append(problems, fmt.Sprintf("figures/%s: %v", file, err))
			continue
		}
		mime := "image/png"
		if filepath.Ext(file) == ".svg" {
			mime = "image/svg+xml"
		}
		out = append(out, repFigure{Name: name, File: file, Mime: mime, Data: b})
	}
	return out, problems
}

// repTableSpec says where a stage's table is and how it is read.
type repTableSpec struct {
	name, title string
	stage       int
	source      string
	read        func([]byte) (*repTable, error)
	// skip drops the columns it returns true for from the report's table, and
	// skipRow the rows (given the text of a row's column).
	skip    func(column string) bool
	skipRow func(get func(column string) string) bool
	note    string
}

// reportTableSpecs are the stage tables the report shows, where they exist.
var reportTableSpecs = []repTableSpec{
	{name: individualTable, title: "Individual architectures: statistics", stage: 1,
		source: filepath.Join("stats", individualTable+".json"), read: individualAsTable},
	{name: "summary", title: "Individual architectures: summary (means over the seeds)", stage: 1,
		source: filepath.Join("figures", "summary.csv"), read: csvAsTable},
	{name: "ensembles", title: "Ensembles: accuracy, resilience and diversity", stage: 2,
		source: filepath.Join(ensemblesDir, ensemblesTable), read: jsonAsTable,
		skip: perCorruption, note: "Metrics and diversities as fractions; the accuracy per corruption and severity is in ensembles/ensembles.csv."},
	{name: "correlations", title: "Ensembles: correlation of each diversity with each target", stage: 2,
		source: filepath.Join(ensemblesDir, correlationsFile+".json"), read: jsonAsTable,
		skipRow: func(get func(string) string) bool { return strings.Contains(get("target"), "/") },
		note:    "Targets per corruption and severity are in ensembles/correlations.csv."},
	{name: "nas", title: "NAS ensembles", stage: 3, source: filepath.Join("nas", "nas.json"), read: jsonAsTable,
		skip: perCorruption, note: "The accuracy per corruption and severity is in nas/nas.json."},
	{name: "ncl", title: "NCL joint training", stage: 4, source: filepath.Join("ncl", "ncl.json"), read: jsonAsTable,
		skip: perCorruption},
}

// perCorruption is true for the columns of per-corruption metrics
// (metrics/accuracy/<corruption>[/<severity>]), left out of the report's tables.
func perCorruption(column string) bool { return strings.Count(column, "/") >= 2 }

func (t *repTable) dropColumns(skip func(string) bool) {
	var keep []int
	var cols []string
	for j, c := range t.Columns {
		if !skip(c) {
			keep = append(keep, j)
			cols = append(cols, c)
		}
	}
	for i, row := range t.Rows {
		nr := make([]repValue, len(keep))
		for k, j := range keep {
			nr[k] = row[j]
		}
		t.Rows[i] = nr
	}
	t.Columns = cols
}

func (t *repTable) dropRows(skip func(get func(string) string) bool) {
	t.Rows = slices.DeleteFunc(t.Rows, func(row []repValue) bool {
		return skip(func(col string) string {
			if j := slices.Index(t.Columns, col); j >= 0 && j < len(row) {
				return row[j].text()
			}
			return ""
		})
	})
}

// findingsAsTable is one row per cell of every finding.
func findingsAsTable(fs []Finding) *repTable {
	t := &repTable{Name: findingsTable, Title: "Findings: every cell", Source: findingsDir,
		Columns: []string{"finding", "title", "finding_verdict", "primary", "cell", "quantity", "n", "estimate",
			"claim", "threshold", "below", "verdict", "source"}}
	for _, f := range fs {
		for i, c := range f.Cells {
			t.Rows = append(t.Rows, []repValue{repNum(float64(f.Number)), repStr(f.Title), repStr(string(f.Verdict)), repBool(i == f.Primary),
				repStr(c.Name), repStr(c.Quantity), repNum(float64(c.N)), repInterval(c.Estimate), repStr(c.Claim.Statement),
				repNum(c.Claim.Threshold), repBool(c.Claim.Below), repStr(string(c.Verdict)), repStr(c.Source)})
		}
	}
	return t
}

// findingCells is the table of one finding's cells as the report shows it.
func findingCells(f Finding) *repTable {
	t := &repTable{Columns: []string{"cell", "quantity", "n", "estimate [low, high]", "claim", "verdict", "source", "primary"}}
	for i, c := range f.Cells {
		p := ""
		if i == f.Primary {
			p = "primary"
		}
		t.Rows = append(t.Rows, []repValue{repStr(c.Name), repStr(c.Quantity), repNum(float64(c.N)), repInterval(c.Estimate),
			repStr(c.Claim.Statement), repStr(string(c.Verdict)), repStr(c.Source), repStr(p)})
	}
	return t
}

// individualAsTable is stage 1's statistics, one row per architecture.
func individualAsTable(b []byte) (*repTable, error) {
	var st IndividualStats
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, err
	}
	t := &repTable{Columns: []string{"model", "seeds", "clean_error", "corruption_accuracy", "mce", "relative_mce",
		"clean_error_sd", "relative_mce_sd", "more_resilient_than_baseline"}}
	for _, m := range st.Models {
		v := repValue{}
		if m.VersusBaseline != nil {
			v = repStr(string(m.VersusBaseline.Verdict))
		}
		if m.NotLearned != "" {
			v = repStr("not learned")
		}
		t.Rows = append(t.Rows, []repValue{repStr(m.Model), repNum(float64(m.Seeds)), repInterval(m.CleanError), repInterval(m.CorruptionAccuracy),
			repInterval(m.MCE), repInterval(m.RelativeMCE), repNumPtr(m.CleanErrorSD), repNumPtr(m.RelativeMCESD), v})
	}
	t.Note = fmt.Sprintf("Fractions (mCE and relative mCE: 1 = the baseline %s), each the estimate over %d seed(s) with its %s %% bootstrap interval over %d test images (%d resamples). Spearman ρ of relative mCE against clean error over the %d models that learned: %s, %s.",
		baselineLabel(st.Baseline), st.Seeds, formatNumber(100*st.Level), st.TestImages, st.Resamples, st.Correlated,
		formatInterval(st.Correlation.Estimate), st.Correlation.Verdict)
	for _, m := range st.Models {
		if m.NotLearned != "" {
			t.Note += fmt.Sprintf(" Not learned: %s (%s).", m.Model, m.NotLearned)
		}
	}
	if st.RankAgreement != nil {
		t.Note += fmt.Sprintf(" Kendall's W of the ranking across seeds: %s.", formatNumber(*st.RankAgreement))
	}
	return t, nil
}

// csvAsTable reads a CSV table; cells that parse as numbers are numbers.
func csvAsTable(b []byte) (*repTable, error) {
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return nil, errors.New("no header")
	}
	t := &repTable{Columns: recs[0]}
	for _, rec := range recs[1:] {
		row := make([]repValue, len(t.Columns))
		for j := range row {
			if j >= len(rec) || rec[j] == "" {
				continue
			}
			if v, err := strconv.ParseFloat(rec[j], 64); err == nil {
				row[j] = repNum(v)
			} else {
				row[j] = repStr(rec[j])
			}
		}
		t.Rows = append(t.Rows, row)
	}
	return t, nil
}

// orderedObject is a JSON object with its keys in the order of the file.
type orderedObject struct {
	keys []string
	vals map[string]any
}

// decodeOrderedJSON decodes the next JSON value, objects as *orderedObject.
func decodeOrderedJSON(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return tok, nil
	}
	switch d {
	case '{':
		o := &orderedObject{vals: map[string]any{}}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return nil, err
			}
			k, _ := kt.(string)
			v, err := decodeOrderedJSON(dec)
			if err != nil {
				return nil, err
			}
			if _, dup := o.vals[k]; !dup {
				o.keys = append(o.keys, k)
			}
			o.vals[k] = v
		}
		_, err := dec.Token()
		return o, err
	case '[':
		a := []any{}
		for dec.More() {
			v, err := decodeOrderedJSON(dec)
			if err != nil {
				return nil, err
			}
			a = append(a, v)
		}
		_, err := dec.Token()
		return a, err
	}
	return nil, fmt.Errorf("unexpected %v", d)
}

// jsonAsTable reads a table of any stage: a JSON array of objects, or an object
// holding one (its first such field; its scalar fields become the note). Nested
// objects become columns named parent/child; objects with value, low and high
// are intervals.
func jsonAsTable(b []byte) (*repTable, error) {
	v, err := decodeOrderedJSON(json.NewDecoder(bytes.NewReader(b)))
	if err != nil {
		return nil, err
	}
	t := &repTable{}
	rows, _ := v.([]any)
	if o, ok := v.(*orderedObject); ok {
		var note []string
		for _, k := range o.keys {
			switch x := o.vals[k].(type) {
			case []any:
				if rows == nil && len(x) > 0 {
					if _, isObj := x[0].(*orderedObject); isObj {
						rows = x
					}
				}
			case string, float64, bool:
				note = append(note, k+": "+repScalar(x).text())
			}
		}
		if len(note) > 0 {
			t.Note = strings.Join(note, "; ") + "."
		}
	}
	if rows == nil {
		return nil, errors.New("no array of rows")
	}
	index := map[string]int{}
	var cells []map[int]repValue
	for _, r := range rows {
		o, ok := r.(*orderedObject)
		if !ok {
			return nil, errors.New("a row is not an object")
		}
		row := map[int]repValue{}
		repFlatten("", o, func(col string, v repValue) {
			j, ok := index[col]
			if !ok {
				j = len(t.Columns)
				index[col] = j
				t.Columns = append(t.Columns, col)
			}
			row[j] = v
		})
		cells = append(cells, row)
	}
	for _, row := range cells {
		full := make([]repValue, len(t.Columns))
		for j, v := range row {
			full[j] = v
		}
		t.Rows = append(t.Rows, full)
	}
	return t, nil
}

func repScalar(v any) repValue {
	switch x := v.(type) {
	case string:
		return repStr(x)
	case float64:
		return repNum(x)
	case bool:
		return repBool(x)
	}
	return repValue{}
}

// asInterval reports whether o is {"value", "low", "high"} (and maybe more).
func asInterval(o *orderedObject) (Interval, bool) {
	var iv Interval
	for k, dst := range map[string]*float64{"value": &iv.Value, "low": &iv.Low, "high": &iv.High} {
		v, ok := o.vals[k]
		if !ok {
			return iv, false
		}
		switch x := v.(type) {
		case float64:
			*dst = x
		case nil:
			*dst = math.NaN()
		default:
			return iv, false
		}
	}
	return iv, true
}

// maxJoined is the longest list a table cell shows item by item.
const maxJoined = 12

// repFlatten calls add for every column of the JSON value v, named from prefix.
func repFlatten(prefix string, v any, add func(string, repValue)) {
	join := func(k string) string {
		if prefix == "" {
			return k
		}
		return prefix + "/" + k
	}
	switch x := v.(type) {
	case *orderedObject:
		iv, isIv := asInterval(x)
		if isIv {
			add(prefix, repInterval(iv))
		}
		for _, k := range x.keys {
			if isIv && (k == "value" || k == "low" || k == "high") {
				continue
			}
			repFlatten(join(k), x.vals[k], add)
		}
	case []any:
		// A short list of scalars, or of objects with a name or key, is joined; any
		// other list is counted.
		var parts []string
		for _, e := range x {
			if o, ok := e.(*orderedObject); ok {
				for _, k := range []string{"name", "key"} {
					if name, ok := o.vals[k].(string); ok {
						e = name
						break
					}
				}
			}
			switch e.(type) {
			case string, float64, bool:
				parts = append(parts, repScalar(e).text())
			}
		}
		if len(parts) == len(x) && len(x) <= maxJoined {
			add(prefix, repStr(strings.Join(parts, " + ")))
		} else {
			add(prefix, repStr(fmt.Sprintf("%d entries", len(x))))
		}
	case nil:
		add(prefix, repNum(math.NaN()))
	default:
		add(prefix, repScalar(x))
	}
}

// writeReport writes RUN/report.html, RUN/report.md and RUN/tables. With
// onlyIfStale it writes nothing when the report is newer than every file it
// reads. Files that exist but cannot be read are named in the report and make
// the error.
func writeReport(r *Run, onlyIfStale bool) error {
	rep := readReport(r)
	if onlyIfStale && !reportStale(filepath.Join(r.Dir, reportHTML), rep.sources) {
		return nil
	}
	tdir := filepath.Join(r.Dir, tablesDir)
	if err := os.MkdirAll(tdir, 0o755); err != nil {
		return fmt.Errorf("study: report: %w", err)
	}
	written := map[string]bool{}
	for _, t := range rep.Tables {
		c, err := t.csv()
		if err != nil {
			return fmt.Errorf("study: report: table %s: %w", t.Name, err)
		}
		j, err := t.json()
		if err != nil {
			return fmt.Errorf("study: report: table %s: %w", t.Name, err)
		}
		for name, b := range map[string][]byte{t.Name + ".csv": c, t.Name + ".json": j} {
			if err := atomicfile.WriteFile(filepath.Join(tdir, name), b); err != nil {
				return fmt.Errorf("study: report: %w", err)
			}
			written[name] = true
		}
	}
	// Tables of results that no longer exist go.
	old, _ := filepath.Glob(filepath.Join(tdir, "*.*"))
	for _, p := range old {
		if ext := filepath.Ext(p); (ext == ".csv" || ext == ".json") && !written[filepath.Base(p)] {
			_ = os.Remove(p)
		}
	}
	if err := atomicfile.WriteFile(filepath.Join(r.Dir, reportMD), []byte(rep.markdown())); err != nil {
		return fmt.Errorf("study: report: %w", err)
	}
	if err := atomicfile.WriteFile(filepath.Join(r.Dir, reportHTML), []byte(rep.html())); err != nil {
		return fmt.Errorf("study: report: %w", err)
	}
	logrus.Infof("study: report %s (%d findings, %d tables, %d figures)", filepath.Join(r.Dir, reportHTML),
		len(rep.Findings), len(rep.Tables), len(rep.Figures))
	if len(rep.Problems) > 0 {
		return fmt.Errorf("study: report: unreadable results: %s", strings.Join(rep.Problems, "; "))
	}
	return nil
}

// reportStale reports whether path is missing or older than one of sources.
func reportStale(path string, sources []string) bool {
	st, err := os.Stat(path)
	if err != nil {
		return true
	}
	for _, s := range sources {
		if si, err := os.Stat(s); err != nil || si.ModTime().After(st.ModTime()) {
			return true
		}
	}
	return false
}

// recipe is the run's recipe as label and value pairs.
func (rep *reportData) recipe() [][2]string {
	c := rep.Config
	orAll := func(n int, all string) string {
		if n <= 0 {
			return all
		}
		return strconv.Itoa(n)
	}
	var models []string
	for _, m := range c.Models {
		s := fmt.Sprintf("%s (%s, width %s, %s)", m.Name(), m.Arch, formatNumber(m.Width), m.style())
		if m.Arch == c.Baseline {
			s += " — baseline"
		}
		models = append(models, s)
	}
	var seeds []string
	for _, s := range c.SeedList() {
		seeds = append(seeds, strconv.FormatUint(s, 10))
	}
	corr := strings.Join(c.Corruptions, ", ")
	if corr == "" {
		corr = "all 19"
	}
	sev := "1–5"
	if len(c.Severities) > 0 {
		var s []string
		for _, v := range c.Severities {
			s = append(s, strconv.Itoa(v))
		}
		sev = strings.Join(s, ", ")
	}
	sub := func(isNil bool, v any) string {
		if isNil {
			return "defaults"
		}
		b, _ := json.Marshal(v)
		return string(b)
	}
	ens, _ := json.Marshal(c.ensembleRecipe())
	return [][2]string{
		{"data", fmt.Sprintf("%s, %s training images per class, input %d×%d", c.Data, orAll(c.PerClass, "all"), c.InputSize, c.InputSize)},
		{"models", strings.Join(models, "; ")},
		{"seeds", fmt.Sprintf("%s (%d per architecture)", strings.Join(seeds, ", "), len(seeds))},
		{"test images", orAll(c.TestSubset, "the whole test set")},
		{"training", fmt.Sprintf("%d epoch(s), batch %d, %s, learning rate %s, schedule %s, warm-up %s, augmentation %s",
			c.Epochs, c.Batch, c.Optimizer, formatNumber(c.LR), c.Schedule, formatNumber(c.Warmup), strings.Join(c.Augment, ", "))},
		{"corruptions", fmt.Sprintf("%s at severities %s", corr, sev)},
		{"intervals", fmt.Sprintf("%s %% percentile bootstrap, %d resamples, seed %d", formatNumber(100*confidence), c.bootstrap(), c.Seed)},
		{"ensembles (stage 2)", string(ens)},
		{"NAS (stage 3)", sub(c.NAS == nil, c.NAS)},
		{"NCL (stage 4)", sub(c.NCL == nil, c.NCL)},
	}
}

// repPrimary is a finding's primary cell (false when it has none).
func repPrimary(f Finding) (Cell, bool) {
	if f.Primary < 0 || f.Primary >= len(f.Cells) {
		return Cell{}, false
	}
	return f.Cells[f.Primary], true
}

func repMDEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

func (t *repTable) markdown(b *strings.Builder) {
	if len(t.Rows) == 0 {
		b.WriteString("(no rows)\n\n")
		return
	}
	b.WriteString("|")
	sep := "|"
	for _, c := range t.Columns {
		b.WriteString(" " + repMDEscape(c) + " |")
		sep += "---|"
	}
	b.WriteString("\n" + sep + "\n")
	for _, row := range t.Rows {
		b.WriteString("|")
		for _, v := range row {
			b.WriteString(" " + repMDEscape(v.text()) + " |")
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
}

func (rep *reportData) markdown() string {
	var b strings.Builder
	b.WriteString("# Design-diversity study: report\n\n")
	fmt.Fprintf(&b, "Written %s from the result files of this run directory.\n\n", time.Now().UTC().Format(time.RFC3339))
	b.WriteString("## Recipe\n\n")
	for _, kv := range rep.recipe() {
		fmt.Fprintf(&b, "- **%s**: %s\n", kv[0], kv[1])
	}
	b.WriteString("\n## Stages\n\n| stage | name | status |\n|---|---|---|\n")
	for _, s := range rep.Stages {
		fmt.Fprintf(&b, "| %d | %s (%s) | %s |\n", s.Number, s.Name, s.Title, s.Status)
	}
	if m := rep.missing(); len(m) > 0 {
		fmt.Fprintf(&b, "\n**Missing:** %s. The report holds what the other stages wrote.\n", repMissingText(m))
	}
	for _, p := range rep.Problems {
		fmt.Fprintf(&b, "\n**Unreadable:** %s\n", p)
	}
	b.WriteString("\n## Findings\n\n")
	if len(rep.Findings) == 0 {
		b.WriteString("No finding has been written yet.\n\n")
	}
	for _, f := range rep.Findings {
		fmt.Fprintf(&b, "### Finding %d: %s\n\n%s\n\n", f.Number, f.Title, f.Statement)
		fmt.Fprintf(&b, "- **Verdict**: %s\n", repVerdictText(f.Verdict))
		if c, ok := repPrimary(f); ok {
			fmt.Fprintf(&b, "- **Primary effect**: %s (%s): %s, %s; claim: %s\n", c.Name, c.Quantity, formatInterval(c.Estimate),
				c.Verdict, c.Claim.Statement)
		} else {
			b.WriteString("- **Primary effect**: none (the stage that states this finding has not written it)\n")
		}
		if f.Settle != "" {
			fmt.Fprintf(&b, "- **What would settle it**: %s\n", f.Settle)
		}
		b.WriteString("\n")
		findingCells(f).markdown(&b)
	}
	b.WriteString("## Tables\n\n")
	for _, t := range rep.Tables[1:] {
		fmt.Fprintf(&b, "### %s\n\n", t.Title)
		fmt.Fprintf(&b, "Table `%s` (stage %d, from `%s`; also `tables/%s.csv` and `tables/%s.json`).", t.Name, t.Stage, t.Source, t.Name, t.Name)
		if t.Note != "" {
			b.WriteString(" " + t.Note)
		}
		b.WriteString("\n\n")
		t.markdown(&b)
	}
	fmt.Fprintf(&b, "Every finding's cells are in `tables/%s.csv` and `tables/%s.json`.\n\n", findingsTable, findingsTable)
	b.WriteString("## Figures\n\n")
	if len(rep.Figures) == 0 {
		b.WriteString("No figures.\n")
	}
	for _, f := range rep.Figures {
		fmt.Fprintf(&b, "![%s](figures/%s)\n\n*%s*\n\n", f.Name, f.File, f.Name)
	}
	return b.String()
}

func repMissingText(m []repStage) string {
	var parts []string
	for _, s := range m {
		parts = append(parts, fmt.Sprintf("stage %d %s (%s)", s.Number, s.Name, s.Title))
	}
	return strings.Join(parts, ", ")
}

func repVerdictText(v Verdict) string {
	if v == "" {
		return "none"
	}
	return string(v)
}

// repVerdictClass is the CSS class of a verdict.
func repVerdictClass(v string) string {
	switch Verdict(v) {
	case Supported:
		return "supported"
	case Contradicted:
		return "contradicted"
	case Inconclusive:
		return "inconclusive"
	}
	return ""
}

const reportCSS = `body{font-family:system-ui,sans-serif;max-width:75rem;margin:1rem auto;padding:0 1rem;color:#222;line-height:1.4}
table{border-collapse:collapse;margin:.5rem 0 1.5rem;font-size:.85rem}
th,td{border:1px solid #ccc;padding:.2rem .4rem;text-align:left;vertical-align:top}
th{background:#f2f2f2}
td.num{white-space:nowrap;font-variant-numeric:tabular-nums}
.scroll{overflow-x:auto}
.verdict{padding:0 .3rem;border-radius:.2rem;font-weight:600;white-space:nowrap}
.supported{background:#d7f0d7;color:#125c12}
.contradicted{background:#f7d4d4;color:#8a1010}
.inconclusive{background:#fbecc4;color:#6b4e00}
repFigure{margin:1rem 0}
figure img{max-width:100%;border:1px solid #ddd}
figcaption{font-style:italic}
.missing{background:#fff3d6;padding:.5rem}`

func repEsc(s string) string { return html.EscapeString(s) }

func repVerdictSpan(v string) string {
	if v == "" {
		return ""
	}
	return `<span class="verdict ` + repVerdictClass(v) + `">` + repEsc(v) + `</span>`
}

// html writes the table; attr names it for readers (data-table or
// data-finding).
func (t *repTable) html(b *strings.Builder, class, attr string) {
	if len(t.Rows) == 0 {
		b.WriteString("<p>(no rows)</p>\n")
		return
	}
	fmt.Fprintf(b, `<div class="scroll"><table class="%s" %s><thead><tr>`, class, attr)
	for _, c := range t.Columns {
		b.WriteString("<th>" + repEsc(c) + "</th>")
	}
	b.WriteString("</tr></thead><tbody>\n")
	for _, row := range t.Rows {
		b.WriteString("<tr>")
		for j, v := range row {
			cell := repEsc(v.text())
			if strings.Contains(t.Columns[j], "verdict") && v.kind == 's' {
				cell = repVerdictSpan(v.s)
			}
			if v.kind == 'n' || v.kind == 'i' {
				b.WriteString(`<td class="num">` + cell + "</td>")
			} else {
				b.WriteString("<td>" + cell + "</td>")
			}
		}
		b.WriteString("</tr>\n")
	}
	b.WriteString("</tbody></table></div>\n")
}

func (rep *reportData) html() string {
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Design-diversity study: report</title>\n")
	b.WriteString("<style>" + reportCSS + "</style></head><body>\n")
	b.WriteString("<h1>Design-diversity study: report</h1>\n")
	fmt.Fprintf(&b, "<p>Written %s from the result files of this run directory.</p>\n", time.Now().UTC().Format(time.RFC3339))
	b.WriteString("<h2>Recipe</h2>\n<ul>\n")
	for _, kv := range rep.recipe() {
		fmt.Fprintf(&b, "<li><b>%s</b>: %s</li>\n", repEsc(kv[0]), repEsc(kv[1]))
	}
	b.WriteString("</ul>\n<h2>Stages</h2>\n<table class=\"stages\"><thead><tr><th>stage</th><th>name</th><th>status</th></tr></thead><tbody>\n")
	for _, s := range rep.Stages {
		fmt.Fprintf(&b, "<tr><td>%d</td><td>%s (%s)</td><td>%s</td></tr>\n", s.Number, repEsc(s.Name), repEsc(s.Title), repEsc(s.Status))
	}
	b.WriteString("</tbody></table>\n")
	if m := rep.missing(); len(m) > 0 {
		fmt.Fprintf(&b, "<p class=\"missing\"><b>Missing:</b> %s. The report holds what the other stages wrote.</p>\n", repEsc(repMissingText(m)))
	}
	for _, p := range rep.Problems {
		fmt.Fprintf(&b, "<p class=\"missing\"><b>Unreadable:</b> %s</p>\n", repEsc(p))
	}
	b.WriteString("<h2>Findings</h2>\n")
	if len(rep.Findings) == 0 {
		b.WriteString("<p>No finding has been written yet.</p>\n")
	}
	for _, f := range rep.Findings {
		fmt.Fprintf(&b, "<section class=\"finding\" id=\"finding-%d\"><h3>Finding %d: %s</h3>\n<p>%s</p>\n<ul>\n", f.Number, f.Number,
			repEsc(f.Title), repEsc(f.Statement))
		v := repVerdictSpan(string(f.Verdict))
		if v == "" {
			v = "none"
		}
		fmt.Fprintf(&b, "<li><b>Verdict</b>: %s</li>\n", v)
		if c, ok := repPrimary(f); ok {
			fmt.Fprintf(&b, "<li><b>Primary effect</b>: %s (%s): <span class=\"primary\">%s</span>, %s; claim: %s</li>\n", repEsc(c.Name),
				repEsc(c.Quantity), repEsc(formatInterval(c.Estimate)), repVerdictSpan(string(c.Verdict)), repEsc(c.Claim.Statement))
		} else {
			b.WriteString("<li><b>Primary effect</b>: none (the stage that states this finding has not written it)</li>\n")
		}
		if f.Settle != "" {
			fmt.Fprintf(&b, "<li><b>What would settle it</b>: %s</li>\n", repEsc(f.Settle))
		}
		b.WriteString("</ul>\n")
		findingCells(f).html(&b, "cells", fmt.Sprintf(`data-finding="%d"`, f.Number))
		b.WriteString("</section>\n")
	}
	b.WriteString("<h2>Tables</h2>\n")
	for _, t := range rep.Tables[1:] {
		fmt.Fprintf(&b, "<h3>%s</h3>\n<p>Table <code>%s</code> (stage %d, from <code>%s</code>; also <code>tables/%s.csv</code> and <code>tables/%s.json</code>). %s</p>\n",
			repEsc(t.Title), repEsc(t.Name), t.Stage, repEsc(t.Source), repEsc(t.Name), repEsc(t.Name), repEsc(t.Note))
		t.html(&b, "data", fmt.Sprintf(`data-table="%s"`, repEsc(t.Name)))
	}
	fmt.Fprintf(&b, "<p>Every finding's cells are in <code>tables/%s.csv</code> and <code>tables/%s.json</code>.</p>\n", findingsTable, findingsTable)
	b.WriteString("<h2>Figures</h2>\n")
	if len(rep.Figures) == 0 {
		b.WriteString("<p>No figures.</p>\n")
	}
	for _, f := range rep.Figures {
		fmt.Fprintf(&b, "<figure id=\"fig-%s\"><img alt=\"%s\" src=\"data:%s;base64,%s\"><figcaption>%s</figcaption></figure>\n",
			repEsc(f.Name), repEsc(f.Name), f.Mime, base64.StdEncoding.EncodeToString(f.Data), repEsc(f.Name))
	}
	b.WriteString("</body></html>\n")
	return b.String()
}
