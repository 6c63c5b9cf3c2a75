package ensemble

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// NCLCell is one cell of a joint-training sweep: a heuristic with its λ and γ.
type NCLCell struct {
	Heuristic     string
	Lambda, Gamma float64
}

// Loss is the cell's NCL loss.
func (c NCLCell) Loss() NCL { return NCL{Heuristic: c.Heuristic, Lambda: c.Lambda, Gamma: c.Gamma} }

// Dir is the cell's run directory under out: out/<heuristic>/lambda<λ>_gamma<γ>.
func (c NCLCell) Dir(out string) string {
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	return filepath.Join(out, c.Heuristic, "lambda"+f(c.Lambda)+"_gamma"+f(c.Gamma))
}

// NCLGrid returns the cells of a sweep over heuristics, λ and γ: every λ at
// γ = 0 once, as heuristic none (with γ = 0 the loss does not depend on the
// heuristic), when 0 is among gammas; then every heuristic other than none at
// every γ > 0 and every λ. Every loss is validated first, so that a bad value is
// one line before anything is trained.
func NCLGrid(heuristics []string, lambdas, gammas []float64) ([]NCLCell, error) {
	for _, h := range heuristics {
		if !slices.Contains(Heuristics(), h) {
			return nil, fmt.Errorf("ncl: unknown heuristic %q (want %s)", h, strings.Join(Heuristics(), ", "))
		}
	}
	for _, l := range lambdas {
		for _, g := range gammas {
			if err := (NCL{Heuristic: HeuristicPrediction, Lambda: l, Gamma: g}).Validate(); err != nil {
				return nil, err
			}
		}
	}
	var cells []NCLCell
	if slices.Contains(gammas, 0) {
		for _, l := range lambdas {
			cells = append(cells, NCLCell{Heuristic: HeuristicNone, Lambda: l})
		}
	}
	for _, h := range heuristics {
		if h == HeuristicNone {
			continue
		}
		for _, g := range gammas {
			if g == 0 {
				continue
			}
			for _, l := range lambdas {
				cells = append(cells, NCLCell{Heuristic: h, Lambda: l, Gamma: g})
			}
		}
	}
	if len(cells) == 0 {
		return nil, fmt.Errorf("ncl: the grid is empty: heuristic none needs γ = 0 among the γ values")
	}
	return cells, nil
}
