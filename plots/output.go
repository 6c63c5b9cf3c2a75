package plots

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgpdf"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/divres/divres/internal/atomicfile"
)

// pngDPI is the resolution of PNG figures: sharp when printed at their size.
const pngDPI = 200

// saveFigure draws a w×h figure with paint and writes it to path in the format its
// extension names, atomically. A panic inside the drawing code becomes an error.
func saveFigure(path string, w, h vg.Length, paint func(dc draw.Canvas) error) (err error) {
	format, err := formatOf(path)
	if err != nil {
		return err
	}
	if st, err := os.Stat(filepath.Dir(path)); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	} else if !st.IsDir() {
		return fmt.Errorf("write %s: %s is not a directory", path, filepath.Dir(path))
	}
	var c vg.CanvasWriterTo
	switch format {
	case "png":
		c = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(pngDPI))}
	case "svg":
		c = vgsvg.New(w, h)
	case "pdf":
		c = vgpdf.New(w, h)
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("draw %s: %v", path, p)
		}
	}()
	dc := draw.New(c)
	dc.SetColor(white)
	dc.Fill(dc.Rectangle.Path())
	if err := paint(dc); err != nil {
		return fmt.Errorf("draw %s: %w", path, err)
	}
	return atomicfile.Write(path, func(w io.Writer) error {
		if format != "svg" {
			_, err := c.WriteTo(w)
			return err
		}
		var buf bytes.Buffer
		if _, err := c.WriteTo(&buf); err != nil {
			return err
		}
		_, err := w.Write(svgFontFallback(buf.Bytes()))
		return err
	})
}

// svgFontFallback names metric-compatible fallbacks after the Liberation fonts
// the SVG refers to (they are not embedded), so that viewers without them keep
// the layout: Arial and Helvetica have the same widths as Liberation Sans.
func svgFontFallback(svg []byte) []byte {
	return bytes.ReplaceAll(svg, []byte("font-family:Liberation Sans;"),
		[]byte("font-family:'Liberation Sans',Arial,Helvetica,sans-serif;"))
}
