package plots

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// resilientSummaries resolves the baseline, summarizes and sorts the results, and
// keeps those whose relative mCE is known; it is an error when none is.
func resilientSummaries(results []Result, baseline string) ([]Summary, int, error) {
	if len(results) == 0 {
		return nil, -1, errors.New("no results")
	}
	base, err := FindBaseline(results, baseline)
	if err != nil {
		return nil, -1, err
	}
	all := Summarize(results, base)
	SortSummaries(all)
	var ss []Summary
	for _, s := range all {
		if !math.IsNaN(s.RelativeMCE) {
			ss = append(ss, s)
		}
	}
	if len(ss) == 0 {
		return nil, -1, errors.New("relative mCE unknown: no baseline among the results and none stored in them; name the baseline model")
	}
	return ss, base, nil
}

// RelativeMCEBars draws relative mCE and mCE (percent of the baseline) for every
// model, sorted from most to least resilient, with the baseline's bars in grey
// and a reference line at 100 %.
func RelativeMCEBars(results []Result, baseline, path string) error {
	return relativeMCEBars(results, baseline, path, nil)
}

// relativeMCEBars is RelativeMCEBars with an error bar on every bar whose
// interval u knows.
func relativeMCEBars(results []Result, baseline, path string, u *Uncertainty) error {
	if _, err := formatOf(path); err != nil {
		return err
	}
	ss, _, err := resilientSummaries(results, baseline)
	if err != nil {
		return fmt.Errorf("relative mCE bars: %w", err)
	}
	n := len(ss)
	relColor, mceColor := okabeIto[0], okabeIto[1]
	baseRel, baseMCE := darkGrey, midGrey
	const w = 0.38
	rel := &bars{Width: w, Outline: draw.LineStyle{Color: white, Width: vg.Points(0.4)}}
	mce := &bars{Width: w, Outline: rel.Outline}
	var ticks []plot.Tick
	anyMCE := false
	baseX := math.NaN()
	ebs := intervalBars(ss, u, w)
	for i, s := range ss {
		x := float64(i)
		rel.X, rel.Y = append(rel.X, x-w/2), append(rel.Y, 100*s.RelativeMCE)
		cr, cm := relColor, mceColor
		label := s.Model
		if s.IsBaseline {
			cr, cm, label = baseRel, baseMCE, s.Model+" (baseline)"
			baseX = x
		}
		rel.Colors = append(rel.Colors, cr)
		if !math.IsNaN(s.MCE) {
			anyMCE = true
			mce.X, mce.Y = append(mce.X, x+w/2), append(mce.Y, 100*s.MCE)
			mce.Colors = append(mce.Colors, cm)
		}
		ticks = append(ticks, plot.Tick{Value: x, Label: label})
	}

	ref := hline{Y: 100, Style: draw.LineStyle{Color: black, Width: vg.Points(0.9), Dashes: []vg.Length{vg.Points(4), vg.Points(2.5)}}}
	p := newPlot()
	p.Y.Label.Text = "% of the baseline"
	p.Y.Tick.Marker = niceTicks{}
	p.Add(yGrid(), rel)
	if anyMCE {
		p.Add(mce)
	}
	if len(ebs.X) > 0 {
		p.Add(ebs)
	}
	p.Add(ref)
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	p.X.Tick.Length = vg.Points(3)
	p.X.Min, p.X.Max = -0.6, float64(n)-0.4
	p.Y.Min = 0
	p.Y.Max = math.Max(100, maxOf(rel.Y, mce.Y, ebs.High)) * 1.08
	if n > 3 {
		p.X.Tick.Label.Rotation = math.Pi / 4
		p.X.Tick.Label.XAlign = draw.XRight
		p.X.Tick.Label.YAlign = draw.YTop
	}
	if n <= 12 {
		p.Add(barValues(rel, baseX, ebs), barValues(mce, baseX, ebs))
	}
	f := frame{Title: "Corruption error relative to the baseline (lower is more resilient)",
		Subtitle: joinNotes(coverageNote(ss), u.levelNote())}
	f.Legend = append(f.Legend, legendItem{Label: "relative mCE", Thumb: swatch{Fill: relColor}})
	if anyMCE {
		f.Legend = append(f.Legend, legendItem{Label: "mCE", Thumb: swatch{Fill: mceColor}})
	}
	f.Legend = append(f.Legend, legendItem{Label: "baseline (grey) = 100 %", Thumb: ref})

	width, height := barsSize(n)
	return saveFigure(path, width, height, func(dc draw.Canvas) error {
		p.Draw(f.draw(dc))
		return nil
	})
}

// barsSize is the size of the bar chart for n models.
func barsSize(n int) (w, h vg.Length) {
	return inches(clamp(1.4+0.36*float64(n), 5, 16)), inches(4.4)
}

// barValues writes each bar's value (rounded percent) above it, or above its
// error bar in ebs, except at the baseline's position skipX (100 % by definition,
// and its two labels would collide).
func barValues(b *bars, skipX float64, ebs *errorBars) *annotations {
	a := &annotations{Background: white}
	for i := range b.X {
		if math.Abs(b.X[i]-skipX) < 0.5 {
			continue
		}
		sty := textStyle(noteSize, darkGrey)
		sty.XAlign, sty.YAlign = draw.XCenter, draw.YBottom
		top := b.Y[i]
		for k := range ebs.X {
			if ebs.X[k] == b.X[i] {
				top = math.Max(top, ebs.High[k])
			}
		}
		a.X, a.Y = append(a.X, b.X[i]), append(a.Y, top)
		a.Texts = append(a.Texts, fmt.Sprintf("%.0f", b.Y[i]))
		a.Styles = append(a.Styles, sty)
		a.DX, a.DY = append(a.DX, 0), append(a.DY, vg.Points(1.5))
	}
	return a
}

// yGrid returns light horizontal grid lines at the major ticks.
func yGrid() plot.Plotter {
	g := newGrid()
	g.Vertical.Color = nil
	return g
}

func maxOf(vs ...[]float64) float64 {
	m := math.Inf(-1)
	for _, v := range vs {
		for _, x := range v {
			m = math.Max(m, x)
		}
	}
	return m
}

// coverageNote says over how many corruptions the means run when that is not the
// full benchmark ("" when it is, or when the values were read from the results).
func coverageNote(ss []Summary) string {
	lo, hi := 0, 0
	for _, s := range ss {
		if s.Scored == 0 {
			continue
		}
		if lo == 0 || s.Scored < lo {
			lo = s.Scored
		}
		hi = max(hi, s.Scored)
	}
	switch {
	case hi == 0 || (lo == len(benchmarkFamily) && hi == lo):
		return ""
	case lo == hi:
		return fmt.Sprintf("means over %d of the %d benchmark corruptions", lo, len(benchmarkFamily))
	}
	return fmt.Sprintf("means over %d–%d of the %d benchmark corruptions", lo, hi, len(benchmarkFamily))
}

// intervalBars returns the error bars of the relative mCE and mCE bars of ss (at
// i∓w/2 for model i, in percent), for the models whose interval u knows.
func intervalBars(ss []Summary, u *Uncertainty, w float64) *errorBars {
	e := &errorBars{Style: draw.LineStyle{Color: black, Width: vg.Points(0.8)}, Cap: vg.Points(3.5)}
	for i, s := range ss {
		x := float64(i)
		if lo, hi, ok := u.interval(s.Model, func(m ModelIntervals) Interval { return m.RelativeMCE }); ok {
			e.add(x-w/2, 100*s.RelativeMCE, lo, hi)
		}
		if math.IsNaN(s.MCE) {
			continue
		}
		if lo, hi, ok := u.interval(s.Model, func(m ModelIntervals) Interval { return m.MCE }); ok {
			e.add(x+w/2, 100*s.MCE, lo, hi)
		}
	}
	return e
}

// joinNotes joins the non-empty notes of a subtitle.
func joinNotes(notes ...string) string {
	var out []string
	for _, n := range notes {
		if n != "" {
			out = append(out, n)
		}
	}
	return strings.Join(out, "; ")
}
