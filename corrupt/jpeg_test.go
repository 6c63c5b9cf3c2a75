package corrupt

import (
	"bytes"
	"testing"

	"github.com/divres/divres/corrupt/internal/ljpeg"
)

// jpeg_compression's parity with the reference is checked by TestParity.

// TestJPEGMatchesRoundTrip checks the corruption against ljpeg.RoundTripTo at the
// qualities of ../shared/corrupt/PARAMS.md, for both parameter sets and sizes that
// are not multiples of 16 (ljpeg's tests check the round trip against an explicit encode
// and decode and against Pillow).
func TestJPEGMatchesRoundTrip(t *testing.T) {
	c, err := Lookup("jpeg_compression")
	if err != nil {
		t.Fatal(err)
	}
	if c.Index != 14 || c.Family != "digital" || !c.Benchmark || c.Random {
		t.Errorf("registration %+v", *c)
	}
	qual := map[ParamSet][5]int{CIFAR: {80, 65, 58, 50, 40}, ImageNet: {25, 18, 15, 10, 7}}
	for _, sz := range [][2]int{{32, 32}, {37, 29}, {224, 224}, {9, 200}} {
		img := NewImage(sz[0], sz[1], 3)
		for i := range img.Pix {
			img.Pix[i] = uint8((i*37)%251 ^ (i / 97))
		}
		for ps, qs := range qual {
			for sev := 1; sev <= 5; sev++ {
				out, err := Apply(c, img, sev, nil, &Options{Params: ps})
				if err != nil {
					t.Fatal(err)
				}
				want := make([]uint8, len(img.Pix))
				if err := ljpeg.RoundTripTo(want, img.Pix, img.W, img.H, qs[sev-1]); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(out.Pix, want) {
					t.Errorf("%d×%d %v severity %d differs from the round trip at quality %d", img.H, img.W, ps, sev, qs[sev-1])
				}
			}
		}
	}
}

// TestJPEGGrey: a grey image stays grey (libjpeg's chroma of a grey pixel is
// exactly 128), so the grayscale path of Apply loses nothing, and the 1-channel
// result equals a channel of the RGB result.
func TestJPEGGrey(t *testing.T) {
	c, _ := Lookup("jpeg_compression")
	g := NewImage(28, 28, 1)
	for i := range g.Pix {
		g.Pix[i] = uint8(i * 7 % 256)
	}
	rgb := GrayToRGB(g)
	for sev := 1; sev <= 5; sev++ {
		outRGB, err := Apply(c, rgb, sev, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		outG, err := Apply(c, g, sev, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if outG.C != 1 {
			t.Fatalf("grey output has %d channels", outG.C)
		}
		for i, v := range outG.Pix {
			p := outRGB.Pix[3*i : 3*i+3]
			if p[0] != v || p[1] != v || p[2] != v {
				t.Fatalf("severity %d pixel %d: RGB %v, grey %d", sev, i, p, v)
			}
		}
	}
}

// TestJPEGSeverity: on the photo inputs the mean absolute error grows with
// severity (lower quality), and severity 1 is not the identity.
func TestJPEGSeverity(t *testing.T) {
	imgs := mustParityInputs(t)
	c, _ := Lookup("jpeg_compression")
	prev := 0.0
	for sev := 1; sev <= 5; sev++ {
		sum := 0
		for _, img := range imgs[64:] {
			out, err := Apply(c, img, sev, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range out.Pix {
				sum += max(int(v)-int(img.Pix[k]), int(img.Pix[k])-int(v))
			}
		}
		mae := float64(sum) / float64(16*3072)
		if mae <= prev {
			t.Errorf("severity %d: mean abs error %.3f not above severity %d's %.3f", sev, mae, sev-1, prev)
		}
		prev = mae
	}
}

// BenchmarkJPEGCompression is the corruption through Apply (32×32, severity 3).
func BenchmarkJPEGCompression(b *testing.B) {
	c, _ := Lookup("jpeg_compression")
	img := NewImage(32, 32, 3)
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 13 % 256)
	}
	for b.Loop() {
		if _, err := Apply(c, img, 3, nil, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
}
