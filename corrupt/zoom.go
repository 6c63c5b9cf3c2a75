package corrupt

import (
	"math"
	"sync"
)

// zoom_blur (../shared/corrupt/PARAMS.md §4) and clipped_zoom (§3.2), which snow uses
// too.
//
// clipped_zoom crops the centre of the image, enlarges the crop with scipy's
// ndimage.zoom (order 1, mode constant, grid_mode False) and trims the result back to
// the image size. scipy's order-1 zoom is corner-aligned bilinear interpolation:
// output index o samples input coordinate o·((n−1)/(m−1)), with weights
// w0 = 1 − frac and w1 = 1 − w0 (not frac), accumulated in float64 as
// Σ (v·wy)·wx over the four neighbours in row-major order and stored in the array's
// dtype. An output coordinate that rounding puts beyond the last input sample gets
// mode constant's cval, 0, for the whole row or column (it happens at ImageNet
// sizes, e.g. 30 → 36). All of this was checked bit for bit against scipy 1.10 for
// sizes 8…33, 200 and 224 and factors 1…4.5 in float32 and float64.
//
// The original crops a square of the image's height (it only meets square images);
// here each axis uses its own length, which is the same for square images.

func init() {
	register(&Corruption{Name: "zoom_blur", Index: 6, Family: "blur", Benchmark: true, Random: false, Apply: zoomBlur})
}

// zoomRange is an np.arange(start, stop, step) of zoom factors.
type zoomRange struct{ start, stop, step float64 }

// zoomBlurRanges are zoom_blur's factor lists per parameter set and severity.
var zoomBlurRanges = [2][5]zoomRange{
	CIFAR:    {{1, 1.06, 0.01}, {1, 1.11, 0.01}, {1, 1.16, 0.01}, {1, 1.21, 0.01}, {1, 1.26, 0.01}},
	ImageNet: {{1, 1.11, 0.01}, {1, 1.16, 0.01}, {1, 1.21, 0.02}, {1, 1.26, 0.02}, {1, 1.31, 0.03}},
}

// npArange reproduces numpy's float64 arange: length ceil((stop−start)/step), element
// 0 = start, element 1 = start+step, element i ≥ 2 = start + i·((start+step) − start).
func npArange(start, stop, step float64) []float64 {
	n := int(math.Ceil((stop - start) / step))
	if n <= 0 {
		return nil
	}
	out := make([]float64, n)
	out[0] = start
	if n > 1 {
		out[1] = start + step
		delta := out[1] - start
		for i := 2; i < n; i++ {
			out[i] = start + float64(float64(i)*delta)
		}
	}
	return out
}

// zoomAxis is clipped_zoom along one axis of length n: for each kept output position
// k (0..n−1), the two input samples (indices in the uncropped axis), their weights,
// and whether scipy returns cval 0 there.
type zoomAxis struct {
	// crop, top, out and trim are the crop length, crop start, zoomed length and
	// trimmed start of §3.2.
	crop, top, out, trim int
	i0, i1               []int
	w0, w1               []float64
	zero                 []bool
	// identity is true when the axis maps k → k with weight 1.
	identity bool
	// lo, hi bound the input samples that the kept outputs read: i0, i1 in [lo, hi).
	lo, hi int
	// flat is the three-channel column table without cases for zoomAddRows3: every
	// output reads elements x0..x0+5 (its sample and the next) with weights w0, w1;
	// a zero w1 (and a cval column, w0 = w1 = 0, x0 = 0) makes the unused terms
	// exact zeros.
	flat zoomFlat
}

// zoomFlat is a column table of zoomAxis.flat, one entry per output column.
type zoomFlat []zoomFlatCol

// zoomFlatCol is one output column of zoomFlat: k = 6·i0 indexes the interleaved
// row products of zoomAddRows3.
type zoomFlatCol struct {
	k      int
	w0, w1 float64
}

// zoomAxisKey identifies an axis table: it depends on z only through the crop and
// zoomed lengths, so factors that share them (1.02 and 1.03 on 32 pixels) share
// one table, and zoom_blur computes their identical zooms once.
type zoomAxisKey struct{ n, crop, out int }

var zoomAxisCache sync.Map // zoomAxisKey → *zoomAxis

// zoomSizes returns clipped_zoom's crop length and zoomed length for an axis of
// length n and factor z ≥ 1 (§3.2; the zoomed length rounds half to even, as
// Python's round does).
func zoomSizes(n int, z float64) (crop, out int) {
	crop = min(max(int(math.Ceil(float64(n)/z)), 1), n)
	out = max(int(math.RoundToEven(float64(crop)*z)), n)
	return
}

// zoomAxisFor returns the (cached) clipped_zoom table of an axis of length n for zoom
// factor z ≥ 1.
func zoomAxisFor(n int, z float64) *zoomAxis {
	ch, out := zoomSizes(n, z)
	key := zoomAxisKey{n, ch, out}
	if a, ok := zoomAxisCache.Load(key); ok {
		return a.(*zoomAxis)
	}
	a := newZoomAxis(n, ch, out)
	zoomAxisCache.Store(key, a)
	return a
}

// newZoomAxis builds the table of an axis of length n cropped to ch and zoomed to out.
func newZoomAxis(n, ch, out int) *zoomAxis {
	top := (n - ch) / 2
	trim := (out - n) / 2
	factor := 1.0
	if out > 1 {
		factor = float64(ch-1) / float64(out-1)
	}
	a := &zoomAxis{crop: ch, top: top, out: out, trim: trim,
		i0: make([]int, n), i1: make([]int, n), w0: make([]float64, n), w1: make([]float64, n), zero: make([]bool, n),
		identity: true}
	for k := 0; k < n; k++ {
		cc := float64(k+trim) * factor
		if cc > float64(ch-1) {
			a.zero[k] = true
			a.identity = false
			continue
		}
		f := math.Floor(cc)
		w0 := 1 - (cc - f)
		i := int(f)
		a.i0[k] = top + i
		a.i1[k] = top + min(i+1, ch-1)
		a.w0[k] = w0
		a.w1[k] = 1 - w0
		if a.i0[k] != k || a.w1[k] != 0 {
			a.identity = false
		}
	}
	a.lo, a.hi = n, 0
	for k := 0; k < n; k++ {
		if !a.zero[k] {
			a.lo = min(a.lo, a.i0[k])
			a.hi = max(a.hi, a.i1[k]+1)
		}
	}
	a.flat = make(zoomFlat, n)
	for k := 0; k < n; k++ {
		if !a.zero[k] {
			a.flat[k] = zoomFlatCol{k: 6 * a.i0[k], w0: a.w0[k], w1: a.w1[k]}
		}
	}
	return a
}

// zoomFloat is the element type of a clipped_zoom plane.
type zoomFloat interface{ ~float32 | ~float64 }

// clippedZoomRow computes output row y of clipped_zoom(src) for an h×w×c plane
// (src holds the input values as float64, as scipy reads them) with the axis tables
// ay, ax, and rounds each value to T into dst: dst[x*c+ch] = T(t) (add false) or
// += T(t) (add true).
func clippedZoomRow[T zoomFloat](dst []T, src []float64, w, c, y int, ay, ax *zoomAxis, add bool) {
	rowLen := w * c
	d := dst[:rowLen]
	if ay.zero[y] {
		if !add {
			clear(d)
		}
		return
	}
	r0 := src[ay.i0[y]*rowLen : (ay.i0[y]+1)*rowLen]
	r1 := src[ay.i1[y]*rowLen : (ay.i1[y]+1)*rowLen]
	wy0, wy1 := ay.w0[y], ay.w1[y]
	two := wy1 != 0 // the second row's terms are exact zeros otherwise
	for x := 0; x < w; x++ {
		o := d[x*c : x*c+c]
		if ax.zero[x] {
			if !add {
				clear(o)
			}
			continue
		}
		x0, x1 := ax.i0[x]*c, ax.i1[x]*c
		wx0, wx1 := ax.w0[x], ax.w1[x]
		for ch := range o {
			// Σ (v·wy)·wx in scipy's order; zero-weight terms add an exact 0.
			t := float64(float64(r0[x0+ch]*wy0) * wx0)
			if wx1 != 0 {
				t += float64(float64(r0[x1+ch]*wy0) * wx1)
			}
			if two {
				t += float64(float64(r1[x0+ch]*wy1) * wx0)
				if wx1 != 0 {
					t += float64(float64(r1[x1+ch]*wy1) * wx1)
				}
			}
			if add {
				o[ch] += T(t)
			} else {
				o[ch] = T(t)
			}
		}
	}
}

// zoomAddRows3 adds clipped_zoom(src), rounded to float32, rep times to acc for an
// h×w×3 plane (src holds the values as float64, all finite and ≥ 0): the same
// values and float32 additions, in the same order, as rep calls of clippedZoomAxes
// with add true. Each output row first forms the row products float64(v·wy) of
// the two input rows it reads, once per input sample instead of once per output
// neighbour, interleaved (row 0, row 1) in p; the column pass then sums
// Σ (v·wy)·wx over the four neighbours in scipy's order. Terms that scipy skips or
// that have weight 0 are computed as exact zeros (0·finite, ≥ 0), which leave the
// sums unchanged. p is scratch space of length at least 6w+6.
func zoomAddRows3(acc []float32, src []float64, h, w int, ay, ax *zoomAxis, rep int, p []float64) {
	rowLen := 3 * w
	lo, hi := 3*ax.lo, 3*ax.hi
	if lo >= hi {
		return // every column is cval 0
	}
	p = p[:2*rowLen+6]
	for y := 0; y < h; y++ {
		if ay.zero[y] {
			continue
		}
		scaleRows2(p[2*lo:2*hi], src[ay.i0[y]*rowLen:][lo:hi], src[ay.i1[y]*rowLen:][lo:hi], ay.w0[y], ay.w1[y])
		zoomCols3Rep(acc[y*rowLen:(y+1)*rowLen], p, ax.flat, rep)
	}
}

// scaleRows2 stores float64(r0[j]·s0) in dst[2j] and float64(r1[j]·s1) in dst[2j+1].
func scaleRows2(dst, r0, r1 []float64, s0, s1 float64) {
	n := len(r0)
	r1 = r1[:n]
	dst = dst[:2*n]
	j := 0
	for ; j+4 <= n; j += 4 {
		a := (*[4]float64)(r0[j : j+4 : j+4])
		b := (*[4]float64)(r1[j : j+4 : j+4])
		d := (*[8]float64)(dst[2*j : 2*j+8 : 2*j+8])
		d[0], d[1] = float64(a[0]*s0), float64(b[0]*s1)
		d[2], d[3] = float64(a[1]*s0), float64(b[1]*s1)
		d[4], d[5] = float64(a[2]*s0), float64(b[2]*s1)
		d[6], d[7] = float64(a[3]*s0), float64(b[3]*s1)
	}
	for ; j < n; j++ {
		dst[2*j], dst[2*j+1] = float64(r0[j]*s0), float64(r1[j]*s1)
	}
}

// zoomCols3Rep is zoomAddRows3's column pass for one output row; p holds the
// interleaved row products.
func zoomCols3Rep(d []float32, p []float64, cols zoomFlat, rep int) {
	d = d[:3*len(cols)]
	for x := range cols {
		c := &cols[x]
		wx0, wx1 := c.w0, c.w1
		// q: (row 0, row 1) × channels 0..2 of the sample, then of the next one.
		q := p[c.k : c.k+12 : c.k+12]
		t0 := float64(q[0]*wx0) + float64(q[6]*wx1)
		t1 := float64(q[2]*wx0) + float64(q[8]*wx1)
		t2 := float64(q[4]*wx0) + float64(q[10]*wx1)
		t0 += float64(q[1] * wx0)
		t1 += float64(q[3] * wx0)
		t2 += float64(q[5] * wx0)
		t0 += float64(q[7] * wx1)
		t1 += float64(q[9] * wx1)
		t2 += float64(q[11] * wx1)
		o := d[3*x : 3*x+3 : 3*x+3]
		v0, v1, v2 := float32(t0), float32(t1), float32(t2)
		if rep == 1 {
			o[0] += v0
			o[1] += v1
			o[2] += v2
			continue
		}
		o0, o1, o2 := o[0], o[1], o[2]
		for k := 0; k < rep; k++ {
			o0 += v0
			o1 += v1
			o2 += v2
		}
		o[0], o[1], o[2] = o0, o1, o2
	}
}

// clippedZoom computes dst = clipped_zoom(src, z) (add false) or dst += it (add
// true) on an h×w×c plane whose values src holds as float64, rounding to the dtype
// T; dst and src must not overlap.
func clippedZoom[T zoomFloat](dst []T, src []float64, h, w, c int, z float64, add bool) {
	clippedZoomAxes(dst, src, h, w, c, zoomAxisFor(h, z), zoomAxisFor(w, z), add)
}

// clippedZoomAxes is clippedZoom with the axis tables given.
func clippedZoomAxes[T zoomFloat](dst []T, src []float64, h, w, c int, ay, ax *zoomAxis, add bool) {
	n := h * w * c
	if ay.identity && ax.identity {
		if add {
			for i, v := range src[:n] {
				dst[i] += T(v)
			}
		} else {
			for i, v := range src[:n] {
				dst[i] = T(v)
			}
		}
		return
	}
	for y := 0; y < h; y++ {
		clippedZoomRow(dst[y*w*c:], src, w, c, y, ay, ax, add)
	}
}

// zoomIn32 holds float32(v/255) (float64 division, then the cast) for every 8-bit
// value: zoom_blur's working image.
var zoomIn32 = func() (t [256]float32) {
	for i := range t {
		t[i] = float32(float64(i) / 255)
	}
	return
}()

// zoomPlan is zoom_blur's work for one image size and factor list: the axis tables
// of every factor.
type zoomPlan struct{ ay, ax []*zoomAxis }

type zoomPlanKey struct {
	h, w int
	r    zoomRange
}

var zoomPlanCache sync.Map // zoomPlanKey → *zoomPlan

func zoomPlanFor(h, w int, r zoomRange) *zoomPlan {
	key := zoomPlanKey{h, w, r}
	if p, ok := zoomPlanCache.Load(key); ok {
		return p.(*zoomPlan)
	}
	p := &zoomPlan{}
	for _, z := range npArange(r.start, r.stop, r.step) {
		p.ay = append(p.ay, zoomAxisFor(h, z))
		p.ax = append(p.ax, zoomAxisFor(w, z))
	}
	zoomPlanCache.Store(key, p)
	return p
}

type zoomScratch struct {
	xf, acc, z []float32
	x64        []float64
	p          []float64
}

var zoomScratchPool = sync.Pool{New: func() any { return new(zoomScratch) }}

// zoomBlur is the zoom_blur corruption: the mean of the float32 image and its
// clipped zooms by every factor of the severity's list, in float32.
func zoomBlur(src Image, sev int, _ RNG, opt *Options) Image {
	h, w, c := src.H, src.W, src.C
	plan := zoomPlanFor(h, w, zoomBlurRanges[paramSetOf(opt)][sev-1])
	n := h * w * c
	s := zoomScratchPool.Get().(*zoomScratch)
	defer zoomScratchPool.Put(s)
	if cap(s.xf) < n {
		s.xf, s.acc, s.z, s.x64 = make([]float32, n), make([]float32, n), make([]float32, n), make([]float64, n)
	}
	if cap(s.p) < 2*w*c+6 {
		s.p = make([]float64, 2*w*c+6)
	}
	xf, acc, zb, x64 := s.xf[:n], s.acc[:n], s.z[:n], s.x64[:n]
	for i, v := range src.Pix {
		xf[i] = zoomIn32[v]
		x64[i] = float64(xf[i])
	}
	clear(acc)
	// acc += zoom_i in factor order. Consecutive factors with the same tables give
	// the same float32 zoom: compute it once and add it as often (still one float32
	// addition per factor, in order).
	for i := 0; i < len(plan.ay); {
		ay, ax := plan.ay[i], plan.ax[i]
		run := 1
		for i+run < len(plan.ay) && plan.ay[i+run] == ay && plan.ax[i+run] == ax {
			run++
		}
		if c == 3 && !(ay.identity && ax.identity) {
			zoomAddRows3(acc, x64, h, w, ay, ax, run, s.p)
		} else if run == 1 || (ay.identity && ax.identity) {
			for k := 0; k < run; k++ {
				clippedZoomAxes(acc, x64, h, w, c, ay, ax, true)
			}
		} else {
			clippedZoomAxes(zb, x64, h, w, c, ay, ax, false)
			for k := 0; k < run; k++ {
				for j, v := range zb {
					acc[j] += v
				}
			}
		}
		i += run
	}
	div := float32(len(plan.ay) + 1)
	out := NewImage(h, w, c)
	for i := range out.Pix {
		out.Pix[i] = unitF32To8((xf[i] + acc[i]) / div)
	}
	return out
}
