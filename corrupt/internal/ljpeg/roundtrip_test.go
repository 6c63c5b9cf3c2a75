package ljpeg

import (
	"bytes"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/divres/divres/internal/npyfile"
)

// testImage is a deterministic RGB test image: gradients, stripes and noise.
func testImage(w, h int, seed uint64) []uint8 {
	r := rand.New(rand.NewPCG(seed, 7))
	pix := make([]uint8, w*h*3)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := (y*w + x) * 3
			n := r.IntN(61) - 30
			pix[i] = uint8(max(0, min(255, x*255/max(w-1, 1)+n)))
			pix[i+1] = uint8(max(0, min(255, y*255/max(h-1, 1)-n)))
			pix[i+2] = uint8(((x/3 + y/2) % 2) * 255)
			if seed%3 == 0 {
				pix[i+1], pix[i+2] = pix[i], pix[i] // grey
			}
		}
	}
	return pix
}

// TestRoundTripEqualsEncodeDecode checks the fast path against the full codec,
// bit for bit, over sizes (including non-multiples of 16 and tiny images) and
// qualities.
func TestRoundTripEqualsEncodeDecode(t *testing.T) {
	sizes := [][2]int{{1, 1}, {2, 1}, {1, 2}, {3, 3}, {4, 4}, {5, 7}, {8, 8}, {15, 17},
		{16, 16}, {32, 32}, {33, 31}, {48, 20}, {224, 224}, {61, 45}}
	qualities := []int{1, 7, 10, 15, 18, 25, 40, 50, 58, 65, 80, 95, 100}
	for si, sz := range sizes {
		w, h := sz[0], sz[1]
		pix := testImage(w, h, uint64(si))
		for _, q := range qualities {
			enc, err := encode(pix, w, h, q)
			if err != nil {
				t.Fatal(err)
			}
			want, dw, dh, ch, err := Decode(enc)
			if err != nil || dw != w || dh != h || ch != 3 {
				t.Fatalf("%d×%d q%d: decode: %v", w, h, q, err)
			}
			got, err := roundTrip(pix, w, h, q)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%d×%d q%d: round trip differs from decode(encode)", w, h, q)
			}
		}
	}
}

// TestRoundTripMatchesPillow checks the fast path against Pillow's decoded pixels.
func TestRoundTripMatchesPillow(t *testing.T) {
	for _, r := range loadRefs(t, "enc") {
		pix, w, h := readPPM(t, r[1])
		got, err := roundTrip(pix, w, h, atoi(t, r[2]))
		if err != nil {
			t.Fatal(err)
		}
		if sha256hex(got) != r[3] {
			t.Errorf("%s: round trip differs from Pillow", r[0])
		}
	}
}

func TestRoundTripInPlaceAndErrors(t *testing.T) {
	pix := testImage(20, 12, 4)
	want, _ := roundTrip(pix, 20, 12, 58)
	if err := RoundTripTo(pix, pix, 20, 12, 58); err != nil || !bytes.Equal(pix, want) {
		t.Errorf("in-place round trip differs (%v)", err)
	}
	for _, c := range []struct {
		n, w, h, q int
	}{{0, 0, 0, 50}, {12, 2, 2, 0}, {12, 2, 2, 101}, {11, 2, 2, 50}} {
		if _, err := roundTrip(make([]uint8, c.n), c.w, c.h, c.q); err == nil {
			t.Errorf("roundTrip(%d bytes, %d×%d, q%d): no error", c.n, c.w, c.h, c.q)
		}
		if _, err := encode(make([]uint8, c.n), c.w, c.h, c.q); err == nil {
			t.Errorf("encode(%d bytes, %d×%d, q%d): no error", c.n, c.w, c.h, c.q)
		}
	}
	// Beyond the JPEG frame limit encode fails and the round trip still works.
	wide := testImage(70000, 1, 5)
	if _, err := encode(wide, 70000, 1, 50); err == nil {
		t.Error("encode of a 70000-pixel-wide image: no error")
	}
	if _, err := roundTrip(wide, 70000, 1, 50); err != nil {
		t.Errorf("round trip of a 70000-pixel-wide image: %v", err)
	}
}

// benchImages returns the 80 32×32 reference inputs of the corruption benchmark
// (64 Fashion-MNIST images, 16 photo crops) from the corrupt package's testdata.
func benchImages(b *testing.B) [][]uint8 {
	f, err := npyfile.Open(filepath.Join("..", "..", "testdata", "inputs.npy"))
	if err != nil {
		b.Fatalf("reference inputs missing: %v", err)
	}
	defer f.Close()
	if f.Kind != 'u' || f.Size != 1 || len(f.Shape) != 4 || f.Shape[1] != 32 || f.Shape[2] != 32 || f.Shape[3] != 3 {
		b.Fatalf("%s: %s %v, want uint8 N×32×32×3", f.Name(), f.Descr, f.Shape)
	}
	raw := make([]uint8, f.NBytes)
	if err := f.ReadBytes(raw, 0); err != nil {
		b.Fatal(err)
	}
	var out [][]uint8
	for i := 0; i+3072 <= len(raw); i += 3072 {
		out = append(out, raw[i:i+3072])
	}
	return out
}

// BenchmarkJPEGRoundTrip is the corruption's cost per 32×32 image at quality 58
// (the CIFAR severity 3): over the 80 reference inputs (64 of them grey), and over
// colour images only.
func BenchmarkJPEGRoundTrip(b *testing.B) {
	all := benchImages(b)
	var colour [][]uint8
	for _, im := range all {
		if !isGrey(im) {
			colour = append(colour, im)
		}
	}
	for _, set := range []struct {
		name string
		imgs [][]uint8
	}{{"inputs", all}, {"colour", colour}} {
		b.Run(set.name, func(b *testing.B) {
			dst := make([]uint8, 32*32*3)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if err := RoundTripTo(dst, set.imgs[i%len(set.imgs)], 32, 32, 58); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
		})
	}
}

func BenchmarkEncode32(b *testing.B) {
	pix := testImage(32, 32, 1)
	for b.Loop() {
		if _, err := encode(pix, 32, 32, 58); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecode32(b *testing.B) {
	pix := testImage(32, 32, 1)
	enc, _ := encode(pix, 32, 32, 58)
	for b.Loop() {
		if _, _, _, _, err := Decode(enc); err != nil {
			b.Fatal(err)
		}
	}
}

// TestRoundTripConcurrent runs round trips from several goroutines (shared table
// cache and scratch pool) and compares with sequential results.
func TestRoundTripConcurrent(t *testing.T) {
	pix := testImage(40, 24, 1)
	want := map[int][]uint8{}
	qs := []int{3, 33, 58, 99}
	for _, q := range qs {
		want[q], _ = roundTrip(pix, 40, 24, q)
	}
	errs := make(chan string, 64)
	done := make(chan bool)
	for g := 0; g < 8; g++ {
		go func(g int) {
			for i := 0; i < 20; i++ {
				q := qs[(g+i)%len(qs)]
				got, err := roundTrip(pix, 40, 24, q)
				if err != nil || !bytes.Equal(got, want[q]) {
					errs <- "concurrent round trip differs"
				}
			}
			done <- true
		}(g)
	}
	for g := 0; g < 8; g++ {
		<-done
	}
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
}

// roundTrip is RoundTripTo into a new slice.
func roundTrip(pix []uint8, w, h, quality int) ([]uint8, error) {
	dst := make([]uint8, len(pix))
	if err := RoundTripTo(dst, pix, w, h, quality); err != nil {
		return nil, err
	}
	return dst, nil
}
