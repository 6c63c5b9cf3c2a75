package data

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"path/filepath"
	"strings"
	"testing"
)

func pngBytes(t testing.TB, img image.Image) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// solid returns a w×h NRGBA image whose pixel (x, y) is (r+x, g+y, b, 255).
func solid(w, h int, r, g, b uint8) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			m.SetNRGBA(x, y, color.NRGBA{r + uint8(x), g + uint8(y), b, 255})
		}
	}
	return m
}

func makeFolder(t *testing.T) string {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "zebra", "a.png"), pngBytes(t, solid(4, 3, 10, 20, 30)))
	writeFile(t, filepath.Join(root, "apple", "x.PNG"), pngBytes(t, solid(4, 3, 100, 50, 0)))
	writeFile(t, filepath.Join(root, "apple", "sub", "y.png"), pngBytes(t, solid(4, 3, 200, 0, 90)))
	writeFile(t, filepath.Join(root, "apple", "notes.txt"), []byte("not an image"))
	writeFile(t, filepath.Join(root, "apple", ".hidden.png"), []byte("ignored"))
	return root
}

func TestFolderEagerAndLazy(t *testing.T) {
	root := makeFolder(t)
	for _, eager := range []bool{false, true} {
		f, err := OpenFolder(root, FolderOptions{Eager: eager})
		if err != nil {
			t.Fatal(err)
		}
		if f.Len() != 3 || strings.Join(f.ClassNames(), ",") != "apple,zebra" {
			t.Fatalf("eager=%v: len %d classes %v", eager, f.Len(), f.ClassNames())
		}
		if l := Labels(f); l[0] != 0 || l[1] != 0 || l[2] != 1 {
			t.Errorf("labels %v", l)
		}
		if c, h, w := f.Shape(); c != 3 || h != 3 || w != 4 {
			t.Errorf("shape %d×%d×%d", c, h, w)
		}
		buf := make([]uint8, 36)
		// Files sorted by path: apple/sub/y.png before apple/x.PNG.
		if _, err := f.Image(0, buf); err != nil {
			t.Fatal(err)
		}
		// pixel (x=2, y=1): R = 202, G = 1, B = 90; planes of 12.
		if buf[0*12+1*4+2] != 202 || buf[1*12+1*4+2] != 1 || buf[2*12+1*4+2] != 90 {
			t.Errorf("eager=%v: pixel (2,1) = %d %d %d", eager, buf[6], buf[18], buf[30])
		}
	}
}

func TestFolderGrayResizeJPEG(t *testing.T) {
	root := t.TempDir()
	g := image.NewGray(image.Rect(0, 0, 8, 8))
	for i := range g.Pix {
		g.Pix[i] = 77
	}
	writeFile(t, filepath.Join(root, "a", "g.png"), pngBytes(t, g))
	var jb bytes.Buffer
	if err := jpeg.Encode(&jb, solid(16, 16, 0, 0, 0), &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(root, "b", "c.jpg"), jb.Bytes())
	// Different sizes without a target size: the lazy read fails clearly.
	f, err := OpenFolder(root, FolderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Image(1, make([]uint8, 3*64)); err == nil || !strings.Contains(err.Error(), "set a size") {
		t.Errorf("size mismatch: %v", err)
	}
	if _, err := OpenFolder(root, FolderOptions{Eager: true}); err == nil {
		t.Error("eager open of mixed sizes succeeded")
	}
	f, err = OpenFolder(root, FolderOptions{Width: 4, Height: 4, Gray: true, Eager: true})
	if err != nil {
		t.Fatal(err)
	}
	if c, h, w := f.Shape(); c != 1 || h != 4 || w != 4 {
		t.Fatalf("shape %d×%d×%d", c, h, w)
	}
	buf := make([]uint8, 16)
	f.Image(0, buf)
	for _, v := range buf {
		if v != 77 {
			t.Fatalf("resized grey image %v", buf)
		}
	}
	if _, err := OpenFolder(root, FolderOptions{Width: 4}); err == nil {
		t.Error("width without height accepted")
	}
	if _, err := OpenFolder(t.TempDir(), FolderOptions{}); err == nil {
		t.Error("empty folder accepted")
	}
}

func TestLuma(t *testing.T) {
	// PIL's L conversion: (r·299 + g·587 + b·114) / 1000, rounded.
	for _, c := range [][4]uint8{{255, 255, 255, 255}, {0, 0, 0, 0}, {255, 0, 0, 76}, {0, 255, 0, 150}, {0, 0, 255, 29}, {10, 200, 30, 124}} {
		if got := luma(c[0], c[1], c[2]); got != c[3] {
			t.Errorf("luma(%d,%d,%d) = %d, want %d", c[0], c[1], c[2], got, c[3])
		}
	}
}

func TestOpenFolderTrainTest(t *testing.T) {
	root := t.TempDir()
	for _, split := range []string{"train", "val"} {
		writeFile(t, filepath.Join(root, split, "cat", "1.png"), pngBytes(t, solid(2, 2, 0, 0, 0)))
		writeFile(t, filepath.Join(root, split, "dog", "1.png"), pngBytes(t, solid(2, 2, 0, 0, 0)))
	}
	tr, te, err := Open(root, OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if tr.Len() != 2 || te.Len() != 2 || tr.ClassNames()[1] != "dog" {
		t.Errorf("train %d test %d", tr.Len(), te.Len())
	}
	tr, te, err = Open(filepath.Join(root, "train"), OpenOptions{})
	if err != nil || tr.Len() != 2 || te != nil {
		t.Errorf("single folder: %v %v", err, te)
	}
}
