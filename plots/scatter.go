package plots

import (
	"fmt"
	"math"
	"slices"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// AccuracyVsResilience draws relative mCE (percent of the baseline) against clean
// error, one labelled point per model, with the Spearman rank correlation in the
// panel title: the study's finding is that architecture, not accuracy, decides
// resilience, so the correlation is weak. When every result has a parameter count,
// a second panel does the same against model size (log scale).
func AccuracyVsResilience(results []Result, baseline, path string) error {
	return accuracyVsResilience(results, baseline, path, nil)
}

// accuracyVsResilience is AccuracyVsResilience with error bars on every point
// whose intervals u knows: relative mCE vertically, clean error horizontally.
func accuracyVsResilience(results []Result, baseline, path string, u *Uncertainty) error {
	if _, err := formatOf(path); err != nil {
		return err
	}
	ss, base, err := resilientSummaries(results, baseline)
	if err != nil {
		return fmt.Errorf("accuracy vs resilience: %w", err)
	}
	styles := modelStyles(results, base)
	withParams := true
	for _, s := range ss {
		withParams = withParams && s.Params > 0
	}

	rel := make([]float64, len(ss))
	clean := make([]float64, len(ss))
	params := make([]float64, len(ss))
	for i, s := range ss {
		rel[i], clean[i], params[i] = 100*s.RelativeMCE, 100*s.CleanError, float64(s.Params)/1e6
	}
	relBars, cleanBars := scatterBars(ss, u, clean, rel)
	panels := []*plot.Plot{scatterPanel(ss, styles, clean, rel, "clean error (%)", false, relBars, cleanBars)}
	if withParams {
		pBars, _ := scatterBars(ss, u, params, rel)
		panels = append(panels, scatterPanel(ss, styles, params, rel, "parameters (millions, log scale)", true, pBars, nil))
		panels[1].Y.Label.Text = ""
	}

	w, h := scatterSize(len(panels))
	f := frame{Title: "Resilience against clean accuracy and model size", Subtitle: joinNotes(coverageNote(ss), u.levelNote())}
	if !withParams {
		f.Title = "Resilience against clean accuracy"
	}
	return saveFigure(path, w, h, func(dc draw.Canvas) error {
		c := f.draw(dc)
		grid := [][]*plot.Plot{panels}
		tiles := draw.Tiles{Rows: 1, Cols: len(panels), PadX: vg.Points(18)}
		cs := plot.Align(grid, tiles, c)
		for i, p := range panels {
			p.Draw(cs[0][i])
		}
		return nil
	})
}

// scatterSize is the size of the scatter figure with one or two panels.
func scatterSize(panels int) (w, h vg.Length) {
	if panels > 1 {
		return inches(9.5), inches(4.6)
	}
	return inches(5.2), inches(4.6)
}

// scatterBars returns the error bars of the scatter points (x[i], y[i]) of ss:
// vertical ones of relative mCE and horizontal ones of clean error, in percent,
// for the models whose intervals u knows.
func scatterBars(ss []Summary, u *Uncertainty, x, y []float64) (vertical, horizontal *errorBars) {
	sty := draw.LineStyle{Color: midGrey, Width: vg.Points(0.7)}
	vertical = &errorBars{Style: sty, Cap: vg.Points(3)}
	horizontal = &errorBars{Style: sty, Cap: vg.Points(3), Horizontal: true}
	for i, s := range ss {
		if lo, hi, ok := u.interval(s.Model, func(m ModelIntervals) Interval { return m.RelativeMCE }); ok {
			vertical.add(x[i], y[i], lo, hi)
		}
		if lo, hi, ok := u.interval(s.Model, func(m ModelIntervals) Interval { return m.CleanError }); ok {
			horizontal.add(x[i], y[i], lo, hi)
		}
	}
	return vertical, horizontal
}

// scatterPanel draws y against x for the models, with the error bars given (nil
// or empty: none), labels each point and puts the rank correlation in the title.
func scatterPanel(ss []Summary, styles map[string]seriesStyle, x, y []float64, xlabel string, logX bool,
	yBars, xBars *errorBars) *plot.Plot {
	p := newPlot()
	p.X.Label.Text = xlabel
	p.Y.Label.Text = "relative mCE (% of baseline)"
	p.Title.Text = "Spearman ρ = " + fmtCorr(spearman(x, y)) + ", Pearson r = " + fmtCorr(pearson(x, y))
	p.Title.TextStyle = textStyle(labelSize, black)
	p.Title.TextStyle.XAlign, p.Title.TextStyle.YAlign = draw.XCenter, draw.YTop
	p.Add(newGrid())
	p.Add(hline{Y: 100, Style: draw.LineStyle{Color: midGrey, Width: vg.Points(0.8), Dashes: []vg.Length{vg.Points(4), vg.Points(2.5)}}})
	for _, e := range []*errorBars{yBars, xBars} {
		if e != nil && len(e.X) > 0 {
			p.Add(e)
		}
	}

	lbl := &pointLabels{Clear: vg.Points(3.5), Spacing: vg.Points(1.5), Background: white}
	order := make([]int, 0, len(ss)) // the baseline's label is placed first
	for i, s := range ss {
		if s.IsBaseline {
			order = append([]int{i}, order...)
		} else {
			order = append(order, i)
		}
	}
	for _, i := range order {
		s := ss[i]
		sc, err := plotter.NewScatter(plotter.XYs{{X: x[i], Y: y[i]}})
		if err != nil {
			continue // NaN or Inf: nothing to draw
		}
		sc.GlyphStyle = styles[s.Model].glyphStyle()
		p.Add(sc)
		sty := textStyle(noteSize+0.5, darkGrey)
		if s.IsBaseline {
			sty = boldStyle(noteSize+0.5, black)
		}
		lbl.X, lbl.Y = append(lbl.X, x[i]), append(lbl.Y, y[i])
		lbl.Labels, lbl.Styles = append(lbl.Labels, s.Model), append(lbl.Styles, sty)
	}
	p.Add(lbl)

	xs, ys := x, append([]float64{100}, y...)
	if xBars != nil {
		xs = append(append(slices.Clone(x), xBars.Low...), xBars.High...)
	}
	if yBars != nil {
		ys = append(append(ys, yBars.Low...), yBars.High...)
	}
	xlo, xhi := rangeOf(xs)
	ylo, yhi := rangeOf(ys)
	if logX {
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = logTicks{}
		f := math.Pow(xhi/xlo, 0.12) + 0.15
		p.X.Min, p.X.Max = xlo/f, xhi*f
	} else {
		p.X.Tick.Marker = niceTicks{Target: 5}
		pad := math.Max(0.5, (xhi-xlo)*0.15)
		p.X.Min, p.X.Max = math.Max(0, xlo-pad), xhi+pad
	}
	p.Y.Tick.Marker = niceTicks{Target: 5}
	pad := math.Max(2, (yhi-ylo)*0.1)
	p.Y.Min, p.Y.Max = math.Max(0, ylo-pad), yhi+pad
	return p
}

func fmtCorr(v float64) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

func rangeOf(v []float64) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, x := range v {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			lo, hi = math.Min(lo, x), math.Max(hi, x)
		}
	}
	if lo > hi {
		return 0, 1
	}
	return lo, hi
}

// logTicks labels 1, 2 and 5 times powers of ten on a log axis, keeping only the
// powers of ten when the range spans many of them.
type logTicks struct{}

// Ticks implements plot.Ticker.
func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(lo > 0 && hi > lo) {
		return nil
	}
	mults := []float64{1, 2, 5}
	if math.Log10(hi/lo) > 2.5 {
		mults = []float64{1}
	}
	var out []plot.Tick
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		for _, m := range mults {
			v := m * math.Pow(10, e)
			if v >= lo*(1-1e-9) && v <= hi*(1+1e-9) {
				out = append(out, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'g', -1, 64)})
			}
		}
	}
	return out
}
