package ljpeg

import (
	"bytes"
	"testing"
)

// TestDecodeMatchesPillow decodes JPEGs written by Pillow, ImageMagick and OpenCV
// (sequential, progressive, grey, restart markers, sampling factors 4:4:4, 4:2:2,
// 4:2:0, 4:4:0, 4:1:1 and mixed) and compares with Pillow's (libjpeg-turbo's)
// pixels.
func TestDecodeMatchesPillow(t *testing.T) {
	for _, r := range loadRefs(t, "dec") {
		name := r[0]
		w, h, ch := atoi(t, r[1]), atoi(t, r[2]), atoi(t, r[3])
		pix, gw, gh, gch, err := Decode(readTestFile(t, name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if gw != w || gh != h || gch != ch {
			t.Errorf("%s: %d×%d×%d, want %d×%d×%d", name, gw, gh, gch, w, h, ch)
			continue
		}
		if got := sha256hex(pix); got != r[4] {
			t.Errorf("%s: decoded pixels differ from Pillow's", name)
		}
	}
}

// TestDecodeEncodedMatchesPillow decodes the Pillow-encoded corruption files and
// compares with Pillow's decode of the same files.
func TestDecodeEncodedMatchesPillow(t *testing.T) {
	for _, r := range loadRefs(t, "enc") {
		pix, _, _, _, err := Decode(readTestFile(t, r[0]))
		if err != nil {
			t.Fatalf("%s: %v", r[0], err)
		}
		if got := sha256hex(pix); got != r[3] {
			t.Errorf("%s: decoded pixels differ from Pillow's", r[0])
		}
	}
}

// TestDecodeFrost checks the frost textures against OpenCV 4.6's imread (same
// pixels as Pillow's): the whole image by hash, and every 7th row and column
// for a readable diagnosis.
func TestDecodeFrost(t *testing.T) {
	for _, r := range loadRefs(t, "frost") {
		name := r[0]
		data := readFrost(t, name)
		pix, w, h, ch, err := Decode(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if w != atoi(t, r[1]) || h != atoi(t, r[2]) || ch != 3 {
			t.Fatalf("%s: %d×%d×%d", name, w, h, ch)
		}
		sub, sw, sh := readPPM(t, r[4])
		var got []uint8
		for y := 0; y < h; y += 7 {
			for x := 0; x < w; x += 7 {
				got = append(got, pix[(y*w+x)*3:(y*w+x)*3+3]...)
			}
		}
		if len(got) != sw*sh*3 {
			t.Fatalf("%s: subsample size", name)
		}
		if !bytes.Equal(got, sub) {
			diff := 0
			for i := range got {
				if got[i] != sub[i] {
					diff++
				}
			}
			t.Errorf("%s: %d of %d subsampled values differ from OpenCV", name, diff, len(got))
		}
		if sha256hex(pix) != r[3] {
			t.Errorf("%s: pixels differ from OpenCV's imread", name)
		}
	}
}
