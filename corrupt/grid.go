package corrupt

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// GridOptions configure Grid.
type GridOptions struct {
	// Seed keys the default-mode random streams (image index 0).
	Seed uint64
	// Options are passed to every corruption.
	Options *Options
	// CellSize is the minimum side of a cell in pixels; images are enlarged by an
	// integer factor (nearest neighbour) to reach it. 0 means 96.
	CellSize int
}

// Grid draws img under every corruption of cs (rows, labelled with the corruption
// name) and every severity 1..5 (columns, labelled "1".."5"), after a first column
// with the clean image, on a white background.
func Grid(img Image, cs []*Corruption, opt GridOptions) (*image.RGBA, error) {
	if len(cs) == 0 {
		return nil, fmt.Errorf("grid: no corruptions")
	}
	cell := opt.CellSize
	if cell <= 0 {
		cell = 96
	}
	scale := max(1, (cell+max(img.H, img.W)-1)/max(img.H, img.W))
	cw, ch := img.W*scale, img.H*scale
	const pad, lineH = 4, 13
	face := basicfont.Face7x13
	labelW := 0
	for _, c := range cs {
		labelW = max(labelW, len(c.Name)*face.Advance)
	}
	labelW += 2 * pad
	headH := lineH + 2*pad
	W := labelW + 6*(cw+pad) + pad
	H := headH + len(cs)*(ch+pad) + pad
	out := image.NewRGBA(image.Rect(0, 0, W, H))
	draw.Draw(out, out.Bounds(), image.White, image.Point{}, draw.Src)

	text := func(s string, x, y int) {
		d := font.Drawer{Dst: out, Src: image.Black, Face: face,
			Dot: fixed.P(x, y+face.Ascent)}
		d.DrawString(s)
	}
	colX := func(col int) int { return labelW + col*(cw+pad) }
	for col, s := range []string{"clean", "1", "2", "3", "4", "5"} {
		text(s, colX(col)+(cw-len(s)*face.Advance)/2, pad)
	}
	rng := &StreamRNG{}
	for row, c := range cs {
		y := headH + row*(ch+pad)
		text(c.Name, pad, y+(ch-lineH)/2)
		blit(out, img, colX(0), y, scale)
		for sev := 1; sev <= 5; sev++ {
			rng.Reset(opt.Seed, c.Index, sev, 0)
			res, err := Apply(c, img, sev, rng, opt.Options)
			if err != nil {
				return nil, fmt.Errorf("grid: %w", err)
			}
			blit(out, res, colX(sev), y, scale)
		}
	}
	return out, nil
}

// blit draws img enlarged by scale with its top-left corner at (x0, y0).
func blit(dst *image.RGBA, img Image, x0, y0, scale int) {
	for y := 0; y < img.H*scale; y++ {
		for x := 0; x < img.W*scale; x++ {
			i := ((y/scale)*img.W + x/scale) * img.C
			var c color.RGBA
			if img.C == 1 {
				c = color.RGBA{img.Pix[i], img.Pix[i], img.Pix[i], 255}
			} else {
				c = color.RGBA{img.Pix[i], img.Pix[i+1], img.Pix[i+2], 255}
			}
			dst.SetRGBA(x0+x, y0+y, c)
		}
	}
}

// FromImage converts a decoded image to an Image: grayscale images (image.Gray,
// image.Gray16) give one channel, everything else RGB (alpha is dropped, 16-bit
// samples keep their high byte).
func FromImage(m image.Image) Image {
	b := m.Bounds()
	switch g := m.(type) {
	case *image.Gray:
		out := NewImage(b.Dy(), b.Dx(), 1)
		for y := 0; y < b.Dy(); y++ {
			copy(out.Pix[y*b.Dx():(y+1)*b.Dx()], g.Pix[y*g.Stride:y*g.Stride+b.Dx()])
		}
		return out
	case *image.Gray16:
		out := NewImage(b.Dy(), b.Dx(), 1)
		for y := 0; y < b.Dy(); y++ {
			for x := 0; x < b.Dx(); x++ {
				out.Pix[y*b.Dx()+x] = g.Pix[y*g.Stride+2*x]
			}
		}
		return out
	}
	out := NewImage(b.Dy(), b.Dx(), 3)
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			c := color.NRGBAModel.Convert(m.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA)
			i := (y*b.Dx() + x) * 3
			out.Pix[i], out.Pix[i+1], out.Pix[i+2] = c.R, c.G, c.B
		}
	}
	return out
}
