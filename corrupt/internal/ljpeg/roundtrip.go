package ljpeg

import (
	"fmt"
	"sync"
)

// rtScratch holds the working planes of one round trip; reused through a pool.
type rtScratch struct {
	y, cb, cr []uint8
	cbRow     []uint8
	crRow     []uint8
	cs        []int32
}

var rtPool = sync.Pool{New: func() any { return new(rtScratch) }}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// RoundTripTo writes to dst (w·h·3 bytes, which may be pix itself) the pixels Decode
// gives for the JPEG that Pillow writes of pix at quality (Image.save(f, "JPEG",
// quality=quality)), the JPEG corruption, without the entropy coding (which is
// lossless): colour conversion, downsampling, forward DCT, quantisation,
// dequantisation, inverse DCT, upsampling and colour conversion back, each exactly as
// libjpeg-turbo computes it.
// It is safe for concurrent use. Images wider or taller than a JPEG frame allows
// (65535) get the same arithmetic, though no JPEG file could hold them.
func RoundTripTo(dst, pix []uint8, w, h, quality int) error {
	if w < 1 || h < 1 || w*h > MaxPixels {
		return fmt.Errorf("jpeg: image size %d×%d out of range", w, h)
	}
	if len(pix) != w*h*3 || len(dst) != w*h*3 {
		return fmt.Errorf("jpeg: %d and %d bytes for a %d×%d RGB image, want %d", len(pix), len(dst), w, h, w*h*3)
	}
	qt, err := tablesFor(quality)
	if err != nil {
		return err
	}
	l := newLayout(w, h)
	s := rtPool.Get().(*rtScratch)
	defer rtPool.Put(s)
	s.y = grow(s.y, l.ySize)
	s.cb = grow(s.cb, l.cSize)
	s.cr = grow(s.cr, l.cSize)
	s.cbRow = grow(s.cbRow, w)
	s.crRow = grow(s.crRow, w)
	s.cs = grow(s.cs, l.cW)
	grey := isGrey(pix)
	if grey {
		prepareGrey(&l, pix, s.y)
	} else {
		prepare(&l, pix, s.y, s.cb, s.cr)
	}

	var ws [64]int32
	for by := 0; by < l.yBH; by++ {
		for bx := 0; bx < l.yBW; bx++ {
			off := by*8*l.yStride + bx*8
			loadBlock(&ws, s.y, off, l.yStride)
			fdctIslow(&ws)
			if qt.lumaZ.requantize(&ws, &qt.lumaDeq) {
				idctIslow(&ws, s.y, off, l.yStride)
			} else {
				idctDC(ws[0], s.y, off, l.yStride)
			}
		}
	}
	if grey {
		// Cb = Cr = 128 exactly for grey pixels, so the chroma blocks are flat 128
		// and come back unchanged; with them the colour conversion returns Y in all
		// three channels.
		for y := 0; y < h; y++ {
			yr := s.y[y*l.yStride : y*l.yStride+w]
			o := dst[y*w*3 : (y+1)*w*3]
			for x, v := range yr {
				o[3*x], o[3*x+1], o[3*x+2] = v, v, v
			}
		}
		return nil
	}
	for by := 0; by < l.mcuY; by++ {
		for bx := 0; bx < l.mcuX; bx++ {
			off := by*8*l.cStride + bx*8
			for _, p := range [2][]uint8{s.cb, s.cr} {
				loadBlock(&ws, p, off, l.cStride)
				fdctIslow(&ws)
				if qt.chromaZ.requantize(&ws, &qt.chromaDeq) {
					idctIslow(&ws, p, off, l.cStride)
				} else {
					idctDC(ws[0], p, off, l.cStride)
				}
			}
		}
	}

	cbp := plane{pix: s.cb, stride: l.cStride, w: l.cW, h: l.cH, hExp: 2, vExp: 2}
	crp := plane{pix: s.cr, stride: l.cStride, w: l.cW, h: l.cH, hExp: 2, vExp: 2}
	for y := 0; y < h; y++ {
		cbp.upsampleRow(s.cbRow, y, s.cs)
		crp.upsampleRow(s.crRow, y, s.cs)
		ycbcrToRGB(dst[y*w*3:(y+1)*w*3], s.y[y*l.yStride:y*l.yStride+w], s.cbRow, s.crRow)
	}
	return nil
}

// requantize replaces forward-DCT outputs by their quantised-then-dequantised
// values: what the decoder's inverse DCT sees. It reports whether any AC
// coefficient is nonzero.
func (z *quantizer) requantize(ws *[64]int32, deq *[64]int32) (ac bool) {
	if uint32(ws[0]+int32(z.zero[0]>>1)) < z.zero[0] {
		ws[0] = 0
	} else {
		ws[0] = z.requant1(0, ws[0]) * deq[0]
	}
	for i := 1; i < 64; i++ {
		t := ws[i]
		if uint32(t+int32(z.zero[i]>>1)) < z.zero[i] { // |t| < thr
			ws[i] = 0
			continue
		}
		ac = true
		ws[i] = z.requant1(i, t) * deq[i]
	}
	return ac
}

// requant1 quantises one coefficient.
func (z *quantizer) requant1(i int, t int32) int32 {
	if t < 0 {
		p := (uint64(uint32(-t)+z.corr[i]) * uint64(z.recip[i])) >> z.shift[i]
		return -int32(int16(p))
	}
	p := (uint64(uint32(t)+z.corr[i]) * uint64(z.recip[i])) >> z.shift[i]
	return int32(int16(p))
}

// isGrey tells whether every pixel has R = G = B.
func isGrey(pix []uint8) bool {
	for i := 0; i+2 < len(pix); i += 3 {
		if pix[i] != pix[i+1] || pix[i] != pix[i+2] {
			return false
		}
	}
	return true
}

// prepareGrey is prepare for a grey image, whose luma equals its grey level
// ((FIX(0.299)+FIX(0.587)+FIX(0.114))·v + ½ = 65536·v + ½). Only the luma plane
// is written.
func prepareGrey(l *layout, pix []uint8, y []uint8) {
	w, h := l.w, l.h
	for r := 0; r < h; r++ {
		src := pix[r*w*3 : (r+1)*w*3]
		row := y[r*l.yStride : (r+1)*l.yStride]
		for x := 0; x < w; x++ {
			row[x] = src[3*x]
		}
		for x := w; x < len(row); x++ {
			row[x] = row[w-1]
		}
	}
	last := y[(h-1)*l.yStride : h*l.yStride]
	for r := h; r < 16*l.mcuY; r++ {
		copy(y[r*l.yStride:(r+1)*l.yStride], last)
	}
}
