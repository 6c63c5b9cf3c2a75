package corrupt

import (
	"sync"
)

// Border selects how a filter extends a line beyond its ends
// (../shared/corrupt/PARAMS.md §3.1).
type Border int

const (
	// BorderNearest replicates the edge value: a a a | a b c.
	BorderNearest Border = iota
	// BorderReflect is scipy's "reflect" (half-sample symmetric): c b a | a b c,
	// index −1 → 0, n → n−1.
	BorderReflect
	// BorderMirror is scipy's "mirror", OpenCV's BORDER_REFLECT_101 (whole-sample
	// symmetric): c b | a b c, index −1 → 1.
	BorderMirror
)

// borderIndex maps a possibly out-of-range index i onto 0..n−1 according to mode.
// It handles extensions longer than the line by periodic repetition, as scipy does.
func borderIndex(i, n int, mode Border) int {
	if i >= 0 && i < n {
		return i
	}
	switch mode {
	case BorderReflect:
		p := 2 * n
		i %= p
		if i < 0 {
			i += p
		}
		if i >= n {
			i = p - 1 - i
		}
		return i
	case BorderMirror:
		if n == 1 {
			return 0
		}
		p := 2*n - 2
		i %= p
		if i < 0 {
			i += p
		}
		if i >= n {
			i = p - i
		}
		return i
	default:
		if i < 0 {
			return 0
		}
		return n - 1
	}
}

// gaussKey identifies a cached 1-D kernel.
type gaussKey struct{ sigma, truncate float64 }

var gaussKernels sync.Map // gaussKey → []float64

// gaussianKernel returns the half kernel w[0..r] of scipy's gaussian_filter1d for
// sigma and truncate: r = int(truncate·σ + 0.5), w_j = exp((−0.5/σ²)·j²) normalised by
// numpy's sum of the full 2r+1 weights. The slice is shared and must not be modified.
func gaussianKernel(sigma, truncate float64) []float64 {
	key := gaussKey{sigma, truncate}
	if k, ok := gaussKernels.Load(key); ok {
		return k.([]float64)
	}
	r := int(truncate*sigma + 0.5)
	c := -0.5 / (sigma * sigma)
	full := make([]float64, 2*r+1)
	for i := range full {
		j := float64(i - r)
		full[i] = expRN(c * (j * j))
	}
	s := 0 + pairwiseSum(full)
	half := make([]float64, r+1)
	for j := range half {
		half[j] = full[r+j] / s
	}
	gaussKernels.Store(key, half)
	return half
}

// pairwiseSum is numpy's float64 sum reduction (pairwise summation with an
// eight-way unrolled base case of up to 128 elements), bit for bit.
func pairwiseSum(a []float64) float64 {
	n := len(a)
	switch {
	case n < 8:
		res := 0.0
		for _, v := range a {
			res += v
		}
		return res
	case n <= 128:
		var r [8]float64
		copy(r[:], a[:8])
		i := 8
		for ; i < n-n%8; i += 8 {
			for k := 0; k < 8; k++ {
				r[k] += a[i+k]
			}
		}
		res := ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
		for ; i < n; i++ {
			res += a[i]
		}
		return res
	default:
		n2 := n / 2
		n2 -= n2 % 8
		return pairwiseSum(a[:n2]) + pairwiseSum(a[n2:])
	}
}

// gaussianFilter64 is skimage's gaussian / scipy's gaussian_filter on an h×w×c
// float64 plane (row-major, channels last, channels never mixed): a 1-D correlation
// along axis 0 (rows) and then along axis 1, each computed as
// x[i]·w0 + Σ_{j=r..1} (x[i−j] + x[i+j])·w_j in float64 (farthest pair first, as
// scipy's symmetric loop) and stored as float64. sigma = 0 copies src. dst may be the
// same slice as src (in-place filtering) but must not partially overlap it.
func gaussianFilter64(dst, src []float64, h, w, c int, sigma, truncate float64, mode Border) {
	buf := smoothBufPool.Get().(*smoothBuf)
	gaussianFilter64Buf(dst, src, h, w, c, sigma, truncate, mode, buf)
	smoothBufPool.Put(buf)
}

// gaussianFilter64Buf is gaussianFilter64 with its scratch space from buf.
func gaussianFilter64Buf(dst, src []float64, h, w, c int, sigma, truncate float64, mode Border, buf *smoothBuf) {
	n := h * w * c
	if sigma == 0 {
		copy(dst[:n], src[:n])
		return
	}
	k := gaussianKernel(sigma, truncate)
	if len(k) == 1 && k[0] == 1 {
		// Radius 0: x·1 is x, the filter is the identity.
		copy(dst[:n], src[:n])
		return
	}
	tmp, line := buf.get(n, (w+2*(len(k)-1))*c)
	gaussRows64(tmp, src, h, w*c, k, mode)
	gaussCols64(dst, tmp, h, w, c, k, mode, line)
}

// smoothBuf holds the Gaussian filter's scratch space: the row-filtered plane and
// one padded row.
type smoothBuf struct{ tmp, line []float64 }

var smoothBufPool = sync.Pool{New: func() any { return new(smoothBuf) }}

func (b *smoothBuf) get(n, m int) (tmp, line []float64) {
	if cap(b.tmp) < n {
		b.tmp = make([]float64, n)
	}
	if cap(b.line) < m {
		b.line = make([]float64, m)
	}
	return b.tmp[:n], b.line[:m]
}

// gaussRows64 filters along axis 0: each output row is a weighted sum of whole rows.
func gaussRows64(dst, src []float64, h, rowLen int, k []float64, mode Border) {
	r := len(k) - 1
	var ob [34]int
	offs := ob[:0]
	if 2*r+2 > len(ob) {
		offs = make([]int, 0, 2*r+2)
	}
	offs = offs[:2*r+2]
	for i := 0; i < h; i++ {
		for j := 1; j <= r; j++ {
			offs[2*j] = borderIndex(i-j, h, mode) * rowLen
			offs[2*j+1] = borderIndex(i+j, h, mode) * rowLen
		}
		symCorr(dst[i*rowLen:(i+1)*rowLen], src, i*rowLen, offs, k)
	}
}

// gaussCols64 filters along axis 1 using line as the padded row buffer.
func gaussCols64(dst, src []float64, h, w, c int, k []float64, mode Border, line []float64) {
	r := len(k) - 1
	rowLen := w * c
	var ob [34]int
	offs := ob[:0]
	if 2*r+2 > len(ob) {
		offs = make([]int, 0, 2*r+2)
	}
	offs = offs[:2*r+2]
	for j := 1; j <= r; j++ {
		offs[2*j], offs[2*j+1] = (r-j)*c, (r+j)*c
	}
	for i := 0; i < h; i++ {
		padRow64(line, src[i*rowLen:(i+1)*rowLen], w, c, r, mode)
		symCorr(dst[i*rowLen:(i+1)*rowLen], line, r*c, offs, k)
	}
}

// symCorr is one line of scipy's symmetric correlate1d:
// out[x] = src[cen+x]·k[0] + Σ_{j=r..1} (src[offs[2j]+x] + src[offs[2j+1]+x])·k[j]
// in float64, in that order (r = len(k)−1; offs[0] and offs[1] are unused). It keeps
// eight outputs in registers across the taps; long kernels on long lines (where the
// 2r+1 source lines would not stay in the L1 cache) go tap by tap over the whole
// line instead, with the same operations per output.
func symCorr(out, src []float64, cen int, offs []int, k []float64) {
	n := len(out)
	r := len(k) - 1
	w0 := k[0]
	c := src[cen : cen+n]
	if r > 16 && n >= 64 {
		for x, v := range c {
			out[x] = v * w0
		}
		for j := r; j >= 1; j-- {
			a := src[offs[2*j]:][:n]
			b := src[offs[2*j+1]:][:n]
			wj := k[j]
			for x := range out {
				out[x] += float64((a[x] + b[x]) * wj)
			}
		}
		return
	}
	x := 0
	for ; x+8 <= n; x += 8 {
		cx := (*[8]float64)(c[x : x+8])
		s0, s1, s2, s3 := cx[0]*w0, cx[1]*w0, cx[2]*w0, cx[3]*w0
		s4, s5, s6, s7 := cx[4]*w0, cx[5]*w0, cx[6]*w0, cx[7]*w0
		for j := r; j >= 1; j-- {
			oa, ob := offs[2*j]+x, offs[2*j+1]+x
			a := (*[8]float64)(src[oa : oa+8])
			b := (*[8]float64)(src[ob : ob+8])
			wj := k[j]
			s0 += float64((a[0] + b[0]) * wj)
			s1 += float64((a[1] + b[1]) * wj)
			s2 += float64((a[2] + b[2]) * wj)
			s3 += float64((a[3] + b[3]) * wj)
			s4 += float64((a[4] + b[4]) * wj)
			s5 += float64((a[5] + b[5]) * wj)
			s6 += float64((a[6] + b[6]) * wj)
			s7 += float64((a[7] + b[7]) * wj)
		}
		o := (*[8]float64)(out[x : x+8])
		o[0], o[1], o[2], o[3], o[4], o[5], o[6], o[7] = s0, s1, s2, s3, s4, s5, s6, s7
	}
	for ; x < n; x++ {
		s := c[x] * w0
		for j := r; j >= 1; j-- {
			s += float64((src[offs[2*j]+x] + src[offs[2*j+1]+x]) * k[j])
		}
		out[x] = s
	}
}

// padRow64 writes row (w pixels of c channels) into line with r pixels of border on
// each side.
func padRow64(line, row []float64, w, c, r int, mode Border) {
	copy(line[r*c:(r+w)*c], row)
	for p := 1; p <= r; p++ {
		l := borderIndex(-p, w, mode) * c
		q := borderIndex(w-1+p, w, mode) * c
		for ch := 0; ch < c; ch++ {
			line[(r-p)*c+ch] = row[l+ch]
			line[(r+w-1+p)*c+ch] = row[q+ch]
		}
	}
}

// gaussianFilter32 is gaussianFilter64 for a float32 plane: each pass accumulates in
// float64 and stores float32, as scipy does for float32 arrays. dst may be the same
// slice as src but must not partially overlap it.
func gaussianFilter32(dst, src []float32, h, w, c int, sigma, truncate float64, mode Border) {
	n := h * w * c
	if sigma == 0 {
		copy(dst[:n], src[:n])
		return
	}
	k := gaussianKernel(sigma, truncate)
	if len(k) == 1 && k[0] == 1 {
		copy(dst[:n], src[:n])
		return
	}
	r := len(k) - 1
	rowLen := w * c
	ap, acc := getF64(rowLen)
	defer putF64(ap)
	tmp := make32(n)
	defer put32(tmp)
	t := *tmp
	// Axis 0.
	for i := 0; i < h; i++ {
		cen := src[i*rowLen : (i+1)*rowLen]
		for x, v := range cen {
			acc[x] = float64(v) * k[0]
		}
		for j := r; j >= 1; j-- {
			a := src[borderIndex(i-j, h, mode)*rowLen:][:rowLen]
			b := src[borderIndex(i+j, h, mode)*rowLen:][:rowLen]
			wj := k[j]
			for x := range acc {
				acc[x] += float64((float64(a[x]) + float64(b[x])) * wj)
			}
		}
		out := t[i*rowLen : (i+1)*rowLen]
		for x, v := range acc {
			out[x] = float32(v)
		}
	}
	// Axis 1.
	lp, line := getF64((w + 2*r) * c)
	defer putF64(lp)
	for i := 0; i < h; i++ {
		row := t[i*rowLen : (i+1)*rowLen]
		mid := line[r*c : (r+w)*c]
		for x, v := range row {
			mid[x] = float64(v)
		}
		for p := 1; p <= r; p++ {
			l := borderIndex(-p, w, mode) * c
			q := borderIndex(w-1+p, w, mode) * c
			for ch := 0; ch < c; ch++ {
				line[(r-p)*c+ch] = float64(row[l+ch])
				line[(r+w-1+p)*c+ch] = float64(row[q+ch])
			}
		}
		cen := line[r*c:][:rowLen]
		for x, v := range cen {
			acc[x] = v * k[0]
		}
		for j := r; j >= 1; j-- {
			a := line[(r-j)*c:][:rowLen]
			b := line[(r+j)*c:][:rowLen]
			wj := k[j]
			for x := range acc {
				acc[x] += float64((a[x] + b[x]) * wj)
			}
		}
		out := dst[i*rowLen : (i+1)*rowLen]
		for x, v := range acc {
			out[x] = float32(v)
		}
	}
}

// clip01 clamps v to [0, 1] (NaN stays NaN, like numpy's clip).
func clip01(v float64) float64 {
	if v < 0 {
		return 0
	}
	if v > 1 {
		return 1
	}
	return v
}

// toUint8 is numpy's uint8 cast of a value already in [0, 255]: truncation toward
// zero (254.9999 → 254). NaN gives 0. Branch-free, like unit8.
func toUint8(v float64) uint8 {
	return uint8(max(int64(min(v, 255)), 0))
}
