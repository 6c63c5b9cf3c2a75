package corrupt

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"codeberg.org/sbinet/npyio/npz"
)

// wxRef is an opened reference archive (testdata/cvops_ref.npz, made by
// testdata/gen_cvops_ref.py with OpenCV 4.6).
type wxRef struct {
	t *testing.T
	r *npz.Reader
}

func wxOpenRef(t *testing.T, path string) *wxRef {
	t.Helper()
	r, err := npz.Open(path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	t.Cleanup(func() { r.Close() })
	return &wxRef{t: t, r: r}
}

// keys returns the array names (without .npy) that start with prefix and end with
// suffix, sorted.
func (f *wxRef) keys(prefix, suffix string) []string {
	var out []string
	for _, k := range f.r.Keys() {
		k = strings.TrimSuffix(k, ".npy")
		if strings.HasPrefix(k, prefix) && strings.HasSuffix(k, suffix) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func (f *wxRef) shape(name string) []int {
	h := f.r.Header(name + ".npy")
	if h == nil {
		f.t.Fatalf("no array %s", name)
	}
	return h.Descr.Shape
}

func (f *wxRef) u8(name string) ([]uint8, []int) {
	f.t.Helper()
	var v []uint8
	if err := f.r.Read(name+".npy", &v); err != nil {
		f.t.Fatalf("read %s: %v", name, err)
	}
	return v, f.shape(name)
}

func (f *wxRef) f32(name string) ([]float32, []int) {
	f.t.Helper()
	var v []float32
	if err := f.r.Read(name+".npy", &v); err != nil {
		f.t.Fatalf("read %s: %v", name, err)
	}
	return v, f.shape(name)
}

func wxDiffU8(got, want []uint8) (n int, first string) {
	for i := range want {
		if got[i] != want[i] {
			if n == 0 {
				first = fmt.Sprintf("[%d] = %d, want %d", i, got[i], want[i])
			}
			n++
		}
	}
	return n, first
}

func TestCannyMatchesOpenCV(t *testing.T) {
	ref := wxOpenRef(t, "testdata/cvops_ref.npz")
	ins := ref.keys("canny_", "_in")
	if len(ins) < 5 {
		t.Fatalf("only %d canny inputs", len(ins))
	}
	var s cannyScratch
	for _, in := range ins {
		src, sh := ref.u8(in)
		base := strings.TrimSuffix(in, "_in")
		for _, th := range [][2]float64{{50, 150}, {20, 60}, {150, 50}} {
			key := fmt.Sprintf("%s_%g_%g_out", base, th[0], th[1])
			want, _ := ref.u8(key)
			got := make([]uint8, len(src))
			cannyL1(got, src, sh[0], sh[1], th[0], th[1], &s)
			if n, first := wxDiffU8(got, want); n > 0 {
				t.Errorf("%s: %d pixels differ, first %s", key, n, first)
			}
		}
	}
}

func TestDistanceTransformMatchesOpenCV(t *testing.T) {
	ref := wxOpenRef(t, "testdata/cvops_ref.npz")
	var tmp []uint32
	for _, in := range ref.keys("dist_", "_in") {
		src, sh := ref.u8(in)
		want, _ := ref.f32(strings.TrimSuffix(in, "_in") + "_out")
		got := make([]float32, len(src))
		tmp = distanceTransformL2M5(got, src, sh[0], sh[1], tmp)
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("%s[%d] = %v, want %v", in, i, got[i], want[i])
				break
			}
		}
		// Fused threshold(20, 20, THRESH_TRUNC).
		want, _ = ref.f32(strings.TrimSuffix(in, "_in") + "_trunc20")
		tmp = distanceTransformL2M5Trunc(got, src, sh[0], sh[1], tmp, 20<<distShift)
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("%s truncated [%d] = %v, want %v", in, i, got[i], want[i])
				break
			}
		}
	}
}

func TestBoxBlurMatchesOpenCV(t *testing.T) {
	ref := wxOpenRef(t, "testdata/cvops_ref.npz")
	for _, in := range ref.keys("boxf_", "_in") {
		src, sh := ref.f32(in)
		want, _ := ref.f32(strings.TrimSuffix(in, "_in") + "_out")
		got := make([]float32, len(src))
		boxBlur3F32(got, src, sh[0], sh[1], nil)
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("%s[%d] = %v, want %v", in, i, got[i], want[i])
				break
			}
		}
	}
	// Fused astype(uint8).
	src, sh := ref.f32("boxf_dist_in")
	want, _ := ref.u8("boxf_dist_u8")
	got := make([]uint8, len(src))
	boxBlur3F32U8(got, src, sh[0], sh[1], nil)
	if n, first := wxDiffU8(got, want); n > 0 {
		t.Errorf("boxf_dist_u8: %d pixels differ, first %s", n, first)
	}
	for _, in := range ref.keys("boxu_", "_in") {
		src, sh := ref.u8(in)
		want, _ := ref.u8(strings.TrimSuffix(in, "_in") + "_out")
		got := make([]uint8, len(src))
		boxBlur3U8(got, src, sh[0], sh[1], nil)
		if n, first := wxDiffU8(got, want); n > 0 {
			t.Errorf("%s: %d pixels differ, first %s", in, n, first)
		}
	}
	// The fixed-point division equals rounding s/9 for every reachable sum.
	for s := uint32(0); s <= 9*255; s++ {
		if q, r := ((s+4)*7282)>>16, (s+4)/9; q != r {
			t.Fatalf("sum %d: fixed point %d, rounded %d", s, q, r)
		}
	}
}

func TestEqualizeHistMatchesOpenCV(t *testing.T) {
	ref := wxOpenRef(t, "testdata/cvops_ref.npz")
	for _, in := range ref.keys("eq_", "_in") {
		src, _ := ref.u8(in)
		want, _ := ref.u8(strings.TrimSuffix(in, "_in") + "_out")
		got := make([]uint8, len(src))
		equalizeHist(got, src)
		if n, first := wxDiffU8(got, want); n > 0 {
			t.Errorf("%s: %d pixels differ, first %s", in, n, first)
		}
	}
}

func TestFilter2DMatchesOpenCV(t *testing.T) {
	ref := wxOpenRef(t, "testdata/cvops_ref.npz")
	k := [9]int{-2, -1, 0, -1, 1, 1, 0, 1, 2}
	for _, in := range ref.keys("f2d_", "_in") {
		src, sh := ref.u8(in)
		want, _ := ref.u8(strings.TrimSuffix(in, "_in") + "_out")
		got := make([]uint8, len(src))
		filter2DU8(got, src, sh[0], sh[1], &k, nil)
		if n, first := wxDiffU8(got, want); n > 0 {
			t.Errorf("%s: %d pixels differ, first %s", in, n, first)
		}
		embossU8(got, src, sh[0], sh[1], nil)
		if n, first := wxDiffU8(got, want); n > 0 {
			t.Errorf("%s emboss: %d pixels differ, first %s", in, n, first)
		}
	}
}

// TestEmbossEqualsFilter2D: the specialised emboss equals the generic filter2D (which
// matches OpenCV) at every small size, borders included.
func TestEmbossEqualsFilter2D(t *testing.T) {
	r := NewNumpyRNG(3)
	for h := 1; h <= 6; h++ {
		for w := 1; w <= 6; w++ {
			src := make([]uint8, h*w)
			for i := range src {
				src[i] = uint8(r.IntN(0, 256))
			}
			a, b := make([]uint8, h*w), make([]uint8, h*w)
			filter2DU8(a, src, h, w, &spatterKernel, nil)
			embossU8(b, src, h, w, nil)
			if n, first := wxDiffU8(b, a); n > 0 {
				t.Fatalf("%dx%d: %d values differ, first %s", h, w, n, first)
			}
		}
	}
}

func TestResizeLinearMatchesOpenCV(t *testing.T) {
	ref := wxOpenRef(t, "testdata/cvops_ref.npz")
	for _, in := range ref.keys("resize_", "_in") {
		src, sh := ref.u8(in)
		img := Image{H: sh[0], W: sh[1], C: sh[2], Pix: src}
		base := strings.TrimSuffix(in, "_in")
		for _, out := range ref.keys(base+"_", "_out") {
			var micro int
			if _, err := fmt.Sscanf(strings.TrimPrefix(out, base+"_"), "%d_out", &micro); err != nil {
				t.Fatalf("key %s: %v", out, err)
			}
			fac := float64(micro) / 1e6
			want, wsh := ref.u8(out)
			got := resizeLinearU8(img, fac, fac)
			if got.H != wsh[0] || got.W != wsh[1] {
				t.Errorf("%s: size %dx%d, want %dx%d", out, got.H, got.W, wsh[0], wsh[1])
				continue
			}
			if n, first := wxDiffU8(got.Pix, want); n > 0 {
				t.Errorf("%s: %d of %d values differ, first %s", out, n, len(want), first)
			}
			// A region computed alone equals the same window of the whole output.
			if got.H > 2 && got.W > 3 && (got.H != img.H || got.W != img.W) {
				y0, x0, rh, rw := got.H/3, got.W/4, got.H-got.H/3-1, got.W/2
				reg := resizeLinearRegion(img, fac, fac, y0, x0, rh, rw)
				for y := 0; y < rh; y++ {
					a := reg.Pix[y*rw*img.C:][:rw*img.C]
					b := got.Pix[((y0+y)*got.W+x0)*img.C:][:rw*img.C]
					if n, first := wxDiffU8(a, b); n > 0 {
						t.Fatalf("%s region row %d: %d values differ, first %s", out, y, n, first)
					}
				}
			}
		}
	}
}

// cannyL1 is canny writing 255 on edges (cv::Canny's output).
func cannyL1(dst, src []uint8, h, w int, low, high float64, s *cannyScratch) {
	canny(dst, src, h, w, low, high, s, false)
}

// distanceTransformL2M5 is cv::distanceTransform(src, dst, DIST_L2, 5): the
// untruncated distanceTransformL2M5Trunc.
func distanceTransformL2M5(dst []float32, src []uint8, h, w int, tmp []uint32) []uint32 {
	return distanceTransformL2M5Trunc(dst, src, h, w, tmp, distMax)
}

// boxBlur3F32 is boxBlur3F32U8 without the final truncation: cv::blur(src, (3,3))
// on a float32 plane, stored as float32 (dst must not overlap src).
func boxBlur3F32(dst, src []float32, h, w int, rows []float64) []float64 {
	rows = boxRows3(src, h, w, rows)
	const scale = 1.0 / 9
	for y := 0; y < h; y++ {
		a := rows[borderIndex(y-1, h, BorderMirror)*w:][:w]
		b := rows[y*w:][:w]
		c := rows[borderIndex(y+1, h, BorderMirror)*w:][:w]
		d := dst[y*w:][:w]
		for x := range d {
			d[x] = float32(float64(a[x]+b[x]+c[x]) * scale)
		}
	}
	return rows
}

// filter2DU8, the generic form of embossU8, is cv::filter2D(src, CV_8U, k) with a 3×3 integer kernel k (row-major)
// applied as a correlation anchored at the centre, border reflect-101, the exact
// integer sum saturated to 0..255. dst must not overlap src. pad is window3's scratch.
func filter2DU8(dst, src []uint8, h, w int, k *[9]int, pad []int32) []int32 {
	var kk [9]int32
	for i, v := range k {
		kk[i] = int32(v)
	}
	return window3(src, h, w, pad, func(y int, p0, p1, p2 []int32) {
		d := dst[y*w:][:w]
		// Sliding window: the partial sums of the left and middle columns carried.
		l0 := kk[0]*p0[0] + kk[3]*p1[0] + kk[6]*p2[0]
		m0 := kk[1]*p0[1] + kk[4]*p1[1] + kk[7]*p2[1]
		l1 := kk[0]*p0[1] + kk[3]*p1[1] + kk[6]*p2[1]
		for x := range d {
			a, b, c := p0[x+2], p1[x+2], p2[x+2]
			d[x] = satU8(l0 + m0 + kk[2]*a + kk[5]*b + kk[8]*c)
			l0 = l1
			m0 = kk[1]*a + kk[4]*b + kk[7]*c
			l1 = kk[0]*a + kk[3]*b + kk[6]*c
		}
	})
}
