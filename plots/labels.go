package plots

import (
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// pointLabels writes a label beside each point, choosing for each, in order, the
// first of several positions around it that stays inside the plot and covers no
// point and no label placed before it (the least covering one when none is free).
type pointLabels struct {
	X, Y    []float64
	Labels  []string
	Styles  []text.Style
	Clear   vg.Length // radius kept free around every point
	Spacing vg.Length // gap between a point's edge and its label
	// Background, when set, fills each label's box so lines behind it do not
	// cross the text.
	Background color.Color
}

// Plot implements plot.Plotter.
func (l *pointLabels) Plot(c draw.Canvas, p *plot.Plot) {
	tx, ty := p.Transforms(&c)
	pts := make([]vg.Point, len(l.X))
	var taken []vg.Rectangle
	for i := range l.X {
		pts[i] = vg.Point{X: tx(l.X[i]), Y: ty(l.Y[i])}
		taken = append(taken, vg.Rectangle{
			Min: vg.Point{X: pts[i].X - l.Clear, Y: pts[i].Y - l.Clear},
			Max: vg.Point{X: pts[i].X + l.Clear, Y: pts[i].Y + l.Clear},
		})
	}
	for i, pt := range pts {
		sty := l.Styles[i]
		sty.XAlign, sty.YAlign = draw.XLeft, draw.YBottom
		box := sty.Rectangle(l.Labels[i])
		w, h := box.Max.X-box.Min.X, box.Max.Y-box.Min.Y
		best, bestCost := vg.Rectangle{}, vg.Length(-1)
		for _, at := range labelSpots(pt, w, h, l.Clear+l.Spacing) {
			cost := outside(at, c.Rectangle) * 1000
			for _, r := range taken {
				cost += overlap(at, r)
			}
			if bestCost < 0 || cost < bestCost {
				best, bestCost = at, cost
			}
			if cost == 0 {
				break
			}
		}
		taken = append(taken, best)
		if l.Background != nil {
			c.FillPolygon(l.Background, []vg.Point{
				best.Min, {X: best.Max.X, Y: best.Min.Y}, best.Max, {X: best.Min.X, Y: best.Max.Y},
			})
		}
		c.FillText(sty, vg.Point{X: best.Min.X - box.Min.X, Y: best.Min.Y - box.Min.Y}, l.Labels[i])
	}
}

// labelSpots lists candidate label boxes of size w×h around pt at distance d,
// preferred first: right, left, above, below, the diagonals, then further out.
func labelSpots(pt vg.Point, w, h, d vg.Length) []vg.Rectangle {
	var out []vg.Rectangle
	for _, k := range []vg.Length{1, 2.2} {
		dd := d * k
		for _, o := range []vg.Point{
			{X: dd, Y: -h / 2}, {X: -dd - w, Y: -h / 2},
			{X: -w / 2, Y: dd}, {X: -w / 2, Y: -dd - h},
			{X: dd, Y: dd}, {X: dd, Y: -dd - h},
			{X: -dd - w, Y: dd}, {X: -dd - w, Y: -dd - h},
		} {
			min := vg.Point{X: pt.X + o.X, Y: pt.Y + o.Y}
			out = append(out, vg.Rectangle{Min: min, Max: vg.Point{X: min.X + w, Y: min.Y + h}})
		}
	}
	return out
}

// overlap is the area two rectangles share.
func overlap(a, b vg.Rectangle) vg.Length {
	w := min(a.Max.X, b.Max.X) - max(a.Min.X, b.Min.X)
	h := min(a.Max.Y, b.Max.Y) - max(a.Min.Y, b.Min.Y)
	if w <= 0 || h <= 0 {
		return 0
	}
	return w * h
}

// outside is the area of a that lies outside bounds.
func outside(a, bounds vg.Rectangle) vg.Length {
	area := (a.Max.X - a.Min.X) * (a.Max.Y - a.Min.Y)
	return area - overlap(a, bounds)
}
