package ljpeg

// Fixed-point colour conversion of libjpeg (jccolor.c / jdcolor.c): 16 fraction
// bits, coefficients rounded to nearest ("FIX"), as in the JFIF definition of YCbCr.

const (
	scaleBits = 16
	oneHalf   = 1 << (scaleBits - 1)
	cbcrOff   = 128 << scaleBits
)

// fix is libjpeg's FIX(x): x in 16.16 fixed point, rounded to nearest.
func fix(x float64) int32 { return int32(x*(1<<scaleBits) + 0.5) }

// FIX(x) of the RGB→YCbCr coefficients (checked against fix in the tests).
const (
	fixRY   = 19595 // FIX(0.29900)
	fixGY   = 38470 // FIX(0.58700)
	fixBY   = 7471  // FIX(0.11400)
	fixRCb  = 11059 // FIX(0.16874)
	fixGCb  = 21709 // FIX(0.33126)
	fixHalf = 32768 // FIX(0.5)
	fixGCr  = 27439 // FIX(0.41869)
	fixBCr  = 5329  // FIX(0.08131)
)

// Decoder tables, indexed by the Cb or Cr sample (jdcolor.c build_ycc_rgb_table).
var crR, cbB, crG, cbG [256]int32

func init() {
	for i := 0; i < 256; i++ {
		x := int32(i - 128)
		crR[i] = (fix(1.40200)*x + oneHalf) >> scaleBits
		cbB[i] = (fix(1.77200)*x + oneHalf) >> scaleBits
		crG[i] = -fix(0.71414) * x
		cbG[i] = -fix(0.34414)*x + oneHalf
	}
}

// rgbToY, rgbToCb and rgbToCr are libjpeg's rgb_ycc_convert for one pixel.
func rgbToY(r, g, b int32) uint8 {
	return uint8((fixRY*r + fixGY*g + fixBY*b + oneHalf) >> scaleBits)
}

func rgbToCb(r, g, b int32) uint8 {
	return uint8((-fixRCb*r - fixGCb*g + fixHalf*b + cbcrOff + oneHalf - 1) >> scaleBits)
}

func rgbToCr(r, g, b int32) uint8 {
	return uint8((fixHalf*r - fixGCr*g - fixBCr*b + cbcrOff + oneHalf - 1) >> scaleBits)
}

// rangeLimit[v+rangeOff] is libjpeg's sample_range_limit for the colour
// converter: v clamped to 0..255, for v in −384..639 (the converter's outputs
// lie within −227..480).
var rangeLimit [1024]uint8

const rangeOff = 384

func init() {
	for i := range rangeLimit {
		rangeLimit[i] = uint8(max(0, min(255, i-rangeOff)))
	}
}

// ycbcrToRGB converts one row: libjpeg's ycc_rgb_convert.
func ycbcrToRGB(dst []uint8, y, cb, cr []uint8) {
	n := len(y)
	dst = dst[:3*n]
	cb = cb[:n]
	cr = cr[:n]
	for i := 0; i < n; i++ {
		yy := int32(y[i]) + rangeOff
		b, r := cb[i], cr[i]
		o := dst[3*i : 3*i+3 : 3*i+3]
		o[0] = rangeLimit[(yy+crR[r])&1023]
		o[1] = rangeLimit[(yy+((cbG[b]+crG[r])>>scaleBits))&1023]
		o[2] = rangeLimit[(yy+cbB[b])&1023]
	}
}
