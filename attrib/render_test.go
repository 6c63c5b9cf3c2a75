package attrib

import (
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteGridPNG(t *testing.T) {
	// Two 4×4 gray images; map of image 0 is hot only at pixel (0, 0), the map of
	// image 1 is signed. Maps at half resolution (2×2) are resampled.
	img := make([]float32, 2*16)
	for i := range img {
		img[i] = float32(i % 16)
	}
	maps := []float32{1, 0, 0, 0 /**/, -1, 0, 0, 1}
	path := filepath.Join(t.TempDir(), "g.png")
	if err := WriteGridPNG(path, Grid{Images: img, N: 2, C: 1, H: 4, W: 4, Maps: maps, MC: 1, MH: 2, MW: 2}); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	scale := 24 // ⌈96/4⌉
	tile := 4 * scale
	if b := p.Bounds(); b.Dx() != 2*(2*tile+4)+4 || b.Dy() != tile+8 {
		t.Fatalf("size %v", b)
	}
	gray := func(x, y int) [3]uint32 {
		r, g, b, _ := p.At(x, y).RGBA()
		return [3]uint32{r >> 8, g >> 8, b >> 8}
	}
	// Image 0: the plain tile and the overlay agree where the map is zero and
	// differ where it is hot.
	ox, oy := 4, 4
	far := [2]int{3*scale + 1, 3*scale + 1}
	if gray(ox+far[0], oy+far[1]) != gray(ox+tile+far[0], oy+far[1]) {
		t.Error("overlay changed a pixel whose map value is zero")
	}
	if gray(ox+1, oy+1) == gray(ox+tile+1, oy+1) {
		t.Error("overlay left the hottest pixel unchanged")
	}
	// Image 1 is signed: its negative corner is blue, its positive corner red.
	ox = 4 + 2*tile + 4
	neg, pos := gray(ox+tile+1, oy+1), gray(ox+tile+tile-2, oy+tile-2)
	if !(neg[2] > neg[0]) || !(pos[0] > pos[2]) {
		t.Errorf("signed colours: negative %v, positive %v", neg, pos)
	}
	if err := WriteGridPNG(path, Grid{Images: img[:10], N: 2, C: 1, H: 4, W: 4, Maps: maps, MC: 1, MH: 2, MW: 2}); err == nil {
		t.Error("short image data: no error")
	}
}
