// Package ljpeg is a JPEG round trip and a baseline/progressive JPEG decoder whose
// arithmetic reproduces libjpeg-turbo 2.1 bit for bit, as used by Pillow 9.4 (JPEG
// corruption of CIFAR-10-C / ImageNet-C) and OpenCV 4.6 (frost textures).
//
// The round trip compresses as Pillow's Image.save(f, "JPEG", quality=q) does for an
// RGB image (baseline, the standard quantisation tables scaled by quality, YCbCr with
// 4:2:0 chroma subsampling, libjpeg's fixed-point colour conversion, h2v2
// downsampling with its alternating rounding bias, the "islow" integer forward DCT
// with libjpeg-turbo's reciprocal quantisation) and decompresses the result.
//
// The decoder reproduces libjpeg-turbo's default decompression: the "islow" integer
// inverse DCT with its range-limit table, fancy (triangle) chroma upsampling, and
// the fixed-point YCbCr→RGB conversion. It reads sequential and progressive Huffman
// JPEGs with 8-bit samples, one or three components, any integral sampling factors
// and restart markers; malformed input yields an error, never a panic. Like
// libjpeg, it decodes entropy-coded data cut short by a marker or the end of the
// file as if zero bits followed, and accepts a missing EOI. Not reproduced:
// libjpeg's block smoothing of progressive files whose low-frequency coefficients
// never receive their final refinement scan (complete files, as every encoder
// writes them, are exact), arithmetic coding, 12-bit and lossless JPEG, CMYK.
//
// RoundTripTo computes the decoded pixels without the entropy coding, which is
// lossless and can be skipped. The tests hold the full encoder (standard Huffman
// tables, JFIF headers), which writes Pillow's bytes exactly, and check RoundTripTo
// against decoding its output.
package ljpeg
