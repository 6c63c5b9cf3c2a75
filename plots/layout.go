package plots

import (
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// legendItem is one entry of a figure legend.
type legendItem struct {
	Label string
	Thumb plot.Thumbnailer
	Bold  bool
}

// frame is the part of a figure around its plots: a title and a legend laid out
// in a grid of equal cells under it, so that neither can cover data.
type frame struct {
	Title    string
	Subtitle string // a smaller grey line under the title
	Legend   []legendItem
}

const (
	thumbWidth = 16 // points
	thumbGap   = 4
	cellGap    = 12
	outerPad   = 6
)

// draw draws the title and legend at the top of dc and returns the canvas left
// for the plots, inset by a small margin.
func (f frame) draw(dc draw.Canvas) draw.Canvas {
	c := draw.Crop(dc, outerPad, -outerPad, outerPad, -outerPad)
	if f.Title != "" {
		sty := textStyle(titleSize, black)
		sty.XAlign, sty.YAlign = draw.XCenter, draw.YTop
		c.FillText(sty, vg.Point{X: (c.Min.X + c.Max.X) / 2, Y: c.Max.Y}, f.Title)
		c.Max.Y -= sty.Height(f.Title) + vg.Points(4)
	}
	if f.Subtitle != "" {
		sty := textStyle(tickSize, darkGrey)
		sty.XAlign, sty.YAlign = draw.XCenter, draw.YTop
		c.FillText(sty, vg.Point{X: (c.Min.X + c.Max.X) / 2, Y: c.Max.Y}, f.Subtitle)
		c.Max.Y -= sty.Height(f.Subtitle) + vg.Points(4)
	}
	if len(f.Legend) > 0 {
		c.Max.Y -= f.drawLegend(c) + vg.Points(6)
	}
	return c
}

// drawLegend lays the legend out in rows under c's top edge, centred, and returns
// the height it took.
func (f frame) drawLegend(c draw.Canvas) vg.Length {
	sty := textStyle(legendSize, black)
	bold := boldStyle(legendSize, black)
	cell := vg.Length(0)
	for _, it := range f.Legend {
		s := sty
		if it.Bold {
			s = bold
		}
		cell = max(cell, s.Width(it.Label))
	}
	cell += vg.Points(thumbWidth + thumbGap + cellGap)
	avail := c.Max.X - c.Min.X
	cols := max(1, min(len(f.Legend), int(avail/cell)))
	rows := int(math.Ceil(float64(len(f.Legend)) / float64(cols)))
	if rows > 1 { // balance the rows: as few columns as that many rows need
		cols = int(math.Ceil(float64(len(f.Legend)) / float64(rows)))
	}
	rowH := sty.Height("Mg") * 1.35
	total := vg.Length(cols)*cell - vg.Points(cellGap)
	x0 := c.Min.X + (avail-total)/2
	top := c.Max.Y
	for i, it := range f.Legend {
		r, col := i/cols, i%cols
		x := x0 + vg.Length(col)*cell
		yTop := top - vg.Length(r)*rowH
		icon := draw.Canvas{Canvas: c.Canvas, Rectangle: vg.Rectangle{
			Min: vg.Point{X: x, Y: yTop - rowH*0.85},
			Max: vg.Point{X: x + vg.Points(thumbWidth), Y: yTop - rowH*0.15},
		}}
		it.Thumb.Thumbnail(&icon)
		s := sty
		if it.Bold {
			s = bold
		}
		s.XAlign, s.YAlign = draw.XLeft, draw.YCenter
		c.FillText(s, vg.Point{X: x + vg.Points(thumbWidth+thumbGap), Y: yTop - rowH/2}, it.Label)
	}
	return vg.Length(rows) * rowH
}
