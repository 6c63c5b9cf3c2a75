package data

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"

	xdraw "golang.org/x/image/draw"
	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// ToImage returns planar C×H×W pixels (C = 1 or 3) as an image.
func ToImage(pix []uint8, c, h, w int) image.Image {
	plane := h * w
	if c == 1 {
		g := image.NewGray(image.Rect(0, 0, w, h))
		copy(g.Pix, pix[:plane])
		return g
	}
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for p := range plane {
		m.Pix[4*p] = pix[p]
		m.Pix[4*p+1] = pix[plane+p]
		m.Pix[4*p+2] = pix[2*plane+p]
		m.Pix[4*p+3] = 255
	}
	return m
}

// Grid draws the images of d at indices in a square-ish grid, each enlarged to at
// least 64 pixels (shrunk to at most 128) and captioned with its class name.
func Grid(d Dataset, indices []int) (*image.RGBA, error) {
	if len(indices) == 0 {
		return nil, fmt.Errorf("grid: no images")
	}
	c, h, w := d.Shape()
	// Cell image size: an integer enlargement of small images, a shrink of large ones.
	scale := 1.0
	if side := max(h, w); side < 64 {
		scale = math.Ceil(64 / float64(side))
	} else if side > 128 {
		scale = 128 / float64(side)
	}
	cw, ch := max(1, int(float64(w)*scale)), max(1, int(float64(h)*scale))
	face := basicfont.Face7x13
	const margin = 4
	cellW := max(cw, 10*face.Advance) + margin
	cellH := ch + face.Height + margin
	cols := int(math.Ceil(math.Sqrt(float64(len(indices)))))
	rows := (len(indices) + cols - 1) / cols
	out := image.NewRGBA(image.Rect(0, 0, cols*cellW+margin, rows*cellH+margin))
	draw.Draw(out, out.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	buf := make([]uint8, c*h*w)
	maxChars := (cellW - margin) / face.Advance
	for k, idx := range indices {
		label, err := d.Image(idx, buf)
		if err != nil {
			return nil, fmt.Errorf("grid: image %d: %w", idx, err)
		}
		x0 := margin + (k%cols)*cellW + (cellW-margin-cw)/2
		y0 := margin + (k/cols)*cellH
		dst := image.Rect(x0, y0, x0+cw, y0+ch)
		src := ToImage(buf, c, h, w)
		if scale >= 1 {
			xdraw.NearestNeighbor.Scale(out, dst, src, src.Bounds(), xdraw.Src, nil)
		} else {
			xdraw.BiLinear.Scale(out, dst, src, src.Bounds(), xdraw.Src, nil)
		}
		name := fmt.Sprint(label)
		if names := d.ClassNames(); label >= 0 && label < len(names) {
			name = names[label]
		}
		if r := []rune(name); len(r) > maxChars {
			name = string(r[:maxChars])
		}
		tx := margin + (k%cols)*cellW + (cellW-margin-len([]rune(name))*face.Advance)/2
		dr := font.Drawer{Dst: out, Src: image.NewUniform(color.Black), Face: face,
			Dot: fixed.P(tx, y0+ch+face.Ascent)}
		dr.DrawString(name)
	}
	return out, nil
}
