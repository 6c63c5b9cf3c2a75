package corrupt

import "sync"

// spatter (../shared/corrupt/PARAMS.md §4, ci 17): a random "liquid layer" becomes
// either water droplets (a Canny/distance-transform rim shading, pale turquoise) or
// mud blobs (blurred mask, brown). The only randomness is H·W normals.

func init() {
	register(&Corruption{Name: "spatter", Index: 17, Family: "extra", Benchmark: false, Random: true, Apply: spatter})
}

// spatterParam is the original's 6-tuple: normal loc and scale of the liquid layer,
// its blur σ, the threshold below which it is dry, the intensity (water: scale of
// the shading; mud: σ of the mask blur) and the mode (0 water, 1 mud).
type spatterParam struct {
	loc, scale, sigma, thresh, intensity float64
	mud                                  bool
}

var spatterParams = sevParams[spatterParam]{
	cifar: [5]spatterParam{
		{0.62, 0.1, 0.7, 0.7, 0.5, false},
		{0.65, 0.1, 0.8, 0.7, 0.5, false},
		{0.65, 0.3, 1, 0.69, 0.5, false},
		{0.65, 0.1, 0.7, 0.69, 0.6, true},
		{0.65, 0.1, 0.5, 0.68, 0.6, true},
	},
	imagenet: [5]spatterParam{
		{0.65, 0.3, 4, 0.69, 0.6, false},
		{0.65, 0.3, 3, 0.68, 0.6, false},
		{0.65, 0.3, 2, 0.68, 0.5, false},
		{0.65, 0.3, 1, 0.65, 1.5, true},
		{0.67, 0.4, 1, 0.65, 1.5, true},
	},
}

// Water and mud colours as float32(k/255.), per output channel R, G, B.
var (
	spatterWater = [3]float32{float32(175 / 255.0), float32(238 / 255.0), float32(238 / 255.0)}
	spatterMud   = [3]float32{float32(63 / 255.0), float32(42 / 255.0), float32(20 / 255.0)}
	// spatterKernel is the 3×3 emboss kernel of the water rim.
	spatterKernel = [9]int{-2, -1, 0, -1, 1, 1, 0, 1, 2}
)

// inv255f32 holds float32(v)/255 computed in float32 (numpy's float32 image / 255).
var inv255f32 = func() (t [256]float32) {
	for i := range t {
		t[i] = float32(i) / 255
	}
	return
}()

// spatterScratch holds every intermediate plane of one spatter call.
type spatterScratch struct {
	liquid  []float64
	l8, u8a []uint8
	u8b     []uint8
	f32a    []float32
	f32b    []float32
	rows64  []float64
	rows16  []uint16
	dtmp    []uint32
	pad     []int32
	canny   cannyScratch
	maskF32 []float32
}

var spatterPool = sync.Pool{New: func() any { return new(spatterScratch) }}

func (s *spatterScratch) grow(n int) {
	if cap(s.liquid) < n {
		s.liquid = make([]float64, n)
		s.l8 = make([]uint8, n)
		s.u8a = make([]uint8, n)
		s.u8b = make([]uint8, n)
		s.f32a = make([]float32, n)
		s.f32b = make([]float32, n)
	}
	s.liquid, s.l8, s.u8a, s.u8b = s.liquid[:n], s.l8[:n], s.u8a[:n], s.u8b[:n]
	s.f32a, s.f32b = s.f32a[:n], s.f32b[:n]
}

// spatter applies the corruption to a 3-channel image of any size.
func spatter(src Image, sev int, rng RNG, opt *Options) Image {
	p := spatterParams.get(paramsOf(opt), clampSev(sev))
	h, w := src.H, src.W
	n := h * w
	s := spatterPool.Get().(*spatterScratch)
	defer spatterPool.Put(s)
	s.grow(n)

	liquid := s.liquid
	fillNormal(rng, liquid, p.loc, p.scale)
	gaussianFilter64(liquid, liquid, h, w, 1, p.sigma, 4, BorderNearest)
	// The original zeroes the layer below the threshold; both branches below apply
	// that cut themselves (every threshold is positive).
	out := NewImage(h, w, src.C)
	if p.mud {
		spatterMudBlend(out, src, liquid, p, s)
	} else {
		spatterWaterBlend(out, src, liquid, p, s)
	}
	return out
}

// clampSev maps a severity outside 1..5 to the nearest valid one.
func clampSev(sev int) int { return min(max(sev, 1), 5) }

// spatterWaterBlend is the water branch: rim shading of the liquid layer from its
// Canny edges, blended with pale turquoise in float32.
func spatterWaterBlend(out, src Image, liquid []float64, p spatterParam, s *spatterScratch) {
	h, w := src.H, src.W
	l8 := s.l8
	for i, v := range liquid {
		if v < p.thresh {
			l8[i] = 0
		} else {
			l8[i] = uint8(int64(float64(v * 255))) // numpy astype(uint8): truncation
		}
	}
	edges := s.u8a
	canny(edges, l8, h, w, 50, 150, &s.canny, true) // 255 − Canny
	dist := s.f32a
	// distanceTransform, then threshold(20, THRESH_TRUNC): 20 is exact in 16.16.
	s.dtmp = distanceTransformL2M5Trunc(dist, edges, h, w, s.dtmp, 20<<distShift)
	d8 := s.u8a
	s.rows64 = boxBlur3F32U8(d8, dist, h, w, s.rows64)
	equalizeHist(d8, d8)
	emb := s.u8b
	s.pad = embossU8(emb, d8, h, w, s.pad) // filter2D with spatterKernel
	s.rows16 = boxBlur3U8(d8, emb, h, w, s.rows16)

	// m = L8·dist in float32 (exact: both are small integers), normalised by its
	// maximum and scaled by the intensity.
	var mx uint32
	for i, v := range l8 {
		mx = max(mx, uint32(v)*uint32(d8[i]))
	}
	m := s.f32b
	inten := float32(p.intensity)
	fmx := float32(mx)
	for i, v := range l8 {
		m[i] = float32(float32(uint32(v)*uint32(d8[i]))/fmx) * inten // 0/0 = NaN without water
	}
	if src.C != 3 {
		for i, mv := range m {
			for ch := 0; ch < src.C; ch++ {
				k := i*src.C + ch
				out.Pix[k] = f32Unit8(inv255f32[src.Pix[k]] + float32(mv*spatterWater[ch%3]))
			}
		}
		return
	}
	c0, c1, c2 := spatterWater[0], spatterWater[1], spatterWater[2]
	for i, mv := range m {
		px := src.Pix[3*i : 3*i+3 : 3*i+3]
		o := out.Pix[3*i : 3*i+3 : 3*i+3]
		o[0] = f32Unit8Pos(inv255f32[px[0]] + float32(mv*c0))
		o[1] = f32Unit8Pos(inv255f32[px[1]] + float32(mv*c1))
		o[2] = f32Unit8Pos(inv255f32[px[2]] + float32(mv*c2))
	}
}

// spatterIdentity is the output of a pixel value where m = 0 (water and mud):
// uint8(float32(v/255)·255), which is not always v.
var spatterIdentity = func() (t [256]uint8) {
	for v := range t {
		t[v] = f32Unit8(inv255f32[v])
	}
	return
}()

// spatterMudBlend is the mud branch: the thresholded liquid layer blurred (σ =
// intensity, float32), cut below 0.8 and blended with brown.
func spatterMudBlend(out, src Image, liquid []float64, p spatterParam, s *spatterScratch) {
	h, w := src.H, src.W
	m := s.f32a
	for i, v := range liquid {
		if v > p.thresh {
			m[i] = 1
		} else {
			m[i] = 0
		}
	}
	gaussianFilter32(m, m, h, w, 1, p.intensity, 4, BorderNearest)
	c := src.C
	if c != 3 {
		for i, mv := range m {
			if mv < 0.8 {
				mv = 0
			}
			for ch := 0; ch < c; ch++ {
				k := i*c + ch
				out.Pix[k] = f32Unit8(float32(inv255f32[src.Pix[k]]*(1-mv)) + float32(spatterMud[ch%3]*mv))
			}
		}
		return
	}
	c0, c1, c2 := spatterMud[0], spatterMud[1], spatterMud[2]
	id := &spatterIdentity
	for i, mv := range m {
		px := src.Pix[3*i : 3*i+3 : 3*i+3]
		o := out.Pix[3*i : 3*i+3 : 3*i+3]
		if mv < 0.8 { // m[m < 0.8] = 0: x·1 + 0
			o[0], o[1], o[2] = id[px[0]], id[px[1]], id[px[2]]
			continue
		}
		keep := 1 - mv
		o[0] = f32Unit8(float32(inv255f32[px[0]]*keep) + float32(c0*mv))
		o[1] = f32Unit8(float32(inv255f32[px[1]]*keep) + float32(c1*mv))
		o[2] = f32Unit8(float32(inv255f32[px[2]]*keep) + float32(c2*mv))
	}
}

// f32Unit8Pos is f32Unit8 for a v that is ≥ 0 or NaN.
func f32Unit8Pos(v float32) uint8 {
	if v < 1 {
		return uint8(float32(v * 255))
	}
	if v >= 1 {
		return 255
	}
	return 0 // NaN
}

// f32Unit8 is numpy's uint8(clip(v, 0, 1)·255) for a float32 v: the product is
// rounded to float32 and truncated; NaN (the original's 0/0 when no water is
// present) becomes 0, as the x86 conversion does.
func f32Unit8(v float32) uint8 {
	switch {
	case v < 0:
		return 0
	case v < 1:
		return uint8(float32(v * 255))
	case v >= 1:
		return 255
	}
	return 0 // NaN

}
