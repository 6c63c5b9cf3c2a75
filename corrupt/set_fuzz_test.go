package corrupt

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/divres/divres/internal/npyfile"
)

// FuzzOpenSet: a corruption set directory whose set.json and corruption array are
// arbitrary opens into a Set whose metadata agrees with its files, or gives a
// one-line error; never a panic. Run longer with
//
//	go test ./corrupt -run '^$' -fuzz '^FuzzOpenSet$' -fuzztime 60s
func FuzzOpenSet(f *testing.F) {
	info := SetInfo{Format: setFormat, N: 2, Height: 8, Width: 8, Channels: 1, Severities: []int{1, 3},
		Corruptions: []string{"alpha"}, Seed: 1, RNG: "pcg", Params: "cifar"}
	js, err := json.Marshal(info)
	if err != nil {
		f.Fatal(err)
	}
	arr := append(npyfile.HeaderBytes("|u1", []int{4, 8, 8}), bytes.Repeat([]byte{9}, 4*64)...)
	rgb := append(npyfile.HeaderBytes("|u1", []int{10, 8, 8, 3}), bytes.Repeat([]byte{9}, 10*192)...)
	f.Add(js, arr, true)
	f.Add(js, arr, false)
	f.Add(js, rgb, false)
	f.Add(js, rgb, true)
	f.Add(js[:len(js)/2], arr, true)
	f.Add([]byte(`{"n": 7, "severities": [1, 2]}`), arr, true)
	f.Add([]byte(`{"n": 2, "severities": [3, 1]}`), arr, true)
	f.Add([]byte(`{"n": 2, "severities": [1, 1]}`), arr, true)
	f.Add([]byte(`{"n": -1, "severities": [1]}`), arr, true)
	f.Add([]byte(`{"corruptions": 3, "severities": "x", "images": -1}`), arr, true)
	f.Add(js, arr[:len(arr)-1], true)
	f.Add(js, append(npyfile.HeaderBytes("<f4", []int{4, 8, 8}), make([]byte, 4*4*64)...), true)
	f.Add(js, append(npyfile.HeaderBytes("|u1", []int{4, 2, 2}), make([]byte, 16)...), true)
	f.Add(js, append(npyfile.HeaderBytes("|u1", []int{1 << 40, 8, 8}), make([]byte, 64)...), true)
	f.Fuzz(func(t *testing.T, setJSON, array []byte, withJSON bool) {
		dir := t.TempDir()
		if withJSON {
			write(t, filepath.Join(dir, SetInfoFile), setJSON)
		}
		write(t, filepath.Join(dir, "alpha.npy"), array)
		s, err := OpenSet(dir)
		if err != nil {
			oneLine(t, err)
			return
		}
		in := s.Info
		if in.N < 0 || len(in.Severities) == 0 || len(in.Corruptions) != 1 || in.Corruptions[0] != "alpha" {
			t.Fatalf("accepted info %+v", in)
		}
		// Labels for every image of every severity, so that only the arrays decide.
		n := int64(0)
		for _, sev := range in.Severities {
			imgs, err := s.ReadRange("alpha", sev, 0, -1)
			if err != nil {
				oneLine(t, err)
				continue
			}
			for _, im := range imgs {
				if im.H < 1 || im.W < 1 || (im.C != 1 && im.C != 3) || len(im.Pix) != im.H*im.W*im.C {
					t.Fatalf("severity %d: image %d×%d×%d with %d bytes", sev, im.H, im.W, im.C, len(im.Pix))
				}
			}
			if len(imgs) != in.N {
				t.Fatalf("severity %d: %d images for N = %d", sev, len(imgs), in.N)
			}
			n = int64(len(imgs))
		}
		if n > 1<<12 || in.N > 1<<12 {
			return
		}
		labels := make([]int64, n*int64(len(in.Severities)))
		lab := npyfile.HeaderBytes("<i8", []int{len(labels)})
		for range labels {
			lab = append(lab, 3, 0, 0, 0, 0, 0, 0, 0)
		}
		write(t, filepath.Join(dir, "labels.npy"), lab)
		for _, sev := range in.Severities {
			l, err := s.SeverityLabels(sev)
			if err != nil {
				oneLine(t, err)
				continue
			}
			if len(l) != in.N {
				t.Fatalf("severity %d: %d labels for N = %d", sev, len(l), in.N)
			}
		}
	})
}

func write(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// oneLine fails unless err is a non-empty one-line message.
func oneLine(t *testing.T, err error) {
	t.Helper()
	if msg := err.Error(); msg == "" || strings.Contains(msg, "\n") {
		t.Fatalf("error is not one line: %q", msg)
	}
}
