package ljpeg

import (
	"errors"
	"fmt"
)

// canonicalCodes assigns the canonical codes of a table (JPEG Annex C): codes of
// each length are consecutive, and the first code of length l+1 is twice the code
// after the last code of length l. Like libjpeg, it rejects tables whose codes of
// some length would include the all-ones code.
func canonicalCodes(spec *huffSpec) (codes []uint16, sizes []uint8, err error) {
	total := 0
	for _, c := range spec.counts {
		total += int(c)
	}
	if total > 256 || total > len(spec.symbols) {
		return nil, nil, errors.New("bad Huffman table: too many codes")
	}
	codes = make([]uint16, 0, total)
	sizes = make([]uint8, 0, total)
	code := uint32(0)
	for l := 1; l <= 16; l++ {
		for i := 0; i < int(spec.counts[l-1]); i++ {
			codes = append(codes, uint16(code))
			sizes = append(sizes, uint8(l))
			code++
		}
		if code >= 1<<l { // the all-ones code is reserved (libjpeg rule)
			return nil, nil, errors.New("bad Huffman table: code space overflow")
		}
		code <<= 1
	}
	return codes, sizes, nil
}

const lookBits = 9 // bits resolved by one table lookup when decoding

// huffDecoder decodes one Huffman table: a lookup table for codes of up to
// lookBits bits and canonical-code limits for longer ones.
type huffDecoder struct {
	// lut[peek] is length<<8 | symbol for codes of ≤ lookBits bits, 0 otherwise.
	lut     [1 << lookBits]uint16
	maxcode [18]int32 // largest code of each length, −1 if none; maxcode[17] sentinel
	valoff  [17]int32 // index into symbols of the first code of each length, minus that code
	symbols [256]uint8
}

// newHuffDecoder validates a table read from a DHT segment and derives its
// decoding tables. For DC tables, symbols above 15 are rejected, as libjpeg does.
func newHuffDecoder(spec *huffSpec, isDC bool) (*huffDecoder, error) {
	codes, sizes, err := canonicalCodes(spec)
	if err != nil {
		return nil, err
	}
	d := &huffDecoder{}
	copy(d.symbols[:], spec.symbols[:len(codes)])
	if isDC {
		for _, s := range d.symbols[:len(codes)] {
			if s > 15 {
				return nil, fmt.Errorf("bad Huffman table: DC symbol %d", s)
			}
		}
	}
	p := 0
	for l := 1; l <= 16; l++ {
		n := int(spec.counts[l-1])
		if n == 0 {
			d.maxcode[l] = -1
			continue
		}
		d.valoff[l] = int32(p) - int32(codes[p])
		p += n
		d.maxcode[l] = int32(codes[p-1])
	}
	d.maxcode[17] = 0x7fffffff
	for i := range codes {
		l := int(sizes[i])
		if l > lookBits {
			break
		}
		shift := lookBits - l
		base := int(codes[i]) << shift
		v := uint16(l)<<8 | uint16(d.symbols[i])
		for j := 0; j < 1<<shift; j++ {
			d.lut[base+j] = v
		}
	}
	return d, nil
}
