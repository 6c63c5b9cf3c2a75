package corrupt

import "testing"

// Matrices printed by cv2.getAffineTransform (OpenCV 4.6) for elastic's CIFAR
// triangle and an ImageNet-size one with random jitter.
func TestGetAffineTransformMatchesOpenCV(t *testing.T) {
	for i, c := range []struct {
		src, dst [3][2]float32
		want     [6]float64
	}{
		{src: [3][2]float32{{26.0, 26.0}, {26.0, 6.0}, {6.0, 6.0}}, dst: [3][2]float32{{28.391193389892578, 26.24182891845703}, {28.420143127441406, 7.099857807159424}, {7.01237154006958, 4.546378135681152}}, want: [6]float64{1.0703885793685914, -0.0014474868774414062, 0.5987249851226798, 0.1276739835739136, 0.9570985555648803, -1.9622570991516115}},
		{src: [3][2]float32{{26.0, 26.0}, {26.0, 6.0}, {6.0, 6.0}}, dst: [3][2]float32{{26.914447784423828, 25.05196189880371}, {25.525726318359375, 5.874799728393555}, {6.536415100097656, 5.419555187225342}}, want: [6]float64{0.949465560913086, 0.06943607330322266, 0.4230052947998045, 0.02276222705841069, 0.9588581085205078, -0.4701668262481697}},
		{src: [3][2]float32{{186.0, 186.0}, {186.0, 38.0}, {38.0, 38.0}}, dst: [3][2]float32{{221.42813110351562, 233.17990112304688}, {153.19100952148438, 47.499794006347656}, {-9.922958374023438, 26.929357528686523}}, want: [6]float64{1.102121404699377, 0.461061632311022, -69.32391378041861, 0.13898943565987246, 1.2545953183560759, -26.026863123919508}},
	} {
		if g := getAffineTransform(c.src, c.dst); g != c.want {
			t.Errorf("case %d: %v, want %v", i, g, c.want)
		}
	}
}

// The identity map warps an image onto itself exactly; a shift by one pixel moves it
// and reflects the border (reflect-101).
func TestWarpAffine32(t *testing.T) {
	h, w, c := 5, 7, 3
	src := make([]float32, h*w*c)
	for i := range src {
		src[i] = float32(i%251) / 255
	}
	dst := make([]float32, len(src))
	warpAffine32(dst, src, h, w, c, [6]float64{1, 0, 0, 0, 1, 0})
	for i := range src {
		if dst[i] != src[i] {
			t.Fatalf("identity: dst[%d] = %v, want %v", i, dst[i], src[i])
		}
	}
	// dst(x, y) = src(x−1, y): column 0 takes column 1 (reflect-101 of −1).
	warpAffine32(dst, src, h, w, c, [6]float64{1, 0, 1, 0, 1, 0})
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			sx := x - 1
			if sx < 0 {
				sx = 1
			}
			for ch := 0; ch < c; ch++ {
				if g, want := dst[(y*w+x)*c+ch], src[(y*w+sx)*c+ch]; g != want {
					t.Fatalf("shift: (%d,%d,%d) = %v, want %v", y, x, ch, g, want)
				}
			}
		}
	}
}

// Border rules: OpenCV's reflect-101 and scipy's reflect.
func TestReflectModes(t *testing.T) {
	want101 := map[int]int{-1: 1, -2: 2, 0: 0, 4: 4, 5: 3, 6: 2, -9: 1, 13: 3}
	for p, w := range want101 {
		if g := reflect101(p, 5); g != w {
			t.Errorf("reflect101(%d, 5) = %d, want %d", p, g, w)
		}
	}
	wantHalf := map[int]int{-1: 0, -2: 1, 5: 4, 6: 3, 9: 0, 10: 0, -11: 0, 23: 3}
	for p, w := range wantHalf {
		if g := reflectHalf(p, 5); g != w {
			t.Errorf("reflectHalf(%d, 5) = %d, want %d", p, g, w)
		}
	}
}

// At severity 1 (CIFAR) the displacement is zero, so only the affine warp acts; the
// fields are still drawn: 6 + 2·H·W uniforms per image.
func TestElasticDraws(t *testing.T) {
	img := NewImage(9, 11, 3)
	for sev := 1; sev <= 5; sev++ {
		r := &geoCountRNG{RNG: NewNumpyRNG(3)}
		elasticTransform(img, sev, r, nil)
		if r.uniforms != 6+2*9*11 {
			t.Errorf("sev %d: %d uniforms, want %d", sev, r.uniforms, 6+2*9*11)
		}
	}
}

func BenchmarkGeoElastic(b *testing.B) { geoBench(b, "elastic_transform") }

// gaussianFilter64Buf is gaussianFilter64 on one plane, bit for bit, including kernels longer
// than the image (ImageNet's σ = 170.8 has radius 512) and every border mode.
func TestSmoothFieldMatchesGaussianFilter(t *testing.T) {
	r := NewNumpyRNG(2)
	var buf smoothBuf
	for _, c := range []struct {
		h, w  int
		sigma float64
	}{{32, 32, 6.4}, {32, 32, 1.92}, {32, 32, 0.96}, {9, 13, 2.44}, {7, 5, 4}, {3, 11, 0.3}, {32, 32, 0}} {
		src := make([]float64, c.h*c.w)
		for i := range src {
			src[i] = r.Uniform(-1, 1)
		}
		for _, mode := range []Border{BorderReflect, BorderNearest, BorderMirror} {
			want := make([]float64, len(src))
			gaussianFilter64(want, src, c.h, c.w, 1, c.sigma, 3, mode)
			got := append([]float64(nil), src...)
			gaussianFilter64Buf(got, got, c.h, c.w, 1, c.sigma, 3, mode, &buf)
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("%dx%d σ=%v mode %v: [%d] = %v, want %v", c.h, c.w, c.sigma, mode, i, got[i], want[i])
				}
			}
		}
	}
}
