package attrib

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"

	"github.com/divres/divres/internal/atomicfile"
)

// Grid describes a batch of images and their maps for GridPNG, row-major float32.
type Grid struct {
	// Images (N, C, H, W); displayed with each image's own min–max range (RGB when
	// C is 3, else the first channel in gray).
	Images []float32
	N, C   int
	H, W   int
	// Maps (N, MC, MH, MW): MC is summed over; MH×MW may be smaller than H×W
	// (Grad-CAM at a layer's resolution) and is resampled to the nearest pixel.
	Maps       []float32
	MC, MH, MW int
	// Cols is the number of image–overlay pairs per row (0: up to 8).
	Cols int
}

// WriteGridPNG draws, for each image, the image and the image with its map
// overlaid (sequential colours for non-negative maps, blue–white–red centred at 0
// for signed ones; each map scaled to its own largest |value|) and writes the PNG
// atomically.
func WriteGridPNG(path string, g Grid) error {
	img, err := g.render()
	if err != nil {
		return err
	}
	return atomicfile.Write(path, func(w io.Writer) error { return png.Encode(w, img) })
}

func (g Grid) render() (*image.RGBA, error) {
	if g.N <= 0 || g.C <= 0 || g.H <= 0 || g.W <= 0 || len(g.Images) != g.N*g.C*g.H*g.W {
		return nil, fmt.Errorf("png: %d image values for %d×%d×%d×%d", len(g.Images), g.N, g.C, g.H, g.W)
	}
	if g.MC <= 0 || g.MH <= 0 || g.MW <= 0 || len(g.Maps) != g.N*g.MC*g.MH*g.MW {
		return nil, fmt.Errorf("png: %d map values for %d×%d×%d×%d", len(g.Maps), g.N, g.MC, g.MH, g.MW)
	}
	cols := g.Cols
	if cols <= 0 {
		cols = min(8, g.N)
	}
	rows := (g.N + cols - 1) / cols
	scale := max(1, (96+max(g.H, g.W)-1)/max(g.H, g.W))
	th, tw := g.H*scale, g.W*scale
	const gap = 4
	out := image.NewRGBA(image.Rect(0, 0, cols*(2*tw+gap)+gap, rows*(th+gap)+gap))
	for i := range out.Pix {
		out.Pix[i] = 255
	}
	for n := 0; n < g.N; n++ {
		ox := gap + (n%cols)*(2*tw+gap)
		oy := gap + (n/cols)*(th+gap)
		base := g.display(n)
		heat := g.heat(n)
		for y := 0; y < th; y++ {
			for x := 0; x < tw; x++ {
				p := base[(y/scale)*g.W+x/scale]
				out.Set(ox+x, oy+y, p)
				my, mx := y*g.MH/th, x*g.MW/tw
				h := heat[my*g.MW+mx]
				out.Set(ox+tw+x, oy+y, blend(p, h, 0.6))
			}
		}
	}
	return out, nil
}

// display returns image n as colours, min–max scaled.
func (g Grid) display(n int) []color.RGBA {
	hw := g.H * g.W
	v := g.Images[n*g.C*hw : (n+1)*g.C*hw]
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, x := range v {
		lo, hi = math.Min(lo, float64(x)), math.Max(hi, float64(x))
	}
	span := hi - lo
	if !(span > 0) {
		span = 1
	}
	b := func(x float32) uint8 { return uint8(math.Round(255 * math.Max(0, math.Min(1, (float64(x)-lo)/span)))) }
	out := make([]color.RGBA, hw)
	for i := range out {
		if g.C == 3 {
			out[i] = color.RGBA{b(v[i]), b(v[hw+i]), b(v[2*hw+i]), 255}
		} else {
			c := b(v[i])
			out[i] = color.RGBA{c, c, c, 255}
		}
	}
	return out
}

// heat returns map n (summed over its channels) as colours with alpha weights.
func (g Grid) heat(n int) []color.RGBA {
	hw := g.MH * g.MW
	v := g.Maps[n*g.MC*hw : (n+1)*g.MC*hw]
	sum := make([]float64, hw)
	signed := false
	for c := 0; c < g.MC; c++ {
		for i := range sum {
			sum[i] += float64(v[c*hw+i])
		}
	}
	top := 0.0
	for _, x := range sum {
		if x < 0 {
			signed = true
		}
		top = math.Max(top, math.Abs(x))
	}
	if !(top > 0) || math.IsInf(top, 0) {
		top = 1
	}
	out := make([]color.RGBA, hw)
	for i, x := range sum {
		t := x / top
		if signed {
			out[i] = diverging(t)
		} else {
			out[i] = sequential(t)
		}
	}
	return out
}

// sequential maps t ∈ [0, 1] from transparent dark purple through red to yellow;
// the alpha grows with t so that small values leave the image visible.
func sequential(t float64) color.RGBA {
	t = math.Max(0, math.Min(1, t))
	stops := [][3]float64{{0, 0, 4}, {87, 16, 110}, {188, 55, 84}, {249, 142, 9}, {252, 255, 164}}
	f := t * float64(len(stops)-1)
	k := min(int(f), len(stops)-2)
	u := f - float64(k)
	c := func(j int) uint8 { return uint8(math.Round(stops[k][j]*(1-u) + stops[k+1][j]*u)) }
	return color.RGBA{c(0), c(1), c(2), uint8(math.Round(255 * t))}
}

// diverging maps t ∈ [−1, 1] to blue (negative) and red (positive), alpha |t|.
func diverging(t float64) color.RGBA {
	t = math.Max(-1, math.Min(1, t))
	a := uint8(math.Round(255 * math.Abs(t)))
	if t < 0 {
		return color.RGBA{33, 102, 172, a}
	}
	return color.RGBA{178, 24, 43, a}
}

// blend lays h over p with h's alpha scaled by strength.
func blend(p, h color.RGBA, strength float64) color.RGBA {
	a := float64(h.A) / 255 * strength
	m := func(x, y uint8) uint8 { return uint8(math.Round(float64(x)*(1-a) + float64(y)*a)) }
	return color.RGBA{m(p.R, h.R), m(p.G, h.G), m(p.B, h.B), 255}
}
