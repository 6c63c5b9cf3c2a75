package ljpeg

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecode feeds arbitrary bytes to Decode: it must return an error or a
// consistent image, never panic. The seed corpus is every JPEG in testdata (all
// the supported processes, samplings and restart markers) plus a few truncations.
func FuzzDecode(f *testing.F) {
	names, err := filepath.Glob(filepath.Join("testdata", "*.jpg"))
	if err != nil || len(names) == 0 {
		f.Fatalf("no seed JPEGs: %v", err)
	}
	for i, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			f.Fatal(err)
		}
		if i%4 != 0 { // the corpus holds a quarter of them, to keep runs fast
			continue
		}
		f.Add(b)
		f.Add(b[:len(b)/2])
		f.Add(b[:min(len(b), 200)])
	}
	f.Add([]byte{0xFF, 0xD8, 0xFF, 0xD9})
	f.Add([]byte{})
	old := MaxPixels
	MaxPixels = 1 << 16 // keep hostile headers cheap
	f.Cleanup(func() { MaxPixels = old })
	f.Fuzz(func(t *testing.T, data []byte) {
		pix, w, h, ch, err := Decode(data)
		if err != nil {
			if pix != nil {
				t.Fatal("pixels returned with an error")
			}
			return
		}
		if w < 1 || h < 1 || (ch != 1 && ch != 3) || len(pix) != w*h*ch {
			t.Fatalf("inconsistent result: %d×%d×%d, %d bytes", w, h, ch, len(pix))
		}
	})
}

// TestDecodeMalformed checks a few hand-made corruptions give errors, not panics.
func TestDecodeMalformed(t *testing.T) {
	good := readTestFile(t, "enc_17x19_smooth_q58.jpg")
	cases := map[string][]byte{
		"empty":     nil,
		"no SOI":    good[2:],
		"SOI only":  good[:2],
		"EOI only":  {0xFF, 0xD8, 0xFF, 0xD9},
		"truncated": good[:len(good)/3],
	}
	// A frame with 12-bit samples, and one with zero width.
	p := append([]byte(nil), good...)
	sof := bytesIndex(p, []byte{0xFF, 0xC0})
	p[sof+4] = 12
	cases["12-bit"] = p
	p = append([]byte(nil), good...)
	p[sof+7], p[sof+8] = 0, 0
	cases["zero width"] = p
	for name, data := range cases {
		if _, _, _, _, err := Decode(data); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func bytesIndex(b, sub []byte) int {
	for i := 0; i+len(sub) <= len(b); i++ {
		if string(b[i:i+len(sub)]) == string(sub) {
			return i
		}
	}
	return -1
}
