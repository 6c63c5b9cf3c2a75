package data

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// ErrFormat is wrapped by every error about a malformed or truncated data file.
var ErrFormat = errors.New("malformed data file")

func formatErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrFormat, fmt.Sprintf(format, args...))
}

// IDX is an array read from an IDX file (the format of MNIST and Fashion-MNIST):
// unsigned bytes in row-major order with the given dimensions.
type IDX struct {
	Dims []int
	Data []uint8
}

// maxIDXBytes bounds the data size an IDX header may announce (16 GiB).
const maxIDXBytes = 1 << 34

// idx element type codes (the third magic byte).
var idxTypeNames = map[byte]string{
	0x08: "unsigned byte", 0x09: "signed byte", 0x0B: "int16",
	0x0C: "int32", 0x0D: "float32", 0x0E: "float64",
}

// ReadIDX reads an IDX array of unsigned bytes from r, which may be gzip-compressed
// (detected by its magic number). Truncated data, trailing bytes, other element types
// and absurd dimensions are errors wrapping ErrFormat.
func ReadIDX(r io.Reader) (*IDX, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	head, err := br.Peek(2)
	if err != nil {
		return nil, formatErr("IDX: file too short (%d bytes)", len(head))
	}
	var src io.Reader = br
	if head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, formatErr("IDX: gzip: %v", err)
		}
		defer zr.Close()
		src = zr
	}
	var magic [4]byte
	if n, err := io.ReadFull(src, magic[:]); err != nil {
		return nil, formatErr("IDX: header truncated after %d bytes: %v", n, err)
	}
	if magic[0] != 0 || magic[1] != 0 {
		return nil, formatErr("IDX: bad magic number % x (want 00 00 <type> <ndims>)", magic)
	}
	if magic[2] != 0x08 {
		name, ok := idxTypeNames[magic[2]]
		if !ok {
			return nil, formatErr("IDX: unknown element type 0x%02x", magic[2])
		}
		return nil, formatErr("IDX: element type %s not supported (only unsigned byte)", name)
	}
	nd := int(magic[3])
	if nd == 0 {
		return nil, formatErr("IDX: zero dimensions")
	}
	dimBytes := make([]byte, 4*nd)
	if n, err := io.ReadFull(src, dimBytes); err != nil {
		return nil, formatErr("IDX: dimensions truncated (%d of %d bytes): %v", n, len(dimBytes), err)
	}
	dims := make([]int, nd)
	size := int64(1)
	for i := range dims {
		d := binary.BigEndian.Uint32(dimBytes[4*i:])
		dims[i] = int(d)
		if d == 0 {
			size = 0
			continue
		}
		if size != 0 {
			if size > maxIDXBytes/int64(d) {
				return nil, formatErr("IDX: dimensions %v exceed %d bytes", dims[:i+1], int64(maxIDXBytes))
			}
			size *= int64(d)
		}
	}
	// Read at most size+1 bytes so that trailing data is noticed, growing the buffer
	// as data arrives rather than trusting the header with a large allocation.
	var buf bytes.Buffer
	buf.Grow(int(min(size+1, 1<<22)))
	n, err := buf.ReadFrom(io.LimitReader(src, size+1))
	if err != nil {
		return nil, formatErr("IDX: reading %d data bytes: %v", size, err)
	}
	if n < size {
		return nil, formatErr("IDX: truncated: %d of %d data bytes for dimensions %v", n, size, dims)
	}
	if n > size {
		return nil, formatErr("IDX: trailing data after %d bytes for dimensions %v", size, dims)
	}
	return &IDX{Dims: dims, Data: buf.Bytes()}, nil
}

// ReadIDXFile reads an IDX file, gzip-compressed or plain.
func ReadIDXFile(path string) (*IDX, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	a, err := ReadIDX(f)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return a, nil
}

// NewIDXDataset makes a grayscale dataset from an N×H×W image array and an N label
// array. classes names the classes; labels must be below len(classes). With nil
// classes, the classes are "0", "1", … up to the largest label.
func NewIDXDataset(images, labels *IDX, classes []string) (*Memory, error) {
	if len(images.Dims) != 3 {
		return nil, formatErr("IDX images: %d dimensions, want 3 (N×H×W)", len(images.Dims))
	}
	if len(labels.Dims) != 1 {
		return nil, formatErr("IDX labels: %d dimensions, want 1", len(labels.Dims))
	}
	n, h, w := images.Dims[0], images.Dims[1], images.Dims[2]
	if labels.Dims[0] != n {
		return nil, formatErr("IDX: %d images but %d labels", n, labels.Dims[0])
	}
	if h == 0 || w == 0 {
		return nil, formatErr("IDX images: empty image size %d×%d", h, w)
	}
	if classes == nil {
		maxLabel := 0
		for _, l := range labels.Data {
			maxLabel = max(maxLabel, int(l))
		}
		classes = defaultClassNames(maxLabel + 1)
	}
	lab := make([]int32, n)
	for i, l := range labels.Data {
		if int(l) >= len(classes) {
			return nil, formatErr("IDX labels: label %d of image %d, want < %d", l, i, len(classes))
		}
		lab[i] = int32(l)
	}
	return NewMemory(1, h, w, images.Data, lab, classes)
}

// LoadIDX reads an image file and a label file (gzip or plain) into a dataset.
func LoadIDX(imagesPath, labelsPath string, classes []string) (*Memory, error) {
	im, err := ReadIDXFile(imagesPath)
	if err != nil {
		return nil, err
	}
	lb, err := ReadIDXFile(labelsPath)
	if err != nil {
		return nil, err
	}
	d, err := NewIDXDataset(im, lb, classes)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", imagesPath, err)
	}
	return d, nil
}

// FashionMNISTClasses are the class names of Fashion-MNIST, in label order.
var FashionMNISTClasses = []string{
	"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
	"Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
}

// MNISTClasses are the digit classes of MNIST.
var MNISTClasses = []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}

// FashionMNISTDir is where Debian's dataset-fashion-mnist package installs the files.
const FashionMNISTDir = "/usr/share/datasets/fashion-mnist"

// findIDXFile finds the IDX file of a split ("train" or "t10k") and kind
// ("images-idx3" or "labels-idx1") in dir, under the names the files are usually
// distributed with: "train-images-idx3-ubyte[.gz]" or "train-images.idx3-ubyte[.gz]".
func findIDXFile(dir, split, kind string) (string, bool) {
	kindDot := kind
	if i := len(kind) - 5; i > 0 { // "images-idx3" → "images.idx3"
		kindDot = kind[:i] + "." + kind[i+1:]
	}
	for _, base := range []string{split + "-" + kind + "-ubyte", split + "-" + kindDot + "-ubyte"} {
		for _, ext := range []string{".gz", ""} {
			p := filepath.Join(dir, base+ext)
			if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
				return p, true
			}
		}
	}
	return "", false
}

// IsIDXDir reports whether dir holds the training or test files of an IDX dataset.
func IsIDXDir(dir string) bool {
	for _, split := range []string{"train", "t10k"} {
		if _, ok := findIDXFile(dir, split, "images-idx3"); ok {
			return true
		}
	}
	return false
}

// LoadIDXDir reads the train and test splits (train-*, t10k-* files) of an IDX dataset
// from dir. A missing split is returned as nil; both missing is an error. With nil
// classes, both splits get the classes "0", "1", … up to the largest label of either.
func LoadIDXDir(dir string, classes []string) (train, test *Memory, err error) {
	return loadIDXDir(dir, classes, true)
}

// loadIDXDir is LoadIDXDir that reads the training files only if withTrain is set.
func loadIDXDir(dir string, classes []string, withTrain bool) (train, test *Memory, err error) {
	load := func(split string) (*Memory, error) {
		im, ok := findIDXFile(dir, split, "images-idx3")
		if !ok {
			return nil, nil
		}
		lb, ok := findIDXFile(dir, split, "labels-idx1")
		if !ok {
			return nil, fmt.Errorf("load %s: no %s-labels-idx1-ubyte file beside it", im, split)
		}
		return LoadIDX(im, lb, classes)
	}
	if withTrain {
		if train, err = load("train"); err != nil {
			return nil, nil, err
		}
	}
	if test, err = load("t10k"); err != nil {
		return nil, nil, err
	}
	if classes == nil && train != nil && test != nil {
		names := train.classes
		if len(test.classes) > len(names) {
			names = test.classes
		}
		train.classes, test.classes = names, names
	}
	if !withTrain && test == nil {
		return nil, nil, fmt.Errorf("%s: no IDX test set (t10k-images-idx3-ubyte[.gz])", dir)
	}
	if train == nil && test == nil {
		return nil, nil, fmt.Errorf("%s: no IDX files (train-images-idx3-ubyte[.gz], t10k-images-idx3-ubyte[.gz])", dir)
	}
	return train, test, nil
}
