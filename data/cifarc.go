package data

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// CIFAR-10-C layout: DIR/<corruption>.npy holds uint8 (S·N, H, W, C) (or (S·N, H, W)
// for grayscale) with the S severities stacked in increasing order, N images each;
// DIR/labels.npy holds the labels, either (S·N,) (the published files repeat them per
// severity) or (N,), in any integer type. S is 5 (severities 1…5) unless DIR/set.json
// (written by divres's corrupt package) lists the severities.

// LabelsFile is the label file name of a corruption set.
const LabelsFile = "labels.npy"

// setInfoFile is the metadata file divres writes beside a generated set.
const setInfoFile = "set.json"

// setSeverities returns the severities stacked in the set's files.
func setSeverities(dir string) ([]int, error) {
	p := filepath.Join(dir, setInfoFile)
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return []int{1, 2, 3, 4, 5}, nil
	}
	if err != nil {
		return nil, err
	}
	var info struct {
		Severities []int `json:"severities"`
	}
	if err := json.Unmarshal(b, &info); err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	if len(info.Severities) == 0 || !slices.IsSorted(info.Severities) {
		return nil, fmt.Errorf("read %s: severities %v, want a non-empty increasing list", p, info.Severities)
	}
	return info.Severities, nil
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
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".npy") || name == LabelsFile || strings.HasPrefix(name, ".") {
			continue
		}
		out = append(out, strings.TrimSuffix(name, ".npy"))
	}
	sort.Strings(out)
	return out, nil
}

// LoadCorruptionSet reads one severity of one corruption of a CIFAR-10-C style set in
// dir: only that slice of DIR/<corruption>.npy is read. classes names the classes;
// nil means DIR/classes.txt (one name a line) if present, else the CIFAR-10 names when
// every label is below 10, else "0", "1", ….
func LoadCorruptionSet(dir, corruption string, severity int, classes []string) (*Memory, error) {
	sevs, err := setSeverities(dir)
	if err != nil {
		return nil, err
	}
	pos := slices.Index(sevs, severity)
	if pos < 0 {
		return nil, fmt.Errorf("corruption set %s: no severity %d (have %v)", dir, severity, sevs)
	}
	ns := len(sevs)
	if corruption == "" || strings.ContainsAny(corruption, `/\`) {
		return nil, fmt.Errorf("corruption set %s: bad corruption name %q", dir, corruption)
	}
	path := filepath.Join(dir, corruption+".npy")
	imgs, err := openNpy(path)
	if errors.Is(err, os.ErrNotExist) {
		names, _ := CorruptionSetNames(dir)
		return nil, fmt.Errorf("corruption set %s: no corruption %q (have %s)", dir, corruption, strings.Join(names, ", "))
	}
	if err != nil {
		return nil, err
	}
	defer imgs.Close()
	h := imgs.h
	if h.kind != 'u' || h.size != 1 {
		return nil, fmt.Errorf("read %s: %w", path, formatErr("element type is not uint8"))
	}
	var total, ih, iw, ic int
	switch len(h.shape) {
	case 3:
		total, ih, iw, ic = h.shape[0], h.shape[1], h.shape[2], 1
	case 4:
		total, ih, iw, ic = h.shape[0], h.shape[1], h.shape[2], h.shape[3]
	default:
		return nil, fmt.Errorf("read %s: %w", path, formatErr("shape %v, want (S·N, H, W[, C])", h.shape))
	}
	if total == 0 || total%ns != 0 || ih == 0 || iw == 0 || (ic != 1 && ic != 3) {
		return nil, fmt.Errorf("read %s: %w", path, formatErr("shape %v, want (%d·N, H, W[, C]) with N > 0 and C 1 or 3", h.shape, ns))
	}
	n := total / ns
	size := ih * iw * ic
	hwc := make([]uint8, n*size)
	if err := imgs.readBytes(hwc, int64(pos)*int64(n)*int64(size)); err != nil {
		return nil, err
	}
	pix := hwc
	if ic > 1 {
		pix = make([]uint8, len(hwc))
		for k := range n {
			hwcToCHW(pix[k*size:(k+1)*size], hwc[k*size:(k+1)*size], ih, iw, ic)
		}
	}
	labels, err := readSetLabels(filepath.Join(dir, LabelsFile), n, pos, ns)
	if err != nil {
		return nil, err
	}
	if classes == nil {
		if classes, err = setClassNames(dir, labels); err != nil {
			return nil, err
		}
	}
	d, err := NewMemory(ic, ih, iw, pix, labels, classes)
	if err != nil {
		return nil, fmt.Errorf("corruption set %s: %w", dir, err)
	}
	return d, nil
}

// readSetLabels reads the n labels of the severity at position pos from a (ns·n,) or
// (n,) label file.
func readSetLabels(path string, n, pos, ns int) ([]int32, error) {
	lf, err := openNpy(path)
	if err != nil {
		return nil, err
	}
	defer lf.Close()
	if len(lf.h.shape) != 1 || lf.h.kind == 'b' {
		return nil, fmt.Errorf("read %s: %w", path, formatErr("labels have shape %v type %c%d, want a 1-D integer array", lf.h.shape, lf.h.kind, lf.h.size))
	}
	var from int64
	switch lf.h.shape[0] {
	case n:
	case ns * n:
		from = int64(pos) * int64(n)
	default:
		return nil, fmt.Errorf("read %s: %w", path, formatErr("%d labels for %d images per severity (want %d or %d)", lf.h.shape[0], n, n, ns*n))
	}
	vals, err := lf.readInts(from, from+int64(n))
	if err != nil {
		return nil, err
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

// setClassNames picks class names for a set directory (see LoadCorruptionSet).
func setClassNames(dir string, labels []int32) ([]string, error) {
	maxLabel := int32(0)
	for _, l := range labels {
		maxLabel = max(maxLabel, l)
	}
	p := filepath.Join(dir, "classes.txt")
	if fileExists(p) {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		var names []string
		for line := range strings.SplitSeq(string(b), "\n") {
			if line = strings.TrimSpace(line); line != "" {
				names = append(names, line)
			}
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

// chwToHWC converts one planar C×H×W image to interleaved H×W×C.
func chwToHWC(dst, src []uint8, h, w, c int) {
	plane := h * w
	for p := range plane {
		for ch := range c {
			dst[p*c+ch] = src[ch*plane+p]
		}
	}
}
