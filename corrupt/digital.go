package corrupt

// The digital corruptions: brightness, contrast, saturate and pixelate
// (../shared/corrupt/PARAMS.md §4). None of them draws random numbers.

func init() {
	register(&Corruption{Name: "brightness", Index: 10, Family: "weather", Benchmark: true, Apply: brightness})
	register(&Corruption{Name: "contrast", Index: 11, Family: "digital", Benchmark: true, Apply: contrast})
	register(&Corruption{Name: "pixelate", Index: 13, Family: "digital", Benchmark: true, Apply: pixelate})
	register(&Corruption{Name: "saturate", Index: 18, Family: "digital", Benchmark: false, Apply: saturate})
}

// brightness adds c to the HSV value channel (clipped to [0, 1]) and converts back.
func brightness(src Image, sev int, _ RNG, opt *Options) Image {
	return mapHSV(src, hsvBrightness, brightnessShift.get(paramsOf(opt), sev), 0)
}

// saturate sets S = clip(S·a + b, 0, 1): severities 1–2 reduce saturation, 3–5
// increase it, and b > 0 tints grey pixels (hue 0) red.
func saturate(src Image, sev int, _ RNG, opt *Options) Image {
	ab := saturateParams.get(paramsOf(opt), sev)
	return mapHSV(src, hsvSaturate, ab[0], ab[1])
}

// The HSV edits of mapHSV.
const (
	hsvBrightness = iota // V = clip(V + p1)
	hsvSaturate          // S = clip(S·p1 + p2)
)

// mapHSV converts every pixel of the RGB image to HSV, applies the edit, converts
// back and stores clip(rgb, 0, 1)·255 truncated. Only the 3-channel layout is
// supported.
func mapHSV(src Image, edit int, p1, p2 float64) Image {
	out := NewImage(src.H, src.W, src.C)
	for i := 0; i+2 < len(src.Pix); i += 3 {
		px := src.Pix[i : i+3 : i+3]
		h, s, v := rgb8ToHSV(px[0], px[1], px[2])
		if edit == hsvBrightness {
			v = clip01(v + p1)
		} else {
			s = clip01(float64(s*p1) + p2)
		}
		r, g, b := hsvToRGB(h, s, v)
		o := out.Pix[i : i+3 : i+3]
		o[0] = unit8(r)
		o[1] = unit8(g)
		o[2] = unit8(b)
	}
	return out
}

// contrast: out = clip((x − μ)·c + μ, 0, 1)·255 with μ the per-channel mean of x,
// summed pixel by pixel in order (as numpy's mean over axes (0, 1) of an H×W×C array
// does) and divided by the pixel count.
func contrast(src Image, sev int, _ RNG, opt *Options) Image {
	c := contrastFactor.get(paramsOf(opt), sev)
	nc := src.C
	var sum [4]float64
	if nc == 3 {
		// The same sums, in registers.
		var s0, s1, s2 float64
		for i := 0; i+2 < len(src.Pix); i += 3 {
			px := src.Pix[i : i+3 : i+3]
			s0 += inv255[px[0]]
			s1 += inv255[px[1]]
			s2 += inv255[px[2]]
		}
		sum[0], sum[1], sum[2] = s0, s1, s2
	} else {
		for i := 0; i < len(src.Pix); i += nc {
			for ch := 0; ch < nc; ch++ {
				sum[ch] += inv255[src.Pix[i+ch]]
			}
		}
	}
	n := float64(src.H * src.W)
	var lut [4][256]uint8
	for ch := 0; ch < nc; ch++ {
		mu := sum[ch] / n
		for p := range lut[ch] {
			lut[ch][p] = unit8(float64((inv255[p]-mu)*c) + mu)
		}
	}
	out := NewImage(src.H, src.W, nc)
	if nc == 3 {
		l0, l1, l2 := &lut[0], &lut[1], &lut[2]
		for i := 0; i+2 < len(src.Pix); i += 3 {
			px := src.Pix[i : i+3 : i+3]
			o := out.Pix[i : i+3 : i+3]
			o[0], o[1], o[2] = l0[px[0]], l1[px[1]], l2[px[2]]
		}
		return out
	}
	for i := 0; i < len(src.Pix); i += nc {
		for ch := 0; ch < nc; ch++ {
			out.Pix[i+ch] = lut[ch][src.Pix[i+ch]]
		}
	}
	return out
}

// pixelate shrinks the image with Pillow's BOX filter to int(W·c)×int(H·c) and
// enlarges it back to W×H with BOX (the original uses the hard-coded image size,
// 32 or 224, for both axes; for square images this is the same).
func pixelate(src Image, sev int, _ RNG, opt *Options) Image {
	c := pixelateFactor.get(paramsOf(opt), sev)
	w, h := int(float64(src.W)*c), int(float64(src.H)*c)
	if w < 1 {
		w = 1
	}
	if h < 1 {
		h = 1
	}
	small := boxResize(src, w, h)
	return boxResize(small, src.W, src.H)
}
