package corrupt

import (
	"fmt"

	"github.com/divres/divres/corrupt/internal/ljpeg"
)

// jpeg_compression (../shared/corrupt/PARAMS.md §4, ci 14): Pillow's save('JPEG',
// quality=q) followed by Pillow's decode, both libjpeg-turbo 2.1 with Pillow's
// defaults (baseline, YCbCr 4:2:0, standard tables, islow DCTs, fancy upsampling).
// ljpeg reproduces that codec bit for bit; the entropy coding, being lossless, is
// skipped.

var jpegQuality = sevParams[int]{
	cifar:    [5]int{80, 65, 58, 50, 40},
	imagenet: [5]int{25, 18, 15, 10, 7},
}

func init() {
	register(&Corruption{Name: "jpeg_compression", Index: 14, Family: "digital", Benchmark: true,
		Random: false, Apply: jpegCompression})
}

// jpegCompression compresses and decompresses an RGB image at the severity's
// quality. Any size works (no multiple of 16 needed). A grey image (R = G = B)
// comes back grey, as with libjpeg: its chroma is exactly neutral.
func jpegCompression(src Image, sev int, _ RNG, opt *Options) Image {
	q := jpegQuality.get(paramsOf(opt), sev)
	out := NewImage(src.H, src.W, src.C)
	if src.C == 1 { // not reached through Apply, which expands grey to RGB first
		rgb := GrayToRGB(src)
		res := jpegCompression(rgb, sev, nil, opt)
		for i := range out.Pix {
			out.Pix[i] = res.Pix[3*i]
		}
		return out
	}
	if err := ljpeg.RoundTripTo(out.Pix, src.Pix, src.W, src.H, q); err != nil {
		panic(fmt.Sprintf("jpeg_compression: %v", err)) // Apply turns this into an error
	}
	return out
}
