package npyfile

import (
	"archive/zip"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// npzBytes is a zip of the given members (name → .npy bytes), stored or deflated.
func npzBytes(t testing.TB, method uint16, members ...[2]string) []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, m := range members {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: m[0], Method: method})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(m[1])); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// FuzzNpz: any file given to OpenNpz and Array gives an archive of arrays whose
// shapes match their data, or a one-line error; never a panic. Run longer with
//
//	go test ./internal/npyfile -run '^$' -fuzz '^FuzzNpz$' -fuzztime 60s
func FuzzNpz(f *testing.F) {
	var x bytes.Buffer
	if err := WriteFloat32(&x, []int{2, 3}, []float32{1, 2, 3, 4, 5, 6}); err != nil {
		f.Fatal(err)
	}
	lab := append(HeaderBytes("<i8", []int{2}), make([]byte, 16)...)
	stored := npzBytes(f, zip.Store, [2]string{"x.npy", x.String()}, [2]string{"labels.npy", string(lab)})
	deflated := npzBytes(f, zip.Deflate, [2]string{"x.npy", x.String()}, [2]string{"y", string(lab)})
	f.Add(stored)
	f.Add(deflated)
	f.Add(stored[:len(stored)/2])
	f.Add(deflated[:len(deflated)-10])
	f.Add(npzBytes(f, zip.Store, [2]string{"cut.npy", x.String()[:x.Len()-5]}))
	f.Add(npzBytes(f, zip.Deflate, [2]string{"hdr.npy", "\x93NUMPY\x01\x00\xff\xff{"}))
	f.Add(npzBytes(f, zip.Store, [2]string{"huge.npy", string(append(HeaderBytes("<f4", []int{1 << 40}), make([]byte, 8)...))}))
	f.Add([]byte("PK\x05\x06" + strings.Repeat("\x00", 18)))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, in []byte) {
		path := filepath.Join(t.TempDir(), "a.npz")
		if err := os.WriteFile(path, in, 0o644); err != nil {
			t.Fatal(err)
		}
		a, err := OpenNpz(path)
		if err != nil {
			checkOneLine(t, err)
			return
		}
		defer a.Close()
		for _, name := range a.Names() {
			arr, err := a.Array(name)
			if err != nil {
				checkOneLine(t, err)
				if !strings.Contains(err.Error(), path) {
					t.Fatalf("error does not name the archive: %v", err)
				}
				continue
			}
			if arr.Elems()*int64(arr.Size) != arr.NBytes {
				t.Fatalf("%s: shape %v × %d bytes but %d data bytes", name, arr.Shape, arr.Size, arr.NBytes)
			}
			n := arr.Elems()
			if n > 1<<16 {
				continue
			}
			var rerr error
			if arr.Kind == 'f' {
				var v []float64
				v, rerr = arr.ReadFloat64s(0, n)
				if rerr == nil && int64(len(v)) != n {
					t.Fatalf("%s: read %d of %d elements", name, len(v), n)
				}
			} else {
				_, rerr = arr.ReadInts(0, n)
			}
			if rerr != nil {
				t.Fatalf("%s: reading the %d accepted elements: %v", name, n, rerr)
			}
		}
	})
}

// checkOneLine fails unless err is a non-empty one-line message.
func checkOneLine(t *testing.T, err error) {
	t.Helper()
	if msg := err.Error(); msg == "" || strings.Contains(msg, "\n") {
		t.Fatalf("error is not one line: %q", msg)
	}
}
