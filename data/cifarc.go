package data

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/divres/divres/corrupt"
	"github.com/divres/divres/internal/npyfile"
)

// CIFAR-10-C layout: DIR/<corruption>.npy holds uint8 (S·N, H, W, C) (or (S·N, H, W)
// for grayscale) with the S severities stacked in increasing order, N images each;
// DIR/labels.npy holds the labels, either (S·N,) (the published files repeat them per
// severity) or (N,), in any integer type. S is 5 (severities 1…5) unless DIR/set.json
// (written by divres's corrupt package) lists the severities. The corrupt package
// reads the files (corrupt.OpenSet); this file adds class names and the Memory
// dataset.

// LabelsFile is the label file name of a corruption set.
const LabelsFile = "labels.npy"

// setInfoFile is the metadata file divres writes beside a generated set.
const setInfoFile = corrupt.SetInfoFile

// setSeverities returns the severities stacked in the set's files.
func setSeverities(dir string) ([]int, error) {
	return corrupt.SetSeverities(dir)
}

// IsCorruptionSetDir reports whether dir looks like a CIFAR-10-C style set: a
// labels.npy or set.json and at least one other .npy file.
func IsCorruptionSetDir(dir string) bool {
	if !fileExists(filepath.Join(dir, LabelsFile)) && !fileExists(filepath.Join(dir, setInfoFile)) {
		return false
	}
	names, err := CorruptionSetNames(dir)
	return err == nil && len(names) > 0
}

// CorruptionSetNames lists the corruptions of a set directory (its .npy files other
// than labels.npy), sorted.
func CorruptionSetNames(dir string) ([]string, error) {
	return corrupt.SetNames(dir)
}

// LoadCorruptionSet reads one severity of one corruption of a CIFAR-10-C style set in
// dir (with corrupt.OpenSet): only that slice of DIR/<corruption>.npy and of
// DIR/labels.npy is read. classes names the classes; nil means DIR/classes.txt (one
// name a line) if present, else the CIFAR-10 names when every label is below 10, else
// "0", "1", ….
func LoadCorruptionSet(dir, corruption string, severity int, classes []string) (*Memory, error) {
	set, err := corrupt.OpenSet(dir)
	if err != nil {
		return nil, markFormat(err)
	}
	imgs, err := set.Read(corruption, severity)
	if err != nil {
		return nil, markFormat(err)
	}
	if len(imgs) == 0 || imgs[0].H == 0 || imgs[0].W == 0 {
		return nil, fmt.Errorf("corruption set %s: %w", dir, formatErr("%s.npy holds no images", corruption))
	}
	labels, err := setLabels(set, severity, len(imgs))
	if err != nil {
		return nil, err
	}
	if classes == nil {
		if classes, err = setClassNames(dir, labels); err != nil {
			return nil, err
		}
	}
	d, err := FromImages(imgs, labels, classes)
	if err != nil {
		return nil, fmt.Errorf("corruption set %s: %w", dir, err)
	}
	return d, nil
}

// FromImages packs interleaved H×W×C images (corrupt.Image, e.g. a slice of a
// corruption set) and their labels into an in-memory planar C×H×W dataset.
func FromImages(imgs []corrupt.Image, labels []int32, classes []string) (*Memory, error) {
	if len(imgs) == 0 {
		return nil, fmt.Errorf("no images")
	}
	h, w, c := imgs[0].H, imgs[0].W, imgs[0].C
	size := h * w * c
	pix := make([]uint8, len(imgs)*size)
	for i, img := range imgs {
		if img.H != h || img.W != w || img.C != c || len(img.Pix) != size {
			return nil, fmt.Errorf("image %d is %d×%d×%d (%d values), the first %d×%d×%d", i, img.H, img.W, img.C, len(img.Pix), h, w, c)
		}
		dst := pix[i*size : (i+1)*size]
		if c == 1 {
			copy(dst, img.Pix)
		} else {
			hwcToCHW(dst, img.Pix, h, w, c)
		}
	}
	return NewMemory(c, h, w, pix, labels, classes)
}

// setLabels reads the n labels of one severity of set.
func setLabels(set *corrupt.Set, severity, n int) ([]int32, error) {
	path := filepath.Join(set.Dir, LabelsFile)
	vals, err := set.SeverityLabels(severity)
	if err != nil {
		return nil, markFormat(err)
	}
	if len(vals) != n {
		return nil, fmt.Errorf("read %s: %w", path, formatErr("%d labels for %d images", len(vals), n))
	}
	out := make([]int32, n)
	for i, v := range vals {
		if v < 0 || v > 1<<20 {
			return nil, fmt.Errorf("read %s: %w", path, formatErr("label %d of image %d out of range", v, i))
		}
		out[i] = int32(v)
	}
	return out, nil
}

// formatMark makes an error of the .npy reader an ErrFormat error, text unchanged.
type formatMark struct{ err error }

func (e formatMark) Error() string        { return e.err.Error() }
func (e formatMark) Unwrap() error        { return e.err }
func (e formatMark) Is(target error) bool { return target == ErrFormat }

// markFormat marks errors about malformed .npy files (npyfile.ErrFormat, from the
// corrupt package's set reader) as ErrFormat errors.
func markFormat(err error) error {
	if err == nil || !errors.Is(err, npyfile.ErrFormat) {
		return err
	}
	return formatMark{err}
}

// setClassNames picks class names for a set directory (see LoadCorruptionSet).
func setClassNames(dir string, labels []int32) ([]string, error) {
	maxLabel := int32(0)
	for _, l := range labels {
		maxLabel = max(maxLabel, l)
	}
	p := filepath.Join(dir, "classes.txt")
	if fileExists(p) {
		names, err := readNameLines(p)
		if err != nil {
			return nil, err
		}
		if int(maxLabel) >= len(names) {
			return nil, fmt.Errorf("read %s: %w", p, formatErr("%d class names but label %d", len(names), maxLabel))
		}
		return names, nil
	}
	if maxLabel < 10 {
		return CIFAR10Classes, nil
	}
	return defaultClassNames(int(maxLabel) + 1), nil
}

// hwcToCHW converts one interleaved H×W×C image to planar C×H×W.
func hwcToCHW(dst, src []uint8, h, w, c int) {
	plane := h * w
	switch c {
	case 3:
		r, g, b := dst[:plane], dst[plane:2*plane], dst[2*plane:3*plane]
		for p := range plane {
			s := src[3*p : 3*p+3 : 3*p+3]
			r[p], g[p], b[p] = s[0], s[1], s[2]
		}
	default:
		for p := range plane {
			for ch := range c {
				dst[ch*plane+p] = src[p*c+ch]
			}
		}
	}
}
