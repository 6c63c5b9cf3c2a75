package corrupt

import (
	"math"
	"testing"
)

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

// unitF32To8 clamps after the float32 product: the same byte as clip, product,
// truncate for every float32 around [0, 1] and for the special values.
func TestUnitF32To8(t *testing.T) {
	ref := func(v float32) uint8 {
		v = min(max(v, 0), 1)
		return uint8(float32(v * 255))
	}
	vals := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), -0.0, 0, 1, 2, -1, 1e30, -1e30, math.MaxFloat32, -math.MaxFloat32, math.SmallestNonzeroFloat32}
	for _, v := range vals {
		if g, w := unitF32To8(v), ref(v); g != w {
			t.Errorf("unitF32To8(%v) = %d, want %d", v, g, w)
		}
	}
	// Every 257th float32 from −0.01 to 1.01, and 64 values either side of every
	// threshold k/255 and of 0 and 1.
	check := func(b uint32) {
		v := math.Float32frombits(b)
		if g, w := unitF32To8(v), ref(v); g != w {
			t.Fatalf("unitF32To8(%v) = %d, want %d", v, g, w)
		}
	}
	for b := math.Float32bits(-0.01); b > 0x80000000; b -= 257 {
		check(b)
	}
	for b := uint32(0); b <= math.Float32bits(1.01); b += 257 {
		check(b)
	}
	for k := 0; k <= 256; k++ {
		c := math.Float32bits(float32(k) / 255)
		for d := uint32(0); d <= 64; d++ {
			check(c + d)
			check(c - d)
		}
	}
	for d := uint32(0); d <= 64; d++ {
		check(0x80000000 + d)
		check(d)
	}
}

// grayFastSIMD/grayFastTail equal rgbToGray32 whenever they report success, and
// succeed on almost every 8-bit colour (every 3rd blue value here; about 0.5% meet
// a tie).
func TestGrayFastMatches(t *testing.T) {
	fails := 0
	for r := 0; r < 256; r++ {
		for g := 0; g < 256; g++ {
			for b := 0; b < 256; b += 3 {
				rf, gf, bf := snowIn32[r], snowIn32[g], snowIn32[b]
				if v, ok := grayFastSIMD(rf, gf, bf); !ok {
					fails++
				} else if w := rgbToGray32(rf, gf, bf, true); v != w {
					t.Fatalf("grayFastSIMD(%d,%d,%d) = %v, want %v", r, g, b, v, w)
				}
				if v, ok := grayFastTail(rf, gf, bf); !ok {
					fails++
				} else if w := rgbToGray32(rf, gf, bf, false); v != w {
					t.Fatalf("grayFastTail(%d,%d,%d) = %v, want %v", r, g, b, v, w)
				}
			}
		}
	}
	if fails > 44000 {
		t.Errorf("%d ties of about 4.4 million: the fast path is rarely taken", fails)
	}
	t.Logf("%d ties", fails)
}

// shotTable gives the byte of poissonTable's variate for every uniform: checked on
// random uniforms, on each CDF value and its neighbours, and on 0.
func TestShotTableMatchesPoissonTable(t *testing.T) {
	r := NewStreamRNG(5, 1, 1, 0)
	for _, c := range []float64{500, 250, 100, 75, 50, 60, 25, 12, 5, 3} {
		for _, p := range []int{0, 1, 2, 17, 64, 128, 200, 254, 255} {
			lam := inv255[p] * c
			pt, st := newPoissonTable(lam), newShotTable(lam, c)
			check := func(u float64) {
				if u < 0 || u >= 1 {
					return
				}
				want := unit8(float64(pt.sample(u)) / c)
				if got := st.sample(u); got != want {
					t.Fatalf("c=%v p=%d u=%v: byte %d, want %d", c, p, u, got, want)
				}
			}
			check(0)
			for _, v := range pt.cdf {
				check(v)
				check(math.Nextafter(v, 0))
				check(math.Nextafter(v, 1))
			}
			for i := 0; i < 20000; i++ {
				check(r.Float64())
			}
		}
	}
}
