package data

import (
	"fmt"
	"math"
)

// Fit says how a loader brings images to its output size.
type Fit int

const (
	// FitPad centres the image in the output, padding with zeros (black) or cropping
	// the borders: 28×28 → 32×32 pads by 2 on every side.
	FitPad Fit = iota
	// FitResize resizes bilinearly (half-pixel centres, edges clamped, no
	// antialiasing: PyTorch's interpolate with align_corners=False).
	FitResize
)

// String returns "pad" or "resize".
func (f Fit) String() string {
	if f == FitResize {
		return "resize"
	}
	return "pad"
}

// ParseFit parses "pad" or "resize".
func ParseFit(s string) (Fit, error) {
	switch s {
	case "pad", "":
		return FitPad, nil
	case "resize":
		return FitResize, nil
	}
	return FitPad, fmt.Errorf("unknown fit %q (want pad or resize)", s)
}

// Augment is the random augmentation a loader applies to each image, in the order of
// the usual torchvision pipeline: random crop with zero padding, horizontal flip,
// conversion and normalisation, cutout.
type Augment struct {
	// CropPad pads the (fitted) image with CropPad zero (black) pixels on every side
	// and takes a random crop of the output size; 0 disables it.
	CropPad int
	// Flip mirrors the image horizontally with probability 1/2.
	Flip bool
	// Cutout sets a Cutout×Cutout square, centred on a uniformly drawn pixel and
	// clipped at the borders, to 0 after normalisation (DeVries & Taylor, 2017);
	// 0 disables it.
	Cutout int
}

// transform converts one dataset image to one normalised float32 output image.
// It is immutable after construction and shared by the workers; each worker has its
// own scratch.
type transform struct {
	srcC, srcH, srcW int
	outC, outH, outW int
	fit              Fit
	aug              Augment
	seed             uint64
	lut              [][256]float32 // per output channel: normalised value of each byte
	// resize tables (FitResize with a size change)
	resize     bool
	ry0, ry1   []int
	rwy        []float32
	rx0, rx1   []int
	rwx        []float32
	toGray     bool // 3 → 1 channels
	replicate  bool // 1 → 3 channels
	midC       int  // channels after the channel conversion
	midH, midW int  // size of the image the crop reads from
	padY, padX int  // centring offset of FitPad
}

func newTransform(srcC, srcH, srcW, outC, outH, outW int, fit Fit, aug Augment, norm Norm, seed uint64) (*transform, error) {
	t := &transform{srcC: srcC, srcH: srcH, srcW: srcW, outC: outC, outH: outH, outW: outW, fit: fit, aug: aug, seed: seed}
	switch {
	case outC == srcC:
	case srcC == 1 && outC == 3:
		t.replicate = true
	case srcC == 3 && outC == 1:
		t.toGray = true
	default:
		return nil, fmt.Errorf("loader: cannot convert %d-channel images to %d channels", srcC, outC)
	}
	if aug.CropPad < 0 || aug.Cutout < 0 {
		return nil, fmt.Errorf("loader: negative crop padding %d or cutout %d", aug.CropPad, aug.Cutout)
	}
	t.midC = srcC
	if t.toGray {
		t.midC = 1
	}
	t.midH, t.midW = srcH, srcW
	if fit == FitResize && (srcH != outH || srcW != outW) {
		t.resize = true
		t.midH, t.midW = outH, outW
		t.ry0, t.ry1, t.rwy = resizeTable(srcH, outH)
		t.rx0, t.rx1, t.rwx = resizeTable(srcW, outW)
	} else {
		t.padY, t.padX = floorDiv(outH-srcH, 2), floorDiv(outW-srcW, 2)
	}
	t.lut = make([][256]float32, outC)
	if norm.Mean == nil && norm.Std == nil {
		for c := range outC {
			for v := range 256 {
				t.lut[c][v] = float32(v) / 255
			}
		}
		return t, nil
	}
	mean, std, err := norm.forChannels(outC)
	if err != nil {
		return nil, fmt.Errorf("loader: %w", err)
	}
	for c := range outC {
		for v := range 256 {
			t.lut[c][v] = float32((float64(v)/255 - float64(mean[c])) / float64(std[c]))
		}
	}
	return t, nil
}

func floorDiv(a, b int) int {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// resizeTable gives, for each output coordinate, the two source coordinates and the
// weight of the second (align_corners=False, clamped at the edges).
func resizeTable(in, out int) (i0, i1 []int, w1 []float32) {
	scale := float64(in) / float64(out)
	i0, i1, w1 = make([]int, out), make([]int, out), make([]float32, out)
	for o := range out {
		s := max((float64(o)+0.5)*scale-0.5, 0)
		a := min(int(math.Floor(s)), in-1)
		b := min(a+1, in-1)
		i0[o], i1[o], w1[o] = a, b, float32(s-float64(a))
	}
	return i0, i1, w1
}

// scratch is a worker's private buffers.
type scratch struct {
	src, gray, mid []uint8
}

func (t *transform) newScratch() *scratch {
	s := &scratch{src: make([]uint8, t.srcC*t.srcH*t.srcW)}
	if t.toGray {
		s.gray = make([]uint8, t.srcH*t.srcW)
	}
	if t.resize {
		s.mid = make([]uint8, t.midC*t.midH*t.midW)
	}
	return s
}

// apply turns the image in s.src (dataset index idx, in epoch) into out
// (outC·outH·outW floats).
func (t *transform) apply(s *scratch, out []float32, epoch, idx int) {
	img := s.src
	if t.toGray {
		plane := t.srcH * t.srcW
		r, g, b := img[:plane], img[plane:2*plane], img[2*plane:3*plane]
		for p := range plane {
			s.gray[p] = luma(r[p], g[p], b[p])
		}
		img = s.gray
	}
	if t.resize {
		t.resizeInto(s.mid, img)
		img = s.mid
	}

	var oy, ox int
	flip := false
	var r rng
	aug := t.aug.CropPad > 0 || t.aug.Flip || t.aug.Cutout > 0
	if aug {
		r = newRNG(t.seed, uint64(epoch), uint64(idx), tagAugment)
	}
	p := t.aug.CropPad
	if p > 0 {
		oy, ox = r.intn(2*p+1)-p, r.intn(2*p+1)-p
	}
	if t.aug.Flip {
		flip = r.next()&1 == 1
	}
	// Output pixel (y, x) reads the fitted image (the output-sized, centred image
	// before the crop) at (y+oy, x'+ox), x' = x or W−1−x, and that is mid pixel
	// (y+dy, x'+dx). Fitted pixels outside [fyLo, fyHi)×[fxLo, fxHi) are padding.
	H, W := t.outH, t.outW
	mh, mw := t.midH, t.midW
	dy, dx := oy-t.padY, ox-t.padX
	fyLo, fyHi := max(0, t.padY), min(H, t.padY+mh)
	fxLo, fxHi := max(0, t.padX), min(W, t.padX+mw)
	// Output columns that read image pixels: [lo, hi).
	var lo, hi int
	if !flip {
		lo, hi = max(0, fxLo-ox), min(W, fxHi-ox)
	} else {
		lo, hi = max(0, W+ox-fxHi), min(W, W+ox-fxLo)
	}
	if lo >= hi {
		lo, hi = 0, 0
	}
	for c := range t.outC {
		lut := &t.lut[c]
		zero := lut[0]
		sc := c
		if t.replicate {
			sc = 0
		}
		plane := img[sc*mh*mw : (sc+1)*mh*mw]
		dst := out[c*H*W : (c+1)*H*W]
		for y := range H {
			row := dst[y*W : (y+1)*W : (y+1)*W]
			if fy := y + oy; fy < fyLo || fy >= fyHi || lo == hi {
				for x := range row {
					row[x] = zero
				}
				continue
			}
			sy := y + dy
			srow := plane[sy*mw : (sy+1)*mw]
			for x := 0; x < lo; x++ {
				row[x] = zero
			}
			if !flip {
				seg := row[lo:hi]
				for k, v := range srow[lo+dx : hi+dx] {
					seg[k] = lut[v]
				}
			} else {
				for x := lo; x < hi; x++ {
					row[x] = lut[srow[W-1-x+dx]]
				}
			}
			for x := hi; x < W; x++ {
				row[x] = zero
			}
		}
	}
	if s := t.aug.Cutout; s > 0 {
		cy, cx := r.intn(H), r.intn(W)
		y0, y1 := max(0, cy-s/2), min(H, cy-s/2+s)
		x0, x1 := max(0, cx-s/2), min(W, cx-s/2+s)
		for c := range t.outC {
			for y := y0; y < y1; y++ {
				row := out[c*H*W+y*W : c*H*W+(y+1)*W]
				for x := x0; x < x1; x++ {
					row[x] = 0
				}
			}
		}
	}
}

// resizeInto resizes the midC planes of src (srcH×srcW) to dst (midH×midW).
func (t *transform) resizeInto(dst, src []uint8) {
	ih, iw := t.srcH, t.srcW
	oh, ow := t.midH, t.midW
	for c := range t.midC {
		sp := src[c*ih*iw : (c+1)*ih*iw]
		dp := dst[c*oh*ow : (c+1)*oh*ow]
		for y := range oh {
			r0, r1 := sp[t.ry0[y]*iw:(t.ry0[y]+1)*iw], sp[t.ry1[y]*iw:(t.ry1[y]+1)*iw]
			wy := t.rwy[y]
			for x := range ow {
				a0, a1 := t.rx0[x], t.rx1[x]
				wx := t.rwx[x]
				top := float32(r0[a0]) + wx*(float32(r0[a1])-float32(r0[a0]))
				bot := float32(r1[a0]) + wx*(float32(r1[a1])-float32(r1[a0]))
				v := top + wy*(bot-top)
				dp[y*ow+x] = uint8(min(255, max(0, v+0.5)))
			}
		}
	}
}
