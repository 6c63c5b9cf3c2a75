package study

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/divres/divres/internal/atomicfile"
)

// findingsDir holds the findings of the study: RUN/findings/finding<N>-s<stage>.json,
// one file per finding and stage that contributes cells to it.
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
// that cell's estimate; the other cells are reported beside it. A stage that
// only adds cells to a finding another stage states writes it with Primary -1;
// ReadFindings merges the files of one finding.
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
		images := "the whole test set"
		if cfg.TestSubset > 0 {
			images = fmt.Sprintf("%d", cfg.TestSubset)
		}
		f.Settle = fmt.Sprintf("the primary interval contains the threshold: more seeds (now %d), more test images (now %s) or more epochs (now %d) would narrow it",
			len(cfg.SeedList()), images, cfg.Epochs)
	}
	return f
}

// findingPath is RUN/findings/finding<N>-s<stage>.json.
func findingPath(dir string, n, stage int) string {
	return filepath.Join(dir, findingsDir, fmt.Sprintf("finding%d-s%d.json", n, stage))
}

// writeFinding judges f's cells under cfg and writes it to RUN/findings.
func writeFinding(dir string, cfg Config, f Finding) error {
	if f.Primary >= 0 {
		f = f.finish(cfg)
	} else {
		for i := range f.Cells {
			f.Cells[i] = judgeCell(f.Cells[i])
		}
		f.Verdict, f.Settle = "", ""
	}
	if err := os.MkdirAll(filepath.Join(dir, findingsDir), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(f, "", " ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(findingPath(dir, f.Number, f.Stage), append(b, '\n'))
}

// ReadFindings reads the findings of a run directory, by number: the files of
// one finding merged into one, the stating stage's cells first and the cells
// other stages add after them (by stage).
func ReadFindings(dir string) ([]Finding, error) {
	paths, err := filepath.Glob(filepath.Join(dir, findingsDir, "finding*.json"))
	if err != nil {
		return nil, err
	}
	var parts []Finding
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		var f Finding
		if err := json.Unmarshal(b, &f); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		parts = append(parts, f)
	}
	slices.SortFunc(parts, func(a, b Finding) int {
		if a.Number != b.Number {
			return a.Number - b.Number
		}
		if (a.Primary >= 0) != (b.Primary >= 0) {
			if a.Primary >= 0 {
				return -1
			}
			return 1
		}
		return a.Stage - b.Stage
	})
	var out []Finding
	for _, f := range parts {
		if n := len(out); n > 0 && out[n-1].Number == f.Number {
			out[n-1].Cells = append(out[n-1].Cells, f.Cells...)
			continue
		}
		f.Cells = slices.Clone(f.Cells)
		out = append(out, f)
	}
	return out, nil
}
