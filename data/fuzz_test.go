package data

import (
	"bytes"
	"errors"
	"testing"
)

// The readers must turn any input into a dataset or an ErrFormat error: never a
// panic, never an allocation far beyond the input. Run longer with
//
//	go test ./data -run '^$' -fuzz '^FuzzReadIDX$' -fuzztime 60s -fuzzminimizetime 2s
//
// (likewise FuzzReadCIFAR10, FuzzReadCIFAR100; the .npy reader is fuzzed in
// internal/npyfile). A short -fuzzminimizetime matters for the CIFAR targets:
// minimising a 6 KB record file takes the default minute per new input.
// testdata/fuzz holds inputs that once failed.

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
