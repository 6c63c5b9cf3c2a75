package plots

import (
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// bars draws vertical bars from 0, each with its own colour, centred on X with a
// width in data units.
type bars struct {
	X, Y    []float64
	Colors  []color.Color
	Width   float64
	Outline draw.LineStyle
}

// Plot implements plot.Plotter.
func (b *bars) Plot(c draw.Canvas, p *plot.Plot) {
	tx, ty := p.Transforms(&c)
	for i := range b.X {
		x0, x1 := tx(b.X[i]-b.Width/2), tx(b.X[i]+b.Width/2)
		y0, y1 := ty(0), ty(b.Y[i])
		pts := []vg.Point{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}}
		c.FillPolygon(b.Colors[i], c.ClipPolygonXY(pts))
		if b.Outline.Width > 0 {
			c.StrokeLines(b.Outline, c.ClipLinesXY(append(pts, pts[0]))...)
		}
	}
}

// DataRange implements plot.DataRanger.
func (b *bars) DataRange() (xmin, xmax, ymin, ymax float64) {
	xmin, xmax = b.X[0]-b.Width/2, b.X[0]+b.Width/2
	for i, x := range b.X {
		xmin, xmax = min(xmin, x-b.Width/2), max(xmax, x+b.Width/2)
		ymin, ymax = min(ymin, b.Y[i]), max(ymax, b.Y[i])
	}
	return
}

// hline is a horizontal reference line across the whole plot.
type hline struct {
	Y     float64
	Style draw.LineStyle
}

// Plot implements plot.Plotter.
func (h hline) Plot(c draw.Canvas, p *plot.Plot) {
	_, ty := p.Transforms(&c)
	y := ty(h.Y)
	if y < c.Min.Y || y > c.Max.Y {
		return
	}
	c.StrokeLine2(h.Style, c.Min.X, y, c.Max.X, y)
}

// DataRange implements plot.DataRanger: only the line's height counts.
func (h hline) DataRange() (xmin, xmax, ymin, ymax float64) {
	return posInf, negInf, h.Y, h.Y
}

// Thumbnail implements plot.Thumbnailer.
func (h hline) Thumbnail(c *draw.Canvas) {
	y := (c.Min.Y + c.Max.Y) / 2
	c.StrokeLine2(h.Style, c.Min.X, y, c.Max.X, y)
}

// swatch is a legend entry showing a filled rectangle.
type swatch struct {
	Fill    color.Color
	Outline draw.LineStyle
}

// Thumbnail implements plot.Thumbnailer.
func (s swatch) Thumbnail(c *draw.Canvas) {
	h := c.Max.Y - c.Min.Y
	pad := h * 0.1
	pts := []vg.Point{
		{X: c.Min.X, Y: c.Min.Y + pad}, {X: c.Max.X, Y: c.Min.Y + pad},
		{X: c.Max.X, Y: c.Max.Y - pad}, {X: c.Min.X, Y: c.Max.Y - pad},
	}
	c.FillPolygon(s.Fill, pts)
	if s.Outline.Width > 0 {
		c.StrokeLines(s.Outline, append(pts, pts[0]))
	}
}

// seriesThumb is a legend entry showing a line with its glyph.
type seriesThumb struct{ st seriesStyle }

// Thumbnail implements plot.Thumbnailer.
func (t seriesThumb) Thumbnail(c *draw.Canvas) {
	y := (c.Min.Y + c.Max.Y) / 2
	c.StrokeLine2(t.st.lineStyle(), c.Min.X, y, c.Max.X, y)
	c.DrawGlyphNoClip(t.st.glyphStyle(), vg.Point{X: (c.Min.X + c.Max.X) / 2, Y: y})
}

func (s seriesStyle) lineStyle() draw.LineStyle {
	return draw.LineStyle{Color: s.Color, Width: s.Width, Dashes: s.Dashes}
}

func (s seriesStyle) glyphStyle() draw.GlyphStyle {
	r := vg.Points(2.6)
	if s.Width > vg.Points(1.5) {
		r = vg.Points(3)
	}
	return draw.GlyphStyle{Color: s.Color, Radius: r, Shape: s.Glyph}
}

// annotations draws short texts at data coordinates, offset in points.
type annotations struct {
	X, Y   []float64
	Texts  []string
	Styles []text.Style
	DX, DY []vg.Length
	// Background, when set, fills each text's box first so lines behind it
	// do not cross it.
	Background color.Color
}

// Plot implements plot.Plotter.
func (a *annotations) Plot(c draw.Canvas, p *plot.Plot) {
	tx, ty := p.Transforms(&c)
	for i := range a.X {
		pt := vg.Point{X: tx(a.X[i]), Y: ty(a.Y[i])}
		if a.DX != nil {
			pt.X += a.DX[i]
			pt.Y += a.DY[i]
		}
		if a.Background != nil {
			r := a.Styles[i].Rectangle(a.Texts[i])
			pad := vg.Points(0.8)
			c.FillPolygon(a.Background, []vg.Point{
				{X: pt.X + r.Min.X - pad, Y: pt.Y + r.Min.Y}, {X: pt.X + r.Max.X + pad, Y: pt.Y + r.Min.Y},
				{X: pt.X + r.Max.X + pad, Y: pt.Y + r.Max.Y}, {X: pt.X + r.Min.X - pad, Y: pt.Y + r.Max.Y},
			})
		}
		c.FillText(a.Styles[i], pt, a.Texts[i])
	}
}

// newGrid returns grid lines in a light grey.
func newGrid() *plotter.Grid {
	g := plotter.NewGrid()
	g.Vertical.Color, g.Horizontal.Color = gridGrey, gridGrey
	g.Vertical.Width, g.Horizontal.Width = vg.Points(0.6), vg.Points(0.6)
	return g
}
