package corrupt

import "math"

// rgb8ToHSV is skimage's rgb2hsv of the 8-bit pixel (r, g, b)/255
// (../shared/corrupt/PARAMS.md §3.4): V = max, S = Δ/V (0 when Δ = 0), and the hue
// sector chosen by the last channel equal to the max (blue over green over red),
// H = (H′/6) mod 1. The maximum, the minimum and the hue sector are chosen on the
// 8-bit values, which picks the same components as on the scaled ones (v/255 is
// strictly increasing in v).
func rgb8ToHSV(r8, g8, b8 uint8) (h, s, v float64) {
	mx, mn := max(r8, g8, b8), min(r8, g8, b8)
	v = inv255[mx]
	if mx == mn {
		return 0, 0, v
	}
	r, g, b := inv255[r8], inv255[g8], inv255[b8]
	d := v - inv255[mn]
	s = d / v
	var hp float64
	switch mx {
	case b8:
		hp = 4 + (r-g)/d
	case g8:
		hp = 2 + (b-r)/d
	default:
		hp = (g - b) / d
	}
	h = pyMod1(hp / 6)
	return h, s, v
}

// pyMod1 is numpy's floating remainder x mod 1 (result in [0, 1), sign of the divisor).
func pyMod1(x float64) float64 {
	if x > -1 && x < 1 {
		// fmod(x, 1) is x itself here.
		if x < 0 {
			return x + 1
		}
		return x + 0 // turns −0 into +0
	}
	m := math.Mod(x, 1)
	if m < 0 {
		m++
	} else if m == 0 {
		m = 0 // +0, as numpy's copysign(0, 1)
	}
	return m
}

// hsvToRGB is skimage's hsv2rgb for one pixel: i = floor(6H) mod 6,
// f = 6H − floor(6H), p = V(1−S), q = V(1−fS), t = V(1−(1−f)S).
func hsvToRGB(h, s, v float64) (r, g, b float64) {
	h6 := h * 6
	hi := math.Floor(h6)
	f := h6 - hi
	p := v * (1 - s)
	q := v * (1 - float64(f*s))
	t := v * (1 - float64((1-f)*s))
	// numpy casts the floored value to uint8 before "% 6"; for h in [0, 1] it is 0..6.
	switch int(uint8(int64(hi))) % 6 {
	case 0:
		return v, t, p
	case 1:
		return q, v, p
	case 2:
		return p, v, t
	case 3:
		return p, q, v
	case 4:
		return t, p, v
	default:
		return v, p, q
	}
}
