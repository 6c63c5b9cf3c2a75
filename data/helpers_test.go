package data

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

// idxBytes encodes an unsigned-byte IDX array.
func idxBytes(dims []int, data []byte) []byte {
	var b bytes.Buffer
	b.Write([]byte{0, 0, 0x08, byte(len(dims))})
	for _, d := range dims {
		binary.Write(&b, binary.BigEndian, uint32(d))
	}
	b.Write(data)
	return b.Bytes()
}

func gzipBytes(t testing.TB, p []byte) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write(p); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func writeFile(t testing.TB, path string, p []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, p, 0o644); err != nil {
		t.Fatal(err)
	}
}

// synthImages returns n images of size bytes with a recognisable pattern:
// byte k of image i is (7·i + 3·k) mod 256.
func synthImages(n, size int) []byte {
	p := make([]byte, n*size)
	for i := range n {
		for k := range size {
			p[i*size+k] = byte(7*i + 3*k)
		}
	}
	return p
}

// cifarRecords encodes CIFAR records; labels has labelBytes entries per image.
func cifarRecords(labels [][]byte, pix []byte) []byte {
	var b bytes.Buffer
	for i, l := range labels {
		b.Write(l)
		b.Write(pix[i*cifarImageBytes : (i+1)*cifarImageBytes])
	}
	return b.Bytes()
}

// memDataset builds an in-memory dataset of n synthetic images with labels i mod k.
func memDataset(t testing.TB, n, c, h, w, k int) *Memory {
	t.Helper()
	labels := make([]int32, n)
	for i := range labels {
		labels[i] = int32(i % k)
	}
	m, err := NewMemory(c, h, w, synthImages(n, c*h*w), labels, defaultClassNames(k))
	if err != nil {
		t.Fatal(err)
	}
	return m
}
