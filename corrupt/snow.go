package corrupt

import "sync"

// snow (../shared/corrupt/PARAMS.md §4): a thresholded, zoomed normal "snow layer"
// streaked by ImageMagick's motion blur, added twice (once rotated by 180°) to a
// brightened image.

func init() {
	register(&Corruption{Name: "snow", Index: 7, Family: "weather", Benchmark: true, Random: true, Apply: snow})
}

// snowParam is snow's 7-tuple: the layer's normal (loc, scale), its zoom and
// threshold, the motion blur's (radius, sigma) and the blend weight of the image.
type snowParam struct{ loc, scale, zoom, thresh, radius, sigma, blend float64 }

var snowParams = [2][5]snowParam{
	CIFAR: {
		{0.1, 0.2, 1, 0.6, 8, 3, 0.95},
		{0.1, 0.2, 1, 0.5, 10, 4, 0.9},
		{0.15, 0.3, 1.75, 0.55, 10, 4, 0.9},
		{0.25, 0.3, 2.25, 0.6, 12, 6, 0.85},
		{0.3, 0.3, 1.25, 0.65, 14, 12, 0.8},
	},
	ImageNet: {
		{0.1, 0.3, 3, 0.5, 10, 4, 0.8},
		{0.2, 0.3, 2, 0.5, 12, 4, 0.7},
		{0.55, 0.3, 4, 0.9, 12, 8, 0.7},
		{0.55, 0.3, 4.5, 0.85, 12, 8, 0.65},
		{0.55, 0.3, 2.5, 0.85, 12, 12, 0.55},
	},
}

// snowIn32 holds float32(v)/255 computed in float32 for every 8-bit value: snow's
// (and elastic_transform's) working image.
var snowIn32 = func() (t [256]float32) {
	for i := range t {
		t[i] = float32(i) / 255
	}
	return
}()

// rgbToGray32 is OpenCV's float RGB2GRAY (coefficients 0.299, 0.587, 0.114 as
// float32) as the reference machine (AVX2/FMA) evaluates it. OpenCV converts row by
// row; the first w − w mod 8 pixels of a row go through the 8-lane SIMD loop,
// fma(B, 0.114, fma(G, 0.587, R·0.299)), and the remaining tail pixels through the
// scalar loop, which the compiler contracted to fma(B, 0.114, fma(R, 0.299, G·0.587)).
// Both orders were measured with cv2.cvtColor on widths 1…40, 63…65, 224, 225.
// (../shared/corrupt/PARAMS.md §5 names only the SIMD order; 32- and 224-wide rows
// have no tail.)
func rgbToGray32(r, g, b float32, simd bool) float32 {
	if simd {
		return fma32RN(b, 0.114, fma32RN(g, 0.587, float32(r*0.299)))
	}
	return fma32RN(b, 0.114, fma32RN(r, 0.299, float32(g*0.587)))
}

// grayFastSIMD and grayFastTail are rgbToGray32 (simd true and false) with
// fma32RN's common case written out (see fma32Fast) so that they inline: the grey
// value and true, or false when one of the two fused operations met a float32 tie
// (then use rgbToGray32). Products of two float32 values are exact in float64.
func grayFastSIMD(r, g, b float32) (float32, bool) {
	s1 := float64(g)*float64(float32(0.587)) + float64(float32(r*0.299))
	s2 := float64(b)*float64(float32(0.114)) + float64(float32(s1))
	return float32(s2), notTie(s1) && notTie(s2)
}

func grayFastTail(r, g, b float32) (float32, bool) {
	s1 := float64(r)*float64(float32(0.299)) + float64(float32(g*0.587))
	s2 := float64(b)*float64(float32(0.114)) + float64(float32(s1))
	return float32(s2), notTie(s1) && notTie(s2)
}

type snowScratch struct {
	layer, zoomed []float64
	l8, blur      []uint8
}

var snowPool = sync.Pool{New: func() any { return new(snowScratch) }}

// snow is the snow corruption. Steps (x = float32 pixel/255):
//  1. L: H×W normals (loc, scale), clipped_zoom(L, zoom) in float64, L[L<thresh] = 0;
//  2. L8 = uint8(clip(L, 0, 1)·255); angle = U(−135, −45); S = motion blur of L8
//     (ImageMagick round trip), /255 in float64;
//  3. x' = b·x + (1−b)·max(x, 1.5·gray(x) + 0.5) in float32;
//  4. out = clip(x' + S + rot180(S), 0, 1)·255 in float64.
//
// Images other than RGB use their first channel as R, G and B for the grey value.
func snow(src Image, sev int, rng RNG, opt *Options) Image {
	p := snowParams[paramSetOf(opt)][sev-1]
	h, w, c := src.H, src.W, src.C
	n := h * w
	s := snowPool.Get().(*snowScratch)
	defer snowPool.Put(s)
	if cap(s.layer) < n {
		s.layer, s.zoomed = make([]float64, n), make([]float64, n)
		s.l8, s.blur = make([]uint8, n), make([]uint8, n)
	}
	layer, zoomed, l8, blur := s.layer[:n], s.zoomed[:n], s.l8[:n], s.blur[:n]
	fillNormal(rng, layer, p.loc, p.scale)
	clippedZoom(zoomed, layer, h, w, 1, p.zoom, false)
	for i, v := range zoomed {
		if v < p.thresh {
			v = 0
		}
		l8[i] = unit8(v) // uint8(clip(v, 0, 1)·255)
	}
	angle := rng.Uniform(-135, -45)
	imMotionBlur(blur, l8, h, w, 1, p.radius, p.sigma, angle)

	bw, cw := float32(p.blend), float32(1-p.blend)
	ri, gi, bi := 0, 0, 0
	if c >= 3 {
		gi, bi = 1, 2
	}
	simdEnd := w - w%8 // OpenCV's SIMD part of each row
	out := NewImage(h, w, c)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			k := y*w + x
			px := src.Pix[k*c : k*c+c]
			r, g, b := snowIn32[px[ri]], snowIn32[px[gi]], snowIn32[px[bi]]
			var gray float32
			var ok bool
			if x < simdEnd {
				gray, ok = grayFastSIMD(r, g, b)
			} else {
				gray, ok = grayFastTail(r, g, b)
			}
			if !ok {
				gray = rgbToGray32(r, g, b, x < simdEnd)
			}
			bright := float32(gray*1.5) + 0.5
			sn := inv255[blur[k]]
			sr := inv255[blur[n-1-k]] // rot180: (h−1−y, w−1−x)
			o := out.Pix[k*c : k*c+c]
			for ch, v := range px {
				xf := snowIn32[v]
				xb := float32(bw*xf) + float32(cw*max(xf, bright))
				o[ch] = unit8(float64(xb) + sn + sr)
			}
		}
	}
	return out
}
