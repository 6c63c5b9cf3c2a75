package data

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadCIFAR10(t *testing.T) {
	pix := synthImages(3, cifarImageBytes)
	rec := cifarRecords([][]byte{{7}, {0}, {9}}, pix)
	d, err := ReadCIFAR10(bytes.NewReader(rec))
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 3 || d.Label(0) != 7 || d.Label(2) != 9 || d.ClassNames()[7] != "horse" {
		t.Fatalf("len %d labels %v classes %v", d.Len(), Labels(d), d.ClassNames())
	}
	if c, h, w := d.Shape(); c != 3 || h != 32 || w != 32 {
		t.Errorf("shape %d×%d×%d", c, h, w)
	}
	// Records are already planar CHW: the record bytes are the image bytes.
	if !bytes.Equal(d.Pix(1), pix[cifarImageBytes:2*cifarImageBytes]) {
		t.Error("image 1 differs from its record")
	}
}

func TestReadCIFAR100Labels(t *testing.T) {
	pix := synthImages(2, cifarImageBytes)
	rec := cifarRecords([][]byte{{19, 99}, {3, 42}}, pix)
	fine, err := ReadCIFAR100(bytes.NewReader(rec), false)
	if err != nil {
		t.Fatal(err)
	}
	coarse, err := ReadCIFAR100(bytes.NewReader(rec), true)
	if err != nil {
		t.Fatal(err)
	}
	if fine.Label(0) != 99 || fine.Label(1) != 42 || fine.NumClasses() != 100 || fine.ClassNames()[99] != "worm" {
		t.Errorf("fine labels %v", Labels(fine))
	}
	if coarse.Label(0) != 19 || coarse.Label(1) != 3 || coarse.NumClasses() != 20 {
		t.Errorf("coarse labels %v", Labels(coarse))
	}
}

func TestReadCIFARErrors(t *testing.T) {
	pix := synthImages(2, cifarImageBytes)
	good := cifarRecords([][]byte{{1}, {2}}, pix)
	cases := map[string]struct {
		in   []byte
		want string
	}{
		"empty":          {nil, "empty file"},
		"partial record": {good[:len(good)-10], "record 1 truncated after 3063 bytes"},
		"label only":     {good[:cifarImageBytes+2], "record 1 truncated after 1 bytes"},
		"bad label":      {cifarRecords([][]byte{{10}}, pix), "label byte 0 is 10, want < 10"},
	}
	for name, c := range cases {
		_, err := ReadCIFAR10(bytes.NewReader(c.in))
		if err == nil || !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want ErrFormat with %q", name, err, c.want)
		}
	}
	_, err := ReadCIFAR100(bytes.NewReader(cifarRecords([][]byte{{20, 0}}, pix)), false)
	if err == nil || !strings.Contains(err.Error(), "label byte 0 is 20, want < 20") {
		t.Errorf("CIFAR-100 coarse label: %v", err)
	}
	_, err = ReadCIFAR100(bytes.NewReader(cifarRecords([][]byte{{0, 100}}, pix)), false)
	if err == nil || !strings.Contains(err.Error(), "label byte 1 is 100") {
		t.Errorf("CIFAR-100 fine label: %v", err)
	}
}

// writeCIFAR10Dir writes a miniature cifar-10-batches-bin: k images per batch file.
func writeCIFAR10Dir(t testing.TB, dir string, k int, names []string) {
	for b := 1; b <= 6; b++ {
		labels := make([][]byte, k)
		for i := range labels {
			labels[i] = []byte{byte((b + i) % 10)}
		}
		name := fmt.Sprintf("data_batch_%d.bin", b)
		if b == 6 {
			name = "test_batch.bin"
		}
		writeFile(t, filepath.Join(dir, name), cifarRecords(labels, synthImages(k, cifarImageBytes)))
	}
	if names != nil {
		writeFile(t, filepath.Join(dir, "batches.meta.txt"), []byte(strings.Join(names, "\n")+"\n\n"))
	}
}

func TestLoadCIFAR10Dir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), CIFAR10DirName)
	names := []string{"a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "a9"}
	writeCIFAR10Dir(t, dir, 3, names)
	tr, te, err := LoadCIFAR10(dir)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Len() != 15 || te.Len() != 3 {
		t.Fatalf("sizes %d/%d", tr.Len(), te.Len())
	}
	// Batches are concatenated in order: image 3 is batch 2's first (label 2).
	if tr.Label(3) != 2 || tr.Label(14) != 7 || te.Label(0) != 6 {
		t.Errorf("labels %v / %v", Labels(tr), Labels(te))
	}
	if tr.ClassNames()[4] != "a4" {
		t.Errorf("names %v", tr.ClassNames())
	}
	// Open resolves the parent directory too.
	tr2, te2, err := Open(filepath.Dir(dir), OpenOptions{})
	if err != nil || tr2.Len() != 15 || te2.Len() != 3 {
		t.Fatalf("Open parent: %v", err)
	}
	// A truncated batch is reported with its file name.
	writeFile(t, filepath.Join(dir, "data_batch_4.bin"), make([]byte, 3073*2+5))
	if _, _, err := LoadCIFAR10(dir); err == nil || !strings.Contains(err.Error(), "data_batch_4.bin") || !errors.Is(err, ErrFormat) {
		t.Errorf("truncated batch: %v", err)
	}
	// Wrong number of class names.
	writeFile(t, filepath.Join(dir, "batches.meta.txt"), []byte("x\ny\n"))
	if _, _, err := LoadCIFAR10(dir); err == nil || !strings.Contains(err.Error(), "2 class names, want 10") {
		t.Errorf("bad meta: %v", err)
	}
}

func TestLoadCIFAR100Dir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), CIFAR100DirName)
	writeFile(t, filepath.Join(dir, "train.bin"), cifarRecords([][]byte{{1, 11}, {2, 22}}, synthImages(2, cifarImageBytes)))
	writeFile(t, filepath.Join(dir, "test.bin"), cifarRecords([][]byte{{3, 33}}, synthImages(1, cifarImageBytes)))
	tr, te, err := Open(dir, OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if tr.Len() != 2 || te.Len() != 1 || tr.Label(1) != 22 || te.Label(0) != 33 {
		t.Errorf("fine: %v %v", Labels(tr), Labels(te))
	}
	tr, _, err = Open(dir, OpenOptions{Coarse: true})
	if err != nil || tr.Label(1) != 2 || tr.NumClasses() != 20 {
		t.Errorf("coarse: %v %v", err, Labels(tr))
	}
}
