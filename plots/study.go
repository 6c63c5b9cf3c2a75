package plots

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// StudyOptions says what RunStudy reads and writes.
type StudyOptions struct {
	// Results are result files or directories searched recursively (see LoadResults).
	Results []string
	// Out is the directory the figures and tables are written to (created).
	Out string
	// Baseline names the baseline model ("" picks it as FindBaseline does).
	Baseline string
	// Intervals, if set, is a study's statistics file (RUN/stats/individual.json,
	// see ReadIntervals): the bar charts and the scatter plot get error bars.
	Intervals string
	// Seeds, if set, is a directory of per-seed results (RUN/seeds, see
	// LoadSeedResults): the severity curves get bands spanning each model's seeds.
	Seeds string
	// Formats are the figure formats: png, svg, pdf (default png and svg).
	Formats []string
	// Progress, when set, is called after each file with the number written and
	// the number to write.
	Progress func(done, total int)
}

// StudyReport lists what RunStudy wrote and what it could not draw, and why.
type StudyReport struct {
	Results  int
	Baseline string // the baseline model, "" when there is none
	Written  []string
	Skipped  map[string]string // figure name → reason
}

// Figure names as RunStudy writes them (plus the format's extension).
const (
	FigRelativeMCE = "relative_mce"
	FigSeverity    = "error_vs_severity"
	FigHeatmap     = "heatmap_error"
	FigHeatmapCE   = "heatmap_ce"
	FigScatter     = "accuracy_vs_resilience"
	TableSummary   = "summary"
)

// Study writes every figure (PNG and SVG) and the summary table (Markdown and
// CSV) for the results under resultsDir into outDir. baseline names the baseline
// model; "" picks it from the results.
func Study(resultsDir, outDir, baseline string) error {
	_, err := RunStudy(StudyOptions{Results: []string{resultsDir}, Out: outDir, Baseline: baseline})
	return err
}

// RunStudy is Study with options and a report. Figures that need a baseline are
// skipped, not failed, when none was named and none can be found; a named
// baseline that is missing is an error. Results must all come from one dataset
// and corruption set.
func RunStudy(o StudyOptions) (*StudyReport, error) {
	formats, err := checkFormats(o.Formats)
	if err != nil {
		return nil, err
	}
	if o.Out == "" {
		return nil, errors.New("study: no output directory")
	}
	results, err := LoadResults(o.Results...)
	if err != nil {
		return nil, fmt.Errorf("study: %w", err)
	}
	if err := sameSetting(results); err != nil {
		return nil, fmt.Errorf("study: %w", err)
	}
	base, err := FindBaseline(results, o.Baseline)
	if err != nil {
		return nil, fmt.Errorf("study: %w", err)
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return nil, fmt.Errorf("study: %w", err)
	}
	rep := &StudyReport{Results: len(results), Skipped: map[string]string{}}
	baseName := ""
	if base >= 0 {
		baseName = results[base].Model
		rep.Baseline = baseName
	}
	relKnown := false
	for _, s := range Summarize(results, base) {
		relKnown = relKnown || !math.IsNaN(s.RelativeMCE)
	}
	noBase := "no baseline among the results (name one with --baseline) and no relative mCE stored in them"

	u := &Uncertainty{}
	if o.Intervals != "" {
		if u.Intervals, u.Level, err = ReadIntervals(o.Intervals); err != nil {
			return nil, fmt.Errorf("study: %w", err)
		}
	}
	if o.Seeds != "" {
		if u.Seeds, err = LoadSeedResults(o.Seeds); err != nil {
			return nil, fmt.Errorf("study: %w", err)
		}
	}
	withU := func(f func([]Result, string, string, *Uncertainty) error) func([]Result, string, string) error {
		return func(rs []Result, base, path string) error { return f(rs, base, path, u) }
	}
	figs := []struct {
		name      string
		draw      func([]Result, string, string) error
		needsBase bool
	}{
		{FigRelativeMCE, withU(relativeMCEBars), true},
		{FigSeverity, withU(errorVsSeverity), false},
		{FigHeatmap, Heatmap, false},
		{FigHeatmapCE, HeatmapCE, true},
		{FigScatter, withU(accuracyVsResilience), true},
	}
	total := 2 // the two tables
	for _, f := range figs {
		if f.needsBase && !relKnown {
			rep.Skipped[f.name] = noBase
		} else {
			total += len(formats)
		}
	}
	wrote := func(path string) {
		rep.Written = append(rep.Written, path)
		if o.Progress != nil {
			o.Progress(len(rep.Written), total)
		}
	}
	for _, ext := range []string{"md", "csv"} {
		path := filepath.Join(o.Out, TableSummary+"."+ext)
		if err := SummaryTable(results, baseName, path); err != nil {
			return rep, fmt.Errorf("study: %w", err)
		}
		wrote(path)
	}
	for _, f := range figs {
		if _, skip := rep.Skipped[f.name]; skip {
			continue
		}
		for _, ext := range formats {
			path := filepath.Join(o.Out, f.name+"."+ext)
			if err := f.draw(results, baseName, path); err != nil {
				return rep, fmt.Errorf("study: %w", err)
			}
			wrote(path)
		}
	}
	return rep, nil
}

// checkFormats validates figure formats, defaulting to png and svg.
func checkFormats(fs []string) ([]string, error) {
	if len(fs) == 0 {
		return []string{"png", "svg"}, nil
	}
	var out []string
	seen := map[string]bool{}
	for _, f := range fs {
		f = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(f), "."))
		switch f {
		case "png", "svg", "pdf":
		default:
			return nil, fmt.Errorf("study: unsupported figure format %q (use png, svg, pdf)", f)
		}
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	return out, nil
}

// sameSetting checks that the results share one dataset and corruption set:
// figures comparing models across different test data would mislead.
func sameSetting(results []Result) error {
	kinds := map[string][]string{}
	for _, r := range results {
		k := fmt.Sprintf("dataset %q, corruptions %q", r.Dataset, r.Corruptions)
		kinds[k] = append(kinds[k], r.Model)
	}
	if len(kinds) <= 1 {
		return nil
	}
	var parts []string
	for k, ms := range kinds {
		parts = append(parts, fmt.Sprintf("%s (%s)", k, strings.Join(ms, ", ")))
	}
	sort.Strings(parts)
	return fmt.Errorf("results come from %d settings; plot them separately: %s", len(kinds), strings.Join(parts, "; "))
}
