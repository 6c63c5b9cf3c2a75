package ljpeg

// plane is one component's samples: w×h meaningful samples (libjpeg's
// downsampled_width/height) in rows stride apart; rows and columns beyond w×h may
// exist (block padding) and are never read by the upsamplers.
type plane struct {
	pix    []uint8
	stride int
	w, h   int
	hExp   int // horizontal expansion factor to full resolution (Hmax/h)
	vExp   int // vertical expansion factor (Vmax/v)
}

// row returns meaningful row y of p.
func (p *plane) row(y int) []uint8 { return p.pix[y*p.stride : y*p.stride+p.w] }

// upsampleRow writes full-resolution row oy of p (width len(dst)) to dst, with
// libjpeg-turbo's default (fancy) upsampling methods (jdsample.c):
//
//   - 1×1: copy;
//   - 2×1 ("h2v1") when the downsampled width exceeds 2: triangle filter 3:1
//     with biases 1 and 2;
//   - 1×2 ("h1v2"): vertical triangle filter with biases 1 (upper) and 2 (lower);
//   - 2×2 ("h2v2") when the downsampled width exceeds 2: separable triangle filter,
//     column sums 3·near+far, then (3·this+neighbour+8)>>4 and (…+7)>>4;
//   - any other integral factors (and 2×1, 2×2 on very narrow images): replication.
//
// Rows above the first and below the last meaningful row repeat the edge row, as
// libjpeg's context-row pointers do; columns are filtered within the meaningful
// width only.
func (p *plane) upsampleRow(dst []uint8, oy int, cs []int32) {
	switch {
	case p.hExp == 1 && p.vExp == 1:
		copy(dst, p.row(oy))
	case p.hExp == 2 && p.vExp == 1 && p.w > 2:
		h2v1Fancy(dst, p.row(oy))
	case p.hExp == 1 && p.vExp == 2:
		r := oy >> 1
		near := p.row(r)
		var far []uint8
		var bias int32
		if oy&1 == 0 {
			far, bias = p.row(max(r-1, 0)), 1
		} else {
			far, bias = p.row(min(r+1, p.h-1)), 2
		}
		for i := range dst {
			dst[i] = uint8((3*int32(near[i]) + int32(far[i]) + bias) >> 2)
		}
	case p.hExp == 2 && p.vExp == 2 && p.w > 2:
		r := oy >> 1
		near := p.row(r)
		var far []uint8
		if oy&1 == 0 {
			far = p.row(max(r-1, 0))
		} else {
			far = p.row(min(r+1, p.h-1))
		}
		cs = cs[:p.w]
		for i := range cs {
			cs[i] = 3*int32(near[i]) + int32(far[i])
		}
		h2Fancy(dst, cs)
	default:
		src := p.row(oy / p.vExp)
		for x := range dst {
			dst[x] = src[x/p.hExp]
		}
	}
}

// h2v1Fancy is the horizontal triangle filter of h2v1_fancy_upsample, writing the
// first len(dst) ≤ 2·len(src) outputs. libjpeg's edge outputs equal the filter
// with the edge sample repeated.
func h2v1Fancy(dst, src []uint8) {
	n := len(src)
	for i := 0; 2*i < len(dst); i++ {
		c := 3 * int32(src[i])
		dst[2*i] = uint8((c + int32(src[max(i-1, 0)]) + 1) >> 2)
		if 2*i+1 < len(dst) {
			dst[2*i+1] = uint8((c + int32(src[min(i+1, n-1)]) + 2) >> 2)
		}
	}
}

// h2Fancy is the horizontal half of h2v2_fancy_upsample on column sums cs (each
// 3·near+far), writing the first len(dst) ≤ 2·len(cs) outputs. libjpeg's edge
// outputs ((4·cs+8)>>4, (4·cs+7)>>4) equal the filter with the edge sum repeated.
func h2Fancy(dst []uint8, cs []int32) {
	n := len(cs)
	if n == 0 {
		return
	}
	if len(dst) == 2*n && n >= 2 {
		t := cs[0] * 3
		dst[0] = uint8((t + cs[0] + 8) >> 4)
		dst[1] = uint8((t + cs[1] + 7) >> 4)
		for i := 1; i < n-1; i++ {
			t := cs[i] * 3
			dst[2*i] = uint8((t + cs[i-1] + 8) >> 4)
			dst[2*i+1] = uint8((t + cs[i+1] + 7) >> 4)
		}
		t = cs[n-1] * 3
		dst[2*n-2] = uint8((t + cs[n-2] + 8) >> 4)
		dst[2*n-1] = uint8((t + cs[n-1] + 7) >> 4)
		return
	}
	for i := 0; 2*i < len(dst); i++ {
		t := cs[i] * 3
		dst[2*i] = uint8((t + cs[max(i-1, 0)] + 8) >> 4)
		if 2*i+1 < len(dst) {
			dst[2*i+1] = uint8((t + cs[min(i+1, n-1)] + 7) >> 4)
		}
	}
}
