package data

import (
	"bytes"
	"errors"
	"os"
	"testing"

	"codeberg.org/sbinet/npyio/npy"
)

// The readers must turn any input into a dataset or an ErrFormat error: never a
// panic, never an allocation far beyond the input. Run longer with
//
//	go test ./data -run '^$' -fuzz '^FuzzReadIDX$' -fuzztime 60s -fuzzminimizetime 2s
//
// (likewise FuzzReadCIFAR10, FuzzReadCIFAR100, FuzzNpy). A short -fuzzminimizetime
// matters for the CIFAR targets: minimising a 6 KB record file takes the default
// minute per new input. testdata/fuzz holds inputs that once failed.

func FuzzReadIDX(f *testing.F) {
	img := idxBytes([]int{2, 3, 4}, synthImages(2, 12))
	lab := idxBytes([]int{2}, []byte{1, 9})
	f.Add(img)
	f.Add(lab)
	f.Add(gzipBytes(f, img))
	f.Add(img[:len(img)-3])
	f.Add(gzipBytes(f, img)[:25])
	f.Add([]byte{0, 0, 8, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1})
	f.Add([]byte{0, 0, 0x0D, 1, 0, 0, 0, 1, 0, 0, 0, 0})
	f.Add([]byte{0x1f, 0x8b})
	f.Fuzz(func(t *testing.T, in []byte) {
		a, err := ReadIDX(bytes.NewReader(in))
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error %v does not wrap ErrFormat", err)
			}
			return
		}
		n := 1
		for _, d := range a.Dims {
			n *= d
		}
		if n != len(a.Data) {
			t.Fatalf("dims %v but %d bytes", a.Dims, len(a.Data))
		}
		// A zero dimension makes a valid empty array whatever the others say; only
		// build labels of a plausible count.
		if len(a.Dims) == 3 && a.Dims[0] <= 1<<16 {
			lab := &IDX{Dims: []int{a.Dims[0]}, Data: make([]byte, a.Dims[0])}
			if d, err := NewIDXDataset(a, lab, nil); err == nil && d.Len() != a.Dims[0] {
				t.Fatal("dataset length")
			}
		}
	})
}

func fuzzCIFAR(f *testing.F, labelBytes int, read func([]byte) (*Memory, error)) {
	lab := [][]byte{{3}, {7}}
	if labelBytes == 2 {
		lab = [][]byte{{3, 30}, {19, 99}}
	}
	good := cifarRecords(lab, synthImages(2, cifarImageBytes))
	f.Add(good)
	f.Add(good[:len(good)-1])
	f.Add(good[:labelBytes])
	f.Add([]byte{})
	bad := bytes.Clone(good)
	bad[0] = 200
	f.Add(bad)
	f.Fuzz(func(t *testing.T, in []byte) {
		d, err := read(in)
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error %v does not wrap ErrFormat", err)
			}
			return
		}
		if d.Len()*(labelBytes+cifarImageBytes) != len(in) {
			t.Fatalf("%d images from %d bytes", d.Len(), len(in))
		}
		for i := range d.Len() {
			if l := d.Label(i); l < 0 || l >= d.NumClasses() {
				t.Fatalf("label %d", l)
			}
		}
	})
}

func FuzzReadCIFAR10(f *testing.F) {
	fuzzCIFAR(f, 1, func(b []byte) (*Memory, error) { return ReadCIFAR10(bytes.NewReader(b)) })
}

func FuzzReadCIFAR100(f *testing.F) {
	fuzzCIFAR(f, 2, func(b []byte) (*Memory, error) { return ReadCIFAR100(bytes.NewReader(b), false) })
}

func FuzzNpy(f *testing.F) {
	for _, p := range []string{"testdata/cset/alpha.npy", "testdata/cset/beta.npy", "testdata/cset/labels.npy", "testdata/labels_i8.npy", "testdata/labels_be_i2.npy"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	var b bytes.Buffer
	npy.Write(&b, []int32{1, 2, 3})
	f.Add(b.Bytes())
	f.Add([]byte("\x93NUMPY\x01\x00\x05\x00{}  \n"))
	f.Add([]byte("\x93NUMPY\x02\x00\xff\xff\xff\x7f"))
	f.Add([]byte("\x93NUMPY\x01\x00\x10\x00{'descr': '|u1'\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		nf, err := newNpyFile(bytes.NewReader(in), int64(len(in)), "fuzz")
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error %v does not wrap ErrFormat", err)
			}
			return
		}
		if nf.h.offset+nf.h.nbytes > int64(len(in)) {
			t.Fatalf("accepted %d data bytes at %d in %d", nf.h.nbytes, nf.h.offset, len(in))
		}
		if n := nf.h.elems(); n <= 1<<16 {
			if _, err := nf.readInts(0, n); err != nil {
				t.Fatalf("reading the %d accepted elements: %v", n, err)
			}
		}
	})
}
