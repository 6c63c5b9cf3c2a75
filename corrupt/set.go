package corrupt

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/divres/divres/internal/atomicfile"
	"github.com/divres/divres/internal/npyfile"
)

// Corruption sets in the CIFAR-10-C layout:
//
//	DIR/<corruption>.npy  uint8 (S·N, H, W, 3), or (S·N, H, W) for grayscale: the
//	                      severities of the run stacked in increasing order (S = 5 for
//	                      1..5, the published layout), N images each, in input order
//	DIR/labels.npy        the N labels repeated S times, shape (S·N,): uint8 when every
//	                      label fits (as the published CIFAR-10-C labels.npy), else int64
//	DIR/set.json          what divres wrote: sizes, severities, corruptions, seed, modes
//
// Every file is written to a temporary file in DIR and renamed into place when
// complete, so a failed or interrupted run leaves no half-written .npy behind.

// SetInfo is the content of set.json.
type SetInfo struct {
	Format      string   `json:"format"`
	N           int      `json:"n"`
	Height      int      `json:"height"`
	Width       int      `json:"width"`
	Channels    int      `json:"channels"`
	Severities  []int    `json:"severities"`
	Corruptions []string `json:"corruptions"`
	Seed        uint64   `json:"seed"`
	RNG         string   `json:"rng"`
	Params      string   `json:"params"`
	Frost       string   `json:"frost,omitempty"`
}

// SetInfoFile is the metadata file name of a set written by divres.
const SetInfoFile = "set.json"

// setFormat names the layout in set.json.
const setFormat = "cifar-10-c"

// NPYImages is a Source reading images from a uint8 .npy file of shape (N, H, W),
// (N, H, W, 1) or (N, H, W, 3). Files up to 1 GiB are read into memory; larger ones are
// read image by image.
type NPYImages struct {
	f          *npyfile.File
	data       []byte
	n, h, w, c int
}

// maxInMemory is the largest .npy payload NPYImages loads at once.
const maxInMemory = 1 << 30

// OpenNPYImages opens a uint8 image array.
func OpenNPYImages(path string) (*NPYImages, error) {
	f, err := npyfile.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open images: %w", err)
	}
	im, err := newNPYImages(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return im, nil
}

func newNPYImages(f *npyfile.File) (*NPYImages, error) {
	path, shape := f.Name(), f.Shape
	if f.Kind != 'u' || f.Size != 1 {
		return nil, npyfile.Errorf("read %s: element type %s, want uint8", path, f.Descr)
	}
	im := &NPYImages{f: f}
	switch {
	case len(shape) == 3:
		im.n, im.h, im.w, im.c = shape[0], shape[1], shape[2], 1
	case len(shape) == 4 && (shape[3] == 1 || shape[3] == 3):
		im.n, im.h, im.w, im.c = shape[0], shape[1], shape[2], shape[3]
	default:
		return nil, npyfile.Errorf("read %s: shape %v, want (N, H, W), (N, H, W, 1) or (N, H, W, 3)", path, shape)
	}
	if im.h < MinSize || im.w < MinSize {
		return nil, fmt.Errorf("read %s: images of %d×%d, the minimum is %d×%d", path, im.h, im.w, MinSize, MinSize)
	}
	if f.NBytes <= maxInMemory {
		im.data = make([]byte, f.NBytes)
		if err := f.ReadBytes(im.data, 0); err != nil {
			return nil, err
		}
	}
	return im, nil
}

// Len returns the number of images.
func (m *NPYImages) Len() int { return m.n }

// Shape returns the image height, width and channels.
func (m *NPYImages) Shape() (h, w, c int) { return m.h, m.w, m.c }

// Image returns image i (sharing memory with the loaded array; do not modify).
func (m *NPYImages) Image(i int) (Image, error) {
	if i < 0 || i >= m.n {
		return Image{}, fmt.Errorf("%s: image %d out of range 0..%d", m.f.Name(), i, m.n-1)
	}
	sz := m.h * m.w * m.c
	if m.data != nil {
		return Image{H: m.h, W: m.w, C: m.c, Pix: m.data[i*sz : (i+1)*sz : (i+1)*sz]}, nil
	}
	img := NewImage(m.h, m.w, m.c)
	if err := m.f.ReadBytes(img.Pix, int64(i)*int64(sz)); err != nil {
		return Image{}, fmt.Errorf("image %d: %w", i, err)
	}
	return img, nil
}

// Close closes the file.
func (m *NPYImages) Close() error { return m.f.Close() }

// ReadLabelsNPY reads a 1-D integer .npy array (any integer dtype; shape (N,) or
// (N, 1)).
func ReadLabelsNPY(path string) ([]int64, error) {
	f, err := npyfile.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open labels: %w", err)
	}
	defer f.Close()
	if len(f.Shape) != 1 && !(len(f.Shape) == 2 && f.Shape[1] == 1) {
		return nil, npyfile.Errorf("read %s: shape %v, want (N,)", path, f.Shape)
	}
	if f.Kind == 'b' {
		return nil, npyfile.Errorf("read %s: dtype %s is not an integer type", path, f.Descr)
	}
	return f.ReadInts(0, f.Elems())
}

// SetWriter writes a corruption set: Write places each batch at its offset in the
// corruption's temporary file; Commit renames the complete files into place.
type SetWriter struct {
	dir        string
	info       SetInfo
	sevPos     map[int]int
	files      map[string]*os.File
	tmpNames   map[string]string
	imgBytes   int
	dataOffset int64
	closed     bool
}

// CreateSet prepares dir (created if needed) for a set of the given corruptions and
// severities over n images of h×w×c. info.Seed, RNG, Params and Frost are recorded in
// set.json; its sizes and lists are filled in here.
func CreateSet(dir string, corruptions []string, severities []int, n, h, w, c int, info SetInfo) (*SetWriter, error) {
	if c != 1 && c != 3 {
		return nil, fmt.Errorf("create set: %d channels, want 1 or 3", c)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create set: %w", err)
	}
	sevs := append([]int(nil), severities...)
	sort.Ints(sevs)
	info.Format = setFormat
	info.N, info.Height, info.Width, info.Channels = n, h, w, c
	info.Severities = sevs
	info.Corruptions = append([]string(nil), corruptions...)
	s := &SetWriter{dir: dir, info: info, sevPos: map[int]int{}, files: map[string]*os.File{},
		tmpNames: map[string]string{}, imgBytes: h * w * c}
	for i, v := range sevs {
		s.sevPos[v] = i
	}
	shape := []int{len(sevs) * n, h, w}
	if c == 3 {
		shape = append(shape, 3)
	}
	hdr := npyfile.HeaderBytes("|u1", shape)
	s.dataOffset = int64(len(hdr))
	total := s.dataOffset + int64(len(sevs))*int64(n)*int64(s.imgBytes)
	for _, name := range corruptions {
		if name == "" || strings.ContainsAny(name, `/\`) || name == "labels" {
			s.Abort()
			return nil, fmt.Errorf("create set: bad corruption name %q", name)
		}
		f, err := os.CreateTemp(dir, "."+name+".npy.*.tmp")
		if err != nil {
			s.Abort()
			return nil, fmt.Errorf("create set: %w", err)
		}
		s.files[name] = f
		s.tmpNames[name] = f.Name()
		if err := f.Chmod(0o644); err != nil {
			s.Abort()
			return nil, fmt.Errorf("create set %s: %w", name, err)
		}
		if _, err := f.WriteAt(hdr, 0); err != nil {
			s.Abort()
			return nil, fmt.Errorf("create set %s: %w", name, err)
		}
		if err := f.Truncate(total); err != nil {
			s.Abort()
			return nil, fmt.Errorf("create set %s: %w", name, err)
		}
	}
	return s, nil
}

// Write stores a batch of corrupted images at their place in the set.
func (s *SetWriter) Write(b Batch) error {
	f, ok := s.files[b.Corruption.Name]
	if !ok {
		return fmt.Errorf("write set: corruption %s is not part of the set", b.Corruption.Name)
	}
	pos, ok := s.sevPos[b.Severity]
	if !ok {
		return fmt.Errorf("write set: severity %d is not part of the set", b.Severity)
	}
	if b.Start < 0 || b.Start+len(b.Images) > s.info.N {
		return fmt.Errorf("write set: images %d..%d out of range", b.Start, b.Start+len(b.Images)-1)
	}
	buf := make([]byte, 0, len(b.Images)*s.imgBytes)
	for _, img := range b.Images {
		if len(img.Pix) != s.imgBytes {
			return fmt.Errorf("write set: image of %d values, want %d", len(img.Pix), s.imgBytes)
		}
		buf = append(buf, img.Pix...)
	}
	off := s.dataOffset + (int64(pos)*int64(s.info.N)+int64(b.Start))*int64(s.imgBytes)
	if _, err := f.WriteAt(buf, off); err != nil {
		return fmt.Errorf("write set %s: %w", b.Corruption.Name, err)
	}
	return nil
}

// Commit flushes and renames every corruption file into place, then writes
// labels.npy (when labels is not nil; len(labels) must be N) and set.json.
func (s *SetWriter) Commit(labels []int64) error {
	if s.closed {
		return fmt.Errorf("commit set: already closed")
	}
	if labels != nil && len(labels) != s.info.N {
		s.Abort()
		return fmt.Errorf("commit set: %d labels for %d images", len(labels), s.info.N)
	}
	names := make([]string, 0, len(s.files))
	for name := range s.files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		f := s.files[name]
		if err := f.Sync(); err != nil {
			s.Abort()
			return fmt.Errorf("commit set %s: %w", name, err)
		}
		if err := f.Close(); err != nil {
			s.Abort()
			return fmt.Errorf("commit set %s: %w", name, err)
		}
		delete(s.files, name)
	}
	for _, name := range names {
		if err := os.Rename(s.tmpNames[name], filepath.Join(s.dir, name+".npy")); err != nil {
			s.Abort()
			return fmt.Errorf("commit set %s: %w", name, err)
		}
		delete(s.tmpNames, name)
	}
	s.closed = true
	if labels != nil {
		if err := writeLabels(filepath.Join(s.dir, "labels.npy"), labels, len(s.info.Severities)); err != nil {
			return err
		}
	}
	js, err := json.MarshalIndent(s.info, "", "  ")
	if err != nil {
		return fmt.Errorf("commit set: %w", err)
	}
	return atomicfile.WriteFile(filepath.Join(s.dir, SetInfoFile), append(js, '\n'))
}

// Abort closes and removes the temporary files; the directory keeps whatever complete
// files it had before.
func (s *SetWriter) Abort() {
	for name, f := range s.files {
		f.Close()
		delete(s.files, name)
	}
	for name, p := range s.tmpNames {
		os.Remove(p)
		delete(s.tmpNames, name)
	}
	s.closed = true
}

// writeLabels writes labels repeated reps times, as uint8 when they all fit.
func writeLabels(path string, labels []int64, reps int) error {
	small := true
	for _, l := range labels {
		if l < 0 || l > 255 {
			small = false
			break
		}
	}
	n := len(labels) * reps
	var buf []byte
	if small {
		buf = append(npyfile.HeaderBytes("|u1", []int{n}), make([]byte, n)...)
		data := buf[len(buf)-n:]
		for r := 0; r < reps; r++ {
			for i, l := range labels {
				data[r*len(labels)+i] = uint8(l)
			}
		}
	} else {
		buf = append(npyfile.HeaderBytes("<i8", []int{n}), make([]byte, 8*n)...)
		data := buf[len(buf)-8*n:]
		for r := 0; r < reps; r++ {
			for i, l := range labels {
				k := 8 * (r*len(labels) + i)
				for b := 0; b < 8; b++ {
					data[k+b] = byte(uint64(l) >> (8 * b))
				}
			}
		}
	}
	return atomicfile.WriteFile(path, buf)
}

// Set is a corruption set opened for reading, written by divres or published
// (CIFAR-10-C).
type Set struct {
	Dir string
	// Info describes the set: from set.json when present, else inferred (severities
	// 1..5, N = first dimension / 5).
	Info SetInfo
}

// OpenSet opens the set in dir. It reads headers only.
func OpenSet(dir string) (*Set, error) {
	info, err := readSetInfo(dir)
	if err != nil {
		return nil, err
	}
	s := &Set{Dir: dir, Info: info}
	names, err := SetNames(dir)
	if err != nil {
		return nil, fmt.Errorf("open set %s: %w", dir, err)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("open set %s: no corruption files (<name>.npy)", dir)
	}
	s.Info.Corruptions = names
	// Sizes from the first file when set.json did not give them.
	f, err := s.open(names[0])
	if err != nil {
		return nil, err
	}
	f.Close()
	if s.Info.N < 0 {
		s.Info.N = f.Shape[0] / len(s.Info.Severities)
		s.Info.Height, s.Info.Width = f.Shape[1], f.Shape[2]
		s.Info.Channels = 1
		if len(f.Shape) == 4 {
			s.Info.Channels = f.Shape[3]
		}
	}
	return s, nil
}

// readSetInfo reads DIR/set.json; without one, the published layout is assumed
// (severities 1..5) and N is -1.
func readSetInfo(dir string) (SetInfo, error) {
	var info SetInfo
	js, err := os.ReadFile(filepath.Join(dir, SetInfoFile))
	switch {
	case err == nil:
		if err := json.Unmarshal(js, &info); err != nil {
			return info, fmt.Errorf("open set %s: %s: %w", dir, SetInfoFile, err)
		}
		if info.N < 0 || len(info.Severities) == 0 {
			return info, fmt.Errorf("open set %s: %s is incomplete", dir, SetInfoFile)
		}
		if !slices.IsSorted(info.Severities) {
			return info, fmt.Errorf("open set %s: %s: severities %v, want an increasing list", dir, SetInfoFile, info.Severities)
		}
		return info, nil
	case errors.Is(err, os.ErrNotExist):
		return SetInfo{Format: setFormat, Severities: []int{1, 2, 3, 4, 5}, N: -1}, nil
	default:
		return info, fmt.Errorf("open set %s: %w", dir, err)
	}
}

// SetSeverities returns the severities stacked in the files of the set in dir: those
// of its set.json, else 1..5. It reads no .npy file.
func SetSeverities(dir string) ([]int, error) {
	info, err := readSetInfo(dir)
	return info.Severities, err
}

// SetNames lists the corruptions of a set directory: its .npy files other than
// labels.npy, sorted.
func SetNames(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		n := e.Name()
		if e.IsDir() || strings.HasPrefix(n, ".") || !strings.HasSuffix(n, ".npy") || n == "labels.npy" {
			continue
		}
		out = append(out, strings.TrimSuffix(n, ".npy"))
	}
	sort.Strings(out)
	return out, nil
}

// open opens one corruption file and checks its header. Errors about the file's
// content match npyfile.ErrFormat.
func (s *Set) open(name string) (*npyfile.File, error) {
	f, err := npyfile.Open(filepath.Join(s.Dir, name+".npy"))
	if err != nil {
		return nil, fmt.Errorf("open set: %w", err)
	}
	path, shape := f.Name(), f.Shape
	switch {
	case f.Kind != 'u' || f.Size != 1:
		err = npyfile.Errorf("read %s: element type %s, want uint8", path, f.Descr)
	case (len(shape) != 3 && len(shape) != 4) || (len(shape) == 4 && shape[3] != 1 && shape[3] != 3):
		err = npyfile.Errorf("read %s: shape %v is not (S·N, H, W[, C])", path, shape)
	case shape[0]%len(s.Info.Severities) != 0:
		err = npyfile.Errorf("read %s: %d images is not a multiple of %d severities", path, shape[0], len(s.Info.Severities))
	case s.Info.N >= 0 && shape[0] != s.Info.N*len(s.Info.Severities):
		err = npyfile.Errorf("read %s: %d images, %s says %d severities × %d", path, shape[0], SetInfoFile, len(s.Info.Severities), s.Info.N)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// severityPos returns the position of severity in the files' stacking order.
func (s *Set) severityPos(severity int) (int, error) {
	pos := slices.Index(s.Info.Severities, severity)
	if pos < 0 {
		return 0, fmt.Errorf("corruption set %s: no severity %d (have %v)", s.Dir, severity, s.Info.Severities)
	}
	return pos, nil
}

// Read returns the N images of one corruption at one severity, reading only that
// slice of the file.
func (s *Set) Read(corruption string, severity int) ([]Image, error) {
	return s.ReadRange(corruption, severity, 0, -1)
}

// ReadRange returns count images (all remaining when count < 0) of one corruption
// and severity, starting at image start.
func (s *Set) ReadRange(corruption string, severity, start, count int) ([]Image, error) {
	pos, err := s.severityPos(severity)
	if err != nil {
		return nil, err
	}
	if corruption == "" || strings.ContainsAny(corruption, `/\`) {
		return nil, fmt.Errorf("corruption set %s: bad corruption name %q", s.Dir, corruption)
	}
	f, err := s.open(corruption)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("corruption set %s: no corruption %q (have %s)", s.Dir, corruption, strings.Join(s.Info.Corruptions, ", "))
		}
		return nil, err
	}
	defer f.Close()
	n := f.Shape[0] / len(s.Info.Severities)
	h, w, c := f.Shape[1], f.Shape[2], 1
	if len(f.Shape) == 4 {
		c = f.Shape[3]
	}
	if count < 0 {
		count = n - start
	}
	if start < 0 || start+count > n {
		return nil, fmt.Errorf("corruption set %s: images %d..%d out of range (N = %d)", s.Dir, start, start+count-1, n)
	}
	sz := h * w * c
	buf := make([]byte, count*sz)
	if err := f.ReadBytes(buf, (int64(pos)*int64(n)+int64(start))*int64(sz)); err != nil {
		return nil, fmt.Errorf("severity %d: %w", severity, err)
	}
	imgs := make([]Image, count)
	for i := range imgs {
		imgs[i] = Image{H: h, W: w, C: c, Pix: buf[i*sz : (i+1)*sz : (i+1)*sz]}
	}
	return imgs, nil
}

// Labels reads DIR/labels.npy (all S·N entries).
func (s *Set) Labels() ([]int64, error) {
	return ReadLabelsNPY(filepath.Join(s.Dir, "labels.npy"))
}

// SeverityLabels reads the Info.N labels of one severity from DIR/labels.npy, which
// holds a 1-D integer array of either S·N labels (one copy per severity, as published)
// or N; only those labels are read. Errors about the file's content match
// npyfile.ErrFormat.
func (s *Set) SeverityLabels(severity int) ([]int64, error) {
	pos, err := s.severityPos(severity)
	if err != nil {
		return nil, err
	}
	f, err := npyfile.Open(filepath.Join(s.Dir, "labels.npy"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if len(f.Shape) != 1 || f.Kind == 'b' {
		return nil, npyfile.Errorf("read %s: labels have shape %v type %s, want a 1-D integer array", f.Name(), f.Shape, f.Descr)
	}
	n, ns := s.Info.N, len(s.Info.Severities)
	var from int64
	switch f.Shape[0] {
	case n:
	case ns * n:
		from = int64(pos) * int64(n)
	default:
		return nil, npyfile.Errorf("read %s: %d labels for %d images per severity (want %d or %d)", f.Name(), f.Shape[0], n, n, ns*n)
	}
	return f.ReadInts(from, from+int64(n))
}
