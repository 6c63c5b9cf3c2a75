package study

import (
	"testing"

	"github.com/divres/divres/data"
)

func TestPadTo(t *testing.T) {
	// Two 1-channel 2×3 images.
	pix := []uint8{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	d, err := data.NewMemory(1, 2, 3, pix, []int32{0, 1}, []string{"a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := PadTo(d, 5)
	if err != nil {
		t.Fatal(err)
	}
	if c, h, w := p.Shape(); c != 1 || h != 5 || w != 5 || p.Len() != 2 {
		t.Fatalf("shape %d×%d×%d, %d images", c, h, w, p.Len())
	}
	img := make([]uint8, 25)
	lab, err := p.Image(1, img)
	if err != nil || lab != 1 {
		t.Fatalf("label %d, %v", lab, err)
	}
	// top = (5-2)/2 = 1, left = (5-3)/2 = 1.
	want := []uint8{
		0, 0, 0, 0, 0,
		0, 7, 8, 9, 0,
		0, 10, 11, 12, 0,
		0, 0, 0, 0, 0,
		0, 0, 0, 0, 0,
	}
	for i := range want {
		if img[i] != want[i] {
			t.Fatalf("padded image %v, want %v", img, want)
		}
	}
	if same, err := PadTo(d, 0); err != nil || same != d {
		t.Error("size 0 does not return the dataset as it is")
	}
	if _, err := PadTo(d, 2); err == nil {
		t.Error("padding 2×3 images into 2×2 was accepted")
	}
}
