package plots

import (
	"image/color"
	"math"
)

// viridisAnchors are nine evenly spaced colours of the viridis map (perceptually
// uniform, readable in grey and by colour-blind readers); colours in between are
// interpolated linearly.
var viridisAnchors = []color.Color{
	rgb(0x440154), rgb(0x472D7B), rgb(0x3B528B), rgb(0x2C728E), rgb(0x21908C),
	rgb(0x27AD81), rgb(0x5DC863), rgb(0xAADC32), rgb(0xFDE725),
}

// Diverging anchors from ColorBrewer's RdBu (colour-blind safe): blue below the
// centre, red above it, near-white at it.
var (
	blueSide = []color.Color{rgb(0xF7F7F7), rgb(0xD1E5F0), rgb(0x67A9CF), rgb(0x2166AC)}
	redSide  = []color.Color{rgb(0xF7F7F7), rgb(0xFDDBC7), rgb(0xEF8A62), rgb(0xB2182B)}
)

// colorMap maps values in [Min, Max] to colours.
type colorMap interface {
	At(v float64) color.Color
	Range() (lo, hi float64)
}

// sequential spreads viridis over [Lo, Hi].
type sequential struct{ Lo, Hi float64 }

func (m sequential) Range() (float64, float64) { return m.Lo, m.Hi }

func (m sequential) At(v float64) color.Color {
	t := 0.5
	if m.Hi > m.Lo {
		t = (v - m.Lo) / (m.Hi - m.Lo)
	}
	return ramp(viridisAnchors, t)
}

// diverging is white at Center and deepens towards blue below it and red above
// it. Values are compared as ratios to Center (log scale), so that half and double
// the centre are equally deep; full colour is at the larger log distance.
type diverging struct{ Lo, Center, Hi float64 }

func (m diverging) Range() (float64, float64) { return m.Lo, m.Hi }

func (m diverging) At(v float64) color.Color {
	lr := func(x float64) float64 { return math.Log(math.Max(x, 1e-9) / m.Center) }
	d := math.Max(-lr(m.Lo), lr(m.Hi))
	if !(d > 0) {
		return blueSide[0]
	}
	t := lr(v) / d
	if t < 0 {
		return ramp(blueSide, -t)
	}
	return ramp(redSide, t)
}

// ramp interpolates linearly between anchors at t in [0, 1] (clamped).
func ramp(anchors []color.Color, t float64) color.Color {
	if math.IsNaN(t) {
		t = 0
	}
	t = math.Max(0, math.Min(1, t))
	pos := t * float64(len(anchors)-1)
	i := int(math.Floor(pos))
	if i >= len(anchors)-1 {
		return anchors[len(anchors)-1]
	}
	f := pos - float64(i)
	a := color.RGBAModel.Convert(anchors[i]).(color.RGBA)
	b := color.RGBAModel.Convert(anchors[i+1]).(color.RGBA)
	mix := func(x, y uint8) uint8 { return uint8(math.Round(float64(x)*(1-f) + float64(y)*f)) }
	return color.RGBA{R: mix(a.R, b.R), G: mix(a.G, b.G), B: mix(a.B, b.B), A: 0xFF}
}
