package plots

import (
	"errors"
	"fmt"
	"image/color"
	"math"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// ErrorVsSeverity draws, for each corruption family (noise, blur, weather,
// digital), the error in percent against severity (0 = clean, 1..5) averaged over
// the family's corruptions, one line per model, in a grid of panels that share
// their axes and one legend. The baseline, when named or found, is drawn in thick
// black. Families no result has are left out.
func ErrorVsSeverity(results []Result, baseline, path string) error {
	return errorVsSeverity(results, baseline, path, nil)
}

// errorVsSeverity is ErrorVsSeverity with a band around each model's curve
// spanning its seeds' curves (the lowest to the highest), for the models with
// more than one seed in u.
func errorVsSeverity(results []Result, baseline, path string, u *Uncertainty) error {
	if _, err := formatOf(path); err != nil {
		return err
	}
	if len(results) == 0 {
		return errors.New("error vs severity: no results")
	}
	base, err := FindBaseline(results, baseline)
	if err != nil {
		return fmt.Errorf("error vs severity: %w", err)
	}
	ss := Summarize(results, base)
	SortSummaries(ss)
	byName := map[string]Result{}
	for _, r := range results {
		byName[r.Model] = r
	}
	styles := modelStyles(results, base)

	var panels []*plot.Plot
	ymax := 0.0
	for _, fam := range Families {
		p := newPlot()
		var lines, bands []plot.Plotter
		var baseLine []plot.Plotter
		for _, s := range ss {
			if b := seedBand(u, s.Model, fam, styles[s.Model].Color); b != nil {
				bands = append(bands, b)
				ymax = math.Max(ymax, maxOf(b.High))
			}
			errs, ok := FamilyErrors(byName[s.Model], fam)
			if !ok {
				continue
			}
			var xys plotter.XYs
			for i, e := range errs {
				if !math.IsNaN(e) {
					xys = append(xys, plotter.XY{X: float64(i), Y: 100 * e})
					ymax = math.Max(ymax, 100*e)
				}
			}
			l, sc, err := plotter.NewLinePoints(xys)
			if err != nil {
				return fmt.Errorf("error vs severity: %s: %w", s.Model, err)
			}
			st := styles[s.Model]
			l.LineStyle = st.lineStyle()
			sc.GlyphStyle = st.glyphStyle()
			if s.IsBaseline {
				baseLine = append(baseLine, l, sc)
			} else {
				lines = append(lines, l, sc)
			}
		}
		if len(lines)+len(baseLine) == 0 {
			continue
		}
		p.Title.Text = strings.ToUpper(fam[:1]) + fam[1:]
		p.Title.TextStyle = boldStyle(labelSize, black)
		p.Title.TextStyle.XAlign, p.Title.TextStyle.YAlign = draw.XCenter, draw.YTop
		p.Add(newGrid())
		p.Add(bands...)
		p.Add(lines...)
		p.Add(baseLine...)
		panels = append(panels, p)
	}
	if len(panels) == 0 {
		return errors.New("error vs severity: no result has a corruption of a known family")
	}

	cols := min(2, len(panels))
	rows := (len(panels) + cols - 1) / cols
	grid := make([][]*plot.Plot, rows)
	for i := range grid {
		grid[i] = make([]*plot.Plot, cols)
	}
	sevTicks := plot.ConstantTicks{{Value: 0, Label: "clean"}}
	for s := 1; s <= severities; s++ {
		sevTicks = append(sevTicks, plot.Tick{Value: float64(s), Label: fmt.Sprint(s)})
	}
	for i, p := range panels {
		r, c := i/cols, i%cols
		grid[r][c] = p
		p.X.Min, p.X.Max = 0, severities
		p.X.Tick.Marker = sevTicks
		p.Y.Min, p.Y.Max = 0, math.Max(5, ymax*1.04)
		p.Y.Tick.Marker = niceTicks{Target: 5}
		if r == rows-1 || i+cols >= len(panels) {
			p.X.Label.Text = "severity"
		}
		if c == 0 {
			p.Y.Label.Text = "error (%)"
		}
	}

	f := frame{Title: "Error against corruption severity, by corruption family"}
	if anyBand(u) {
		f.Subtitle = "bands: from the lowest to the highest of each model's seeds"
	}
	for _, s := range ss {
		label := s.Model
		if s.IsBaseline {
			label += " (baseline)"
		}
		f.Legend = append(f.Legend, legendItem{Label: label, Thumb: seriesThumb{styles[s.Model]}, Bold: s.IsBaseline})
	}
	w, h := severitySize(rows, len(ss))
	return saveFigure(path, w, h, func(dc draw.Canvas) error {
		c := f.draw(dc)
		tiles := draw.Tiles{Rows: rows, Cols: cols, PadX: vg.Points(14), PadY: vg.Points(10)}
		canvases := plot.Align(grid, tiles, c)
		for r := range grid {
			for col, p := range grid[r] {
				if p != nil {
					p.Draw(canvases[r][col])
				}
			}
		}
		return nil
	})
}

// severitySize is the size of the severity figure with rows of panels and a
// legend of n models.
func severitySize(rows, n int) (w, h vg.Length) {
	legendRows := math.Ceil(float64(n) / 4)
	return inches(7), inches(2.3*float64(rows)+0.5) + vg.Length(legendRows)*vg.Points(legendSize*1.6)
}

// seedBand is the band of model's seeds in family fam: at each severity the
// lowest and highest of their family errors, in percent; nil with fewer than two
// seeds or when they have no corruption of the family.
func seedBand(u *Uncertainty, model, fam string, c color.Color) *band {
	if u == nil || len(u.Seeds[model]) < 2 {
		return nil
	}
	b := &band{Color: translucent(c, 0.16)}
	var lo, hi [severities + 1]float64
	for k := range lo {
		lo[k], hi[k] = math.Inf(1), math.Inf(-1)
	}
	for _, r := range u.Seeds[model] {
		errs, ok := FamilyErrors(r, fam)
		if !ok {
			return nil
		}
		for k, e := range errs {
			if math.IsNaN(e) {
				continue
			}
			lo[k], hi[k] = math.Min(lo[k], 100*e), math.Max(hi[k], 100*e)
		}
	}
	for k := range lo {
		if lo[k] <= hi[k] {
			b.X, b.Low, b.High = append(b.X, float64(k)), append(b.Low, lo[k]), append(b.High, hi[k])
		}
	}
	if len(b.X) < 2 {
		return nil
	}
	return b
}

// anyBand reports whether some model has several seeds in u.
func anyBand(u *Uncertainty) bool {
	if u == nil {
		return false
	}
	for _, rs := range u.Seeds {
		if len(rs) > 1 {
			return true
		}
	}
	return false
}
