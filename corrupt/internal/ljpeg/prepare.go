package ljpeg

// layout is the block geometry of a 4:2:0 YCbCr frame as libjpeg's compressor
// lays it out: MCUs of 16×16 pixels holding 2×2 luma blocks and one block of each
// chroma component.
type layout struct {
	w, h         int
	mcuX, mcuY   int // MCUs per row and column
	yBW, yBH     int // luma blocks covering the image (width_in_blocks etc.)
	yStride      int // luma plane stride (= 16·mcuX); the plane has 16·mcuY rows
	cStride      int // chroma plane stride (= 8·mcuX); the planes have 8·mcuY rows
	cW, cH       int // meaningful chroma samples: ceil(w/2) × ceil(h/2)
	ySize, cSize int
}

func newLayout(w, h int) layout {
	l := layout{w: w, h: h}
	l.mcuX, l.mcuY = (w+15)/16, (h+15)/16
	l.yBW, l.yBH = (w+7)/8, (h+7)/8
	l.yStride, l.cStride = 16*l.mcuX, 8*l.mcuX
	l.cW, l.cH = (w+1)/2, (h+1)/2
	l.ySize = l.yStride * 16 * l.mcuY
	l.cSize = l.cStride * 8 * l.mcuY
	return l
}

// prepare converts RGB to the planes libjpeg's compressor feeds to the forward DCT:
// libjpeg's fixed-point RGB→YCbCr conversion, columns and rows beyond the image
// repeating the last ones, and 2×2 chroma averaging with the alternating bias 1, 2
// of h2v2_downsample. Chroma rows beyond ceil(h/2) repeat the last downsampled row
// (jcprepct.c pads the downsampled rows, not the image rows, to the iMCU height).
func prepare(l *layout, pix []uint8, y, cb, cr []uint8) {
	w, h := l.w, l.h
	full := w / 2 // chroma columns whose two source columns are both inside the image
	for r := 0; r < l.cH; r++ {
		row0 := pix[2*r*w*3 : (2*r+1)*w*3]
		row1 := row0
		if 2*r+1 < h {
			row1 = pix[(2*r+1)*w*3 : (2*r+2)*w*3]
		}
		yo0 := y[2*r*l.yStride : (2*r+1)*l.yStride]
		yo1 := y[(2*r+1)*l.yStride : (2*r+2)*l.yStride]
		co := r * l.cStride
		cbo := cb[co : co+l.cStride]
		cro := cr[co : co+l.cStride]
		for c := 0; c < full; c++ {
			p := row0[6*c : 6*c+6 : 6*c+6]
			q := row1[6*c : 6*c+6 : 6*c+6]
			convert2x2(yo0, yo1, cbo, cro, c, p[0:3], p[3:6], q[0:3], q[3:6])
		}
		for c := full; c < l.cStride; c++ {
			x0, x1 := 3*min(2*c, w-1), 3*min(2*c+1, w-1)
			convert2x2(yo0, yo1, cbo, cro, c, row0[x0:x0+3], row0[x1:x1+3], row1[x0:x0+3], row1[x1:x1+3])
		}
	}
	// Bottom padding: luma rows repeat the last image row, chroma rows the last
	// downsampled row.
	last := y[(h-1)*l.yStride : h*l.yStride]
	for r := h; r < 16*l.mcuY; r++ {
		copy(y[r*l.yStride:(r+1)*l.yStride], last)
	}
	lastCb := cb[(l.cH-1)*l.cStride : l.cH*l.cStride]
	lastCr := cr[(l.cH-1)*l.cStride : l.cH*l.cStride]
	for r := l.cH; r < 8*l.mcuY; r++ {
		copy(cb[r*l.cStride:(r+1)*l.cStride], lastCb)
		copy(cr[r*l.cStride:(r+1)*l.cStride], lastCr)
	}
}

// loadBlock copies the 8×8 block at (off, stride) of a plane into ws, level-shifted
// by −128 (jcdctmgr.c convsamp).
func loadBlock(ws *[64]int32, p []uint8, off, stride int) {
	for r := 0; r < 8; r++ {
		s := p[off+r*stride : off+r*stride+8 : off+r*stride+8]
		d := ws[r*8 : r*8+8 : r*8+8]
		for c := range 8 {
			d[c] = int32(s[c]) - 128
		}
	}
}

// convert2x2 converts the 2×2 RGB pixels p0 p1 (upper row) and q0 q1 (lower row) of
// chroma column c: four luma samples and one averaged Cb and Cr sample.
func convert2x2(yo0, yo1, cbo, cro []uint8, c int, p0, p1, q0, q1 []uint8) {
	r0, g0, b0 := int32(p0[0]), int32(p0[1]), int32(p0[2])
	r1, g1, b1 := int32(p1[0]), int32(p1[1]), int32(p1[2])
	r2, g2, b2 := int32(q0[0]), int32(q0[1]), int32(q0[2])
	r3, g3, b3 := int32(q1[0]), int32(q1[1]), int32(q1[2])
	yo0[2*c] = rgbToY(r0, g0, b0)
	yo0[2*c+1] = rgbToY(r1, g1, b1)
	yo1[2*c] = rgbToY(r2, g2, b2)
	yo1[2*c+1] = rgbToY(r3, g3, b3)
	bias := int32(1 + c&1)
	cbo[c] = uint8((int32(rgbToCb(r0, g0, b0)) + int32(rgbToCb(r1, g1, b1)) +
		int32(rgbToCb(r2, g2, b2)) + int32(rgbToCb(r3, g3, b3)) + bias) >> 2)
	cro[c] = uint8((int32(rgbToCr(r0, g0, b0)) + int32(rgbToCr(r1, g1, b1)) +
		int32(rgbToCr(r2, g2, b2)) + int32(rgbToCr(r3, g3, b3)) + bias) >> 2)
}
