package data

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"codeberg.org/sbinet/npyio/npy"
)

// Sets written by numpy itself (testdata/gen.py), in .npy formats 1.0 and 2.0.
func TestCorruptionSetNumpyFiles(t *testing.T) {
	raw, err := os.ReadFile("testdata/cset_expected.json")
	if err != nil {
		t.Fatal(err)
	}
	var want map[string][]uint8
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	names, err := CorruptionSetNames("testdata/cset")
	if err != nil || strings.Join(names, ",") != "alpha,beta" {
		t.Fatalf("names %v %v", names, err)
	}
	for _, c := range []struct {
		name string
		sev  int
		key  string
	}{{"alpha", 2, "alpha_2"}, {"alpha", 5, "alpha_5"}, {"beta", 2, "beta_2"}, {"beta", 5, "beta_5"}} {
		d, err := LoadCorruptionSet("testdata/cset", c.name, c.sev, nil)
		if err != nil {
			t.Fatal(err)
		}
		if ch, h, w := d.Shape(); ch != 3 || h != 4 || w != 5 || d.Len() != 3 {
			t.Fatalf("%s: shape %d×%d×%d len %d", c.key, ch, h, w, d.Len())
		}
		got, _ := Load(d)
		if !bytes.Equal(got.pix, want[c.key]) {
			t.Errorf("%s: pixels differ from numpy's", c.key)
		}
		if l := Labels(d); l[0] != 3 || l[1] != 1 || l[2] != 4 {
			t.Errorf("%s: labels %v", c.key, l)
		}
		if d.ClassNames()[3] != "cat" {
			t.Errorf("default class names %v", d.ClassNames())
		}
	}
	if _, err := LoadCorruptionSet("testdata/cset", "gamma", 1, nil); err == nil || !strings.Contains(err.Error(), "have alpha, beta") {
		t.Errorf("missing corruption: %v", err)
	}
	if _, err := LoadCorruptionSet("testdata/cset", "alpha", 6, nil); err == nil {
		t.Error("severity 6 accepted")
	}
	if _, err := LoadCorruptionSet("testdata/cset", "../cset/alpha", 1, nil); err == nil {
		t.Error("path in corruption name accepted")
	}
}

// A set written with npyio (as the corrupt package does), grayscale (5·N, H, W) with
// int64 labels of length N, and the errors of malformed sets.
func TestCorruptionSetNpyio(t *testing.T) {
	dir := t.TempDir()
	n, h, w := 2, 3, 4
	arr := make([][][]uint8, 5*n)
	for i := range arr {
		arr[i] = make([][]uint8, h)
		for y := range h {
			arr[i][y] = make([]uint8, w)
			for x := range w {
				arr[i][y][x] = uint8(100*(i/n) + 10*y + x + i%n)
			}
		}
	}
	write := func(name string, v any) {
		var b bytes.Buffer
		if err := npy.Write(&b, v); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, name), b.Bytes())
	}
	write("fog.npy", arr)
	write(LabelsFile, []int64{1, 0})
	if !IsCorruptionSetDir(dir) {
		t.Fatal("not recognised as a set")
	}
	d, err := LoadCorruptionSet(dir, "fog", 3, []string{"a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	if c, hh, ww := d.Shape(); c != 1 || hh != h || ww != w || d.Len() != n {
		t.Fatalf("shape %d×%d×%d len %d", c, hh, ww, d.Len())
	}
	img := d.Pix(1)
	if img[0] != 201 || img[w+2] != 213 {
		t.Errorf("severity 3 image 1: %v", img)
	}
	if d.Label(0) != 1 || d.ClassNames()[1] != "b" {
		t.Errorf("labels %v names %v", Labels(d), d.ClassNames())
	}
	// Open needs a corruption and severity.
	if _, _, err := Open(dir, OpenOptions{}); err == nil || !strings.Contains(err.Error(), "choose a corruption (fog)") {
		t.Errorf("Open without corruption: %v", err)
	}
	if _, te, err := Open(dir, OpenOptions{Corruption: "fog", Severity: 1}); err != nil || te.Len() != n {
		t.Errorf("Open: %v", err)
	}

	bad := map[string]func(){
		"wrong label count": func() { write(LabelsFile, []int64{1, 0, 1}) },
		"float labels":      func() { write(LabelsFile, []float32{1, 0}) },
		"float images":      func() { write(LabelsFile, []int64{1, 0}); write("fog.npy", []float32{1, 2, 3}) },
		"1-D images":        func() { write("fog.npy", make([]uint8, 10)) },
		"not 5·N":           func() { write("fog.npy", arr[:7]) },
		"truncated":         func() { write("fog.npy", arr); truncateFile(t, filepath.Join(dir, "fog.npy"), 5) },
		"negative label":    func() { write("fog.npy", arr); write(LabelsFile, []int64{-1, 0}) },
	}
	for name, prepare := range bad {
		prepare()
		if _, err := LoadCorruptionSet(dir, "fog", 1, nil); err == nil {
			t.Errorf("%s: no error", name)
		} else if !errors.Is(err, ErrFormat) {
			t.Errorf("%s: error %v does not wrap ErrFormat", name, err)
		}
	}
}

func truncateFile(t *testing.T, path string, by int64) {
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, st.Size()-by); err != nil {
		t.Fatal(err)
	}
}

// A divres-generated set with a subset of severities listed in set.json.
func TestCorruptionSetSeveritySubset(t *testing.T) {
	dir := t.TempDir()
	n := 2
	arr := make([][][][]uint8, 3*n) // severities 1, 3, 5
	for i := range arr {
		arr[i] = [][][]uint8{{{uint8(i), uint8(10 + i), uint8(20 + i)}}} // 1×1×3
	}
	var b bytes.Buffer
	if err := npy.Write(&b, arr); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "snow.npy"), b.Bytes())
	b.Reset()
	npy.Write(&b, []uint8{4, 5, 4, 5, 4, 5})
	writeFile(t, filepath.Join(dir, LabelsFile), b.Bytes())
	writeFile(t, filepath.Join(dir, "set.json"), []byte(`{"format":"cifar-10-c","n":2,"severities":[1,3,5]}`))
	d, err := LoadCorruptionSet(dir, "snow", 5, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 2 || !bytes.Equal(d.Pix(1), []uint8{5, 15, 25}) || d.Label(1) != 5 {
		t.Errorf("severity 5: len %d pix %v labels %v", d.Len(), d.Pix(1), Labels(d))
	}
	if _, err := LoadCorruptionSet(dir, "snow", 2, nil); err == nil || !strings.Contains(err.Error(), "have [1 3 5]") {
		t.Errorf("absent severity: %v", err)
	}
}
