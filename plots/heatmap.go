package plots

import (
	"fmt"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Heatmap draws a model × corruption heat map of the corruption error (percent,
// mean over severities 1..5), models sorted from most to least resilient, with a
// colour bar; cells carry their values when they are large enough to read.
func Heatmap(results []Result, baseline, path string) error {
	return heatmap(results, baseline, path, false)
}

// HeatmapCE is Heatmap for the corruption error relative to the baseline (CE, in
// percent): blue below 100 %, red above.
func HeatmapCE(results []Result, baseline, path string) error {
	return heatmap(results, baseline, path, true)
}

func heatmap(results []Result, baseline, path string, ce bool) error {
	what := "heat map"
	if ce {
		what = "CE heat map"
	}
	if _, err := formatOf(path); err != nil {
		return err
	}
	if len(results) == 0 {
		return fmt.Errorf("%s: no results", what)
	}
	base, err := FindBaseline(results, baseline)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	ss := Summarize(results, base)
	SortSummaries(ss)
	byName := map[string]Result{}
	seen := map[string]bool{}
	var corrs []string
	for _, r := range results {
		byName[r.Model] = r
		for c := range r.Errors {
			if !seen[c] {
				seen[c] = true
				corrs = append(corrs, c)
			}
		}
	}
	corrs = corruptionOrder(corrs)

	vals := make([][]float64, len(ss))
	partial := make([][]bool, len(ss))
	anyPartial := false
	lo, hi := math.Inf(1), math.Inf(-1)
	for i, s := range ss {
		vals[i] = make([]float64, len(corrs))
		partial[i] = make([]bool, len(corrs))
		for j, c := range corrs {
			v := math.NaN()
			if ce {
				if x, ok := s.CE[c]; ok {
					v = 100 * x
				}
			} else if es, ok := byName[s.Model].Errors[c]; ok {
				v = 100 * meanEvaluated(es)
				partial[i][j] = !completeAt(es, byName[s.Model].Severities()) && !math.IsNaN(v)
				anyPartial = anyPartial || partial[i][j]
			}
			vals[i][j] = v
			if !math.IsNaN(v) {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	if math.IsInf(lo, 1) {
		return fmt.Errorf("%s: no CE values: no baseline among the results and none stored in them; name the baseline model", what)
	}
	if hi-lo < 1e-9 {
		lo, hi = lo-1, hi+1
	}
	var cm colorMap = sequential{Lo: lo, Hi: hi}
	barLabel := "corruption error (%)"
	title := "Corruption error (mean over severities 1–5)"
	if ce {
		cm = diverging{Lo: math.Min(lo, 100), Center: 100, Hi: math.Max(hi, 100)}
		barLabel = "CE (% of baseline)"
		title = "Corruption error relative to the baseline (CE)"
	}

	cl := &cells{Vals: vals, Partial: partial, Map: cm, HighlightRow: -1}
	var rowTicks, colTicks []plot.Tick
	for i, s := range ss {
		label := s.Model
		if s.IsBaseline {
			label += " (baseline)"
			cl.HighlightRow = i
		}
		rowTicks = append(rowTicks, plot.Tick{Value: float64(len(ss) - 1 - i), Label: label})
	}
	var groups []string
	for j, c := range corrs {
		colTicks = append(colTicks, plot.Tick{Value: float64(j), Label: c})
		groups = append(groups, columnGroup(c))
	}
	cl.Groups = groups

	p := newPlot()
	p.Add(cl)
	p.X.Tick.Marker, p.Y.Tick.Marker = plot.ConstantTicks(colTicks), plot.ConstantTicks(rowTicks)
	p.X.Min, p.X.Max = -0.5, float64(len(corrs))-0.5
	p.Y.Min, p.Y.Max = -0.5, float64(len(ss))-0.5
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Padding, a.Tick.Length, a.LineStyle.Width = 0, vg.Points(2), 0
		a.Tick.Color = midGrey
	}
	p.X.Tick.Label.Rotation = math.Pi / 4
	p.X.Tick.Label.XAlign, p.X.Tick.Label.YAlign = draw.XRight, draw.YTop

	w, h := heatmapSize(len(ss), len(corrs))
	f := frame{Title: title}
	if anyPartial {
		f.Subtitle = "* mean over the severities evaluated (not all 5)"
	}
	return saveFigure(path, w, h, func(dc draw.Canvas) error {
		c := f.draw(dc)
		const groupStrip, barStrip = 14, 70
		pc := draw.Crop(c, 0, -vg.Points(barStrip), 0, -vg.Points(groupStrip))
		p.Draw(pc)
		data := p.DataCanvas(pc)
		drawGroupLabels(c, data, groups)
		bar := vg.Rectangle{
			Min: vg.Point{X: data.Max.X + vg.Points(12), Y: data.Min.Y},
			Max: vg.Point{X: data.Max.X + vg.Points(22), Y: data.Max.Y},
		}
		drawColorBar(c, bar, cm, barLabel)
		return nil
	})
}

// heatmapSize is the size of a heat map of rows models and cols corruptions.
func heatmapSize(rows, cols int) (w, h vg.Length) {
	return inches(clamp(2.2+0.33*float64(cols), 6, 16)), inches(clamp(2.2+0.24*float64(rows), 3.2, 20))
}

// columnGroup is the heading a corruption's column sits under.
func columnGroup(c string) string {
	f, bench := FamilyOf(c)
	switch {
	case f == "":
		return "other"
	case !bench:
		return "extra"
	}
	return f
}

// cells draws a grid of coloured cells; row 0 is at the top. Columns of different
// groups are separated by a wider gap, and the highlighted row is outlined.
type cells struct {
	Vals         [][]float64
	Partial      [][]bool // values marked with a * (annotated cells only)
	Map          colorMap
	Groups       []string
	HighlightRow int
}

// Plot implements plot.Plotter.
func (cl *cells) Plot(c draw.Canvas, p *plot.Plot) {
	tx, ty := p.Transforms(&c)
	nr := len(cl.Vals)
	if nr == 0 {
		return
	}
	nc := len(cl.Vals[0])
	cw := (tx(1) - tx(0))
	ch := (ty(1) - ty(0))
	annotate := cw >= vg.Points(17) && ch >= vg.Points(9)
	size := vg.Length(math.Min(7, float64(ch)*0.6))
	gap := vg.Points(0.5)
	for i, row := range cl.Vals {
		y := float64(nr - 1 - i)
		for j, v := range row {
			x0, x1 := tx(float64(j)-0.5)+gap, tx(float64(j)+0.5)-gap
			y0, y1 := ty(y-0.5)+gap, ty(y+0.5)-gap
			if j > 0 && cl.Groups[j] != cl.Groups[j-1] {
				x0 += vg.Points(1.5)
			}
			fill := lightGrey
			if !math.IsNaN(v) {
				fill = cl.Map.At(v)
			}
			c.FillPolygon(fill, []vg.Point{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}})
			if !annotate {
				continue
			}
			txt := "–"
			if !math.IsNaN(v) {
				txt = fmt.Sprintf("%.0f", v)
			}
			if cl.Partial != nil && cl.Partial[i][j] {
				txt += "*"
			}
			clr := black
			if luminance(fill) < 0.35 {
				clr = white
			}
			sty := textStyle(size, clr)
			sty.XAlign, sty.YAlign = draw.XCenter, draw.YCenter
			c.FillText(sty, vg.Point{X: (x0 + x1) / 2, Y: (y0 + y1) / 2}, txt)
		}
	}
	if cl.HighlightRow >= 0 {
		y := float64(nr - 1 - cl.HighlightRow)
		x0, x1 := tx(-0.5), tx(float64(nc)-0.5)
		y0, y1 := ty(y-0.5), ty(y+0.5)
		sty := draw.LineStyle{Color: black, Width: vg.Points(1.2)}
		c.StrokeLines(sty, []vg.Point{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}, {X: x0, Y: y0}})
	}
}

// drawGroupLabels writes each run of same-group columns' heading above the data
// area, centred over its columns, with a thin rule under it.
func drawGroupLabels(c draw.Canvas, data draw.Canvas, groups []string) {
	n := len(groups)
	if n == 0 {
		return
	}
	cw := (data.Max.X - data.Min.X) / vg.Length(n)
	sty := textStyle(tickSize, darkGrey)
	sty.XAlign, sty.YAlign = draw.XCenter, draw.YBottom
	rule := draw.LineStyle{Color: midGrey, Width: vg.Points(0.6)}
	start := 0
	for j := 1; j <= n; j++ {
		if j < n && groups[j] == groups[start] {
			continue
		}
		x0 := data.Min.X + vg.Length(start)*cw + vg.Points(2)
		x1 := data.Min.X + vg.Length(j)*cw - vg.Points(2)
		y := data.Max.Y + vg.Points(3)
		c.StrokeLine2(rule, x0, y, x1, y)
		label := groups[start]
		if sty.Width(label) > x1-x0 {
			label = label[:1]
		}
		c.FillText(sty, vg.Point{X: (x0 + x1) / 2, Y: y + vg.Points(1.5)}, label)
		start = j
	}
}

// drawColorBar draws a vertical colour bar in r with ticks and labels on its
// right and a rotated title beyond them.
func drawColorBar(c draw.Canvas, r vg.Rectangle, cm colorMap, label string) {
	lo, hi := cm.Range()
	const steps = 128
	h := r.Max.Y - r.Min.Y
	for i := range steps {
		y0 := r.Min.Y + h*vg.Length(i)/steps
		y1 := r.Min.Y + h*vg.Length(i+1)/steps + vg.Points(0.3) // overlap: no seams
		v := lo + (hi-lo)*(float64(i)+0.5)/steps
		c.FillPolygon(cm.At(v), []vg.Point{{X: r.Min.X, Y: y0}, {X: r.Max.X, Y: y0}, {X: r.Max.X, Y: y1}, {X: r.Min.X, Y: y1}})
	}
	frame := draw.LineStyle{Color: darkGrey, Width: vg.Points(0.5)}
	c.StrokeLines(frame, []vg.Point{r.Min, {X: r.Max.X, Y: r.Min.Y}, r.Max, {X: r.Min.X, Y: r.Max.Y}, r.Min})
	sty := textStyle(tickSize, black)
	sty.XAlign, sty.YAlign = draw.XLeft, draw.YCenter
	widest := vg.Length(0)
	for _, t := range (niceTicks{Target: 5}).Ticks(lo, hi) {
		y := r.Min.Y + h*vg.Length((t.Value-lo)/(hi-lo))
		c.StrokeLine2(frame, r.Max.X, y, r.Max.X+vg.Points(3), y)
		c.FillText(sty, vg.Point{X: r.Max.X + vg.Points(4.5), Y: y}, t.Label)
		widest = max(widest, sty.Width(t.Label))
	}
	ls := textStyle(labelSize-1, black)
	ls.Rotation = math.Pi / 2
	ls.XAlign, ls.YAlign = draw.XCenter, draw.YTop
	c.FillText(ls, vg.Point{X: r.Max.X + vg.Points(7) + widest, Y: (r.Min.Y + r.Max.Y) / 2}, label)
}
