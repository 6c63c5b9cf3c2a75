package data

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadIDXPlainAndGzip(t *testing.T) {
	data := synthImages(3, 4*5)
	raw := idxBytes([]int{3, 4, 5}, data)
	for name, in := range map[string][]byte{"plain": raw, "gzip": gzipBytes(t, raw)} {
		a, err := ReadIDX(bytes.NewReader(in))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(a.Dims) != 3 || a.Dims[0] != 3 || a.Dims[1] != 4 || a.Dims[2] != 5 {
			t.Errorf("%s: dims %v", name, a.Dims)
		}
		if !bytes.Equal(a.Data, data) {
			t.Errorf("%s: data differs", name)
		}
	}
}

func TestReadIDXErrors(t *testing.T) {
	good := idxBytes([]int{2, 3}, make([]byte, 6))
	cases := map[string]struct {
		in   []byte
		want string
	}{
		"empty":         {nil, "too short"},
		"short header":  {good[:3], "header truncated"},
		"bad magic":     {append([]byte{1}, good[1:]...), "bad magic"},
		"float type":    {append([]byte{0, 0, 0x0D}, good[3:]...), "float32 not supported"},
		"unknown type":  {append([]byte{0, 0, 0x42}, good[3:]...), "unknown element type"},
		"zero dims":     {[]byte{0, 0, 8, 0}, "zero dimensions"},
		"short dims":    {good[:9], "dimensions truncated"},
		"short data":    {good[:len(good)-1], "truncated: 5 of 6"},
		"trailing":      {append(append([]byte{}, good...), 9), "trailing data"},
		"gzip short":    {gzipBytes(t, good)[:20], "IDX"},
		"huge dims":     {idxBytes([]int{1 << 30, 1 << 30}, nil), "exceed"},
		"gzip trailing": {gzipBytes(t, append(append([]byte{}, good...), 1, 2)), "trailing data"},
	}
	for name, c := range cases {
		_, err := ReadIDX(bytes.NewReader(c.in))
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		if !errors.Is(err, ErrFormat) {
			t.Errorf("%s: error %v does not wrap ErrFormat", name, err)
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q lacks %q", name, err, c.want)
		}
	}
}

func TestLoadIDXDir(t *testing.T) {
	dir := t.TempDir()
	// Training files gzipped with the usual names, test files plain with MNIST's
	// dotted names.
	writeFile(t, filepath.Join(dir, "train-images-idx3-ubyte.gz"), gzipBytes(t, idxBytes([]int{4, 2, 3}, synthImages(4, 6))))
	writeFile(t, filepath.Join(dir, "train-labels-idx1-ubyte.gz"), gzipBytes(t, idxBytes([]int{4}, []byte{0, 1, 2, 1})))
	writeFile(t, filepath.Join(dir, "t10k-images.idx3-ubyte"), idxBytes([]int{2, 2, 3}, synthImages(2, 6)))
	writeFile(t, filepath.Join(dir, "t10k-labels.idx1-ubyte"), idxBytes([]int{2}, []byte{3, 0}))
	if !IsIDXDir(dir) {
		t.Fatal("IsIDXDir false")
	}
	tr, te, err := LoadIDXDir(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Len() != 4 || te.Len() != 2 {
		t.Fatalf("lengths %d, %d", tr.Len(), te.Len())
	}
	if c, h, w := tr.Shape(); c != 1 || h != 2 || w != 3 {
		t.Errorf("shape %d×%d×%d", c, h, w)
	}
	// nil classes: "0".."3" on both splits (largest label 3 is in the test split).
	if tr.NumClasses() != 4 || te.NumClasses() != 4 || tr.ClassNames()[3] != "3" {
		t.Errorf("classes %v / %v", tr.ClassNames(), te.ClassNames())
	}
	buf := make([]uint8, 6)
	l, err := tr.Image(2, buf)
	if err != nil || l != 2 || !bytes.Equal(buf, synthImages(4, 6)[12:18]) {
		t.Errorf("image 2: label %d err %v pix %v", l, err, buf)
	}
	// Label beyond the given classes.
	if _, _, err := LoadIDXDir(dir, []string{"a", "b", "c"}); err == nil || !strings.Contains(err.Error(), "label 3") {
		t.Errorf("want label range error, got %v", err)
	}
	// Count mismatch.
	writeFile(t, filepath.Join(dir, "t10k-labels.idx1-ubyte"), idxBytes([]int{3}, []byte{3, 0, 1}))
	if _, _, err := LoadIDXDir(dir, nil); err == nil || !strings.Contains(err.Error(), "2 images but 3 labels") {
		t.Errorf("want count mismatch, got %v", err)
	}
}

// The real Fashion-MNIST as Debian installs it (skipped when absent).
func TestFashionMNISTReal(t *testing.T) {
	if !IsIDXDir(FashionMNISTDir) {
		t.Skip("Fashion-MNIST not installed in " + FashionMNISTDir)
	}
	tr, te, err := Open("fashion-mnist", OpenOptions{Root: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if tr.Len() != 60000 || te.Len() != 10000 {
		t.Fatalf("sizes %d/%d, want 60000/10000", tr.Len(), te.Len())
	}
	if c, h, w := tr.Shape(); c != 1 || h != 28 || w != 28 {
		t.Errorf("shape %d×%d×%d", c, h, w)
	}
	for k, n := range ClassCounts(tr) {
		if n != 6000 {
			t.Errorf("train class %d: %d images, want 6000", k, n)
		}
	}
	for k, n := range ClassCounts(te) {
		if n != 1000 {
			t.Errorf("test class %d: %d images, want 1000", k, n)
		}
	}
	// Values checked with numpy on the same files.
	wantTrain := []int{9, 0, 0, 3, 0, 2, 7, 2, 5, 5}
	wantTest := []int{9, 2, 1, 1, 6, 1, 4, 6, 5, 7}
	for i := range wantTrain {
		if tr.Label(i) != wantTrain[i] || te.Label(i) != wantTest[i] {
			t.Fatalf("label %d: %d/%d, want %d/%d", i, tr.Label(i), te.Label(i), wantTrain[i], wantTest[i])
		}
	}
	if tr.ClassNames()[9] != "Ankle boot" {
		t.Errorf("class 9 is %q", tr.ClassNames()[9])
	}
	buf := make([]uint8, 784)
	sum := func(d Dataset, i int) int {
		if _, err := d.Image(i, buf); err != nil {
			t.Fatal(err)
		}
		s := 0
		for _, v := range buf {
			s += int(v)
		}
		return s
	}
	if a, b := sum(tr, 0), sum(te, 0); a != 76247 || b != 33456 {
		t.Errorf("pixel sums of first images %d, %d; want 76247, 33456", a, b)
	}
	if _, err := tr.Image(0, buf); err == nil && !bytes.Equal(buf[10*28+10:10*28+20], []byte{0, 0, 0, 193, 228, 218, 213, 198, 180, 212}) {
		t.Errorf("row 10 of image 0: %v", buf[10*28+10:10*28+20])
	}
	st, err := ComputePixelStats(tr, nil)
	if err != nil {
		t.Fatal(err)
	}
	// numpy: mean 0.2860405969887955, std 0.35302424451492237
	if d := st.Mean[0] - 0.2860405969887955; d > 1e-9 || d < -1e-9 {
		t.Errorf("mean %v", st.Mean[0])
	}
	if d := st.Std[0] - 0.35302424451492237; d > 1e-9 || d < -1e-9 {
		t.Errorf("std %v", st.Std[0])
	}
	if st.Min[0] != 0 || st.Max[0] != 255 {
		t.Errorf("range %d..%d", st.Min[0], st.Max[0])
	}
	n := st.Norm()
	if d := n.Mean[0] - FashionMNISTNorm.Mean[0]; d > 1e-4 || d < -1e-4 {
		t.Errorf("FashionMNISTNorm mean %v, data %v", FashionMNISTNorm.Mean[0], n.Mean[0])
	}
	if d := n.Std[0] - FashionMNISTNorm.Std[0]; d > 1e-4 || d < -1e-4 {
		t.Errorf("FashionMNISTNorm std %v, data %v", FashionMNISTNorm.Std[0], n.Std[0])
	}
}

// OpenTest reads only the test split: a training file that is garbage does not stop
// it, while Open, which reads both, reports it.
func TestOpenTestSkipsTraining(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "train-images-idx3-ubyte"), []byte("not an IDX file"))
	writeFile(t, filepath.Join(dir, "train-labels-idx1-ubyte"), []byte("nor this"))
	writeFile(t, filepath.Join(dir, "t10k-images-idx3-ubyte"), idxBytes([]int{2, 2, 3}, synthImages(2, 6)))
	writeFile(t, filepath.Join(dir, "t10k-labels-idx1-ubyte"), idxBytes([]int{2}, []byte{1, 0}))
	if _, _, err := Open(dir, OpenOptions{}); err == nil {
		t.Fatal("Open read a garbage training file without error")
	}
	te, err := OpenTest(dir, OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if te.Len() != 2 || te.NumClasses() != 2 {
		t.Fatalf("test set: %d images, %d classes", te.Len(), te.NumClasses())
	}
	// A source without a test set is an error for OpenTest.
	only := t.TempDir()
	writeFile(t, filepath.Join(only, "train-images-idx3-ubyte"), idxBytes([]int{2, 2, 3}, synthImages(2, 6)))
	writeFile(t, filepath.Join(only, "train-labels-idx1-ubyte"), idxBytes([]int{2}, []byte{1, 0}))
	if _, err := OpenTest(only, OpenOptions{}); err == nil || !strings.Contains(err.Error(), "test set") {
		t.Errorf("want a no-test-set error, got %v", err)
	}
}
