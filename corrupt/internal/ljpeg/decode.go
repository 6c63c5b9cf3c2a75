package ljpeg

import (
	"errors"
	"fmt"
)

// MaxPixels bounds the frame size Decode accepts (width·height), so that a corrupt
// or hostile header cannot make it allocate without limit.
var MaxPixels = 1 << 27

// Decode decompresses a JPEG as libjpeg-turbo 2.1 does with its default settings
// (islow IDCT, fancy upsampling), which is what Pillow 9.4 and OpenCV 4.6 use. It
// reads baseline, extended sequential and progressive Huffman-coded JPEGs with
// 8-bit samples and one or three components. The result is interleaved RGB
// (channels = 3) or grey (channels = 1), row-major.
func Decode(data []byte) (pix []uint8, w, h, channels int, err error) {
	d := &decoder{data: data}
	if err := d.parse(); err != nil {
		return nil, 0, 0, 0, fmt.Errorf("jpeg: %w", err)
	}
	pix, channels, err = d.output()
	if err != nil {
		return nil, 0, 0, 0, fmt.Errorf("jpeg: %w", err)
	}
	return pix, d.w, d.h, channels, nil
}

// component is one colour component of the frame.
type component struct {
	id       uint8
	h, v     int // sampling factors
	tq       int // quantisation table selector
	qt       *[64]uint16
	bw, bh   int     // blocks stored per row and column (a whole number of MCUs)
	cbw, cbh int     // blocks covering the component: ceil(cw/8), ceil(ch/8)
	cw, ch   int     // samples: libjpeg's downsampled_width/height
	coef     []int16 // bw·bh blocks of 64 coefficients, natural order
	pred     int32   // DC predictor
	td, ta   int     // Huffman table selectors of the current scan
}

type decoder struct {
	data []byte
	pos  int

	qt      [4][64]uint16
	qtSet   [4]bool
	dcTab   [4]*huffDecoder
	acTab   [4]*huffDecoder
	restart int // restart interval in MCUs; 0 = none

	frame       bool
	progressive bool
	w, h        int
	comps       []component
	hmax, vmax  int
	mcusX       int
	mcusY       int

	jfif           bool
	adobe          bool
	adobeTransform int
	scans          int
	eobrun         int
}

var errTruncated = errors.New("unexpected end of data")

func (d *decoder) u16() (int, error) {
	if d.pos+2 > len(d.data) {
		return 0, errTruncated
	}
	v := int(d.data[d.pos])<<8 | int(d.data[d.pos+1])
	d.pos += 2
	return v, nil
}

// segment reads a marker segment's length and returns its payload.
func (d *decoder) segment() ([]byte, error) {
	n, err := d.u16()
	if err != nil {
		return nil, err
	}
	if n < 2 || d.pos+n-2 > len(d.data) {
		return nil, fmt.Errorf("bad segment length %d", n)
	}
	p := d.data[d.pos : d.pos+n-2]
	d.pos += n - 2
	return p, nil
}

// nextMarker skips to the next marker, as libjpeg's next_marker does (stray bytes
// and 0xFF fill bytes are skipped), and returns its code; ok is false at the end
// of the data.
func (d *decoder) nextMarker() (int, bool) {
	for d.pos < len(d.data) {
		if d.data[d.pos] != 0xFF {
			d.pos++
			continue
		}
		for d.pos < len(d.data) && d.data[d.pos] == 0xFF {
			d.pos++
		}
		if d.pos >= len(d.data) {
			break
		}
		m := int(d.data[d.pos])
		d.pos++
		if m != 0 {
			return m, true
		}
	}
	return 0, false
}

func (d *decoder) parse() error {
	if len(d.data) < 2 || d.data[0] != 0xFF || d.data[1] != 0xD8 {
		return errors.New("not a JPEG file (no SOI marker)")
	}
	d.pos = 2
	for {
		m, ok := d.nextMarker()
		if !ok {
			if d.scans == 0 {
				return errors.New("no image data before end of file")
			}
			return nil // missing EOI: libjpeg only warns
		}
		switch {
		case m == 0xD9: // EOI
			if d.scans == 0 {
				return errors.New("no image data before EOI")
			}
			return nil
		case m == 0xC0 || m == 0xC1 || m == 0xC2:
			if err := d.readSOF(m == 0xC2); err != nil {
				return err
			}
		case m == 0xC3 || (m >= 0xC5 && m <= 0xCF && m != 0xC8 && m != 0xCC):
			return fmt.Errorf("unsupported JPEG process (SOF%d)", m-0xC0)
		case m == 0xC4:
			if err := d.readDHT(); err != nil {
				return err
			}
		case m == 0xDB:
			if err := d.readDQT(); err != nil {
				return err
			}
		case m == 0xDD:
			p, err := d.segment()
			if err != nil {
				return err
			}
			if len(p) != 2 {
				return errors.New("bad DRI segment")
			}
			d.restart = int(p[0])<<8 | int(p[1])
		case m == 0xDA:
			if err := d.readScan(); err != nil {
				return err
			}
		case m == 0xD8:
			return errors.New("unexpected SOI marker")
		case m >= 0xD0 && m <= 0xD7, m == 0x01: // standalone markers outside a scan
		case m == 0xE0 || m == 0xEE:
			p, err := d.segment()
			if err != nil {
				return err
			}
			if m == 0xE0 && len(p) >= 14 && string(p[:5]) == "JFIF\x00" {
				d.jfif = true
			}
			if m == 0xEE && len(p) >= 12 && string(p[:5]) == "Adobe" {
				d.adobe = true
				d.adobeTransform = int(p[11])
			}
		default: // APPn, COM and other segments are skipped
			if _, err := d.segment(); err != nil {
				return err
			}
		}
	}
}

func (d *decoder) readDQT() error {
	p, err := d.segment()
	if err != nil {
		return err
	}
	for len(p) > 0 {
		pq, tq := int(p[0]>>4), int(p[0]&15)
		if tq > 3 || pq > 1 {
			return fmt.Errorf("bad DQT table %d precision %d", tq, pq)
		}
		n := 64 * (pq + 1)
		if len(p) < 1+n {
			return errors.New("short DQT segment")
		}
		for k := 0; k < 64; k++ {
			v := uint16(p[1+k])
			if pq == 1 {
				v = uint16(p[1+2*k])<<8 | uint16(p[2+2*k])
			}
			d.qt[tq][zigzag[k]] = v
		}
		d.qtSet[tq] = true
		p = p[1+n:]
	}
	return nil
}

func (d *decoder) readDHT() error {
	p, err := d.segment()
	if err != nil {
		return err
	}
	for len(p) > 0 {
		if len(p) < 17 {
			return errors.New("short DHT segment")
		}
		tc, th := int(p[0]>>4), int(p[0]&15)
		if tc > 1 || th > 3 {
			return fmt.Errorf("bad DHT table class %d id %d", tc, th)
		}
		var spec huffSpec
		copy(spec.counts[:], p[1:17])
		total := 0
		for _, c := range spec.counts {
			total += int(c)
		}
		if total > 256 || len(p) < 17+total {
			return errors.New("bad DHT segment length")
		}
		spec.symbols = p[17 : 17+total]
		t, err := newHuffDecoder(&spec, tc == 0)
		if err != nil {
			return err
		}
		if tc == 0 {
			d.dcTab[th] = t
		} else {
			d.acTab[th] = t
		}
		p = p[17+total:]
	}
	return nil
}

func (d *decoder) readSOF(progressive bool) error {
	if d.frame {
		return errors.New("more than one frame")
	}
	p, err := d.segment()
	if err != nil {
		return err
	}
	if len(p) < 6 {
		return errors.New("short SOF segment")
	}
	if p[0] != 8 {
		return fmt.Errorf("unsupported sample precision %d", p[0])
	}
	d.h = int(p[1])<<8 | int(p[2])
	d.w = int(p[3])<<8 | int(p[4])
	nc := int(p[5])
	if d.w == 0 || d.h == 0 {
		return fmt.Errorf("unsupported image size %d×%d", d.w, d.h)
	}
	if d.w*d.h > MaxPixels {
		return fmt.Errorf("image %d×%d exceeds the %d-pixel limit", d.w, d.h, MaxPixels)
	}
	if nc != 1 && nc != 3 {
		return fmt.Errorf("unsupported number of components %d", nc)
	}
	if len(p) != 6+3*nc {
		return errors.New("bad SOF segment length")
	}
	d.comps = make([]component, nc)
	d.hmax, d.vmax = 1, 1
	for i := range d.comps {
		c := &d.comps[i]
		c.id = p[6+3*i]
		c.h, c.v = int(p[7+3*i]>>4), int(p[7+3*i]&15)
		c.tq = int(p[8+3*i])
		if c.h < 1 || c.h > 4 || c.v < 1 || c.v > 4 {
			return fmt.Errorf("bad sampling factors %d×%d", c.h, c.v)
		}
		if c.tq > 3 {
			return fmt.Errorf("bad quantisation table selector %d", c.tq)
		}
		d.hmax, d.vmax = max(d.hmax, c.h), max(d.vmax, c.v)
	}
	d.mcusX = (d.w + 8*d.hmax - 1) / (8 * d.hmax)
	d.mcusY = (d.h + 8*d.vmax - 1) / (8 * d.vmax)
	for i := range d.comps {
		c := &d.comps[i]
		if d.hmax%c.h != 0 || d.vmax%c.v != 0 {
			return errors.New("fractional sampling factors are not supported")
		}
		c.cw = (d.w*c.h + d.hmax - 1) / d.hmax
		c.ch = (d.h*c.v + d.vmax - 1) / d.vmax
		c.cbw, c.cbh = (c.cw+7)/8, (c.ch+7)/8
		c.bw, c.bh = d.mcusX*c.h, d.mcusY*c.v
		c.coef = make([]int16, c.bw*c.bh*64)
	}
	d.frame = true
	d.progressive = progressive
	return nil
}

// output runs the inverse DCT, upsampling and colour conversion.
func (d *decoder) output() ([]uint8, int, error) {
	planes := make([]plane, len(d.comps))
	var deq [64]int32
	for i := range d.comps {
		c := &d.comps[i]
		if c.qt == nil { // component never scanned: libjpeg outputs it as zero coefficients
			c.qt = &d.qt[c.tq]
		}
		for k := 0; k < 64; k++ {
			deq[k] = int32(int16(c.qt[k])) // libjpeg-turbo keeps multipliers as 16-bit
		}
		stride := c.bw * 8
		pl := plane{pix: make([]uint8, stride*c.cbh*8), stride: stride, w: c.cw, h: c.ch,
			hExp: d.hmax / c.h, vExp: d.vmax / c.v}
		var blk [64]int32
		for by := 0; by < c.cbh; by++ {
			for bx := 0; bx < c.cbw; bx++ {
				src := c.coef[(by*c.bw+bx)*64 : (by*c.bw+bx)*64+64]
				for k := range blk {
					blk[k] = int32(src[k]) * deq[k]
				}
				idctIslow(&blk, pl.pix, by*8*stride+bx*8, stride)
			}
		}
		planes[i] = pl
	}
	w, h := d.w, d.h
	if len(planes) == 1 {
		out := make([]uint8, w*h)
		for y := 0; y < h; y++ {
			planes[0].upsampleRow(out[y*w:(y+1)*w], y, nil)
		}
		return out, 1, nil
	}
	out := make([]uint8, w*h*3)
	rows := make([]uint8, 3*w)
	cs := make([]int32, w)
	r0, r1, r2 := rows[:w], rows[w:2*w], rows[2*w:]
	rgb := d.colorSpaceRGB()
	for y := 0; y < h; y++ {
		planes[0].upsampleRow(r0, y, cs)
		planes[1].upsampleRow(r1, y, cs)
		planes[2].upsampleRow(r2, y, cs)
		o := out[y*w*3 : (y+1)*w*3]
		if rgb {
			for x := 0; x < w; x++ {
				o[3*x], o[3*x+1], o[3*x+2] = r0[x], r1[x], r2[x]
			}
		} else {
			ycbcrToRGB(o, r0, r1, r2)
		}
	}
	return out, 3, nil
}

// colorSpaceRGB tells whether a 3-component image is stored as RGB rather than
// YCbCr, by libjpeg's rules: a JFIF marker means YCbCr; else an Adobe marker's
// transform flag decides (0 = RGB); else component ids 'R','G','B' mean RGB.
func (d *decoder) colorSpaceRGB() bool {
	if d.jfif {
		return false
	}
	if d.adobe {
		return d.adobeTransform == 0
	}
	return d.comps[0].id == 'R' && d.comps[1].id == 'G' && d.comps[2].id == 'B'
}
