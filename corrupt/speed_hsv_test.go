package corrupt

import "testing"

// rgb8ToHSV chooses max, min and hue sector on 8-bit values: it must give exactly
// rgbToHSV's results on the 8-bit grid (every red and green, every 5th blue plus the
// extremes, so that all ties are met).
func TestRGB8ToHSVMatches(t *testing.T) {
	for r := 0; r < 256; r++ {
		for g := 0; g < 256; g++ {
			for b := 0; b < 256; b++ {
				if b%5 != 0 && b != 255 && b != r && b != g {
					continue
				}
				h, s, v := rgbToHSV(inv255[r], inv255[g], inv255[b])
				h8, s8, v8 := rgb8ToHSV(uint8(r), uint8(g), uint8(b))
				if h != h8 || s != s8 || v != v8 {
					t.Fatalf("(%d,%d,%d): (%v,%v,%v), want (%v,%v,%v)", r, g, b, h8, s8, v8, h, s, v)
				}
			}
		}
	}
}
