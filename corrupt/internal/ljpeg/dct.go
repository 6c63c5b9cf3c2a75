package ljpeg

// The "islow" integer DCTs of libjpeg (jfdctint.c, jidctint.c): the Loeffler–
// Ligtenberg–Moschytz factorisation with 13-bit fixed-point constants and 2 extra
// bits of precision between the passes. Intermediate values are held in Go's
// 64-bit int, like libjpeg's JLONG on 64-bit Linux.

const (
	constBits = 13
	pass1Bits = 2
)

// FIX(x) with 13 fraction bits, rounded to nearest.
const (
	fix0298631336 = 2446
	fix0390180644 = 3196
	fix0541196100 = 4433
	fix0765366865 = 6270
	fix0899976223 = 7373
	fix1175875602 = 9633
	fix1501321110 = 12299
	fix1847759065 = 15137
	fix1961570560 = 16069
	fix2053119869 = 16819
	fix2562915447 = 20995
	fix3072711026 = 25172
)

// descale is libjpeg's DESCALE: divide by 2^n rounding half up (arithmetic shift).
func descale(x int, n uint) int { return (x + 1<<(n-1)) >> n }

// fdctIslow is jpeg_fdct_islow: an in-place forward DCT of level-shifted samples
// (sample − 128). The outputs are 8× the orthonormal DCT coefficients.
func fdctIslow(d *[64]int32) {
	// Pass 1: rows. Results are scaled up by 2^pass1Bits.
	for r := 0; r < 64; r += 8 {
		row := d[r : r+8 : r+8]
		tmp0 := int(row[0] + row[7])
		tmp7 := int(row[0] - row[7])
		tmp1 := int(row[1] + row[6])
		tmp6 := int(row[1] - row[6])
		tmp2 := int(row[2] + row[5])
		tmp5 := int(row[2] - row[5])
		tmp3 := int(row[3] + row[4])
		tmp4 := int(row[3] - row[4])

		tmp10 := tmp0 + tmp3
		tmp13 := tmp0 - tmp3
		tmp11 := tmp1 + tmp2
		tmp12 := tmp1 - tmp2

		row[0] = int32((tmp10 + tmp11) << pass1Bits)
		row[4] = int32((tmp10 - tmp11) << pass1Bits)

		z1 := (tmp12 + tmp13) * fix0541196100
		row[2] = int32(descale(z1+tmp13*fix0765366865, constBits-pass1Bits))
		row[6] = int32(descale(z1-tmp12*fix1847759065, constBits-pass1Bits))

		z1 = tmp4 + tmp7
		z2 := tmp5 + tmp6
		z3 := tmp4 + tmp6
		z4 := tmp5 + tmp7
		z5 := (z3 + z4) * fix1175875602

		tmp4 *= fix0298631336
		tmp5 *= fix2053119869
		tmp6 *= fix3072711026
		tmp7 *= fix1501321110
		z1 *= -fix0899976223
		z2 *= -fix2562915447
		z3 *= -fix1961570560
		z4 *= -fix0390180644
		z3 += z5
		z4 += z5

		row[7] = int32(descale(tmp4+z1+z3, constBits-pass1Bits))
		row[5] = int32(descale(tmp5+z2+z4, constBits-pass1Bits))
		row[3] = int32(descale(tmp6+z2+z3, constBits-pass1Bits))
		row[1] = int32(descale(tmp7+z1+z4, constBits-pass1Bits))
	}
	// Pass 2: columns. Removes the pass-1 scaling, leaves the factor 8.
	for c := 0; c < 8; c++ {
		tmp0 := int(d[c] + d[56+c])
		tmp7 := int(d[c] - d[56+c])
		tmp1 := int(d[8+c] + d[48+c])
		tmp6 := int(d[8+c] - d[48+c])
		tmp2 := int(d[16+c] + d[40+c])
		tmp5 := int(d[16+c] - d[40+c])
		tmp3 := int(d[24+c] + d[32+c])
		tmp4 := int(d[24+c] - d[32+c])

		tmp10 := tmp0 + tmp3
		tmp13 := tmp0 - tmp3
		tmp11 := tmp1 + tmp2
		tmp12 := tmp1 - tmp2

		d[c] = int32(descale(tmp10+tmp11, pass1Bits))
		d[32+c] = int32(descale(tmp10-tmp11, pass1Bits))

		z1 := (tmp12 + tmp13) * fix0541196100
		d[16+c] = int32(descale(z1+tmp13*fix0765366865, constBits+pass1Bits))
		d[48+c] = int32(descale(z1-tmp12*fix1847759065, constBits+pass1Bits))

		z1 = tmp4 + tmp7
		z2 := tmp5 + tmp6
		z3 := tmp4 + tmp6
		z4 := tmp5 + tmp7
		z5 := (z3 + z4) * fix1175875602

		tmp4 *= fix0298631336
		tmp5 *= fix2053119869
		tmp6 *= fix3072711026
		tmp7 *= fix1501321110
		z1 *= -fix0899976223
		z2 *= -fix2562915447
		z3 *= -fix1961570560
		z4 *= -fix0390180644
		z3 += z5
		z4 += z5

		d[56+c] = int32(descale(tmp4+z1+z3, constBits+pass1Bits))
		d[40+c] = int32(descale(tmp5+z2+z4, constBits+pass1Bits))
		d[24+c] = int32(descale(tmp6+z2+z3, constBits+pass1Bits))
		d[8+c] = int32(descale(tmp7+z1+z4, constBits+pass1Bits))
	}
}

// quantizer divides forward-DCT outputs by 8·q with libjpeg-turbo's reciprocal
// multiplication (jcdctmgr.c compute_reciprocal / quantize), which rounds
// |x|/divisor to nearest with its own tie and correction rules.
type quantizer struct {
	recip [64]uint32
	corr  [64]uint32
	shift [64]uint32
	zero  [64]uint32 // 2·thr−1, where |x| < thr quantises to 0
}

// newQuantizer prepares the divisors for a quantisation table in natural order.
func newQuantizer(qt *[64]uint16) *quantizer {
	z := &quantizer{}
	for i, q := range qt {
		divisor := uint32(q) << 3
		if divisor == 1 { // unreachable for islow (divisor ≥ 8), kept for fidelity
			z.recip[i], z.corr[i], z.shift[i] = 1, 0, 16
			continue
		}
		b := uint32(0) // floor(log2(divisor))
		for divisor>>(b+1) != 0 {
			b++
		}
		r := 16 + b
		fq := (uint64(1) << r) / uint64(divisor)
		fr := (uint64(1) << r) % uint64(divisor)
		c := divisor / 2
		switch {
		case fr == 0: // power of two: fq would not fit in 16 bits
			fq >>= 1
			r--
		case fr <= uint64(divisor/2):
			c++
		default:
			fq++
		}
		z.recip[i] = uint32(fq)
		z.corr[i] = c
		z.shift[i] = r
		thr := uint32(0)
		for (uint64(thr+c)*fq)>>r == 0 {
			thr++
		}
		z.zero[i] = 2*thr - 1
	}
	return z
}

// idctLimit maps the IDCT output (before the +128 level shift), masked to 10 bits,
// to a sample: libjpeg's post-IDCT range-limit table. Values within ±512 are
// clamped to 0..255; values further out wrap around, as in libjpeg.
var idctLimit [1024]uint8

func init() {
	for v := 0; v < 1024; v++ {
		switch {
		case v < 128:
			idctLimit[v] = uint8(v + 128)
		case v < 512:
			idctLimit[v] = 255
		case v < 1024-128:
			idctLimit[v] = 0
		default:
			idctLimit[v] = uint8(v - (1024 - 128))
		}
	}
}

// idctIslow is jpeg_idct_islow on dequantised coefficients in (natural order): it
// writes the 8×8 samples to dst[off:], rows stride apart.
func idctIslow(in *[64]int32, dst []uint8, off, stride int) {
	var ws [64]int32
	// Pass 1: columns, into the work array scaled up by 2^pass1Bits.
	for c := 0; c < 8; c++ {
		if in[8+c] == 0 && in[16+c] == 0 && in[24+c] == 0 && in[32+c] == 0 &&
			in[40+c] == 0 && in[48+c] == 0 && in[56+c] == 0 {
			dc := in[c] << pass1Bits
			ws[c], ws[8+c], ws[16+c], ws[24+c] = dc, dc, dc, dc
			ws[32+c], ws[40+c], ws[48+c], ws[56+c] = dc, dc, dc, dc
			continue
		}
		z2 := int(in[16+c])
		z3 := int(in[48+c])
		z1 := (z2 + z3) * fix0541196100
		tmp2 := z1 - z3*fix1847759065
		tmp3 := z1 + z2*fix0765366865

		z2 = int(in[c])
		z3 = int(in[32+c])
		tmp0 := (z2 + z3) << constBits
		tmp1 := (z2 - z3) << constBits

		tmp10 := tmp0 + tmp3
		tmp13 := tmp0 - tmp3
		tmp11 := tmp1 + tmp2
		tmp12 := tmp1 - tmp2

		tmp0 = int(in[56+c])
		tmp1 = int(in[40+c])
		tmp2 = int(in[24+c])
		tmp3 = int(in[8+c])

		z1 = tmp0 + tmp3
		z2 = tmp1 + tmp2
		z3 = tmp0 + tmp2
		z4 := tmp1 + tmp3
		z5 := (z3 + z4) * fix1175875602

		tmp0 *= fix0298631336
		tmp1 *= fix2053119869
		tmp2 *= fix3072711026
		tmp3 *= fix1501321110
		z1 *= -fix0899976223
		z2 *= -fix2562915447
		z3 *= -fix1961570560
		z4 *= -fix0390180644
		z3 += z5
		z4 += z5
		tmp0 += z1 + z3
		tmp1 += z2 + z4
		tmp2 += z2 + z3
		tmp3 += z1 + z4

		const n = constBits - pass1Bits
		ws[c] = int32(descale(tmp10+tmp3, n))
		ws[56+c] = int32(descale(tmp10-tmp3, n))
		ws[8+c] = int32(descale(tmp11+tmp2, n))
		ws[48+c] = int32(descale(tmp11-tmp2, n))
		ws[16+c] = int32(descale(tmp12+tmp1, n))
		ws[40+c] = int32(descale(tmp12-tmp1, n))
		ws[24+c] = int32(descale(tmp13+tmp0, n))
		ws[32+c] = int32(descale(tmp13-tmp0, n))
	}
	// Pass 2: rows, descaled by 8·2^pass1Bits and range-limited.
	const n = constBits + pass1Bits + 3
	for r := 0; r < 8; r++ {
		w := ws[r*8 : r*8+8 : r*8+8]
		o := dst[off+r*stride : off+r*stride+8 : off+r*stride+8]
		if w[1] == 0 && w[2] == 0 && w[3] == 0 && w[4] == 0 && w[5] == 0 && w[6] == 0 && w[7] == 0 {
			v := idctLimit[descale(int(w[0]), pass1Bits+3)&1023]
			o[0], o[1], o[2], o[3], o[4], o[5], o[6], o[7] = v, v, v, v, v, v, v, v
			continue
		}
		z2 := int(w[2])
		z3 := int(w[6])
		z1 := (z2 + z3) * fix0541196100
		tmp2 := z1 - z3*fix1847759065
		tmp3 := z1 + z2*fix0765366865

		tmp0 := (int(w[0]) + int(w[4])) << constBits
		tmp1 := (int(w[0]) - int(w[4])) << constBits

		tmp10 := tmp0 + tmp3
		tmp13 := tmp0 - tmp3
		tmp11 := tmp1 + tmp2
		tmp12 := tmp1 - tmp2

		tmp0 = int(w[7])
		tmp1 = int(w[5])
		tmp2 = int(w[3])
		tmp3 = int(w[1])

		z1 = tmp0 + tmp3
		z2 = tmp1 + tmp2
		z3 = tmp0 + tmp2
		z4 := tmp1 + tmp3
		z5 := (z3 + z4) * fix1175875602

		tmp0 *= fix0298631336
		tmp1 *= fix2053119869
		tmp2 *= fix3072711026
		tmp3 *= fix1501321110
		z1 *= -fix0899976223
		z2 *= -fix2562915447
		z3 *= -fix1961570560
		z4 *= -fix0390180644
		z3 += z5
		z4 += z5
		tmp0 += z1 + z3
		tmp1 += z2 + z4
		tmp2 += z2 + z3
		tmp3 += z1 + z4

		o[0] = idctLimit[descale(tmp10+tmp3, n)&1023]
		o[7] = idctLimit[descale(tmp10-tmp3, n)&1023]
		o[1] = idctLimit[descale(tmp11+tmp2, n)&1023]
		o[6] = idctLimit[descale(tmp11-tmp2, n)&1023]
		o[2] = idctLimit[descale(tmp12+tmp1, n)&1023]
		o[5] = idctLimit[descale(tmp12-tmp1, n)&1023]
		o[3] = idctLimit[descale(tmp13+tmp0, n)&1023]
		o[4] = idctLimit[descale(tmp13-tmp0, n)&1023]
	}
}

// idctDC is idctIslow for a block whose AC coefficients are all zero: both passes
// take their all-zero shortcuts, giving one value for the whole block.
func idctDC(dc int32, dst []uint8, off, stride int) {
	v := idctLimit[descale(int(dc<<pass1Bits), pass1Bits+3)&1023]
	for r := 0; r < 8; r++ {
		o := dst[off+r*stride : off+r*stride+8 : off+r*stride+8]
		o[0], o[1], o[2], o[3], o[4], o[5], o[6], o[7] = v, v, v, v, v, v, v, v
	}
}
