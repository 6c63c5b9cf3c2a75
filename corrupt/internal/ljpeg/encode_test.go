package ljpeg

import (
	"bytes"
	"fmt"
	"testing"
)

// TestEncodeMatchesPillow compares encode byte for byte with Pillow's
// save('JPEG', quality=q) for images of many sizes and qualities.
func TestEncodeMatchesPillow(t *testing.T) {
	for _, r := range loadRefs(t, "enc") {
		jpgName, inName, q := r[0], r[1], atoi(t, r[2])
		pix, w, h := readPPM(t, inName)
		want := readTestFile(t, jpgName)
		got, err := encode(pix, w, h, q)
		if err != nil {
			t.Fatalf("%s: %v", jpgName, err)
		}
		if !bytes.Equal(got, want) {
			i := 0
			for i < len(got) && i < len(want) && got[i] == want[i] {
				i++
			}
			t.Errorf("%s: %d bytes, want %d; first difference at byte %d", jpgName, len(got), len(want), i)
		}
	}
}

// The baseline encoder below is the tests' reference for RoundTripTo, whose arithmetic
// (colour conversion, downsampling, forward DCT, quantisation) is the encoder's
// without the lossless entropy coding: TestEncodeMatchesPillow pins its bytes to
// Pillow's, and the round-trip tests check RoundTripTo against decode(encode(img)).

// encode compresses an interleaved 8-bit RGB image (w·h·3 bytes, row-major) to the
// exact bytes Pillow 9.4 with libjpeg-turbo 2.1 writes for
// Image.fromarray(img).save(f, "JPEG", quality=quality): JFIF 1.01 (aspect 1:1),
// baseline, YCbCr 4:2:0, standard tables, no restart markers. quality is 1..100.
func encode(pix []uint8, w, h, quality int) ([]byte, error) {
	if err := checkRGB(pix, w, h); err != nil {
		return nil, err
	}
	qt, err := tablesFor(quality)
	if err != nil {
		return nil, err
	}
	l := newLayout(w, h)
	y := make([]uint8, l.ySize)
	cb := make([]uint8, l.cSize)
	cr := make([]uint8, l.cSize)
	prepare(&l, pix, y, cb, cr)

	out := make([]byte, 0, 1024+w*h/2)
	out = appendHeaders(out, w, h, qt)
	bw := bitWriter{out: out}
	var ws [64]int32
	var blk [6][64]int16 // Y0 Y1 Y2 Y3 Cb Cr of one MCU
	var dcY, dcCb, dcCr int32
	for my := 0; my < l.mcuY; my++ {
		for mx := 0; mx < l.mcuX; mx++ {
			// Luma: 2×2 blocks; blocks beyond the image's blocks are libjpeg's dummy
			// blocks (zero AC, DC copied from the previous block).
			for j := 0; j < 2; j++ {
				by := 2*my + j
				for i := 0; i < 2; i++ {
					bx := 2*mx + i
					b := &blk[2*j+i]
					switch {
					case by >= l.yBH: // dummy row: DC of the last block of the row above
						*b = [64]int16{}
						b[0] = blk[2*j-1][0]
					case bx >= l.yBW: // dummy column: DC of the block to the left
						*b = [64]int16{}
						b[0] = blk[2*j+i-1][0]
					default:
						loadBlock(&ws, y, by*8*l.yStride+bx*8, l.yStride)
						fdctIslow(&ws)
						qt.lumaZ.quantize(b, &ws)
					}
				}
			}
			coff := my*8*l.cStride + mx*8
			loadBlock(&ws, cb, coff, l.cStride)
			fdctIslow(&ws)
			qt.chromaZ.quantize(&blk[4], &ws)
			loadBlock(&ws, cr, coff, l.cStride)
			fdctIslow(&ws)
			qt.chromaZ.quantize(&blk[5], &ws)

			for k := 0; k < 4; k++ {
				dcY = bw.block(&blk[k], dcY, encDCLuma, encACLuma)
			}
			dcCb = bw.block(&blk[4], dcCb, encDCChroma, encACChroma)
			dcCr = bw.block(&blk[5], dcCr, encDCChroma, encACChroma)
		}
	}
	bw.flush()
	return append(bw.out, 0xFF, 0xD9), nil
}

// appendHeaders writes SOI, APP0 (JFIF), DQT×2, SOF0, DHT×4 and SOS in the order and
// form libjpeg's jcmarker.c writes them.
func appendHeaders(out []byte, w, h int, qt *qualityTables) []byte {
	out = append(out, 0xFF, 0xD8)
	// JFIF 1.01, density unit 0, 1×1, no thumbnail.
	out = append(out, 0xFF, 0xE0, 0, 16, 'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0)
	for id, t := range []*[64]uint16{&qt.luma, &qt.chroma} {
		out = append(out, 0xFF, 0xDB, 0, 67, byte(id))
		for k := 0; k < 64; k++ {
			out = append(out, byte(t[zigzag[k]]))
		}
	}
	out = append(out, 0xFF, 0xC0, 0, 17, 8, byte(h>>8), byte(h), byte(w>>8), byte(w), 3,
		1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1)
	for _, t := range []struct {
		class byte
		spec  *huffSpec
	}{{0x00, &stdDCLuma}, {0x10, &stdACLuma}, {0x01, &stdDCChroma}, {0x11, &stdACChroma}} {
		n := 2 + 1 + 16 + len(t.spec.symbols)
		out = append(out, 0xFF, 0xC4, byte(n>>8), byte(n), t.class)
		out = append(out, t.spec.counts[:]...)
		out = append(out, t.spec.symbols...)
	}
	return append(out, 0xFF, 0xDA, 0, 12, 3, 1, 0x00, 2, 0x11, 3, 0x11, 0, 63, 0)
}

// bitWriter accumulates Huffman-coded bits MSB first, stuffing a zero byte after
// every 0xFF.
type bitWriter struct {
	out  []byte
	acc  uint64
	nacc uint
}

func (b *bitWriter) put(code uint32, size uint8) {
	b.acc = b.acc<<size | uint64(code)&(1<<size-1)
	b.nacc += uint(size)
	for b.nacc >= 8 {
		b.nacc -= 8
		c := byte(b.acc >> b.nacc)
		b.out = append(b.out, c)
		if c == 0xFF {
			b.out = append(b.out, 0)
		}
	}
}

// flush pads the last byte with 1 bits, as libjpeg does.
func (b *bitWriter) flush() {
	if b.nacc > 0 {
		b.put(0x7F, 7)
	}
	b.acc, b.nacc = 0, 0
}

// nbits is the magnitude category of v: the bit length of |v|.
func nbits(v int32) uint8 {
	if v < 0 {
		v = -v
	}
	n := uint8(0)
	for v != 0 {
		n++
		v >>= 1
	}
	return n
}

// block Huffman-codes one quantised block (natural order) given the previous DC of
// its component and returns the new DC predictor.
func (b *bitWriter) block(blk *[64]int16, prevDC int32, dc, ac *huffEncoder) int32 {
	d := int32(blk[0]) - prevDC
	n := nbits(d)
	b.put(uint32(dc.code[n]), dc.size[n])
	if n > 0 {
		v := d
		if v < 0 {
			v--
		}
		b.put(uint32(v), n)
	}
	run := 0
	for k := 1; k < 64; k++ {
		c := int32(blk[zigzag[k]])
		if c == 0 {
			run++
			continue
		}
		for run > 15 {
			b.put(uint32(ac.code[0xF0]), ac.size[0xF0])
			run -= 16
		}
		n := nbits(c)
		sym := uint8(run<<4) | n
		b.put(uint32(ac.code[sym]), ac.size[sym])
		v := c
		if v < 0 {
			v--
		}
		b.put(uint32(v), n)
		run = 0
	}
	if run > 0 {
		b.put(uint32(ac.code[0x00]), ac.size[0x00])
	}
	return int32(blk[0])
}

// huffEncoder maps a symbol to its code (right-aligned) and code length.
type huffEncoder struct {
	code [256]uint16
	size [256]uint8
}

// newHuffEncoder derives the encoding table of a (valid) specification.
func newHuffEncoder(spec *huffSpec) *huffEncoder {
	codes, sizes, err := canonicalCodes(spec)
	if err != nil {
		panic("ljpeg: invalid built-in Huffman table: " + err.Error())
	}
	e := &huffEncoder{}
	for i := range codes {
		s := spec.symbols[i]
		e.code[s] = codes[i]
		e.size[s] = sizes[i]
	}
	return e
}

// The standard tables, derived once.
var (
	encDCLuma   = newHuffEncoder(&stdDCLuma)
	encACLuma   = newHuffEncoder(&stdACLuma)
	encDCChroma = newHuffEncoder(&stdDCChroma)
	encACChroma = newHuffEncoder(&stdACChroma)
)

// quantize writes the quantised coefficients of ws (natural order) to out.
func (z *quantizer) quantize(out *[64]int16, ws *[64]int32) {
	for i := 0; i < 64; i++ {
		t := ws[i]
		if t < 0 {
			p := (uint64(uint32(-t)+z.corr[i]) * uint64(z.recip[i])) >> z.shift[i]
			out[i] = -int16(p)
		} else {
			p := (uint64(uint32(t)+z.corr[i]) * uint64(z.recip[i])) >> z.shift[i]
			out[i] = int16(p)
		}
	}
}

// checkRGB validates an interleaved RGB image.
func checkRGB(pix []uint8, w, h int) error {
	if w < 1 || h < 1 || w > maxDim || h > maxDim {
		return fmt.Errorf("jpeg: image size %d×%d out of range 1..%d", w, h, maxDim)
	}
	if len(pix) != w*h*3 {
		return fmt.Errorf("jpeg: %d bytes for a %d×%d RGB image, want %d", len(pix), w, h, w*h*3)
	}
	return nil
}

// maxDim is the largest width or height a baseline JPEG frame can describe.
const maxDim = 65535
