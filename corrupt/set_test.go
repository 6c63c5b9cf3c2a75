package corrupt

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"codeberg.org/sbinet/npyio"

	"github.com/divres/divres/internal/npyfile"
)

// writeNPY writes a .npy file with numpy's own header layout via npyio.
func writeTestNPY(t *testing.T, path string, descr string, shape []int, data []byte) {
	t.Helper()
	buf := append(npyfile.HeaderBytes(descr, shape), data...)
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestSetRoundTrip(t *testing.T) {
	for _, c := range []int{3, 1} {
		dir := t.TempDir()
		imgs := testImages(6, 32, 32, c)
		in := filepath.Join(dir, "in.npy")
		var raw []byte
		for _, im := range imgs {
			raw = append(raw, im.Pix...)
		}
		shape := []int{6, 32, 32, 3}
		if c == 1 {
			shape = []int{6, 32, 32}
		}
		writeTestNPY(t, in, "|u1", shape, raw)
		src, err := OpenNPYImages(in)
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		if h, w, cc := src.Shape(); src.Len() != 6 || h != 32 || w != 32 || cc != c {
			t.Fatalf("shape %d %d %d %d", src.Len(), h, w, cc)
		}
		cs := []*Corruption{mustLookup(t, "contrast"), mustLookup(t, "gaussian_noise")}
		out := filepath.Join(dir, "set")
		sw, err := CreateSet(out, []string{"contrast", "gaussian_noise"}, []int{1, 2, 3, 4, 5}, 6, 32, 32, c, SetInfo{Seed: 3, RNG: "default", Params: "cifar"})
		if err != nil {
			t.Fatal(err)
		}
		cfg := RunConfig{Corruptions: cs, Severities: []int{1, 2, 3, 4, 5}, Seed: 3, BatchSize: 4, Workers: 2}
		if err := Run(context.Background(), src, cfg, sw.Write); err != nil {
			t.Fatal(err)
		}
		if err := sw.Commit([]int64{0, 1, 2, 3, 9, 7}); err != nil {
			t.Fatal(err)
		}
		// Nothing temporary is left.
		ents, _ := os.ReadDir(out)
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), ".") {
				t.Errorf("leftover %s", e.Name())
			}
		}
		// labels.npy is uint8 (30,), readable by npyio.
		f, err := os.Open(filepath.Join(out, "labels.npy"))
		if err != nil {
			t.Fatal(err)
		}
		var lab []uint8
		if err := npyio.Read(f, &lab); err != nil {
			t.Fatal(err)
		}
		f.Close()
		if len(lab) != 30 || lab[6] != 0 || lab[29] != 7 || lab[4] != 9 {
			t.Fatalf("labels %v", lab)
		}
		set, err := OpenSet(out)
		if err != nil {
			t.Fatal(err)
		}
		if set.Info.N != 6 || set.Info.Channels != c || len(set.Info.Corruptions) != 2 {
			t.Fatalf("info %+v", set.Info)
		}
		want := collect(t, imgs, cfg)
		for _, name := range []string{"contrast", "gaussian_noise"} {
			for sev := 1; sev <= 5; sev++ {
				got, err := set.Read(name, sev)
				if err != nil {
					t.Fatal(err)
				}
				for i := range got {
					if !bytes.Equal(got[i].Pix, want[name+"/"+string(rune('0'+sev))][i].Pix) {
						t.Fatalf("%s sev %d image %d differs after the round trip", name, sev, i)
					}
				}
			}
		}
		part, err := set.ReadRange("contrast", 4, 2, 3)
		if err != nil || len(part) != 3 || !bytes.Equal(part[0].Pix, want["contrast/4"][2].Pix) {
			t.Fatalf("ReadRange: %v", err)
		}
		// Without set.json (published layout) the sizes are inferred.
		os.Remove(filepath.Join(out, SetInfoFile))
		set2, err := OpenSet(out)
		if err != nil {
			t.Fatal(err)
		}
		if set2.Info.N != 6 || set2.Info.Height != 32 || set2.Info.Channels != c {
			t.Fatalf("inferred info %+v", set2.Info)
		}
		if _, err := set2.Read("fog", 1); err == nil || !strings.Contains(err.Error(), "no corruption") {
			t.Errorf("missing corruption: %v", err)
		}
		if _, err := set2.Read("contrast", 6); err == nil {
			t.Error("severity 6 accepted")
		}
	}
}

func mustLookup(t *testing.T, name string) *Corruption {
	t.Helper()
	c, err := Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestNPYErrors(t *testing.T) {
	dir := t.TempDir()
	p := func(n string) string { return filepath.Join(dir, n) }
	writeTestNPY(t, p("f32.npy"), "<f4", []int{2, 32, 32, 3}, make([]byte, 4*2*32*32*3))
	writeTestNPY(t, p("shape.npy"), "|u1", []int{2, 32, 32, 4}, make([]byte, 2*32*32*4))
	writeTestNPY(t, p("small.npy"), "|u1", []int{2, 4, 4}, make([]byte, 2*16))
	writeTestNPY(t, p("trunc.npy"), "|u1", []int{2, 32, 32, 3}, make([]byte, 100))
	os.WriteFile(p("junk.npy"), []byte("hello world, not numpy"), 0o644)
	os.WriteFile(p("badhdr.npy"), append([]byte("\x93NUMPY\x01\x00\x05\x00"), "{abc}"...), 0o644)
	for name, want := range map[string]string{
		"f32.npy": "uint8", "shape.npy": "shape", "small.npy": "minimum", "trunc.npy": "truncated",
		"junk.npy": "not a .npy", "badhdr.npy": "not a .npy", "missing.npy": "no such file",
	} {
		_, err := OpenNPYImages(p(name))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want it to mention %q", name, err, want)
		}
	}
	writeTestNPY(t, p("lab.npy"), "<i8", []int{3}, []byte{1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 255, 255, 255, 255, 255, 255, 255, 255})
	l, err := ReadLabelsNPY(p("lab.npy"))
	if err != nil || len(l) != 3 || l[2] != -1 {
		t.Fatalf("labels %v %v", l, err)
	}
	writeTestNPY(t, p("labtrunc.npy"), "<i8", []int{3}, make([]byte, 10))
	if _, err := ReadLabelsNPY(p("labtrunc.npy")); err == nil {
		t.Error("truncated labels accepted")
	}
	if _, err := ReadLabelsNPY(p("f32.npy")); err == nil {
		t.Error("4-D float labels accepted")
	}
}
