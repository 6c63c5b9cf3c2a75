package data

import (
	"image/color"
	"testing"
)

func TestGrid(t *testing.T) {
	d := memDataset(t, 10, 3, 8, 8, 2)
	g, err := Grid(d, []int{0, 3, 5, 9, 1})
	if err != nil {
		t.Fatal(err)
	}
	// 5 images → 3 columns, 2 rows; 8-pixel images enlarged 8× to 64.
	if b := g.Bounds(); b.Dx() != 4+3*(70+4) || b.Dy() != 4+2*(64+13+4) {
		t.Errorf("grid size %v", b)
	}
	// Image 3's first pixel at its cell's top-left corner: bytes 0, 64 and 128 of
	// the synthetic image (7·3 + 3·k mod 256).
	cellX := 4 + 74 + (70-64)/2
	px := func(k int) byte { return byte((7*3 + 3*k) % 256) }
	want := color.RGBA{px(0), px(64), px(128), 255}
	if got := g.RGBAAt(cellX, 4); got != want {
		t.Errorf("pixel %v, want %v", got, want)
	}
	if _, err := Grid(d, nil); err == nil {
		t.Error("empty grid accepted")
	}
}
