// Package data reads the image-classification datasets divres works with
// (Fashion-MNIST and MNIST in IDX format, CIFAR-10 and CIFAR-100 in their official
// binary format, CIFAR-10-C style .npy sets, folders of PNG/JPEG images), takes
// subsets of them, and turns them into float32 batches with normalisation and
// augmentation in background goroutines.
//
// Layout: every image is 8-bit and planar, channel-major C×H×W (the layout of the
// CIFAR binary records and of NCHW tensors). A Dataset writes image i into a caller's
// buffer of C·H·W bytes; a Loader converts batches of them to contiguous float32
// N×C×H×W with int64 labels, so that handing a batch to a tensor library is one copy.
//
// The package is pure Go and does not depend on libtorch.
package data

import (
	"fmt"
)

// Dataset is a finite, indexable set of labelled 8-bit images of one shape.
//
// Implementations must be safe for concurrent calls of Image and Label (the Loader
// reads from several goroutines).
type Dataset interface {
	// Len is the number of images.
	Len() int
	// Shape is the image shape: channels, height, width.
	Shape() (c, h, w int)
	// NumClasses is the number of classes; labels are in [0, NumClasses).
	NumClasses() int
	// ClassNames returns one name per class (the caller must not modify it).
	ClassNames() []string
	// Label returns the label of image i without decoding the image.
	Label(i int) int
	// Image writes image i, C×H×W bytes in channel-major order, into dst (which must
	// hold at least C·H·W bytes) and returns its label.
	Image(i int, dst []uint8) (label int, err error)
}

// ImageSize returns C·H·W, the number of bytes of one image of d.
func ImageSize(d Dataset) int {
	c, h, w := d.Shape()
	return c * h * w
}

// Labels returns the labels of all images of d, in index order.
func Labels(d Dataset) []int {
	out := make([]int, d.Len())
	for i := range out {
		out[i] = d.Label(i)
	}
	return out
}

// ClassCounts returns the number of images of each class.
func ClassCounts(d Dataset) []int {
	counts := make([]int, d.NumClasses())
	for i := range d.Len() {
		if l := d.Label(i); l >= 0 && l < len(counts) {
			counts[l]++
		}
	}
	return counts
}

// Memory is a Dataset held in memory: all images packed back to back, C×H×W each.
type Memory struct {
	c, h, w int
	pix     []uint8
	labels  []int32
	classes []string
}

// NewMemory makes an in-memory dataset from packed C×H×W images and their labels.
// classes names each class; labels must lie in [0, len(classes)). The slices are kept,
// not copied.
func NewMemory(c, h, w int, pix []uint8, labels []int32, classes []string) (*Memory, error) {
	if c <= 0 || h <= 0 || w <= 0 {
		return nil, fmt.Errorf("new dataset: bad image shape %d×%d×%d", c, h, w)
	}
	if len(classes) == 0 {
		return nil, fmt.Errorf("new dataset: no classes")
	}
	size := c * h * w
	if len(pix) != len(labels)*size {
		return nil, fmt.Errorf("new dataset: %d pixel bytes for %d images of %d bytes", len(pix), len(labels), size)
	}
	for i, l := range labels {
		if l < 0 || int(l) >= len(classes) {
			return nil, fmt.Errorf("new dataset: image %d has label %d, want [0, %d)", i, l, len(classes))
		}
	}
	return &Memory{c: c, h: h, w: w, pix: pix, labels: labels, classes: classes}, nil
}

// Len implements Dataset.
func (m *Memory) Len() int { return len(m.labels) }

// Shape implements Dataset.
func (m *Memory) Shape() (c, h, w int) { return m.c, m.h, m.w }

// NumClasses implements Dataset.
func (m *Memory) NumClasses() int { return len(m.classes) }

// ClassNames implements Dataset.
func (m *Memory) ClassNames() []string { return m.classes }

// Label implements Dataset.
func (m *Memory) Label(i int) int { return int(m.labels[i]) }

// Image implements Dataset.
func (m *Memory) Image(i int, dst []uint8) (int, error) {
	if i < 0 || i >= len(m.labels) {
		return 0, fmt.Errorf("image %d out of range [0, %d)", i, len(m.labels))
	}
	size := m.c * m.h * m.w
	if len(dst) < size {
		return 0, fmt.Errorf("image %d: buffer of %d bytes, need %d", i, len(dst), size)
	}
	copy(dst, m.pix[i*size:(i+1)*size])
	return int(m.labels[i]), nil
}

// Pix returns image i as a slice of the dataset's memory (read-only, no copy).
func (m *Memory) Pix(i int) []uint8 {
	size := m.c * m.h * m.w
	return m.pix[i*size : (i+1)*size : (i+1)*size]
}

// Load reads every image of d into memory. A *Memory is returned as is.
func Load(d Dataset) (*Memory, error) {
	if m, ok := d.(*Memory); ok {
		return m, nil
	}
	c, h, w := d.Shape()
	size := c * h * w
	n := d.Len()
	pix := make([]uint8, n*size)
	labels := make([]int32, n)
	for i := range n {
		l, err := d.Image(i, pix[i*size:(i+1)*size])
		if err != nil {
			return nil, fmt.Errorf("load image %d: %w", i, err)
		}
		labels[i] = int32(l)
	}
	return NewMemory(c, h, w, pix, labels, d.ClassNames())
}

// defaultClassNames returns "0", "1", … for datasets without names.
func defaultClassNames(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprint(i)
	}
	return out
}
