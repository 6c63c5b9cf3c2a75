package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/divres/divres/corrupt"
)

func runCorruptCmd(t *testing.T, args ...string) error {
	t.Helper()
	app := newApp()
	var out bytes.Buffer
	app.Writer, app.ErrWriter = &out, &out
	return app.Run(append([]string{"divres", "corrupt"}, args...))
}

// writeU8NPY writes a uint8 array with a version-1.0 .npy header.
func writeU8NPY(t *testing.T, path string, shape []int, data []byte) {
	t.Helper()
	dims := make([]string, len(shape))
	for i, d := range shape {
		dims[i] = fmt.Sprint(d)
	}
	tuple := strings.Join(dims, ", ")
	if len(shape) == 1 {
		tuple += ","
	}
	dict := fmt.Sprintf("{'descr': '|u1', 'fortran_order': False, 'shape': (%s), }", tuple)
	dict += strings.Repeat(" ", (64-(10+len(dict)+1)%64)%64) + "\n"
	var b bytes.Buffer
	b.WriteString("\x93NUMPY\x01\x00")
	binary.Write(&b, binary.LittleEndian, uint16(len(dict)))
	b.WriteString(dict)
	b.Write(data)
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCorruptCommandWritesSet(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.npy")
	pix := make([]byte, 6*32*32*3)
	for i := range pix {
		pix[i] = byte(i * 7 % 251)
	}
	writeU8NPY(t, in, []int{6, 32, 32, 3}, pix)
	lab := filepath.Join(dir, "labels.npy")
	writeU8NPY(t, lab, []int{6}, []byte{0, 1, 2, 3, 4, 5})
	out := filepath.Join(dir, "set")
	if err := runCorruptCmd(t, "--in", in, "--out", out, "--corruptions", "contrast, gaussian_noise", "--severities", "1,3", "--labels", lab, "--workers", "2"); err != nil {
		t.Fatal(err)
	}
	set, err := corrupt.OpenSet(out)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(set.Info.Corruptions, ","); got != "contrast,gaussian_noise" {
		t.Errorf("corruptions %s", got)
	}
	if fmt.Sprint(set.Info.Severities) != "[1 3]" || set.Info.N != 6 {
		t.Errorf("info %+v", set.Info)
	}
	imgs, err := set.Read("gaussian_noise", 3)
	if err != nil || len(imgs) != 6 || imgs[0].H != 32 || imgs[0].C != 3 {
		t.Fatalf("read: %v", err)
	}
	labels, err := set.Labels()
	if err != nil || len(labels) != 12 || labels[7] != 1 {
		t.Fatalf("labels %v %v", labels, err)
	}
	// Grayscale input gives a grayscale set.
	writeU8NPY(t, in, []int{6, 32, 32}, pix[:6*32*32])
	out2 := filepath.Join(dir, "gray")
	if err := runCorruptCmd(t, "--in", in, "--out", out2, "--corruptions", "pixelate", "--severities", "5"); err != nil {
		t.Fatal(err)
	}
	set2, err := corrupt.OpenSet(out2)
	if err != nil || set2.Info.Channels != 1 {
		t.Fatalf("gray set: %v %+v", err, set2)
	}
}

// TestCorruptCommandNumpyParity: --rng numpy --seed 0 reproduces reference.npz, as
// pinned by the SHA-256 of each reference array in the corrupt package's testdata.
func TestCorruptCommandNumpyParity(t *testing.T) {
	testdata := filepath.Join("..", "corrupt", "testdata")
	hashes := map[string]string{}
	text, err := os.ReadFile(filepath.Join(testdata, "parity_sha256.txt"))
	if err != nil {
		t.Fatalf("reference hashes missing: %v", err)
	}
	for _, line := range strings.Split(string(text), "\n") {
		if fs := strings.Fields(line); len(fs) == 2 && !strings.HasPrefix(line, "#") {
			hashes[fs[0]] = fs[1]
		}
	}
	out := filepath.Join(t.TempDir(), "set")
	if err := runCorruptCmd(t, "--in", filepath.Join(testdata, "inputs.npy"), "--out", out, "--rng", "numpy", "--seed", "0",
		"--corruptions", "glass_blur,shot_noise,saturate", "--workers", "2"); err != nil {
		t.Fatal(err)
	}
	set, err := corrupt.OpenSet(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"glass_blur", "shot_noise", "saturate"} {
		for sev := 1; sev <= 5; sev++ {
			key := fmt.Sprintf("%s_%d", name, sev)
			want, ok := hashes[key]
			if !ok {
				t.Fatalf("no reference hash for %s", key)
			}
			imgs, err := set.Read(name, sev)
			if err != nil {
				t.Fatal(err)
			}
			if len(imgs) != 80 {
				t.Fatalf("%s: %d images, want 80", key, len(imgs))
			}
			h := sha256.New()
			for _, img := range imgs {
				h.Write(img.Pix)
			}
			if got := hex.EncodeToString(h.Sum(nil)); got != want {
				t.Errorf("%s severity %d differs from the reference (SHA-256 %.16s…, want %.16s…)", name, sev, got, want)
			}
		}
	}
}

func TestCorruptCommandErrors(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.npy")
	writeU8NPY(t, in, []int{2, 32, 32, 3}, make([]byte, 2*32*32*3))
	bad := filepath.Join(dir, "bad.npy")
	os.WriteFile(bad, []byte("not numpy"), 0o644)
	lab := filepath.Join(dir, "lab.npy")
	writeU8NPY(t, lab, []int{3}, []byte{1, 2, 3})
	out := filepath.Join(dir, "out")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--out", out}, "--in"},
		{[]string{"--in", in, "--grid", "x.png", "--out", out}, "not both"},
		{[]string{"--in", in, "--out", out, "--severities", "0-7"}, "--severities"},
		{[]string{"--in", in, "--out", out, "--corruptions", "rain"}, "unknown corruption"},
		{[]string{"--in", in, "--out", out, "--rng", "mt"}, "--rng"},
		{[]string{"--in", in, "--out", out, "--params", "mnist"}, "--params"},
		{[]string{"--in", bad, "--out", out}, "not a .npy"},
		{[]string{"--in", in, "--out", out, "--labels", lab}, "3 labels for 2 images"},
		{[]string{"--in", in, "--out", out, "--frost-dir", dir}, "--frost-dir"},
	} {
		err := runCorruptCmd(t, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want it to mention %q", c.args, err, c.want)
		}
	}
	// Nothing half-written.
	if ents, err := os.ReadDir(out); err == nil {
		for _, e := range ents {
			t.Errorf("left behind %s", e.Name())
		}
	}
}

func TestCorruptCommandGrid(t *testing.T) {
	dir := t.TempDir()
	src := image.NewRGBA(image.Rect(0, 0, 32, 32))
	for y := 0; y < 32; y++ {
		for x := 0; x < 32; x++ {
			src.Set(x, y, color.RGBA{uint8(8 * x), uint8(8 * y), 128, 255})
		}
	}
	in := filepath.Join(dir, "in.png")
	f, _ := os.Create(in)
	png.Encode(f, src)
	f.Close()
	out := filepath.Join(dir, "grid.png")
	if err := runCorruptCmd(t, "--grid", in, "--out", out, "--corruptions", "contrast,brightness,gaussian_noise"); err != nil {
		t.Fatal(err)
	}
	g, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	m, err := png.Decode(g)
	if err != nil {
		t.Fatal(err)
	}
	// 3 rows and 6 columns of 96-pixel cells (32 enlarged 3×) plus labels.
	if b := m.Bounds(); b.Dx() < 6*96 || b.Dy() < 3*96 || b.Dy() > 3*96+60 {
		t.Errorf("grid size %v", b)
	}
}
