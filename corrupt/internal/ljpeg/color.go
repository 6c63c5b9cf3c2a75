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

var (
	fixRY, fixGY, fixBY = fix(0.29900), fix(0.58700), fix(0.11400)
	fixRCb, fixGCb      = fix(0.16874), fix(0.33126)
	fixHalf             = fix(0.5)
	fixGCr, fixBCr      = fix(0.41869), fix(0.08131)
	crR, cbB, crG, cbG  [256]int32 // decoder tables, indexed by the sample value
)

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

// clamp255 is libjpeg's sample_range_limit for the colour converter: values below
// 0 become 0, above 255 become 255.
func clamp255(v int32) uint8 {
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// ycbcrToRGB converts one row: libjpeg's ycc_rgb_convert.
func ycbcrToRGB(dst []uint8, y, cb, cr []uint8) {
	n := len(y)
	dst = dst[:3*n]
	cb = cb[:n]
	cr = cr[:n]
	for i := 0; i < n; i++ {
		yy := int32(y[i])
		b, r := cb[i], cr[i]
		dst[3*i] = clamp255(yy + crR[r])
		dst[3*i+1] = clamp255(yy + ((cbG[b] + crG[r]) >> scaleBits))
		dst[3*i+2] = clamp255(yy + cbB[b])
	}
}
