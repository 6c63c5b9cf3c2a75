package corrupt

import (
	"math"
	"sync"
)

// motion_blur (../shared/corrupt/PARAMS.md §3.3, §4) and the ImageMagick motion blur
// it relies on, which snow uses too.
//
// The original writes the 8-bit image as a PNG, lets ImageMagick (Q16, non-HDRI)
// apply MotionBlurImage(radius, sigma, angle) and reads the PNG back. In 16-bit
// quanta the value v is 257·v; the blur is a one-sided Gaussian along the direction
// of angle with integer tap offsets and edge-clamped coordinates, rounded to a
// quantum with floor(s+0.5); the PNG writer of ImageMagick 6.9.11 reduces the quantum
// to 8 bits with floor(q/257). Everything here reproduces that bit for bit.

func init() {
	register(&Corruption{Name: "motion_blur", Index: 5, Family: "blur", Benchmark: true, Random: true, Apply: motionBlur})
}

// motionParam is the (radius, sigma) of ImageMagick's motion blur.
type motionParam struct{ radius, sigma float64 }

// motionBlurParams are motion_blur's constants per parameter set and severity.
var motionBlurParams = [2][5]motionParam{
	CIFAR:    {{6, 1}, {6, 1.5}, {6, 2}, {8, 2}, {9, 2.5}},
	ImageNet: {{10, 3}, {15, 5}, {15, 8}, {15, 12}, {20, 15}},
}

// paramSetOf returns the parameter set of opt (CIFAR when opt is nil or unknown).
func paramSetOf(opt *Options) ParamSet {
	if opt != nil && opt.Params == ImageNet {
		return ImageNet
	}
	return CIFAR
}

// ImageMagick's constants (magick-type.h / image-private.h).
const (
	magickEpsilon = 1.0e-12
	magickSQ2PI   = 2.50662827463100024161235523934010416269302368164062
	magickPI      = 3.14159265358979323846264338327950288419716939937510
)

var motionWeightCache sync.Map // motionParam → []float64

// motionWeights returns the normalised one-sided kernel of MotionBlurImage: width
// 2·ceil(radius)+1 taps i = 0..width−1 with weight exp(−i²/(2σ²))/(√(2π)·σ), divided
// by their sum accumulated in tap order. The slice is shared and must not be modified.
func motionWeights(radius, sigma float64) []float64 {
	key := motionParam{radius, sigma}
	if k, ok := motionWeightCache.Load(key); ok {
		return k.([]float64)
	}
	width := motionWidth(radius)
	s := sigma
	if math.Abs(s) < magickEpsilon {
		s = magickEpsilon
	}
	k := make([]float64, width)
	norm := 0.0
	for i := range k {
		fi := float64(i)
		k[i] = expRN(-(fi*fi)/(2*s*s)) / (magickSQ2PI * s)
		norm += k[i]
	}
	for i := range k {
		k[i] /= norm
	}
	motionWeightCache.Store(key, k)
	return k
}

// motionWidth is ImageMagick's GetOptimalKernelWidth1D for a positive radius.
func motionWidth(radius float64) int {
	if radius < 0.5 {
		radius = 0.5
	}
	return int(2*math.Ceil(radius) + 1)
}

// motionOffsets fills the integer tap offsets of MotionBlurImage for angle (degrees):
// with (px, py) = width·(sin θ, cos θ), tap i is displaced by
// (ceil(i·py/hypot − 0.5), ceil(i·px/hypot − 0.5)) in (x, y).
func motionOffsets(dx, dy []int, angle float64) {
	width := float64(len(dx))
	rad := magickPI * angle / 180
	px := width * math.Sin(rad)
	py := width * math.Cos(rad)
	hyp := math.Hypot(px, py)
	for i := range dx {
		fi := float64(i)
		dx[i] = int(math.Ceil(fi*py/hyp - 0.5))
		dy[i] = int(math.Ceil(fi*px/hyp - 0.5))
	}
}

// quantum8 holds the 16-bit quantum 257·v of every 8-bit value as a float64.
var quantum8 = func() (t [256]float64) {
	for i := range t {
		t[i] = float64(257 * i)
	}
	return
}()

// quantumTo8 rounds a motion-blur sum to a 16-bit quantum (floor(s+0.5), clamped) and
// reduces it to 8 bits by truncation, floor(q/257).
func quantumTo8(s float64) uint8 {
	if s <= 0 {
		return 0
	}
	if s >= 65535 {
		return 255
	}
	return uint8(uint32(s+0.5) / 257)
}

// motionScratch holds one call's per-tap tables and the padded quantum plane.
type motionScratch struct {
	dx, dy, off []int
	pad, acc    []float64
	nz          []motionNZ
}

// motionNZ is a non-zero element of the padded plane: position and quantum.
type motionNZ struct {
	py, px, ch int32
	q          float64
}

var motionScratchPool = sync.Pool{New: func() any { return new(motionScratch) }}

func (s *motionScratch) grow(n int) {
	if cap(s.dx) < n {
		s.dx = make([]int, n)
		s.dy = make([]int, n)
		s.off = make([]int, n)
	}
	s.dx, s.dy, s.off = s.dx[:n], s.dy[:n], s.off[:n]
}

// imMotionBlur applies ImageMagick's motion blur round trip to an 8-bit h×w×c plane:
// dst(x, y) = floor(floor(Σ_i w_i·257·src(x+dx_i, y+dy_i) + 0.5)/257) per channel,
// coordinates clamped to the image, the sum accumulated in tap order in float64.
// dst and src must not overlap.
func imMotionBlur(dst, src []uint8, h, w, c int, radius, sigma, angle float64) {
	wts := motionWeights(radius, sigma)
	n := len(wts)
	s := motionScratchPool.Get().(*motionScratch)
	defer motionScratchPool.Put(s)
	s.grow(n)
	motionOffsets(s.dx, s.dy, angle)
	minX, maxX, minY, maxY := 0, 0, 0, 0
	for i := 0; i < n; i++ {
		minX, maxX = min(minX, s.dx[i]), max(maxX, s.dx[i])
		minY, maxY = min(minY, s.dy[i]), max(maxY, s.dy[i])
	}
	// The quanta 257·v on a plane padded by edge replication, so that every tap of
	// every pixel is a plain load.
	pw, ph := w+maxX-minX, h+maxY-minY
	if motionSparse(dst, src, h, w, c, pw, ph, minX, minY, wts, s) {
		return
	}
	if cap(s.pad) < pw*ph*c {
		s.pad = make([]float64, pw*ph*c)
	}
	pad := s.pad[:pw*ph*c]
	// Padded column px reads source column clamp(px+minX): columns 0..x0−1 repeat
	// column 0, x0..x1−1 are the row, x1..pw−1 repeat column w−1. Padded rows that
	// clamp to the same source row are copies.
	x0, x1 := min(-minX, pw), min(w-minX, pw)
	prev := -1
	for py := 0; py < ph; py++ {
		sy := min(max(py+minY, 0), h-1)
		prow := pad[py*pw*c : (py+1)*pw*c]
		if sy == prev {
			copy(prow, pad[(py-1)*pw*c:py*pw*c])
			continue
		}
		prev = sy
		row := src[sy*w*c : (sy+1)*w*c]
		for i, v := range row[(x0+minX)*c : (x1+minX)*c] {
			prow[x0*c+i] = quantum8[v]
		}
		for ch := 0; ch < c; ch++ {
			first, last := quantum8[row[ch]], quantum8[row[(w-1)*c+ch]]
			for px := 0; px < x0; px++ {
				prow[px*c+ch] = first
			}
			for px := x1; px < pw; px++ {
				prow[px*c+ch] = last
			}
		}
	}
	for i := 0; i < n; i++ {
		s.off[i] = ((s.dy[i]-minY)*pw + (s.dx[i] - minX)) * c
	}
	for y := 0; y < h; y++ {
		if c == 3 {
			motionRow3(dst[y*w*3:(y+1)*w*3], pad[y*pw*3:], s.off, wts)
			continue
		}
		for x := 0; x < w; x++ {
			base := (y*pw + x) * c
			d := dst[(y*w+x)*c : (y*w+x+1)*c]
			for ch := range d {
				sum := 0.0
				for i, o := range s.off {
					sum += float64(wts[i] * pad[base+o+ch])
				}
				d[ch] = quantumTo8(sum)
			}
		}
	}
}

// motionSparse computes imMotionBlur by scattering the non-zero elements of the
// padded plane when they are few (snow's layer is mostly 0), and reports whether it
// did. Contributions reach each output in tap order, as in the gather loop, and the
// skipped terms are exact zeros (w·0 = +0 leaves a non-negative sum unchanged), so
// the result is bit for bit the same.
func motionSparse(dst, src []uint8, h, w, c, pw, ph, minX, minY int, wts []float64, s *motionScratch) bool {
	// Count the non-zero values, giving up as soon as they exceed a quarter.
	nonZero, limit := 0, h*w*c/4
	for i := 0; i < h*w*c; i += w * c {
		for _, v := range src[i : i+w*c] {
			if v != 0 {
				nonZero++
			}
		}
		if nonZero > limit {
			return false
		}
	}
	// The non-zero elements of the padded plane: each source pixel at its padded
	// position, edge pixels also at every position that clamps to them.
	nz := s.nz[:0]
	for sy := 0; sy < h; sy++ {
		pyLo, pyHi := sy-minY, sy-minY
		if sy == 0 {
			pyLo = 0
		}
		if sy == h-1 {
			pyHi = ph - 1
		}
		for sx := 0; sx < w; sx++ {
			pxLo, pxHi := sx-minX, sx-minX
			if sx == 0 {
				pxLo = 0
			}
			if sx == w-1 {
				pxHi = pw - 1
			}
			for ch := 0; ch < c; ch++ {
				v := src[(sy*w+sx)*c+ch]
				if v == 0 {
					continue
				}
				q := quantum8[v]
				for py := pyLo; py <= pyHi; py++ {
					for px := pxLo; px <= pxHi; px++ {
						nz = append(nz, motionNZ{int32(py), int32(px), int32(ch), q})
					}
				}
			}
		}
	}
	s.nz = nz
	if cap(s.acc) < h*w*c {
		s.acc = make([]float64, h*w*c)
	}
	acc := s.acc[:h*w*c]
	clear(acc)
	for i, wi := range wts {
		oy, ox := s.dy[i]-minY, s.dx[i]-minX // pad position of tap i of output (0, 0)
		for _, e := range nz {
			y, x := int(e.py)-oy, int(e.px)-ox
			if uint(y) < uint(h) && uint(x) < uint(w) {
				acc[(y*w+x)*c+int(e.ch)] += float64(wi * e.q)
			}
		}
	}
	for i, v := range acc {
		dst[i] = quantumTo8(v)
	}
	return true
}

// motionRow3 computes one RGB output row of imMotionBlur from the padded plane
// (pad starts at the row's first pixel), two pixels at a time.
func motionRow3(d []uint8, pad []float64, off []int, wts []float64) {
	wts = wts[:len(off)]
	x := 0
	for ; x+6 <= len(d); x += 6 {
		var s0, s1, s2, s3, s4, s5 float64
		for i, o := range off {
			p := pad[x+o : x+o+6]
			wi := wts[i]
			s0 += float64(wi * p[0])
			s1 += float64(wi * p[1])
			s2 += float64(wi * p[2])
			s3 += float64(wi * p[3])
			s4 += float64(wi * p[4])
			s5 += float64(wi * p[5])
		}
		q := d[x : x+6]
		q[0], q[1], q[2] = quantumTo8(s0), quantumTo8(s1), quantumTo8(s2)
		q[3], q[4], q[5] = quantumTo8(s3), quantumTo8(s4), quantumTo8(s5)
	}
	if x < len(d) {
		motionPixel3(d[x:x+3], pad, x, off, wts)
	}
}

// motionPixel3 computes one RGB pixel of imMotionBlur from the padded plane.
func motionPixel3(d []uint8, pad []float64, base int, off []int, wts []float64) {
	var s0, s1, s2 float64
	wts = wts[:len(off)]
	for i, o := range off {
		p := pad[base+o : base+o+3]
		wi := wts[i]
		s0 += float64(wi * p[0])
		s1 += float64(wi * p[1])
		s2 += float64(wi * p[2])
	}
	d[0] = quantumTo8(s0)
	d[1] = quantumTo8(s1)
	d[2] = quantumTo8(s2)
}

// motionBlur is the motion_blur corruption: one angle U(−45, 45), then ImageMagick's
// motion blur with the severity's (radius, sigma). Works for any image size and
// channel count (each channel is blurred separately, as ImageMagick does).
func motionBlur(src Image, sev int, rng RNG, opt *Options) Image {
	p := motionBlurParams[paramSetOf(opt)][sev-1]
	angle := rng.Uniform(-45, 45)
	out := NewImage(src.H, src.W, src.C)
	imMotionBlur(out.Pix, src.Pix, src.H, src.W, src.C, p.radius, p.sigma, angle)
	return out
}
