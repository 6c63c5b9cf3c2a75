package plots

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/divres/divres/internal/atomicfile"
)

// SummaryTable writes one row per model, most resilient first: model,
// architecture, parameters, clean error, corruption accuracy, mCE and relative mCE
// (percentages; mCE values in percent of the baseline). The extension of path
// picks the format: .md for Markdown, .csv for CSV (empty cells for unknown
// values). The file is written atomically.
func SummaryTable(results []Result, baseline, path string) error {
	ext := strings.ToLower(filepath.Ext(path))
	if ext != ".md" && ext != ".csv" {
		return fmt.Errorf("summary table %s: unsupported format %q; use .md or .csv", path, ext)
	}
	if len(results) == 0 {
		return fmt.Errorf("summary table %s: no results", path)
	}
	base, err := FindBaseline(results, baseline)
	if err != nil {
		return fmt.Errorf("summary table: %w", err)
	}
	ss := Summarize(results, base)
	SortSummaries(ss)
	baseName := ""
	if base >= 0 {
		baseName = results[base].Model
	}
	return atomicfile.Write(path, func(w io.Writer) error {
		if ext == ".csv" {
			return writeCSV(w, ss)
		}
		return writeMarkdown(w, ss, baseName)
	})
}

func writeCSV(w io.Writer, ss []Summary) error {
	cw := csv.NewWriter(w)
	header := []string{"rank", "model", "arch", "params", "baseline", "clean_error_pct",
		"corruption_accuracy_pct", "mce_pct", "relative_mce_pct"}
	if err := cw.Write(header); err != nil {
		return err
	}
	num := func(v float64) string {
		if math.IsNaN(v) {
			return ""
		}
		return strconv.FormatFloat(100*v, 'f', 4, 64)
	}
	for i, s := range ss {
		row := []string{strconv.Itoa(i + 1), s.Model, s.Arch, strconv.FormatInt(s.Params, 10),
			strconv.FormatBool(s.IsBaseline), num(s.CleanError), num(s.CorruptionAccuracy),
			num(s.MCE), num(s.RelativeMCE)}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func writeMarkdown(w io.Writer, ss []Summary, baseName string) error {
	var b strings.Builder
	b.WriteString("| # | model | arch | params | clean error (%) | corruption accuracy (%) | mCE (%) | relative mCE (%) |\n")
	b.WriteString("|--:|:--|:--|--:|--:|--:|--:|--:|\n")
	for i, s := range ss {
		model := mdEscape(s.Model)
		if s.IsBaseline {
			model = "**" + model + "** (baseline)"
		}
		fmt.Fprintf(&b, "| %d | %s | %s | %s | %s | %s | %s | %s |\n", i+1, model, mdEscape(s.Arch),
			humanCount(s.Params), pct(s.CleanError, 2), pct(s.CorruptionAccuracy, 2), pct(s.MCE, 1), pct(s.RelativeMCE, 1))
	}
	b.WriteString("\n")
	if baseName != "" {
		fmt.Fprintf(&b, "mCE and relative mCE are in percent of the baseline %s (100 %%); lower is more resilient. ", baseName)
	} else {
		b.WriteString("mCE and relative mCE are as stored in the results (percent of their baseline); lower is more resilient. ")
	}
	b.WriteString("Corruption accuracy is the mean accuracy over the benchmark corruptions and severities.\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// mdEscape keeps a cell's text from breaking the table.
func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

// humanCount writes a parameter count as 1.23M or 456.7k ("–" when unknown).
func humanCount(n int64) string {
	switch {
	case n <= 0:
		return "–"
	case n >= 1e6:
		return strconv.FormatFloat(float64(n)/1e6, 'f', 2, 64) + "M"
	case n >= 1e3:
		return strconv.FormatFloat(float64(n)/1e3, 'f', 1, 64) + "k"
	}
	return strconv.FormatInt(n, 10)
}
