package corrupt

import (
	"archive/zip"
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/divres/divres/internal/atomicfile"
	"github.com/divres/divres/internal/npyfile"
)

// The parity test reproduces ../shared/corrupt/reference.npz, the outputs of the
// original imagecorruptions code: numpy mode, seed 0 (numpy's generator reseeded with
// 1000·ci + severity before each corruption × severity batch, images in order), CIFAR
// constants, the original frost textures. Every value of every corruption and
// severity must be identical.
//
// The material lives in testdata/ in a compact form, so that the test runs in any
// checkout:
//
//	testdata/inputs.npy               the 80 inputs (a copy of ../shared/corrupt/inputs.npy)
//	testdata/parity_sha256.txt        the SHA-256 of the data bytes of each reference array
//	testdata/frost/frost{1,2,3}_sub5.png
//	                                  the [2::5, 2::5] subsample of frost1–3.png as decoded
//	testdata/frost/frost{4,5}.jpg     copies of the original JPEG textures
//
// The CIFAR path shrinks each texture by 0.2 with OpenCV's INTER_LINEAR, which reads
// exactly the [2::5, 2::5] subsample with weight one, so the test rebuilds frost1–3
// at full size with those pixels in place (zero elsewhere) and runs the product's own
// resize on them. TestParity writes all of it from ../shared/corrupt when run with
// DIVRES_WRITE_PARITY=1:
//
//	DIVRES_WRITE_PARITY=1 go test -run 'TestParity$' ./corrupt
//
// On a mismatch the test names the corruption and severity and, when
// ../shared/corrupt/reference.npz is beside the checkout, counts the values that
// differ.

const (
	sharedCorrupt   = "../../shared/corrupt"
	parityInputsNPY = "testdata/inputs.npy"
	parityHashFile  = "testdata/parity_sha256.txt"
	parityFrostDir  = "testdata/frost"
	parityWriteEnv  = "DIVRES_WRITE_PARITY"
)

// parityRegenerate is how the material is rebuilt, for error messages.
const parityRegenerate = parityWriteEnv + "=1 go test -run 'TestParity$' ./corrupt with ../shared/corrupt beside the checkout"

var parityInputs = sync.OnceValues(func() ([]Image, error) {
	src, err := OpenNPYImages(parityInputsNPY)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	imgs := make([]Image, src.Len())
	for i := range imgs {
		if imgs[i], err = src.Image(i); err != nil {
			return nil, err
		}
	}
	if len(imgs) != 80 || imgs[0].H != 32 || imgs[0].W != 32 || imgs[0].C != 3 {
		return nil, fmt.Errorf("%s: %d images of %dx%dx%d, want 80 of 32x32x3", parityInputsNPY, len(imgs), imgs[0].H, imgs[0].W, imgs[0].C)
	}
	return imgs, nil
})

// mustParityInputs returns the 80 reference inputs or fails the test.
func mustParityInputs(t testing.TB) []Image {
	t.Helper()
	imgs, err := parityInputs()
	if err != nil {
		t.Fatalf("reference inputs missing: %v (regenerate with %s)", err, parityRegenerate)
	}
	return imgs
}

// paritySubsampled is how many of FrostFiles (the PNGs) are carried as subsamples.
const paritySubsampled = 3

var parityFrostTextures = sync.OnceValues(func() (*FrostTextures, error) {
	ft := &FrostTextures{Images: make([]Image, len(FrostFiles))}
	for i, name := range FrostFiles {
		if i >= paritySubsampled {
			img, err := LoadFrostImage(filepath.Join(parityFrostDir, name))
			if err != nil {
				return nil, err
			}
			ft.Images[i] = img
			continue
		}
		path := filepath.Join(parityFrostDir, paritySubName(i))
		sub, err := LoadFrostImage(path)
		if err != nil {
			return nil, err
		}
		h, w := frostSpecs[i].h, frostSpecs[i].w
		if sh, sw := (h+2)/5, (w+2)/5; sub.H != sh || sub.W != sw || sub.C != 3 {
			return nil, fmt.Errorf("%s: %dx%dx%d, want %dx%dx3", path, sub.H, sub.W, sub.C, sh, sw)
		}
		ft.Images[i] = expandSubsample5(sub, h, w)
	}
	return ft, nil
})

// paritySubName is the file name of the carried subsample of texture i.
func paritySubName(i int) string {
	return strings.TrimSuffix(FrostFiles[i], ".png") + "_sub5.png"
}

// mustParityFrost returns the frost textures of the parity test or fails the test.
func mustParityFrost(t testing.TB) *FrostTextures {
	t.Helper()
	ft, err := parityFrostTextures()
	if err != nil {
		t.Fatalf("frost parity textures missing: %v (regenerate with %s)", err, parityRegenerate)
	}
	return ft
}

// expandSubsample5 returns an h×w image that holds sub's pixels at (5y+2, 5x+2) and
// zero elsewhere: what OpenCV's 0.2 INTER_LINEAR resize reads of a texture.
func expandSubsample5(sub Image, h, w int) Image {
	out := NewImage(h, w, sub.C)
	for y := 0; y < sub.H; y++ {
		for x := 0; x < sub.W; x++ {
			copy(out.Pix[((5*y+2)*w+5*x+2)*sub.C:][:sub.C], sub.Pix[(y*sub.W+x)*sub.C:][:sub.C])
		}
	}
	return out
}

// subsample5 returns the [2::5, 2::5] subsample of img.
func subsample5(img Image) Image {
	out := NewImage((img.H+2)/5, (img.W+2)/5, img.C)
	for y := 0; y < out.H; y++ {
		for x := 0; x < out.W; x++ {
			copy(out.Pix[(y*out.W+x)*img.C:][:img.C], img.Pix[((5*y+2)*img.W+5*x+2)*img.C:][:img.C])
		}
	}
	return out
}

// readParityHashes reads testdata/parity_sha256.txt: "<corruption>_<severity> <sha256>".
func readParityHashes() (map[string]string, error) {
	f, err := os.Open(parityHashFile)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fs := strings.Fields(line)
		if len(fs) != 2 || len(fs[1]) != 64 {
			return nil, fmt.Errorf("%s: bad line %q", parityHashFile, line)
		}
		out[fs[0]] = fs[1]
	}
	return out, sc.Err()
}

// readNPZMember returns the data bytes and header of one uint8 member of an .npz.
func readNPZMember(zr *zip.Reader, name string) ([]byte, npyfile.Header, error) {
	f, err := zr.Open(name)
	if err != nil {
		return nil, npyfile.Header{}, err
	}
	b, err := io.ReadAll(f)
	f.Close()
	if err != nil {
		return nil, npyfile.Header{}, fmt.Errorf("%s: %w", name, err)
	}
	nf, err := npyfile.New(bytes.NewReader(b), int64(len(b)), name)
	if err != nil {
		return nil, npyfile.Header{}, err
	}
	if nf.Kind != 'u' || nf.Size != 1 {
		return nil, npyfile.Header{}, fmt.Errorf("%s: dtype %s, want uint8", name, nf.Descr)
	}
	return b[nf.Offset : nf.Offset+nf.NBytes], nf.Header, nil
}

// sharedReference returns one array of ../shared/corrupt/reference.npz.
func sharedReference(key string) ([]byte, error) {
	zr, err := zip.OpenReader(sharedCorrupt + "/reference.npz")
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	b, _, err := readNPZMember(&zr.Reader, key+".npy")
	return b, err
}

// describeParityMismatch says how got differs from the reference array key.
func describeParityMismatch(key string, got []byte, gotHash, wantHash string) string {
	want, err := sharedReference(key)
	if err != nil {
		return fmt.Sprintf("output differs from the reference (SHA-256 %.16s…, want %.16s…); "+
			"../shared/corrupt/reference.npz is not readable (%v), so the differing values are not counted", gotHash, wantHash, err)
	}
	if len(want) != len(got) {
		return fmt.Sprintf("%d output values, the reference has %d", len(got), len(want))
	}
	n, maxd, first := 0, 0, -1
	for i := range want {
		if d := max(int(got[i])-int(want[i]), int(want[i])-int(got[i])); d > 0 {
			if first < 0 {
				first = i
			}
			n++
			maxd = max(maxd, d)
		}
	}
	if n == 0 {
		return fmt.Sprintf("output equals ../shared/corrupt/reference.npz but not the hash in %s (stale: regenerate with %s)", parityHashFile, parityRegenerate)
	}
	return fmt.Sprintf("%d of %d values differ from the reference (max |diff| %d, first at image %d value %d)", n, len(want), maxd, first/3072, first%3072)
}

func TestParity(t *testing.T) {
	if os.Getenv(parityWriteEnv) != "" {
		writeParityMaterial(t)
	}
	inputs := mustParityInputs(t)
	hashes, err := readParityHashes()
	if err != nil {
		t.Fatalf("reference hashes missing: %v (regenerate with %s)", err, parityRegenerate)
	}
	if len(hashes) != len(Names)*5 {
		t.Fatalf("%s has %d hashes, want %d (19 corruptions × 5 severities)", parityHashFile, len(hashes), len(Names)*5)
	}
	opt := &Options{Params: CIFAR, Frost: mustParityFrost(t)}
	exact := 0
	for ci, name := range Names {
		c, ok := registry[name]
		if !ok {
			t.Errorf("%s is in Names but not registered", name)
			continue
		}
		t.Run(name, func(t *testing.T) {
			out := make([]byte, 0, len(inputs)*len(inputs[0].Pix))
			for sev := 1; sev <= 5; sev++ {
				key := fmt.Sprintf("%s_%d", name, sev)
				want, ok := hashes[key]
				if !ok {
					t.Errorf("%s: no hash in %s", key, parityHashFile)
					continue
				}
				rng := NewNumpyRNG(uint32(1000*ci + sev))
				out = out[:0]
				for _, img := range inputs {
					out = append(out, c.Apply(img, sev, rng, opt).Pix...)
				}
				s := sha256.Sum256(out)
				if got := hex.EncodeToString(s[:]); got != want {
					t.Errorf("%s severity %d: %s", name, sev, describeParityMismatch(key, out, got, want))
					continue
				}
				exact++
			}
		})
	}
	t.Logf("%d of %d (corruption, severity) arrays identical to the reference", exact, len(Names)*5)
}

// TestParityFrostSubsample: the 0.2 resize of a texture rebuilt from its subsample
// gives back the subsample, so the carried subsamples stand for the originals.
func TestParityFrostSubsample(t *testing.T) {
	ft := mustParityFrost(t)
	for i, img := range ft.Images {
		if img.H != frostSpecs[i].h || img.W != frostSpecs[i].w {
			t.Fatalf("texture %d: %dx%d, want %dx%d", i+1, img.H, img.W, frostSpecs[i].h, frostSpecs[i].w)
		}
		r := resizeLinearU8(img, 0.2, 0.2)
		if n, first := wxDiffU8(r.Pix, subsample5(img).Pix); n > 0 {
			t.Errorf("texture %d: %d values of the resize differ from the subsample, first %s", i+1, n, first)
		}
	}
}

// writeParityMaterial writes the testdata of the parity test from ../shared/corrupt.
func writeParityMaterial(t *testing.T) {
	t.Helper()
	in, err := os.ReadFile(sharedCorrupt + "/inputs.npy")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := npyfile.New(bytes.NewReader(in), int64(len(in)), "inputs.npy"); err != nil {
		t.Fatal(err)
	}
	if err := atomicfile.WriteFile(parityInputsNPY, in); err != nil {
		t.Fatal(err)
	}

	zr, err := zip.OpenReader(sharedCorrupt + "/reference.npz")
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var lines []string
	for _, f := range zr.File {
		key := strings.TrimSuffix(f.Name, ".npy")
		b, h, err := readNPZMember(&zr.Reader, f.Name)
		if err != nil {
			t.Fatal(err)
		}
		if len(h.Shape) != 4 || h.Shape[0] != 80 || h.Shape[1] != 32 || h.Shape[2] != 32 || h.Shape[3] != 3 {
			t.Fatalf("%s: shape %v", f.Name, h.Shape)
		}
		s := sha256.Sum256(b)
		lines = append(lines, key+" "+hex.EncodeToString(s[:]))
	}
	sort.Strings(lines)
	text := "# SHA-256 of the data bytes (uint8, 80×32×32×3, C order) of each array of\n" +
		"# ../shared/corrupt/reference.npz; written by TestParity (" + parityWriteEnv + "=1).\n" +
		strings.Join(lines, "\n") + "\n"
	if err := atomicfile.WriteFile(parityHashFile, []byte(text)); err != nil {
		t.Fatal(err)
	}

	ft, err := LoadFrostDir(sharedCorrupt + "/frost")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(parityFrostDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, name := range FrostFiles {
		if i >= paritySubsampled {
			b, err := os.ReadFile(filepath.Join(sharedCorrupt, "frost", name))
			if err != nil {
				t.Fatal(err)
			}
			if err := atomicfile.WriteFile(filepath.Join(parityFrostDir, name), b); err != nil {
				t.Fatal(err)
			}
			continue
		}
		sub := subsample5(ft.Images[i])
		m := image.NewNRGBA(image.Rect(0, 0, sub.W, sub.H))
		for p := 0; p < sub.H*sub.W; p++ {
			copy(m.Pix[4*p:4*p+3], sub.Pix[3*p:3*p+3])
			m.Pix[4*p+3] = 255
		}
		err := atomicfile.Write(filepath.Join(parityFrostDir, paritySubName(i)), func(w io.Writer) error {
			return (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(w, m)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("wrote %s, %s (%d hashes) and %s", parityInputsNPY, parityHashFile, len(lines), parityFrostDir)
}
