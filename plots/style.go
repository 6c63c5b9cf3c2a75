package plots

import (
	"fmt"
	"image/color"
	"math"
	"path/filepath"
	"sort"
	"strings"

	xfont "golang.org/x/image/font"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Type sizes in points, chosen for figures printed at their drawn size.
const (
	titleSize  = 11
	labelSize  = 10
	tickSize   = 8.5
	legendSize = 8.5
	noteSize   = 7
)

// sans is the typeface of every figure (Liberation Sans, metric-compatible with
// Arial, bundled with gonum/plot).
var sans = font.Font{Typeface: "Liberation", Variant: "Sans"}

// textStyle returns a text style in the sans typeface.
func textStyle(size vg.Length, clr color.Color) text.Style {
	return text.Style{Color: clr, Font: font.From(sans, size), Handler: plot.DefaultTextHandler}
}

// boldStyle is textStyle in bold.
func boldStyle(size vg.Length, clr color.Color) text.Style {
	s := textStyle(size, clr)
	s.Font = font.From(font.Font{Typeface: "Liberation", Variant: "Sans", Weight: xfont.WeightBold}, size)
	return s
}

// newPlot returns a plot with the figures' fonts and a light grid.
func newPlot() *plot.Plot {
	p := plot.New()
	p.Title.TextStyle.Font = font.From(sans, titleSize)
	p.Title.Padding = vg.Points(6)
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = font.From(sans, labelSize)
		a.Tick.Label.Font = font.From(sans, tickSize)
		a.Padding = vg.Points(2)
	}
	p.Legend.TextStyle.Font = font.From(sans, legendSize)
	return p
}

// The Okabe–Ito palette: distinct for the common forms of colour blindness.
// Black is kept for the baseline.
var (
	okabeIto = []color.Color{
		rgb(0x0072B2), // blue
		rgb(0xE69F00), // orange
		rgb(0x009E73), // bluish green
		rgb(0xD55E00), // vermillion
		rgb(0x56B4E9), // sky blue
		rgb(0xCC79A7), // reddish purple
		rgb(0xC9B800), // yellow, darkened to read as a line on white
	}
	black     = rgb(0x000000)
	white     = rgb(0xFFFFFF)
	darkGrey  = rgb(0x404040)
	midGrey   = rgb(0x8C8C8C)
	lightGrey = rgb(0xD9D9D9)
	gridGrey  = rgb(0xEBEBEB)
)

func rgb(v uint32) color.Color {
	return color.RGBA{R: uint8(v >> 16), G: uint8(v >> 8), B: uint8(v), A: 0xFF}
}

// glyphShapes cycle with the line dashes once the colours run out.
var glyphShapes = []draw.GlyphDrawer{
	draw.CircleGlyph{}, draw.BoxGlyph{}, draw.PyramidGlyph{}, draw.RingGlyph{},
	draw.SquareGlyph{}, draw.TriangleGlyph{}, draw.CrossGlyph{}, draw.PlusGlyph{},
}

var dashPatterns = [][]vg.Length{
	nil,
	{vg.Points(5), vg.Points(2.5)},
	{vg.Points(1.5), vg.Points(1.5)},
	{vg.Points(6), vg.Points(2), vg.Points(1.5), vg.Points(2)},
}

// seriesStyle is how one model is drawn in the line and scatter figures.
type seriesStyle struct {
	Color  color.Color
	Glyph  draw.GlyphDrawer
	Dashes []vg.Length
	Width  vg.Length
}

// modelStyles gives every model a style that is the same in every figure: models
// take the palette's colours in name order, then glyphs and dashes change; the
// baseline is drawn in thick black.
func modelStyles(results []Result, base int) map[string]seriesStyle {
	names := modelNames(results)
	baseName := ""
	if base >= 0 {
		baseName = results[base].Model
	}
	sort.Strings(names)
	out := map[string]seriesStyle{}
	k := 0
	for _, n := range names {
		if n == baseName {
			out[n] = seriesStyle{Color: black, Glyph: draw.BoxGlyph{}, Width: vg.Points(2)}
			continue
		}
		nc := len(okabeIto)
		out[n] = seriesStyle{
			Color:  okabeIto[k%nc],
			Glyph:  glyphShapes[(k/nc)%len(glyphShapes)],
			Dashes: dashPatterns[(k/nc)%len(dashPatterns)],
			Width:  vg.Points(1.3),
		}
		k++
	}
	return out
}

// luminance is the relative luminance of c (0 black … 1 white), for choosing a
// text colour that reads on top of it.
func luminance(c color.Color) float64 {
	r, g, b, _ := c.RGBA()
	lin := func(v uint32) float64 {
		x := float64(v) / 0xFFFF
		if x <= 0.04045 {
			return x / 12.92
		}
		return math.Pow((x+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(r) + 0.7152*lin(g) + 0.0722*lin(b)
}

// formatOf returns the output format for a path from its extension.
func formatOf(path string) (string, error) {
	ext := strings.ToLower(strings.TrimPrefix(filepath.Ext(path), "."))
	switch ext {
	case "png", "svg", "pdf":
		return ext, nil
	case "":
		return "", fmt.Errorf("%s: no extension; use .png, .svg or .pdf", path)
	}
	return "", fmt.Errorf("%s: unsupported format %q; use .png, .svg or .pdf", path, ext)
}

// pct formats a fraction as a percentage with the given decimals.
func pct(v float64, decimals int) string {
	if math.IsNaN(v) {
		return "–"
	}
	return fmt.Sprintf("%.*f", decimals, 100*v)
}

var (
	posInf = math.Inf(1)
	negInf = math.Inf(-1)
)

// inches converts a length in inches.
func inches(v float64) vg.Length { return vg.Length(v) * vg.Inch }

func clamp(v, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, v)) }
