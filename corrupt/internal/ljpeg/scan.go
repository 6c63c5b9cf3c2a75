package ljpeg

import (
	"errors"
	"fmt"
)

// bitReader reads entropy-coded bits MSB first, removing stuffed zero bytes. At a
// marker (or the end of the data) it supplies zero bits without consuming
// anything, as libjpeg does; the scan decoder never runs out of input.
type bitReader struct {
	data   []byte
	pos    int
	acc    uint64 // bits, left-aligned
	n      uint   // valid bits in acc
	marker bool   // a marker (at pos) or the end of data was reached
}

func (br *bitReader) fill() {
	for br.n <= 56 {
		var b byte
		if !br.marker {
			if br.pos >= len(br.data) {
				br.marker = true
			} else if b = br.data[br.pos]; b != 0xFF {
				br.pos++
			} else {
				// 0xFF: fill bytes, then 0x00 (a stuffed 0xFF) or a marker.
				p := br.pos + 1
				for p < len(br.data) && br.data[p] == 0xFF {
					p++
				}
				if p < len(br.data) && br.data[p] == 0 {
					br.pos = p + 1
				} else {
					br.marker = true
					b = 0
				}
			}
		}
		br.acc |= uint64(b) << (56 - br.n)
		br.n += 8
	}
}

func (br *bitReader) bits(k uint) int32 {
	if k == 0 {
		return 0
	}
	if br.n < k {
		br.fill()
	}
	v := int32(br.acc >> (64 - k))
	br.acc <<= k
	br.n -= k
	return v
}

func (br *bitReader) bit() bool { return br.bits(1) != 0 }

// receiveExtend reads s magnitude bits and sign-extends them (JPEG F.2.2.1).
func (br *bitReader) receiveExtend(s int) int32 {
	if s == 0 {
		return 0
	}
	v := br.bits(uint(s))
	if v < 1<<(s-1) {
		v += -1<<s + 1
	}
	return v
}

var errBadCode = errors.New("corrupt data: bad Huffman code")

// decode reads one Huffman-coded symbol.
func (br *bitReader) decode(t *huffDecoder) (int, error) {
	if br.n < 16 {
		br.fill()
	}
	if e := t.lut[br.acc>>(64-lookBits)]; e != 0 {
		l := uint(e >> 8)
		br.acc <<= l
		br.n -= l
		return int(e & 0xFF), nil
	}
	for l := lookBits + 1; l <= 16; l++ {
		code := int32(br.acc >> (64 - uint(l)))
		if code <= t.maxcode[l] {
			br.acc <<= uint(l)
			br.n -= uint(l)
			return int(t.symbols[(t.valoff[l]+code)&0xFF]), nil
		}
	}
	return 0, errBadCode
}

// restart handles the end of a restart interval: the bits left in the current
// byte are discarded and an RSTn marker is consumed if it is the next marker.
// Other markers are left in place (decoding goes on with zero bits, as libjpeg's
// resynchronisation does for them).
func (br *bitReader) restart() {
	br.acc, br.n = 0, 0
	if !br.marker {
		// Skip any unread bytes up to the next marker.
		for br.pos < len(br.data) {
			if br.data[br.pos] == 0xFF && br.pos+1 < len(br.data) &&
				br.data[br.pos+1] != 0 && br.data[br.pos+1] != 0xFF {
				break
			}
			br.pos++
		}
		br.marker = true
	}
	if br.pos+1 < len(br.data) && br.data[br.pos] == 0xFF {
		p := br.pos + 1
		for p < len(br.data) && br.data[p] == 0xFF {
			p++
		}
		if p < len(br.data) && br.data[p] >= 0xD0 && br.data[p] <= 0xD7 {
			br.pos = p + 1
			br.marker = false
		}
	}
}

// scan is the header of one SOS segment.
type scan struct {
	comps          []*component
	ss, se, ah, al int
}

func (d *decoder) readScan() error {
	if !d.frame {
		return errors.New("SOS before SOF")
	}
	p, err := d.segment()
	if err != nil {
		return err
	}
	if len(p) < 1 {
		return errors.New("short SOS segment")
	}
	ns := int(p[0])
	if ns < 1 || ns > len(d.comps) || len(p) != 4+2*ns {
		return errors.New("bad SOS segment")
	}
	sc := scan{comps: make([]*component, ns)}
	blocks := 0
	for i := 0; i < ns; i++ {
		id, tables := p[1+2*i], p[2+2*i]
		var c *component
		for j := range d.comps {
			if d.comps[j].id == id {
				c = &d.comps[j]
			}
		}
		if c == nil {
			return fmt.Errorf("scan names unknown component %d", id)
		}
		for _, o := range sc.comps[:i] {
			if o == c {
				return fmt.Errorf("scan names component %d twice", id)
			}
		}
		c.td, c.ta = int(tables>>4), int(tables&15)
		if c.td > 3 || c.ta > 3 {
			return errors.New("bad Huffman table selector")
		}
		sc.comps[i] = c
		blocks += c.h * c.v
	}
	if ns > 1 && blocks > 10 {
		return errors.New("too many blocks per MCU")
	}
	sc.ss, sc.se = int(p[1+2*ns]), int(p[2+2*ns])
	sc.ah, sc.al = int(p[3+2*ns]>>4), int(p[3+2*ns]&15)
	if d.progressive {
		bad := sc.ss > sc.se || sc.se > 63 || sc.ah > 13 || sc.al > 13
		if sc.ss == 0 && sc.se != 0 || sc.ss > 0 && ns != 1 {
			bad = true
		}
		if bad {
			return fmt.Errorf("bad progressive scan parameters Ss=%d Se=%d Ah=%d Al=%d", sc.ss, sc.se, sc.ah, sc.al)
		}
	} else {
		sc.ss, sc.se, sc.ah, sc.al = 0, 63, 0, 0
	}
	// Tables needed by this scan; missing tables 0 and 1 default to the standard
	// ones (libjpeg-turbo does this for Motion-JPEG streams).
	for _, c := range sc.comps {
		if c.qt == nil { // quantisation tables are latched at a component's first scan
			if !d.qtSet[c.tq] {
				return fmt.Errorf("quantisation table %d not defined", c.tq)
			}
			q := d.qt[c.tq]
			c.qt = &q
		}
		needDC := sc.ss == 0 && sc.ah == 0
		needAC := sc.se > 0
		if needDC && d.dcTab[c.td] == nil {
			if err := d.defaultTable(c.td, true); err != nil {
				return err
			}
		}
		if needAC && d.acTab[c.ta] == nil {
			if err := d.defaultTable(c.ta, false); err != nil {
				return err
			}
		}
		c.pred = 0
	}
	d.eobrun = 0
	br := &bitReader{data: d.data, pos: d.pos}
	if err := d.decodeScan(&sc, br); err != nil {
		return err
	}
	d.pos = br.pos
	d.scans++
	return nil
}

func (d *decoder) defaultTable(id int, dc bool) error {
	var spec *huffSpec
	switch {
	case id == 0 && dc:
		spec = &stdDCLuma
	case id == 0:
		spec = &stdACLuma
	case id == 1 && dc:
		spec = &stdDCChroma
	case id == 1:
		spec = &stdACChroma
	default:
		return fmt.Errorf("Huffman table %d not defined", id)
	}
	t, err := newHuffDecoder(spec, dc)
	if err != nil {
		return err
	}
	if dc {
		d.dcTab[id] = t
	} else {
		d.acTab[id] = t
	}
	return nil
}

// decodeScan decodes the entropy-coded data of one scan into the coefficients.
func (d *decoder) decodeScan(sc *scan, br *bitReader) error {
	var mcus, mcuW int
	if len(sc.comps) == 1 {
		c := sc.comps[0]
		mcuW = c.cbw
		mcus = c.cbw * c.cbh
	} else {
		mcuW = d.mcusX
		mcus = d.mcusX * d.mcusY
	}
	for m := 0; m < mcus; m++ {
		if d.restart > 0 && m > 0 && m%d.restart == 0 {
			br.restart()
			for _, c := range sc.comps {
				c.pred = 0
			}
			d.eobrun = 0
		}
		mx, my := m%mcuW, m/mcuW
		for _, c := range sc.comps {
			if len(sc.comps) == 1 {
				if err := d.decodeBlock(sc, c, br, my*c.bw+mx); err != nil {
					return err
				}
				continue
			}
			for j := 0; j < c.v; j++ {
				for i := 0; i < c.h; i++ {
					b := (my*c.v+j)*c.bw + mx*c.h + i
					if err := d.decodeBlock(sc, c, br, b); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

func (d *decoder) decodeBlock(sc *scan, c *component, br *bitReader, b int) error {
	blk := c.coef[b*64 : b*64+64 : b*64+64]
	switch {
	case !d.progressive:
		return d.blockSequential(blk, c, br)
	case sc.ss == 0 && sc.ah == 0:
		s, err := br.decode(d.dcTab[c.td])
		if err != nil {
			return err
		}
		c.pred += br.receiveExtend(s)
		blk[0] = int16(c.pred << sc.al)
	case sc.ss == 0:
		if br.bit() {
			blk[0] |= int16(1) << sc.al
		}
	case sc.ah == 0:
		return d.blockACFirst(blk, sc, c, br)
	default:
		return d.blockACRefine(blk, sc, c, br)
	}
	return nil
}

func (d *decoder) blockSequential(blk []int16, c *component, br *bitReader) error {
	s, err := br.decode(d.dcTab[c.td])
	if err != nil {
		return err
	}
	c.pred += br.receiveExtend(s)
	blk[0] = int16(c.pred)
	ac := d.acTab[c.ta]
	for k := 1; k < 64; k++ {
		rs, err := br.decode(ac)
		if err != nil {
			return err
		}
		r, s := rs>>4, rs&15
		if s != 0 {
			k += r
			blk[zigzag[k]] = int16(br.receiveExtend(s))
		} else {
			if r != 15 {
				break
			}
			k += 15
		}
	}
	return nil
}

func (d *decoder) blockACFirst(blk []int16, sc *scan, c *component, br *bitReader) error {
	if d.eobrun > 0 {
		d.eobrun--
		return nil
	}
	ac := d.acTab[c.ta]
	for k := sc.ss; k <= sc.se; k++ {
		rs, err := br.decode(ac)
		if err != nil {
			return err
		}
		r, s := rs>>4, rs&15
		if s != 0 {
			k += r
			blk[zigzag[k]] = int16(br.receiveExtend(s) << sc.al)
		} else {
			if r != 15 {
				d.eobrun = 1<<r - 1
				if r > 0 {
					d.eobrun += int(br.bits(uint(r)))
				}
				break
			}
			k += 15
		}
	}
	return nil
}

func (d *decoder) blockACRefine(blk []int16, sc *scan, c *component, br *bitReader) error {
	p1 := int16(1) << sc.al
	m1 := int16(-1) << sc.al
	refine := func(v *int16) {
		if br.bit() && *v&p1 == 0 {
			if *v >= 0 {
				*v += p1
			} else {
				*v += m1
			}
		}
	}
	k := sc.ss
	if d.eobrun == 0 {
		ac := d.acTab[c.ta]
		for ; k <= sc.se; k++ {
			rs, err := br.decode(ac)
			if err != nil {
				return err
			}
			r, s := rs>>4, rs&15
			var val int16
			if s != 0 { // a new coefficient of magnitude 1 (s should be 1)
				if br.bit() {
					val = p1
				} else {
					val = m1
				}
			} else if r != 15 {
				d.eobrun = 1 << r
				if r > 0 {
					d.eobrun += int(br.bits(uint(r)))
				}
				break
			}
			// Skip r zero coefficients, refining the nonzero ones passed over.
			for k <= sc.se {
				v := &blk[zigzag[k]]
				if *v != 0 {
					refine(v)
				} else {
					if r == 0 {
						break
					}
					r--
				}
				k++
			}
			if val != 0 {
				blk[zigzag[k]] = val
			}
		}
	}
	if d.eobrun > 0 {
		for ; k <= sc.se; k++ {
			if v := &blk[zigzag[k]]; *v != 0 {
				refine(v)
			}
		}
		d.eobrun--
	}
	return nil
}
