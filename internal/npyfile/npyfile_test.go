package npyfile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"testing"

	npyio "codeberg.org/sbinet/npyio/npy"
)

// Label files written by numpy (see testdata/README.md).
func TestLabelTypes(t *testing.T) {
	for path, want := range map[string][]int64{
		"testdata/labels_i8.npy":    {0, 9, 2, 7},
		"testdata/labels_be_i2.npy": {5, 6, 1},
	} {
		f, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		got, err := f.ReadInts(0, int64(len(want)))
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("%s: %v, want %v", path, got, want)
				break
			}
		}
	}
}

func TestHeaderErrors(t *testing.T) {
	valid := func(dict string) []byte {
		b := append([]byte{}, npyio.Magic[:]...)
		b = append(b, 1, 0, byte(len(dict)), 0)
		return append(b, dict...)
	}
	cases := map[string][]byte{
		"short":         npyio.Magic[:4],
		"bad magic":     []byte("\x93NUMPX\x01\x00\x00\x00"),
		"version 9":     append(append([]byte{}, npyio.Magic[:]...), 9, 0, 0, 0),
		"no newline":    valid("{'descr': '|u1', 'fortran_order': False, 'shape': (2,), }"),
		"garbage dict":  valid("hello\n"),
		"fortran":       valid("{'descr': '|u1', 'fortran_order': True, 'shape': (2,), }\n"),
		"float16":       valid("{'descr': '<f2', 'fortran_order': False, 'shape': (2,), }\n"),
		"complex":       valid("{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }\n"),
		"bad shape":     valid("{'descr': '|u1', 'fortran_order': False, 'shape': (2,x), }\n"),
		"negative dim":  valid("{'descr': '|u1', 'fortran_order': False, 'shape': (-2,), }\n"),
		"huge shape":    valid("{'descr': '<i8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }\n"),
		"keys reversed": valid("{'shape': (2,), 'fortran_order': False, 'descr': '|u1', }\n"),
		"short data":    append(valid("{'descr': '|u1', 'fortran_order': False, 'shape': (4,), }\n"), 1, 2),
	}
	for name, in := range cases {
		_, err := New(bytes.NewReader(in), int64(len(in)), name)
		if err == nil {
			t.Errorf("%s: no error", name)
		} else if !errors.Is(err, ErrFormat) {
			t.Errorf("%s: error %v does not wrap ErrFormat", name, err)
		}
	}
	ok := append(valid("{'descr': '<u2', 'fortran_order': False, 'shape': (2,), }\n"), 1, 0, 2, 1)
	f, err := New(bytes.NewReader(ok), int64(len(ok)), "ok")
	if err != nil {
		t.Fatal(err)
	}
	v, err := f.ReadInts(0, 2)
	if err != nil || v[0] != 1 || v[1] != 258 {
		t.Errorf("values %v err %v", v, err)
	}
	if _, err := f.ReadInts(1, 3); err == nil {
		t.Error("read past the end")
	}
}

// Float arrays read as float32 in either byte order and width; integer readers refuse
// them and float readers refuse integers.
func TestFloats(t *testing.T) {
	mk := func(descr string, words ...[]byte) []byte {
		b := HeaderBytes(descr, []int{2})
		for _, w := range words {
			b = append(b, w...)
		}
		return b
	}
	le32 := func(v float32) []byte { return binary.LittleEndian.AppendUint32(nil, math.Float32bits(v)) }
	be64 := func(v float64) []byte { return binary.BigEndian.AppendUint64(nil, math.Float64bits(v)) }
	for name, in := range map[string][]byte{
		"<f4": mk("<f4", le32(1.5), le32(-2.25)),
		">f8": mk(">f8", be64(1.5), be64(-2.25)),
	} {
		f, err := New(bytes.NewReader(in), int64(len(in)), name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		v, err := f.ReadFloat32s(0, 2)
		if err != nil || v[0] != 1.5 || v[1] != -2.25 {
			t.Errorf("%s: values %v err %v", name, v, err)
		}
		if _, err := f.ReadInts(0, 2); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: ReadInts on floats gave %v", name, err)
		}
	}
	ints := mk("|u1", []byte{1, 2})
	f, err := New(bytes.NewReader(ints), int64(len(ints)), "u1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.ReadFloat32s(0, 2); !errors.Is(err, ErrFormat) {
		t.Errorf("ReadFloat32s on uint8 gave %v", err)
	}
}

// HeaderBytes writes NumPy's layout: a multiple of 64 bytes ending in a newline,
// parsed back to the same type and shape.
func TestHeaderLayout(t *testing.T) {
	h := HeaderBytes("|u1", []int{50000, 32, 32, 3})
	if len(h)%64 != 0 || h[len(h)-1] != '\n' {
		t.Fatalf("header of %d bytes", len(h))
	}
	hd, err := ParseHeader(bytes.NewReader(h))
	if err != nil || hd.Descr != "|u1" || len(hd.Shape) != 4 || hd.Shape[0] != 50000 {
		t.Fatalf("%+v %v", hd, err)
	}
	hd, err = ParseHeader(bytes.NewReader(HeaderBytes("<i8", []int{7})))
	if err != nil || len(hd.Shape) != 1 || hd.Shape[0] != 7 {
		t.Fatalf("1-D: %+v %v", hd, err)
	}
}

// The reader must turn any input into a file or an ErrFormat error: never a panic,
// never an allocation far beyond the input. Run longer with
//
//	go test ./internal/npyfile -run '^$' -fuzz '^FuzzNpy$' -fuzztime 60s
//
// testdata/fuzz holds inputs that once failed.
func FuzzNpy(f *testing.F) {
	for _, p := range []string{"../../data/testdata/cset/alpha.npy", "../../data/testdata/cset/beta.npy",
		"../../data/testdata/cset/labels.npy", "testdata/labels_i8.npy", "testdata/labels_be_i2.npy"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	var b bytes.Buffer
	npyio.Write(&b, []int32{1, 2, 3})
	f.Add(b.Bytes())
	f.Add([]byte("\x93NUMPY\x01\x00\x05\x00{}  \n"))
	f.Add([]byte("\x93NUMPY\x02\x00\xff\xff\xff\x7f"))
	f.Add([]byte("\x93NUMPY\x01\x00\x10\x00{'descr': '|u1'\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		nf, err := New(bytes.NewReader(in), int64(len(in)), "fuzz")
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error %v does not wrap ErrFormat", err)
			}
			return
		}
		if nf.Offset+nf.NBytes > int64(len(in)) {
			t.Fatalf("accepted %d data bytes at %d in %d", nf.NBytes, nf.Offset, len(in))
		}
		if n := nf.Elems(); n <= 1<<16 {
			if _, err := nf.ReadInts(0, n); err != nil {
				t.Fatalf("reading the %d accepted elements: %v", n, err)
			}
		}
	})
}
