package corrupt

// Pillow's resize with the BOX filter on 8-bit images (../shared/corrupt/PARAMS.md,
// pixelate), bit for bit: a horizontal pass and then a vertical pass (each skipped
// when that size does not change) with an 8-bit intermediate, fixed-point weights
// with 22 fractional bits.

import "sync"

const boxPrecisionBits = 22

// boxCoeffs are the fixed-point weights of one resampling axis: output index o
// reads input indices start[o] .. start[o]+len(weights[o])−1.
type boxCoeffs struct {
	start   []int
	weights [][]int32
}

// boxFilter is Pillow's box filter: 1 on (−0.5, 0.5], 0 elsewhere.
func boxFilter(x float64) float64 {
	if x > -0.5 && x <= 0.5 {
		return 1
	}
	return 0
}

var (
	boxMu    sync.RWMutex
	boxCache = map[[2]int]boxCoeffs{} // {in, out} → coefficients
)

// boxCoeffsFor returns the cached coefficients for resizing inSize to outSize.
func boxCoeffsFor(inSize, outSize int) boxCoeffs {
	key := [2]int{inSize, outSize}
	boxMu.RLock()
	bc, ok := boxCache[key]
	boxMu.RUnlock()
	if ok {
		return bc
	}
	bc = precomputeBox(inSize, outSize)
	boxMu.Lock()
	if len(boxCache) > 4096 {
		clear(boxCache)
	}
	boxCache[key] = bc
	boxMu.Unlock()
	return bc
}

// precomputeBox computes Pillow's precompute_coeffs and normalize_coeffs_8bpc for
// resizing inSize pixels to outSize with the BOX filter (support 0.5).
func precomputeBox(inSize, outSize int) boxCoeffs {
	scale := float64(inSize) / float64(outSize)
	filterscale := scale
	if filterscale < 1 {
		filterscale = 1
	}
	support := 0.5 * filterscale
	ss := 1 / filterscale
	bc := boxCoeffs{start: make([]int, outSize), weights: make([][]int32, outSize)}
	w := make([]float64, 0, int(support)*2+3)
	for o := 0; o < outSize; o++ {
		center := (float64(o) + 0.5) * scale
		xmin := int(center - support + 0.5)
		if xmin < 0 {
			xmin = 0
		}
		xmax := int(center + support + 0.5)
		if xmax > inSize {
			xmax = inSize
		}
		n := xmax - xmin
		w = w[:0]
		ww := 0.0
		for x := 0; x < n; x++ {
			v := boxFilter((float64(x+xmin) - center + 0.5) * ss)
			w = append(w, v)
			ww += v
		}
		fixed := make([]int32, n)
		for x := range w {
			v := w[x]
			if ww != 0 {
				v /= ww
			}
			if v < 0 {
				fixed[x] = int32(-0.5 + v*(1<<boxPrecisionBits))
			} else {
				fixed[x] = int32(0.5 + v*(1<<boxPrecisionBits))
			}
		}
		bc.start[o] = xmin
		bc.weights[o] = fixed
	}
	return bc
}

// clip8 is Pillow's rounding of a fixed-point accumulator to a byte.
func clip8(ss int32) uint8 {
	v := ss >> boxPrecisionBits
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// boxResize resizes src to w×h like Pillow's Image.resize((w, h), Image.BOX).
func boxResize(src Image, w, h int) Image {
	out := NewImage(h, w, src.C)
	switch {
	case w != src.W && h != src.H:
		tp := getU8(src.H * w * src.C)
		boxHorizontal((*tp)[:src.H*w*src.C], src.Pix, src.H, src.W, w, src.C)
		boxVertical(out.Pix, *tp, src.H, h, w*src.C)
		putU8(tp)
	case w != src.W:
		boxHorizontal(out.Pix, src.Pix, src.H, src.W, w, src.C)
	case h != src.H:
		boxVertical(out.Pix, src.Pix, src.H, h, w*src.C)
	default:
		copy(out.Pix, src.Pix)
	}
	return out
}

// boxOne is the fixed-point weight of a single-tap output (a plain copy).
const boxOne = 1 << boxPrecisionBits

// boxHorizontal resamples each of the rows rows from inW to outW pixels of c channels.
func boxHorizontal(dst, src []uint8, rows, inW, outW, c int) {
	cf := boxCoeffsFor(inW, outW)
	for y := 0; y < rows; y++ {
		in := src[y*inW*c : (y+1)*inW*c]
		out := dst[y*outW*c : (y+1)*outW*c]
		for o := 0; o < outW; o++ {
			k := cf.weights[o]
			base := cf.start[o] * c
			if len(k) == 1 && k[0] == boxOne {
				// (v·2²² + 2²¹) >> 22 = v: a copy.
				if c == 3 {
					d, s := out[3*o:3*o+3:3*o+3], in[base:base+3:base+3]
					d[0], d[1], d[2] = s[0], s[1], s[2]
				} else {
					copy(out[o*c:o*c+c], in[base:base+c])
				}
				continue
			}
			for ch := 0; ch < c; ch++ {
				ss := int32(1 << (boxPrecisionBits - 1))
				for x, kw := range k {
					ss += int32(in[base+x*c+ch]) * kw
				}
				out[o*c+ch] = clip8(ss)
			}
		}
	}
}

// boxVertical resamples inH rows of rowLen values to outH rows.
func boxVertical(dst, src []uint8, inH, outH, rowLen int) {
	cf := boxCoeffsFor(inH, outH)
	ap := getI32(rowLen)
	acc := *ap
	for o := 0; o < outH; o++ {
		out := dst[o*rowLen : (o+1)*rowLen]
		k := cf.weights[o]
		if len(k) == 1 && k[0] == boxOne {
			copy(out, src[cf.start[o]*rowLen:][:rowLen])
			continue
		}
		for i := range acc {
			acc[i] = 1 << (boxPrecisionBits - 1)
		}
		for y, kw := range k {
			in := src[(cf.start[o]+y)*rowLen:][:rowLen]
			for i, v := range in {
				acc[i] += int32(v) * kw
			}
		}
		for i, ss := range acc {
			out[i] = clip8(ss)
		}
	}
	putI32(ap)
}
