package corrupt

// OpenCV 4.6 image operations used by spatter (and frost's texture resize),
// re-implemented to reproduce OpenCV's integer and floating-point semantics exactly
// (../shared/corrupt/PARAMS.md, spatter steps 6–12). All images here are
// single-channel, row-major h×w planes unless stated otherwise; "reflect-101" is
// OpenCV's BORDER_REFLECT_101 (BorderMirror), OpenCV's default border.

import "math"

// Canny edge detector constants: tan(22.5°) in Q15, as OpenCV's canny.cpp.
const (
	cannyShift = 15
	cannyTG22  = 13573 // int(0.4142135623730950488·2^15 + 0.5)
)

// cannyScratch holds the working buffers of canny so that repeated calls do not
// allocate.
type cannyScratch struct {
	dx, dy []int16
	pad    []int32 // 3 padded source rows for sobel3Mag
	mag    []int32 // (h+2)×(w+2), zero frame
	emap   []uint8 // (h+2)×(w+2): 0 weak candidate, 1 not an edge, 2 edge
	stack  []int32
}

func (s *cannyScratch) grow(h, w int) {
	n := h * w
	p := (h + 2) * (w + 2)
	if cap(s.dx) < n {
		s.dx = make([]int16, n)
		s.dy = make([]int16, n)
	}
	s.dx, s.dy = s.dx[:n], s.dy[:n]
	if cap(s.pad) < 3*(w+2) {
		s.pad = make([]int32, 3*(w+2))
	}
	s.pad = s.pad[:3*(w+2)]
	if cap(s.mag) < p {
		s.mag = make([]int32, p)
		s.emap = make([]uint8, p)
	}
	s.mag, s.emap = s.mag[:p], s.emap[:p]
	s.stack = s.stack[:0]
}

// sobel3Mag computes OpenCV's 3×3 Sobel derivatives dx (kernel [−1 0 1] ⊗ [1 2 1]ᵀ)
// and dy (its transpose) of an 8-bit plane as int16, with the border replicated
// (BORDER_REPLICATE, which cv::Canny passes to Sobel), and the L1 magnitude
// |dx|+|dy| into the interior of mag, an (h+2)×(w+2) plane whose one-pixel frame is
// set to 0. pad is scratch of at least 3·(w+2) ints.
func sobel3Mag(dx, dy []int16, mag []int32, src []uint8, h, w int, pad []int32) {
	pw := w + 2
	p0, p1, p2 := pad[:pw], pad[pw:2*pw], pad[2*pw:3*pw]
	fill := func(dst []int32, y int) {
		row := src[borderIndex(y, h, BorderNearest)*w:][:w]
		for x, v := range row {
			dst[x+1] = int32(v)
		}
		dst[0], dst[w+1] = int32(row[0]), int32(row[w-1])
	}
	clear(mag[:pw])
	clear(mag[(h+1)*pw:][:pw])
	fill(p0, -1)
	fill(p1, 0)
	for y := 0; y < h; y++ {
		fill(p2, y+1)
		gx := dx[y*w:][:w]
		gy := dy[y*w:][:w]
		mrow := mag[(y+1)*pw:][:pw]
		mrow[0], mrow[w+1] = 0, 0
		m := mrow[1 : w+1]
		a, b, c := p0[:w+2], p1[:w+2], p2[:w+2]
		// Sliding window over the padded columns x, x+1, x+2: vertical smoothing
		// a+2b+c (for dx) and vertical difference c−a (for dy).
		s0, s1 := a[0]+2*b[0]+c[0], a[1]+2*b[1]+c[1]
		d0, d1 := c[0]-a[0], c[1]-a[1]
		for x := range gx {
			s2 := a[x+2] + 2*b[x+2] + c[x+2]
			d2 := c[x+2] - a[x+2]
			vx := s2 - s0
			vy := d0 + 2*d1 + d2
			gx[x], gy[x] = int16(vx), int16(vy)
			m[x] = abs32(vx) + abs32(vy)
			s0, s1 = s1, s2
			d0, d1 = d1, d2
		}
		p0, p1, p2 = p1, p2, p0
	}
}

func abs32(v int32) int32 {
	if v < 0 {
		return -v
	}
	return v
}

// canny is cv::Canny(src, dst, low, high, apertureSize=3, L2gradient=false): Sobel
// gradients, L1 magnitude |dx|+|dy|, non-maximum suppression along the quantised
// gradient direction (OpenCV's asymmetric > / >= comparisons, zero magnitude outside
// the image), and hysteresis: a pixel with magnitude > high is an edge, one with
// magnitude > low is an edge when 8-connected to an edge. dst receives 255 on edges
// and 0 elsewhere. The thresholds are floored (and swapped if low > high), as OpenCV
// does. s may be nil. With inverted set it writes 255 − edges (0 on edges, 255
// elsewhere), the input of spatter's distance transform.
func canny(dst, src []uint8, h, w int, low, high float64, s *cannyScratch, inverted bool) {
	if s == nil {
		s = new(cannyScratch)
	}
	if low > high {
		low, high = high, low
	}
	lo := int32(math.Floor(low))
	hi := int32(math.Floor(high))
	s.grow(h, w)
	mw := w + 2
	mag, emap := s.mag, s.emap
	sobel3Mag(s.dx, s.dy, mag, src, h, w, s.pad)
	// emap: 1 (not an edge) on the frame and by default, 0 for a weak candidate,
	// 2 for an edge.
	for i := 0; i < mw; i++ {
		emap[i], emap[(h+1)*mw+i] = 1, 1
	}
	stack := s.stack
	for y := 0; y < h; y++ {
		base := (y + 1) * mw
		cur := mag[base:][:mw]
		erow := emap[base:][:mw]
		erow[0], erow[w+1] = 1, 1
		dxr := s.dx[y*w:][:w]
		dyr := s.dy[y*w:][:w]
		for x := range dxr {
			j := x + 1
			m := cur[j]
			erow[j] = 1
			if m <= lo {
				continue
			}
			// Quantised gradient direction, without branches: the two neighbours
			// across the edge are at ±o in mag; the second comparison is >= except
			// on diagonals (OpenCV's asymmetric tie rule).
			xs, ys := int32(dxr[x]), int32(dyr[x])
			ax := abs32(xs)
			ay := abs32(ys) << cannyShift
			tg22x := ax * cannyTG22
			d := 1
			if (xs ^ ys) < 0 {
				d = -1
			}
			o := mw + d // diagonal
			ns := false
			if ay > tg22x+ax<<(cannyShift+1) {
				o, ns = mw, true // vertical
			}
			if ay < tg22x {
				o, ns = 1, true // horizontal
			}
			p := base + j
			n1, n2 := mag[p-o], mag[p+o]
			if !(m > n1 && (m > n2 || (ns && m == n2))) {
				continue
			}
			if m > hi {
				erow[j] = 2
				stack = append(stack, int32(p))
			} else {
				erow[j] = 0
			}
		}
	}
	// Hysteresis: grow the strong edges through 8-connected weak candidates.
	nb := [8]int32{int32(-mw - 1), int32(-mw), int32(-mw + 1), -1, 1, int32(mw - 1), int32(mw), int32(mw + 1)}
	for len(stack) > 0 {
		p := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, o := range nb {
			if q := p + o; emap[q] == 0 {
				emap[q] = 2
				stack = append(stack, q)
			}
		}
	}
	s.stack = stack
	var flip uint8
	if inverted {
		flip = 255
	}
	for y := 0; y < h; y++ {
		row := emap[(y+1)*mw+1:][:w]
		out := dst[y*w:][:w]
		for x, v := range row {
			out[x] = (0 - v>>1) ^ flip // 2 → 255, 0 and 1 → 0
		}
	}
}

// Distance transform constants (OpenCV distransform.cpp): 16.16 fixed point,
// initial "infinite" distance and the clamp applied to the output.
const (
	distShift   = 16
	distInit    = math.MaxInt32
	distMax     = math.MaxInt32 >> 2
	distBorder  = 2
	distHV      = 65536  // round(1·2^16)
	distDiag    = 91750  // round(1.4·2^16)
	distKnight  = 143976 // round(2.1969·2^16)
	distScaleF  = float32(1.0 / (1 << distShift))
	distPadCols = 2 * distBorder
)

// distanceTransformL2M5Trunc is cv::distanceTransform(src, dst, DIST_L2, 5) (CV_32F
// output) followed by cv::threshold(THRESH_TRUNC) at limit/2^16: for every pixel,
// the chamfer distance to the nearest zero pixel of src with the 5×5 mask weights 1
// (axial), 1.4 (diagonal) and 2.1969 (knight move), computed in 16.16 fixed point by
// a forward and a backward raster pass and clamped to limit before the conversion to
// float32. limit = distMax = (2^31−1)>>2 is the plain transform (8192 where src has
// no zero). tmp is scratch of at least (h+4)·(w+4) elements, or nil; the (possibly
// grown) scratch is returned for reuse.
func distanceTransformL2M5Trunc(dst []float32, src []uint8, h, w int, tmp []uint32, limit uint32) []uint32 {
	step := w + distPadCols
	n := (h + 2*distBorder) * step
	if cap(tmp) < n {
		tmp = make([]uint32, n)
	}
	tmp = tmp[:n]
	for i := 0; i < distBorder*step; i++ {
		tmp[i] = distInit
		tmp[n-1-i] = distInit
	}
	const hv, dg, kn = distHV, distDiag, distKnight
	// Forward pass: top-left half of the mask.
	for y := 0; y < h; y++ {
		base := (y + distBorder) * step
		r0 := tmp[base : base+step]
		r1 := tmp[base-step : base]
		r2 := tmp[base-2*step : base-step]
		r0[0], r0[1], r0[w+2], r0[w+3] = distInit, distInit, distInit, distInit
		srow := src[y*w:][:w]
		left := uint32(distInit) // column x−1 of this row, kept in a register
		for x, sv := range srow {
			if sv == 0 {
				r0[x+2] = 0
				left = 0
				continue
			}
			a := r2[x+1 : x+4 : x+4] // columns x−1 … x+1 two rows up
			b := r1[x : x+5 : x+5]   // columns x−2 … x+2 one row up
			up := min(a[0]+kn, a[2]+kn, b[0]+kn, b[1]+dg, b[2]+hv, b[3]+dg, b[4]+kn)
			left = min(up, left+hv)
			r0[x+2] = left
		}
	}
	// Backward pass: bottom-right half of the mask, then clamp and scale.
	for y := h - 1; y >= 0; y-- {
		base := (y + distBorder) * step
		r0 := tmp[base : base+step]
		r1 := tmp[base+step : base+2*step]
		r2 := tmp[base+2*step : base+3*step]
		drow := dst[y*w:][:w]
		right := uint32(distInit) // column x+1 of this row, kept in a register
		for x := w - 1; x >= 0; x-- {
			t0 := r0[x+2]
			if t0 > hv {
				a := r2[x+1 : x+4 : x+4]
				b := r1[x : x+5 : x+5]
				down := min(t0, a[2]+kn, a[0]+kn, b[4]+kn, b[3]+dg, b[2]+hv, b[1]+dg, b[0]+kn)
				t0 = min(down, right+hv)
				r0[x+2] = t0
			}
			right = t0
			drow[x] = float32(min(t0, limit)) * distScaleF
		}
	}
	return tmp
}

// boxBlur3F32U8 is cv::blur(src, (3,3)) on a float32 plane followed by numpy's
// astype(uint8) (truncation) of values known to lie in [0, 255]: the 3×3 sum of the
// reflect-101-extended input accumulated in float64, times the float64 1/9, rounded
// to float32, truncated. rows is scratch of at least h·w float64s, or nil; the
// (possibly grown) scratch is returned for reuse.
func boxBlur3F32U8(dst []uint8, src []float32, h, w int, rows []float64) []float64 {
	rows = boxRows3(src, h, w, rows)
	const scale = 1.0 / 9
	for y := 0; y < h; y++ {
		a := rows[borderIndex(y-1, h, BorderMirror)*w:][:w]
		b := rows[y*w:][:w]
		c := rows[borderIndex(y+1, h, BorderMirror)*w:][:w]
		d := dst[y*w:][:w]
		for x := range d {
			d[x] = uint8(float32(float64(a[x]+b[x]+c[x]) * scale))
		}
	}
	return rows
}

// boxRows3 computes the horizontal 3-sums of a plane with reflect-101 borders,
// summing in A (float64 for float32 planes, exact for these inputs; uint16 for 8-bit
// ones). rows is scratch, grown if shorter than h·w and returned.
func boxRows3[S uint8 | float32, A uint16 | float64](src []S, h, w int, rows []A) []A {
	if cap(rows) < h*w {
		rows = make([]A, h*w)
	}
	rows = rows[:h*w]
	l, r := borderIndex(-1, w, BorderMirror), borderIndex(w, w, BorderMirror)
	for y := 0; y < h; y++ {
		s := src[y*w:][:w]
		o := rows[y*w:][:w]
		o[0] = A(s[l]) + A(s[0]) + A(s[min(1, w-1)])
		for x := 1; x < w-1; x++ {
			q := s[x-1 : x+2 : x+2]
			o[x] = A(q[0]) + A(q[1]) + A(q[2])
		}
		if w > 1 {
			o[w-1] = A(s[w-2]) + A(s[w-1]) + A(s[r])
		}
	}
	return rows
}

// boxBlur3U8 is cv::blur(src, (3,3)) on an 8-bit plane: the 3×3 integer sum of the
// reflect-101-extended input divided by 9 and rounded (OpenCV's fixed-point
// ((s+4)·7282)>>16, which equals floor((s+4)/9) for every possible sum). dst must not
// overlap src. rows is scratch of at least h·w uint16s, or nil; the (possibly grown)
// scratch is returned for reuse.
func boxBlur3U8(dst, src []uint8, h, w int, rows []uint16) []uint16 {
	rows = boxRows3(src, h, w, rows)
	for y := 0; y < h; y++ {
		a := rows[borderIndex(y-1, h, BorderMirror)*w:][:w]
		b := rows[y*w:][:w]
		c := rows[borderIndex(y+1, h, BorderMirror)*w:][:w]
		d := dst[y*w:][:w]
		for x := range d {
			s := uint32(a[x]) + uint32(b[x]) + uint32(c[x])
			d[x] = uint8(((s + 4) * 7282) >> 16)
		}
	}
	return rows
}

// equalizeHist is cv::equalizeHist on an 8-bit plane. With i0 the smallest value
// present: if every pixel equals i0 the image is unchanged; otherwise value v maps to
// round_half_even(float32(#pixels in (i0, v]) · float32(255/(N − #i0))), so i0 maps to
// 0. dst may equal src.
func equalizeHist(dst, src []uint8) {
	var hist [256]int
	for _, v := range src {
		hist[v]++
	}
	i := 0
	for i < 256 && hist[i] == 0 {
		i++
	}
	total := len(src)
	if i == 256 || hist[i] == total {
		copy(dst, src)
		return
	}
	scale := float32(255) / float32(total-hist[i])
	var lut [256]uint8
	sum := 0
	lut[i] = 0
	for i++; i < 256; i++ {
		sum += hist[i]
		lut[i] = satU8Round(float32(sum) * scale)
	}
	for k, v := range src {
		dst[k] = lut[v]
	}
}

// satU8Round is OpenCV's saturate_cast<uchar>(float): round half to even, then clamp.
func satU8Round(v float32) uint8 {
	r := math.RoundToEven(float64(v))
	if r <= 0 {
		return 0
	}
	if r >= 255 {
		return 255
	}
	return uint8(r)
}

// window3 walks the 3×3 windows of an 8-bit plane with reflect-101 borders: for
// each output row y it calls row(y, p0, p1, p2) with the padded source rows y−1, y
// and y+1 (w+2 values each, column x of the plane at index x+1). pad is scratch of
// at least 3·(w+2) ints, or nil; the (possibly grown) scratch is returned for reuse.
func window3(src []uint8, h, w int, pad []int32, row func(y int, p0, p1, p2 []int32)) []int32 {
	pw := w + 2
	if cap(pad) < 3*pw {
		pad = make([]int32, 3*pw)
	}
	pad = pad[:3*pw]
	rows := [3][]int32{pad[:pw], pad[pw : 2*pw], pad[2*pw:]}
	l, r := 1+borderIndex(-1, w, BorderMirror), 1+borderIndex(w, w, BorderMirror)
	fill := func(dst []int32, y int) {
		s := src[borderIndex(y, h, BorderMirror)*w:][:w]
		for x, v := range s {
			dst[x+1] = int32(v)
		}
		dst[0], dst[w+1] = dst[l], dst[r]
	}
	fill(rows[0], -1)
	fill(rows[1], 0)
	for y := 0; y < h; y++ {
		fill(rows[2], y+1)
		row(y, rows[0][:pw], rows[1][:pw], rows[2][:pw])
		rows[0], rows[1], rows[2] = rows[1], rows[2], rows[0]
	}
	return pad
}

// embossU8 is cv::filter2D(src, CV_8U, k) with spatter's kernel
// k = [[−2,−1,0],[−1,1,1],[0,1,2]] applied as a correlation anchored at the centre,
// border reflect-101, the exact integer sum saturated to 0..255; dst must not overlap
// src, pad is window3's scratch. Per padded column the contributions of the kernel's left, middle and
// right columns are formed once and slid along the row.
func embossU8(dst, src []uint8, h, w int, pad []int32) []int32 {
	return window3(src, h, w, pad, func(y int, p0, p1, p2 []int32) {
		d := dst[y*w:][:w]
		lx := -2*p0[0] - p1[0]        // left kernel column at column x
		lx1 := -2*p0[1] - p1[1]       // … at column x+1
		mx1 := -p0[1] + p1[1] + p2[1] // middle kernel column at column x+1
		for x := range d {
			a, b, c := p0[x+2], p1[x+2], p2[x+2]
			d[x] = satU8(lx + mx1 + b + 2*c)
			lx, lx1 = lx1, -2*a-b
			mx1 = -a + b + c
		}
	})
}

// OpenCV's fixed-point bilinear resize: coefficients in Q11 (INTER_RESIZE_COEF_BITS).
const (
	resizeCoefBits  = 11
	resizeCoefScale = 1 << resizeCoefBits
)

// linearTap is one output coordinate of a bilinear resize: the first source index
// and the two Q11 weights.
type linearTap struct {
	i0, i1 int
	a0, a1 int32
}

// resizeTaps computes OpenCV's INTER_LINEAR source positions and weights of output
// coordinates d0 … d0+n−1 along one axis of length sn: f = float32((d+0.5)·scale −
// 0.5), i = floor(f), weights (1−frac, frac) rounded to Q11 half to even. Along x
// (clampFrac) a position left of 0 or right of sn−1 uses the edge pixel alone; along
// y OpenCV keeps the fraction and clips the two row indices instead.
func resizeTaps(d0, n, sn int, scale float64, clampFrac bool) []linearTap {
	taps := make([]linearTap, n)
	for k := range taps {
		d := d0 + k
		f := float32((float64(d)+0.5)*scale - 0.5)
		i := int(math.Floor(float64(f)))
		f -= float32(i)
		if clampFrac {
			if i < 0 {
				f, i = 0, 0
			}
			if i >= sn-1 {
				f, i = 0, sn-1
			}
		}
		taps[k] = linearTap{
			i0: min(max(i, 0), sn-1),
			i1: min(max(i+1, 0), sn-1),
			a0: int32(math.RoundToEven(float64((1 - f) * resizeCoefScale))),
			a1: int32(math.RoundToEven(float64(f * resizeCoefScale))),
		}
	}
	return taps
}

// resizedSize is the output size of cv::resize(src, (0,0), fx, fy): round half to
// even of W·fx and H·fy.
func resizedSize(h, w int, fx, fy float64) (dh, dw int) {
	return int(math.RoundToEven(float64(h) * fy)), int(math.RoundToEven(float64(w) * fx))
}

// resizeLinearU8 is cv::resize(src, dsize=(0,0), fx, fy, INTER_LINEAR) for an 8-bit
// image with any number of channels: the output size is round_half_even(W·fx) ×
// round_half_even(H·fy); each output pixel blends two source columns with Q11 weights
// (integer horizontal pass) and two source rows with Q11 weights, rounded as OpenCV's
// SSE2 vertical pass does (not its scalar (v + 2^21) >> 22 formula, which is 1 higher
// on some pixels). A side that rounds to 0 gives an empty image.
//
// For a factor whose sampling positions fall on whole pixels (fx = fy = 0.2 lands on
// 5k+2), the result is an exact subsample. OpenCV switches to INTER_AREA when both
// factors are exactly 1/2; that case is not reproduced here.
func resizeLinearU8(src Image, fx, fy float64) Image {
	dh, dw := resizedSize(src.H, src.W, fx, fy)
	if dw <= 0 || dh <= 0 {
		return NewImage(0, 0, src.C)
	}
	if dw == src.W && dh == src.H {
		return src.Clone()
	}
	return resizeLinearRegion(src, fx, fy, 0, 0, dh, dw)
}

// resizeLinearRegion returns rows y0 … y0+h−1 and columns x0 … x0+w−1 of
// resizeLinearU8(src, fx, fy) (which must lie inside its output, and the output must
// differ in size from src), computing only those pixels.
func resizeLinearRegion(src Image, fx, fy float64, y0, x0, h, w int) Image {
	c := src.C
	xt := resizeTaps(x0, w, src.W, 1/fx, true)
	yt := resizeTaps(y0, h, src.H, 1/fy, false)
	dst := NewImage(h, w, c)
	// Horizontal pass of each source row used, cached by row index.
	hrow := func(y int, out []int32) {
		row := src.Pix[y*src.W*c:][:src.W*c]
		for d, t := range xt {
			for ch := 0; ch < c; ch++ {
				v := int32(row[t.i0*c+ch]) * t.a0
				if t.a1 != 0 {
					v += int32(row[t.i1*c+ch]) * t.a1
				}
				out[d*c+ch] = v
			}
		}
	}
	r0 := make([]int32, w*c)
	r1 := make([]int32, w*c)
	last0, last1 := -1, -1
	for dy, t := range yt {
		if t.i0 != last0 {
			if t.i0 == last1 {
				r0, r1 = r1, r0
				last0, last1 = last1, last0
			} else {
				hrow(t.i0, r0)
				last0 = t.i0
			}
		}
		if t.i1 != last1 {
			hrow(t.i1, r1)
			last1 = t.i1
		}
		out := dst.Pix[dy*w*c:][:w*c]
		b0, b1 := t.a0, t.a1
		for x := range out {
			// OpenCV's vectorised vertical pass (VResizeLinearVec_32s8u): the Q11 row
			// sums shifted right by 4 to 16 bits, the high halves of the 16×16-bit
			// products, a saturating add and a rounding shift by 2. It covers every
			// pixel (the vector loop runs over the padded row buffers).
			p0 := (sat16(r0[x]>>4) * b0) >> 16
			p1 := (sat16(r1[x]>>4) * b1) >> 16
			out[x] = satU8((sat16(p0+p1) + 2) >> 2)
		}
	}
	return dst
}

func sat16(v int32) int32 {
	if v > 32767 {
		return 32767
	}
	if v < -32768 {
		return -32768
	}
	return v
}

func satU8(v int32) uint8 {
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}
