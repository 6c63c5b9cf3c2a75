package npyfile

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
)

// MaxNpzMember bounds the uncompressed size of one member of an .npz archive that
// Npz.Array reads into memory.
const MaxNpzMember = 1 << 30

// Npz is an .npz archive (a zip of .npy files, stored or deflated, as numpy.savez
// and numpy.savez_compressed write them).
type Npz struct {
	z    *zip.ReadCloser
	name string
	byID map[string]*zip.File
}

// OpenNpz opens an .npz archive.
func OpenNpz(path string) (*Npz, error) {
	z, err := zip.OpenReader(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, Errorf("npz: %v", err))
	}
	a := &Npz{z: z, name: path, byID: map[string]*zip.File{}}
	for _, f := range z.File {
		a.byID[strings.TrimSuffix(f.Name, ".npy")] = f
	}
	return a, nil
}

// Names returns the array names (member names without ".npy"), sorted.
func (a *Npz) Names() []string {
	out := make([]string, 0, len(a.byID))
	for n := range a.byID {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Close closes the archive.
func (a *Npz) Close() error { return a.z.Close() }

// Array reads the member called name (with or without ".npy") into memory and
// returns it as a File. A missing member, a member larger than MaxNpzMember, or
// one whose data does not match its declared size is an error.
func (a *Npz) Array(name string) (*File, error) {
	f, ok := a.byID[strings.TrimSuffix(name, ".npy")]
	if !ok {
		return nil, fmt.Errorf("read %s: no array %q", a.name, name)
	}
	full := a.name + ":" + memberName(f.Name)
	if f.UncompressedSize64 > MaxNpzMember {
		return nil, fmt.Errorf("read %s: %w", full, Errorf("npz member of %d bytes exceeds the %d-byte limit", f.UncompressedSize64, MaxNpzMember))
	}
	r, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", full, Errorf("npz: %v", err))
	}
	defer r.Close()
	data, err := io.ReadAll(io.LimitReader(r, int64(f.UncompressedSize64)+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", full, Errorf("npz: %v", err))
	}
	if uint64(len(data)) != f.UncompressedSize64 {
		return nil, fmt.Errorf("read %s: %w", full, Errorf("npz member holds %d bytes, its entry says %d", len(data), f.UncompressedSize64))
	}
	return New(bytes.NewReader(data), int64(len(data)), full)
}

// memberName is an archive member's name for messages: quoted when it holds
// anything but printable characters, so that an error stays one line.
func memberName(n string) string {
	if q := strconv.Quote(n); q[1:len(q)-1] != n {
		return q
	}
	return n
}

// ReadFloat64s reads elements [from, to) of a float32 or float64 array as float64
// (float32 values convert exactly); an integer array is an ErrFormat error.
func (f *File) ReadFloat64s(from, to int64) ([]float64, error) {
	if f.Kind != 'f' || (f.Size != 4 && f.Size != 8) {
		return nil, Errorf("read %s: dtype %s is not float32 or float64", f.name, f.Descr)
	}
	raw, err := f.readElems(from, to)
	if err != nil {
		return nil, err
	}
	bo := f.byteOrder()
	out := make([]float64, to-from)
	if f.Size == 4 {
		for i := range out {
			out[i] = float64(math.Float32frombits(bo.Uint32(raw[4*i:])))
		}
	} else {
		for i := range out {
			out[i] = math.Float64frombits(bo.Uint64(raw[8*i:]))
		}
	}
	return out, nil
}
