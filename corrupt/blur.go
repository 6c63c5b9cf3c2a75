package corrupt

import "sync"

// The blur corruptions: gaussian_blur, glass_blur and defocus_blur
// (../shared/corrupt/PARAMS.md §4). motion_blur and zoom_blur live in motion.go and
// zoom.go.

func init() {
	register(&Corruption{Name: "defocus_blur", Index: 3, Family: "blur", Benchmark: true, Apply: defocusBlur})
	register(&Corruption{Name: "glass_blur", Index: 4, Family: "blur", Benchmark: true, Random: true, Apply: glassBlur})
	register(&Corruption{Name: "gaussian_blur", Index: 16, Family: "blur", Benchmark: false, Apply: gaussianBlur})
}

// toUnitPlane writes src/255 into a float64 plane.
func toUnitPlane(dst []float64, src []uint8) {
	for i, p := range src {
		dst[i] = inv255[p]
	}
}

// gaussianBlur: out = clip(gaussian(x, σ), 0, 1)·255 (mode nearest, truncate 4).
func gaussianBlur(src Image, sev int, _ RNG, opt *Options) Image {
	sigma := gaussianBlurSigma.get(paramsOf(opt), sev)
	fp, x := getF64(len(src.Pix))
	toUnitPlane(x, src.Pix)
	gaussianFilter64(x, x, src.H, src.W, src.C, sigma, 4, BorderNearest)
	out := NewImage(src.H, src.W, src.C)
	for i, v := range x {
		out.Pix[i] = unit8(v)
	}
	putF64(fp)
	return out
}

// glassBlur blurs, then moves pixels locally (iterations passes over rows H−δ down to
// δ+1 and, in each, columns W−δ down to δ+1: draw dx then dy from randint(−δ, δ) and
// copy pixel (h+dy, w+dx) onto (h, w); the original's "swap" is a copy because of
// numpy view aliasing), then blurs again.
func glassBlur(src Image, sev int, rng RNG, opt *Options) Image {
	p := glassParams.get(paramsOf(opt), sev)
	h, w, c := src.H, src.W, src.C
	fp, x := getF64(len(src.Pix))
	defer putF64(fp)
	toUnitPlane(x, src.Pix)
	gaussianFilter64(x, x, h, w, c, p.sigma, 4, BorderNearest)
	up := getU8(len(src.Pix))
	defer putU8(up)
	u := *up
	for i, v := range x {
		u[i] = toUint8(v * 255) // np.uint8 of the unclipped blur; it stays in [0, 255]
	}
	d := p.delta
	for it := 0; it < p.its; it++ {
		for y := h - d; y > d; y-- {
			for xx := w - d; xx > d; xx-- {
				dx := rng.IntN(-d, d)
				dy := rng.IntN(-d, d)
				if dx == 0 && dy == 0 {
					continue
				}
				dst := (y*w + xx) * c
				s := ((y+dy)*w + xx + dx) * c
				if c == 3 {
					u[dst], u[dst+1], u[dst+2] = u[s], u[s+1], u[s+2]
				} else {
					copy(u[dst:dst+c], u[s:s+c])
				}
			}
		}
	}
	toUnitPlane(x, u)
	gaussianFilter64(x, x, h, w, c, p.sigma, 4, BorderNearest)
	out := NewImage(h, w, c)
	for i, v := range x {
		out.Pix[i] = unit8(v)
	}
	return out
}

// defocusTap is one non-zero entry of the defocus kernel.
type defocusTap struct {
	dy, dx int
	w      float64
}

// defocusKernel is the anti-aliased disk of defocus blur.
type defocusKernel struct {
	radius int       // kernel half size: 8 for disks of radius ≤ 8, else the radius
	k      []float32 // (2·radius+1)² weights, row-major
	taps   []defocusTap
}

var defocusKernels sync.Map // defocusParam → *defocusKernel

// getDefocusKernel returns the cached kernel of the original's disk(radius, alias):
// a float32 disk X²+Y² ≤ r² on the grid −8..8 (or −r..r when r > 8) normalised to
// sum 1, blurred by OpenCV GaussianBlur (3×3, or 5×5 for r > 8; σ = alias;
// reflect-101) with OpenCV's float32 arithmetic (see cvGaussianBlur32).
func getDefocusKernel(p defocusParam) *defocusKernel {
	if v, ok := defocusKernels.Load(p); ok {
		return v.(*defocusKernel)
	}
	R, ks := 8, 3
	if p.radius > 8 {
		R, ks = int(p.radius), 5
	}
	n := 2*R + 1
	disk := make([]float32, n*n)
	var count float32
	r2 := p.radius * p.radius
	for y := -R; y <= R; y++ {
		for x := -R; x <= R; x++ {
			if float64(x*x+y*y) <= r2 {
				disk[(y+R)*n+x+R] = 1
				count++
			}
		}
	}
	for i := range disk {
		disk[i] /= count
	}
	k := cvGaussianBlur32(disk, n, n, cvGaussianKernel32(ks, p.alias))
	dk := &defocusKernel{radius: R, k: k}
	for i, v := range k {
		if v != 0 {
			dk.taps = append(dk.taps, defocusTap{dy: i/n - R, dx: i%n - R, w: float64(v)})
		}
	}
	defocusKernels.Store(p, dk)
	return dk
}

// cvGaussianKernel32 is OpenCV 4's getGaussianKernel(n, sigma, CV_32F) for sigma > 0
// and odd n: weights exp(x²·(−0.125/σ²)) for doubled offsets x = 1−n, 3−n, …,
// normalised in double by the reciprocal of their sum (centre weight 1), then cast
// to float32.
func cvGaussianKernel32(n int, sigma float64) []float32 {
	scale2X := -0.125 / (sigma * sigma)
	half := (n - 1) / 2
	vals := make([]float64, half)
	sum := 0.0
	for i, x := 0, 1-n; i < half; i, x = i+1, x+2 {
		vals[i] = expRN(float64(x*x) * scale2X)
		sum += vals[i]
	}
	sum = sum*2 + 1
	mul := 1 / sum
	k := make([]float32, n)
	for i := 0; i < half; i++ {
		k[i] = float32(vals[i] * mul)
		k[n-1-i] = k[i]
	}
	k[half] = float32(mul)
	return k
}

// cvGaussianBlur32 filters an h×w float32 plane with the symmetric 3- or 5-tap kernel
// g along rows and then columns, reflect-101 borders, in the arithmetic of OpenCV's
// AVX2 separable filters: rows fma(c, g0, (l1+r1)·g1) [then fma(l2+r2, g2, ·)],
// columns fma(a1+b1, g1, c·g0) [then fma(a2+b2, g2, ·)], each fma rounded once to
// float32 as the FMA instructions do (fma32RN).
func cvGaussianBlur32(src []float32, h, w int, g []float32) []float32 {
	r := len(g) / 2
	k0, k1 := g[r], g[r+1]
	var k2 float32
	if r == 2 {
		k2 = g[r+2]
	}
	tmp := make([]float32, h*w)
	for y := 0; y < h; y++ {
		row := src[y*w : (y+1)*w]
		for x := 0; x < w; x++ {
			at := func(i int) float32 { return row[borderIndex(i, w, BorderMirror)] }
			s := fma32RN(row[x], k0, (at(x-1)+at(x+1))*k1)
			if r == 2 {
				s = fma32RN(at(x-2)+at(x+2), k2, s)
			}
			tmp[y*w+x] = s
		}
	}
	out := make([]float32, h*w)
	for y := 0; y < h; y++ {
		at := func(i, x int) float32 { return tmp[borderIndex(i, h, BorderMirror)*w+x] }
		for x := 0; x < w; x++ {
			s := fma32RN(at(y-1, x)+at(y+1, x), k1, tmp[y*w+x]*k0)
			if r == 2 {
				s = fma32RN(at(y-2, x)+at(y+2, x), k2, s)
			}
			out[y*w+x] = s
		}
	}
	return out
}

// defocusBlur correlates each channel of x (float64) with the defocus kernel, border
// reflect-101, like OpenCV filter2D; out = clip(·, 0, 1)·255.
func defocusBlur(src Image, sev int, _ RNG, opt *Options) Image {
	dk := getDefocusKernel(defocusParams.get(paramsOf(opt), sev))
	h, w, c := src.H, src.W, src.C
	R := dk.radius
	// Pad each channel plane with reflect-101 borders once.
	pw, ph := w+2*R, h+2*R
	pp, pad := getF64(pw * ph * c)
	defer putF64(pp)
	// Convert to per-channel planes, then pad: the interior is a row copy, the
	// borders a few reflected values.
	for ch := 0; ch < c; ch++ {
		for y := 0; y < h; y++ {
			prow := pad[(ch*ph+y+R)*pw:][:pw]
			srow := src.Pix[y*w*c:][:w*c]
			mid := prow[R : R+w]
			for x := range mid {
				mid[x] = inv255[srow[x*c+ch]]
			}
			for p := 1; p <= R; p++ {
				prow[R-p] = mid[borderIndex(-p, w, BorderMirror)]
				prow[R+w-1+p] = mid[borderIndex(w-1+p, w, BorderMirror)]
			}
		}
		for p := 1; p <= R; p++ {
			top := borderIndex(-p, h, BorderMirror)
			bot := borderIndex(h-1+p, h, BorderMirror)
			copy(pad[(ch*ph+R-p)*pw:][:pw], pad[(ch*ph+R+top)*pw:][:pw])
			copy(pad[(ch*ph+R+h-1+p)*pw:][:pw], pad[(ch*ph+R+bot)*pw:][:pw])
		}
	}
	ap, acc := getF64(h * w)
	defer putF64(ap)
	var ob [512]int
	offs := ob[:0]
	if len(dk.taps) > len(ob) {
		offs = make([]int, 0, len(dk.taps))
	}
	for _, t := range dk.taps {
		offs = append(offs, (R+t.dy)*pw+R+t.dx)
	}
	out := NewImage(h, w, c)
	for ch := 0; ch < c; ch++ {
		defocusPlane(acc, pad[ch*ph*pw:(ch+1)*ph*pw], h, w, pw, dk.taps, offs)
		for i, v := range acc {
			out.Pix[i*c+ch] = unit8(v)
		}
	}
	return out
}

// defocusPlane correlates one padded plane (row length pw) with the kernel taps into
// acc (h×w): each output sums w·v over the taps in kernel order, starting from 0,
// eight outputs of a row at a time in registers. offs[i] is tap i's offset in the
// padded plane from the output's own position.
func defocusPlane(acc, plane []float64, h, w, pw int, taps []defocusTap, offs []int) {
	offs = offs[:len(taps)]
	for y := 0; y < h; y++ {
		a := acc[y*w : (y+1)*w]
		x := 0
		for ; x+8 <= w; x += 8 {
			base := y*pw + x
			var s0, s1, s2, s3, s4, s5, s6, s7 float64
			for i, t := range taps {
				o := base + offs[i]
				p := (*[8]float64)(plane[o : o+8])
				wt := t.w
				s0 += float64(wt * p[0])
				s1 += float64(wt * p[1])
				s2 += float64(wt * p[2])
				s3 += float64(wt * p[3])
				s4 += float64(wt * p[4])
				s5 += float64(wt * p[5])
				s6 += float64(wt * p[6])
				s7 += float64(wt * p[7])
			}
			q := (*[8]float64)(a[x : x+8])
			q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[7] = s0, s1, s2, s3, s4, s5, s6, s7
		}
		for ; x < w; x++ {
			s := 0.0
			for i, t := range taps {
				s += float64(t.w * plane[y*pw+x+offs[i]])
			}
			a[x] = s
		}
	}
}
