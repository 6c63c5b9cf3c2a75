package corrupt

import (
	"math"
	"sync"
)

// elastic_transform (../shared/corrupt/PARAMS.md §4): a random affine warp (OpenCV
// getAffineTransform + warpAffine) followed by a smooth random displacement field
// (scipy map_coordinates).
//
// Constants are a fraction of a fixed "image size": 32 in the CIFAR code and 244 in
// the ImageNet code (a documented typo for 224 there). They stay fixed whatever the
// image size, as in the originals; the affine triangle follows the actual size
// (centre = (H//2, W//2) used as an (x, y) point and half-side min(H, W)//3, exactly
// as the original computes it).

func init() {
	register(&Corruption{Name: "elastic_transform", Index: 12, Family: "digital", Benchmark: true, Random: true, Apply: elasticTransform})
}

// elasticParam is (alpha, sigma, jitter): the displacement scale, the σ of the field
// smoothing and the half-range of the affine jitter, in pixels.
type elasticParam struct{ alpha, sigma, jitter float64 }

// elasticParams holds the constants computed at run time in float64 as the originals
// do (size·fraction), so that e.g. 32·0.07 is 2.2400000000000002.
var elasticParams = func() (t [2][5]elasticParam) {
	fr := [2][5][3]float64{
		CIFAR:    {{0, 0, 0.08}, {0.05, 0.2, 0.07}, {0.08, 0.06, 0.06}, {0.1, 0.04, 0.05}, {0.1, 0.03, 0.03}},
		ImageNet: {{2, 0.7, 0.1}, {2, 0.08, 0.2}, {0.05, 0.01, 0.02}, {0.07, 0.01, 0.02}, {0.12, 0.01, 0.02}},
	}
	size := [2]float64{CIFAR: 32, ImageNet: 244}
	for p := range t {
		for s := range t[p] {
			f := fr[p][s]
			t[p][s] = elasticParam{size[p] * f[0], size[p] * f[1], size[p] * f[2]}
		}
	}
	return
}()

// getAffineTransform is OpenCV's getAffineTransform: the 2×3 map taking the three
// src points to the dst points, from the 6×6 linear system solved by Gaussian
// elimination with partial pivoting in float64 (multipliers a_ji/a_ii, row-wise back
// substitution), which reproduced cv2's matrices bit for bit on 3000 random cases.
func getAffineTransform(src, dst [3][2]float32) [6]float64 {
	var a [6][6]float64
	var b [6]float64
	for i := 0; i < 3; i++ {
		x, y := float64(src[i][0]), float64(src[i][1])
		a[2*i] = [6]float64{x, y, 1, 0, 0, 0}
		a[2*i+1] = [6]float64{0, 0, 0, x, y, 1}
		b[2*i], b[2*i+1] = float64(dst[i][0]), float64(dst[i][1])
	}
	const n = 6
	for i := 0; i < n; i++ {
		k := i
		for j := i + 1; j < n; j++ {
			if math.Abs(a[j][i]) > math.Abs(a[k][i]) {
				k = j
			}
		}
		if a[k][i] == 0 {
			return [6]float64{} // degenerate triangle: OpenCV returns zeros too
		}
		a[i], a[k] = a[k], a[i]
		b[i], b[k] = b[k], b[i]
		for j := i + 1; j < n; j++ {
			alpha := a[j][i] / a[i][i]
			for kk := i + 1; kk < n; kk++ {
				a[j][kk] -= float64(alpha * a[i][kk])
			}
			b[j] -= float64(alpha * b[i])
		}
	}
	for i := n - 1; i >= 0; i-- {
		s := b[i]
		for kk := i + 1; kk < n; kk++ {
			s -= float64(a[i][kk] * b[kk])
		}
		b[i] = s / a[i][i]
	}
	return b
}

// cvRound is OpenCV's cvRound / saturate_cast<int> of a double: round half to even.
func cvRound(v float64) int {
	r := math.RoundToEven(v)
	if r >= math.MaxInt32 {
		return math.MaxInt32
	}
	if r <= math.MinInt32 {
		return math.MinInt32
	}
	return int(r)
}

// warpWeights holds OpenCV's float bilinear table: for fractional offsets (fy, fx)
// in 1/32 pixel, the weights ((1−ay)(1−ax), (1−ay)ax, ay(1−ax), ay·ax) in float32.
var warpWeights = func() (t [32 * 32][4]float32) {
	for i := 0; i < 32; i++ {
		ay := float32(i) * (1.0 / 32)
		for j := 0; j < 32; j++ {
			ax := float32(j) * (1.0 / 32)
			t[i*32+j] = [4]float32{(1 - ay) * (1 - ax), (1 - ay) * ax, ay * (1 - ax), ay * ax}
		}
	}
	return
}()

// reflect101 maps an index onto 0..n−1 with OpenCV's BORDER_REFLECT_101.
func reflect101(p, n int) int {
	if n == 1 {
		return 0
	}
	for p < 0 || p >= n {
		if p < 0 {
			p = -p
		} else {
			p = 2*n - 2 - p
		}
	}
	return p
}

// warpAffine32 is OpenCV's warpAffine of a float32 h×w×c image onto the same size
// with INTER_LINEAR and BORDER_REFLECT_101, for the forward map m. The inverse map
// uses OpenCV's closed-form 2×2 inverse; source coordinates are computed in 1/1024
// fixed point (cvRound of the row and column terms), rounded to 1/32 pixel, and the
// four neighbours are combined in float32 as ((v0·w0 + v1·w1) + v2·w2) + v3·w3.
func warpAffine32(dst, src []float32, h, w, c int, m [6]float64) {
	d := float64(m[0]*m[4]) - float64(m[1]*m[3])
	if d != 0 {
		d = 1 / d
	}
	a11, a22 := m[4]*d, m[0]*d
	m[0], m[4] = a11, a22
	m[1] *= -d
	m[3] *= -d
	b1 := float64(-m[0]*m[2]) - float64(m[1]*m[5])
	b2 := float64(-m[3]*m[2]) - float64(m[4]*m[5])
	m[2], m[5] = b1, b2

	const abScale = 1024
	s := warpScratchPool.Get().(*warpScratch)
	defer warpScratchPool.Put(s)
	if cap(s.adx) < w {
		s.adx, s.ady = make([]int, w), make([]int, w)
	}
	adx, ady := s.adx[:w], s.ady[:w]
	for x := 0; x < w; x++ {
		adx[x] = cvRound(float64(m[0]*float64(x)) * abScale)
		ady[x] = cvRound(float64(m[3]*float64(x)) * abScale)
	}
	rowLen := w * c
	for y := 0; y < h; y++ {
		x0 := cvRound(float64(float64(m[1]*float64(y))+m[2])*abScale) + 16
		y0 := cvRound(float64(float64(m[4]*float64(y))+m[5])*abScale) + 16
		for x := 0; x < w; x++ {
			fx := (x0 + adx[x]) >> 5
			fy := (y0 + ady[x]) >> 5
			sx, sy := fx>>5, fy>>5
			wt := &warpWeights[(fy&31)*32+(fx&31)]
			o := dst[(y*w+x)*c : (y*w+x+1)*c]
			if sx >= 0 && sx < w-1 && sy >= 0 && sy < h-1 {
				p0 := src[sy*rowLen+sx*c:]
				p1 := src[(sy+1)*rowLen+sx*c:]
				if c == 3 {
					p0, p1 := p0[:6:6], p1[:6:6]
					w0, w1, w2, w3 := wt[0], wt[1], wt[2], wt[3]
					o := o[:3:3]
					o[0] = float32(float32(float32(p0[0]*w0)+float32(p0[3]*w1))+float32(p1[0]*w2)) + float32(p1[3]*w3)
					o[1] = float32(float32(float32(p0[1]*w0)+float32(p0[4]*w1))+float32(p1[1]*w2)) + float32(p1[4]*w3)
					o[2] = float32(float32(float32(p0[2]*w0)+float32(p0[5]*w1))+float32(p1[2]*w2)) + float32(p1[5]*w3)
					continue
				}
				for ch := range o {
					o[ch] = float32(float32(float32(p0[ch]*wt[0])+float32(p0[c+ch]*wt[1]))+float32(p1[ch]*wt[2])) + float32(p1[c+ch]*wt[3])
				}
				continue
			}
			sx0, sx1 := reflect101(sx, w)*c, reflect101(sx+1, w)*c
			sy0, sy1 := reflect101(sy, h)*rowLen, reflect101(sy+1, h)*rowLen
			for ch := range o {
				v0, v1 := src[sy0+sx0+ch], src[sy0+sx1+ch]
				v2, v3 := src[sy1+sx0+ch], src[sy1+sx1+ch]
				o[ch] = float32(float32(float32(v0*wt[0])+float32(v1*wt[1]))+float32(v2*wt[2])) + float32(v3*wt[3])
			}
		}
	}
}

type warpScratch struct{ adx, ady []int }

var warpScratchPool = sync.Pool{New: func() any { return new(warpScratch) }}

// reflectHalf maps an index onto 0..n−1 with scipy's "reflect" (half-sample
// symmetric, period 2n): −1 → 0, n → n−1.
func reflectHalf(i, n int) int {
	if i >= 0 && i < n {
		return i
	}
	p := 2 * n
	i %= p
	if i < 0 {
		i += p
	}
	if i >= n {
		i = p - 1 - i
	}
	return i
}

// mapCoordinatesShift is scipy's map_coordinates(img, (y+dy, x+dx, ch), order=1,
// mode='reflect') for a float32 h×w×c image and float32 displacements per pixel
// (the same for every channel): coordinates in float64, weights 1−frac and
// 1−(1−frac), neighbours beyond the edge reflected (half-sample symmetric), the sum
// Σ (v·wy)·wx in row-major neighbour order rounded to float32.
func mapCoordinatesShift(dst, src []float32, dy, dx []float32, h, w, c int) {
	rowLen := w * c
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			k := y*w + x
			cy := float64(y) + float64(dy[k])
			cx := float64(x) + float64(dx[k])
			fy, fx := math.Floor(cy), math.Floor(cx)
			wy0, wx0 := 1-(cy-fy), 1-(cx-fx)
			wy1, wx1 := 1-wy0, 1-wx0
			iy, ix := int(fy), int(fx)
			var y0, y1, x0, x1 int
			if iy >= 0 && iy < h-1 {
				y0, y1 = iy*rowLen, (iy+1)*rowLen
			} else {
				y0, y1 = reflectHalf(iy, h)*rowLen, reflectHalf(iy+1, h)*rowLen
			}
			if ix >= 0 && ix < w-1 {
				x0, x1 = ix*c, (ix+1)*c
			} else {
				x0, x1 = reflectHalf(ix, w)*c, reflectHalf(ix+1, w)*c
			}
			if c == 3 {
				a := src[y0+x0 : y0+x0+3 : y0+x0+3]
				b := src[y0+x1 : y0+x1+3 : y0+x1+3]
				e := src[y1+x0 : y1+x0+3 : y1+x0+3]
				f := src[y1+x1 : y1+x1+3 : y1+x1+3]
				o := dst[3*k : 3*k+3 : 3*k+3]
				for ch := 0; ch < 3; ch++ {
					t := float64(float64(float64(a[ch])*wy0) * wx0)
					t += float64(float64(float64(b[ch])*wy0) * wx1)
					t += float64(float64(float64(e[ch])*wy1) * wx0)
					t += float64(float64(float64(f[ch])*wy1) * wx1)
					o[ch] = float32(t)
				}
				continue
			}
			o := dst[k*c : k*c+c]
			for ch := range o {
				t := float64(float64(float64(src[y0+x0+ch])*wy0) * wx0)
				t += float64(float64(float64(src[y0+x1+ch])*wy0) * wx1)
				t += float64(float64(float64(src[y1+x0+ch])*wy1) * wx0)
				t += float64(float64(float64(src[y1+x1+ch])*wy1) * wx1)
				o[ch] = float32(t)
			}
		}
	}
}

type elasticScratch struct {
	xf, warped, mapped []float32
	field              []float64
	dx, dy             []float32
	smooth             smoothBuf
}

var elasticPool = sync.Pool{New: func() any { return new(elasticScratch) }}

func (s *elasticScratch) grow(n, c int) {
	if cap(s.dx) < n || cap(s.xf) < n*c {
		s.xf, s.warped, s.mapped = make([]float32, n*c), make([]float32, n*c), make([]float32, n*c)
		s.field = make([]float64, n)
		s.dx, s.dy = make([]float32, n), make([]float32, n)
	}
}

// elasticField draws an h×w field of U(−1, 1), smooths it with the scipy Gaussian
// (σ, mode reflect, truncate 3) and stores float32(alpha·v) in out.
func elasticField(out []float32, field []float64, h, w int, p elasticParam, rng RNG, buf *smoothBuf) {
	fillFloat64(rng, field)
	for i, u := range field {
		field[i] = -1 + float64(2*u) // U(−1, 1) as Uniform computes it
	}
	gaussianFilter64Buf(field, field, h, w, 1, p.sigma, 3, BorderReflect, buf)
	for i, v := range field {
		out[i] = float32(v * p.alpha)
	}
}

// elasticTransform is the elastic_transform corruption. RNG order: 6 uniforms for the
// affine jitter, then H·W for dx and H·W for dy (drawn even when alpha is 0).
func elasticTransform(src Image, sev int, rng RNG, opt *Options) Image {
	p := elasticParams[paramSetOf(opt)][sev-1]
	h, w, c := src.H, src.W, src.C
	n := h * w
	s := elasticPool.Get().(*elasticScratch)
	defer elasticPool.Put(s)
	s.grow(n, c)
	xf, warped, mapped := s.xf[:n*c], s.warped[:n*c], s.mapped[:n*c]
	field, dx, dy := s.field[:n], s.dx[:n], s.dy[:n]
	for i, v := range src.Pix {
		xf[i] = snowIn32[v]
	}
	c0, c1 := float32(h/2), float32(w/2)
	sq := float32(min(h, w) / 3)
	pts1 := [3][2]float32{{c0 + sq, c1 + sq}, {c0 + sq, c1 - sq}, {c0 - sq, c1 - sq}}
	var pts2 [3][2]float32
	for i := range pts2 {
		for j := range pts2[i] {
			pts2[i][j] = pts1[i][j] + float32(rng.Uniform(-p.jitter, p.jitter))
		}
	}
	warpAffine32(warped, xf, h, w, c, getAffineTransform(pts1, pts2))
	elasticField(dx, field, h, w, p, rng, &s.smooth)
	elasticField(dy, field, h, w, p, rng, &s.smooth)
	out := NewImage(h, w, c)
	if p.alpha != 0 {
		mapCoordinatesShift(mapped, warped, dy, dx, h, w, c)
	} else {
		// dx = dy = ±0: every output samples its own pixel with weights 1 and 0, and
		// map_coordinates returns the warped image unchanged.
		mapped = warped
	}
	for i, v := range mapped {
		out.Pix[i] = unitF32To8(v)
	}
	return out
}
