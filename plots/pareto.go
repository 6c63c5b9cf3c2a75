package plots

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"

	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// ParetoPoint is one evaluated sub-network of a NAS search, as the candidates of
// search.json (written by package nas) list it.
type ParetoPoint struct {
	Key    string  `json:"key"`
	Error  float64 `json:"val_error"`
	MACs   int64   `json:"macs"`
	Pareto bool    `json:"pareto"`
	Full   bool    `json:"full"`
}

// ReadParetoPoints reads the candidates of a search result (search.json, or a
// directory holding it).
func ReadParetoPoints(path string) ([]ParetoPoint, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, "search.json")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r struct {
		Candidates []ParetoPoint `json:"candidates"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(r.Candidates) == 0 {
		return nil, fmt.Errorf("%s: no candidates", path)
	}
	return r.Candidates, nil
}

// ParetoFront draws the validation error (%) of every evaluated sub-network against
// its MACs (millions): the dominated ones in grey, the Pareto front in colour joined
// by its staircase, and the full ResNet50 as a labelled black square.
func ParetoFront(points []ParetoPoint, title, path string) error {
	if _, err := formatOf(path); err != nil {
		return err
	}
	if len(points) == 0 {
		return fmt.Errorf("pareto front: no points")
	}
	var rest, front, full plotter.XYs
	for _, p := range points {
		if math.IsNaN(p.Error) || p.MACs <= 0 {
			return fmt.Errorf("pareto front: %s has error %v and %d MACs", p.Key, p.Error, p.MACs)
		}
		xy := plotter.XY{X: float64(p.MACs) / 1e6, Y: 100 * p.Error}
		switch {
		case p.Pareto:
			front = append(front, xy)
		default:
			rest = append(rest, xy)
		}
		if p.Full {
			full = append(full, xy)
		}
	}
	sort.Slice(front, func(a, b int) bool { return front[a].X < front[b].X })
	pl := newPlot()
	pl.X.Label.Text = "MACs per image (millions)"
	pl.Y.Label.Text = "validation error (%)"
	pl.Add(newGrid())
	var legend []legendItem
	if len(rest) > 0 {
		sc, err := plotter.NewScatter(rest)
		if err != nil {
			return fmt.Errorf("pareto front: %w", err)
		}
		sc.GlyphStyle = draw.GlyphStyle{Color: midGrey, Radius: vg.Points(2.2), Shape: draw.RingGlyph{}}
		pl.Add(sc)
		legend = append(legend, legendItem{Label: "dominated", Thumb: sc})
	}
	if len(front) > 0 {
		var stairs plotter.XYs
		for i, p := range front {
			if i > 0 {
				stairs = append(stairs, plotter.XY{X: p.X, Y: front[i-1].Y})
			}
			stairs = append(stairs, p)
		}
		ln, err := plotter.NewLine(stairs)
		if err != nil {
			return fmt.Errorf("pareto front: %w", err)
		}
		ln.LineStyle = draw.LineStyle{Color: okabeIto[0], Width: vg.Points(1.2)}
		pl.Add(ln)
		sc, err := plotter.NewScatter(front)
		if err != nil {
			return fmt.Errorf("pareto front: %w", err)
		}
		sc.GlyphStyle = draw.GlyphStyle{Color: okabeIto[0], Radius: vg.Points(3), Shape: draw.CircleGlyph{}}
		pl.Add(sc)
		legend = append(legend, legendItem{Label: fmt.Sprintf("Pareto front (%d)", len(front)), Thumb: sc, Bold: true})
	}
	if len(full) > 0 {
		sc, err := plotter.NewScatter(full)
		if err != nil {
			return fmt.Errorf("pareto front: %w", err)
		}
		sc.GlyphStyle = draw.GlyphStyle{Color: black, Radius: vg.Points(4), Shape: draw.BoxGlyph{}}
		pl.Add(sc)
		lbl := &pointLabels{X: []float64{full[0].X}, Y: []float64{full[0].Y}, Labels: []string{"ResNet50"},
			Styles: nil, Clear: vg.Points(5), Spacing: vg.Points(2), Background: white}
		lbl.Styles = append(lbl.Styles, boldStyle(noteSize+0.5, black))
		pl.Add(lbl)
		legend = append(legend, legendItem{Label: "full ResNet50", Thumb: sc})
	}
	all := append(append(plotter.XYs{}, rest...), front...)
	xs, ys := make([]float64, len(all)), make([]float64, len(all))
	for i, p := range all {
		xs[i], ys[i] = p.X, p.Y
	}
	xlo, xhi := rangeOf(xs)
	ylo, yhi := rangeOf(ys)
	xpad, ypad := math.Max((xhi-xlo)*0.08, xhi*0.02+1e-9), math.Max((yhi-ylo)*0.1, 0.5)
	pl.X.Min, pl.X.Max = math.Max(0, xlo-xpad), xhi+xpad
	pl.Y.Min, pl.Y.Max = math.Max(0, ylo-ypad), math.Min(100, yhi+ypad)
	pl.X.Tick.Marker = niceTicks{Target: 6}
	pl.Y.Tick.Marker = niceTicks{Target: 6}
	if title == "" {
		title = "Sub-networks of the super-network: error against MACs"
	}
	f := frame{Title: title, Subtitle: fmt.Sprintf("%d sub-networks evaluated", len(points)), Legend: legend}
	return saveFigure(path, inches(6), inches(4.6), func(dc draw.Canvas) error {
		c := f.draw(dc)
		pl.Draw(c)
		return nil
	})
}
