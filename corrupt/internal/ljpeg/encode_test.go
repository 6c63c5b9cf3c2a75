package ljpeg

import (
	"bytes"
	"testing"
)

// TestEncodeMatchesPillow compares Encode byte for byte with Pillow's
// save('JPEG', quality=q) for images of many sizes and qualities.
func TestEncodeMatchesPillow(t *testing.T) {
	for _, r := range loadRefs(t, "enc") {
		jpgName, inName, q := r[0], r[1], atoi(t, r[2])
		pix, w, h := readPPM(t, inName)
		want := readTestFile(t, jpgName)
		got, err := Encode(pix, w, h, q)
		if err != nil {
			t.Fatalf("%s: %v", jpgName, err)
		}
		if !bytes.Equal(got, want) {
			i := 0
			for i < len(got) && i < len(want) && got[i] == want[i] {
				i++
			}
			t.Errorf("%s: %d bytes, want %d; first difference at byte %d", jpgName, len(got), len(want), i)
		}
	}
}
