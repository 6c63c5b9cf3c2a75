package study

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/divres/divres/internal/atomicfile"
)

// findingsDir holds one file per finding of the study: RUN/findings/finding<N>.json.
const findingsDir = "findings"

// Cell is one number a finding rests on: an estimate with its bootstrap
// interval, the claim it is judged against and the verdict. Source names the
// result file (relative to the run directory) the estimate was computed from, so
// that a reader (and the report's test) can find it there.
type Cell struct {
	// Name says what the cell compares, e.g. "disagreement ~ accuracy" or
	// "λ=0.5 − λ=1, heuristic none".
	Name string `json:"name"`
	// Quantity is what Estimate measures, e.g. "spearman_rho" or
	// "corruption_accuracy_difference".
	Quantity string   `json:"quantity"`
	N        int      `json:"n"`
	Estimate Interval `json:"estimate"`
	Claim    Claim    `json:"claim"`
	Verdict  Verdict  `json:"verdict"`
	Source   string   `json:"source"`
}

// Finding is one of the paper's four findings as this run judges it. Its
// verdict is the verdict of its primary cell (Cells[Primary]), the effect size
// that cell's estimate; the other cells are reported beside it.
type Finding struct {
	Number int `json:"number"`
	// Stage is the number of the stage that computed the finding.
	Stage int `json:"stage"`
	// Title is a short name; Statement the paper's claim in one sentence.
	Title     string  `json:"title"`
	Statement string  `json:"statement"`
	Primary   int     `json:"primary"`
	Verdict   Verdict `json:"verdict"`
	Cells     []Cell  `json:"cells"`
	// Settle says, when the verdict is inconclusive, what would settle it.
	Settle string `json:"settle,omitempty"`
}

// judgeCell fills c.Verdict from its estimate and claim.
func judgeCell(c Cell) Cell {
	c.Verdict = c.Claim.Decide(c.Estimate)
	return c
}

// finish sets the finding's verdict from its primary cell and, when that is
// inconclusive, what would settle it.
func (f Finding) finish(cfg Config) Finding {
	for i := range f.Cells {
		f.Cells[i] = judgeCell(f.Cells[i])
	}
	f.Verdict, f.Settle = Inconclusive, ""
	if f.Primary >= 0 && f.Primary < len(f.Cells) {
		f.Verdict = f.Cells[f.Primary].Verdict
	}
	if f.Verdict == Inconclusive {
		f.Settle = fmt.Sprintf("the primary interval contains the threshold: more seeds (now %d), more test images (now %d) or more epochs (now %d) would narrow it",
			len(cfg.SeedList()), cfg.TestSubset, cfg.Epochs)
	}
	return f
}

// findingPath is RUN/findings/finding<N>.json.
func findingPath(dir string, n int) string {
	return filepath.Join(dir, findingsDir, fmt.Sprintf("finding%d.json", n))
}

// writeFinding judges f's cells under cfg and writes it to RUN/findings.
func writeFinding(dir string, cfg Config, f Finding) error {
	f = f.finish(cfg)
	if err := os.MkdirAll(filepath.Join(dir, findingsDir), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(f, "", " ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(findingPath(dir, f.Number), append(b, '\n'))
}

// ReadFindings reads every RUN/findings/finding<N>.json of a run directory, by
// number.
func ReadFindings(dir string) ([]Finding, error) {
	paths, err := filepath.Glob(filepath.Join(dir, findingsDir, "finding*.json"))
	if err != nil {
		return nil, err
	}
	var out []Finding
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		var f Finding
		if err := json.Unmarshal(b, &f); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b Finding) int { return a.Number - b.Number })
	return out, nil
}
