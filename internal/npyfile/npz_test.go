package npyfile

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNpz(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.npz")
	var f32 bytes.Buffer
	if err := WriteFloat32(&f32, []int{2, 2}, []float32{1, -2, 0.5, 3}); err != nil {
		t.Fatal(err)
	}
	f64 := HeaderBytes("<f8", []int{3})
	for _, v := range []float64{math.Pi, -1e-300, 7} {
		f64 = binary.LittleEndian.AppendUint64(f64, math.Float64bits(v))
	}
	var zb bytes.Buffer
	zw := zip.NewWriter(&zb)
	for _, m := range []struct {
		name   string
		method uint16
		data   []byte
	}{{"x.npy", zip.Store, f32.Bytes()}, {"y.npy", zip.Deflate, f64}} {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: m.name, Method: m.method})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(m.data)
	}
	zw.Close()
	if err := os.WriteFile(path, zb.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	a, err := OpenNpz(path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if got := strings.Join(a.Names(), ","); got != "x,y" {
		t.Fatalf("names %q", got)
	}
	x, err := a.Array("x")
	if err != nil {
		t.Fatal(err)
	}
	xv, err := x.ReadFloat64s(0, 4)
	if err != nil || xv[1] != -2 || xv[2] != 0.5 || len(x.Shape) != 2 {
		t.Fatalf("x = %v (shape %v), err %v", xv, x.Shape, err)
	}
	y, err := a.Array("y.npy")
	if err != nil {
		t.Fatal(err)
	}
	yv, err := y.ReadFloat64s(0, 3)
	if err != nil || yv[0] != math.Pi || yv[1] != -1e-300 {
		t.Fatalf("y = %v, err %v", yv, err)
	}
	if _, err := a.Array("z"); err == nil || !strings.Contains(err.Error(), `no array "z"`) {
		t.Fatalf("missing member: %v", err)
	}
	if _, err := y.ReadFloat64s(2, 4); err == nil {
		t.Fatal("read past the end: no error")
	}
	bad := filepath.Join(dir, "bad.npz")
	os.WriteFile(bad, []byte("not a zip"), 0o644)
	if _, err := OpenNpz(bad); !errors.Is(err, ErrFormat) {
		t.Fatalf("not a zip: %v", err)
	}
}
