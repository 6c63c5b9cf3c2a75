package ljpeg

import "testing"

func TestColourConstants(t *testing.T) {
	for _, c := range []struct {
		got int32
		x   float64
	}{{fixRY, 0.299}, {fixGY, 0.587}, {fixBY, 0.114}, {fixRCb, 0.16874}, {fixGCb, 0.33126},
		{fixHalf, 0.5}, {fixGCr, 0.41869}, {fixBCr, 0.08131}} {
		if want := fix(c.x); c.got != want {
			t.Errorf("FIX(%g) = %d, want %d", c.x, c.got, want)
		}
	}
	// Grey pixels have Y = grey level and neutral chroma, and convert back exactly.
	for v := int32(0); v < 256; v++ {
		if rgbToY(v, v, v) != uint8(v) || rgbToCb(v, v, v) != 128 || rgbToCr(v, v, v) != 128 {
			t.Fatalf("grey %d: Y %d Cb %d Cr %d", v, rgbToY(v, v, v), rgbToCb(v, v, v), rgbToCr(v, v, v))
		}
		var o [3]uint8
		ycbcrToRGB(o[:], []uint8{uint8(v)}, []uint8{128}, []uint8{128})
		if o != [3]uint8{uint8(v), uint8(v), uint8(v)} {
			t.Fatalf("grey %d back to %v", v, o)
		}
	}
}

// TestQuantizerMatchesDivision: libjpeg-turbo's reciprocal quantisation agrees with
// rounded division (|x| + d/2) / d over the forward DCT's output range, for every
// 8-bit table entry (the property its design relies on).
func TestQuantizerMatchesDivision(t *testing.T) {
	for q := 1; q <= 255; q++ {
		var qt [64]uint16
		for i := range qt {
			qt[i] = uint16(q)
		}
		z := newQuantizer(&qt)
		d := int32(q) * 8
		for x := int32(-16384); x <= 16384; x++ {
			got := z.requant1(0, x)
			a := x
			if a < 0 {
				a = -a
			}
			want := (a + d/2) / d
			if x < 0 {
				want = -want
			}
			if got != want {
				t.Fatalf("q=%d x=%d: %d, want %d", q, x, got, want)
			}
		}
	}
}

// TestQuantizeVariantsAgree: the encoder's quantize, the round trip's requantize
// (with its zero threshold) and requant1 agree.
func TestQuantizeVariantsAgree(t *testing.T) {
	for _, q := range []int{1, 10, 58, 100} {
		tb, err := tablesFor(q)
		if err != nil {
			t.Fatal(err)
		}
		for x := int32(-9000); x <= 9000; x += 7 {
			var ws, rq [64]int32
			for i := range ws {
				ws[i] = x + int32(i)
			}
			rq = ws
			var out [64]int16
			tb.lumaZ.quantize(&out, &ws)
			tb.lumaZ.requantize(&rq, &tb.lumaDeq)
			for i := range ws {
				if int32(out[i])*tb.lumaDeq[i] != rq[i] || int32(out[i]) != tb.lumaZ.requant1(i, ws[i]) {
					t.Fatalf("q=%d x=%d i=%d: quantize %d requantize %d", q, ws[i], i, out[i], rq[i])
				}
			}
		}
	}
}
