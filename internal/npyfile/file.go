package npyfile

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
)

// File is an .npy file whose data is read at offsets.
type File struct {
	Header
	r    io.ReaderAt
	c    io.Closer // nil when not owned
	name string
}

// New parses the header of the .npy data in r (size bytes long) and checks that the
// data is long enough for the header's shape. name is used in errors.
func New(r io.ReaderAt, size int64, name string) (*File, error) {
	h, err := ParseHeader(io.NewSectionReader(r, 0, size))
	if err == nil && size < h.Offset+h.NBytes {
		err = Errorf("npy: truncated: %d data bytes for shape %v, want %d", size-h.Offset, h.Shape, h.NBytes)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return &File{Header: h, r: r, name: name}, nil
}

// Open opens an .npy file (see New). A file that cannot be opened gives os.Open's
// error.
func Open(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	n, err := New(f, st.Size(), path)
	if err != nil {
		f.Close()
		return nil, err
	}
	n.c = f
	return n, nil
}

// Name returns the name given to New or the path given to Open.
func (f *File) Name() string { return f.name }

// Close closes the file when Open opened it.
func (f *File) Close() error {
	if f.c == nil {
		return nil
	}
	return f.c.Close()
}

// ReadBytes reads len(p) data bytes starting at data byte off.
func (f *File) ReadBytes(p []byte, off int64) error {
	if off < 0 || off+int64(len(p)) > f.NBytes {
		return fmt.Errorf("read %s: bytes [%d, %d) outside the %d data bytes", f.name, off, off+int64(len(p)), f.NBytes)
	}
	if len(p) == 0 {
		return nil
	}
	if _, err := f.r.ReadAt(p, f.Offset+off); err != nil {
		return fmt.Errorf("read %s: %w", f.name, err)
	}
	return nil
}

// readElems returns the bytes of elements [from, to), checking the range.
func (f *File) readElems(from, to int64) ([]byte, error) {
	if from < 0 || to < from || to > f.Elems() {
		return nil, fmt.Errorf("read %s: elements [%d, %d) outside [0, %d)", f.name, from, to, f.Elems())
	}
	sz := int64(f.Size)
	raw := make([]byte, (to-from)*sz)
	if err := f.ReadBytes(raw, from*sz); err != nil {
		return nil, err
	}
	return raw, nil
}

// byteOrder is the byte order of the array's elements.
func (h Header) byteOrder() binary.ByteOrder {
	if h.BigEndian {
		return binary.BigEndian
	}
	return binary.LittleEndian
}

// ReadInts reads elements [from, to) as int64 (booleans read 0 and 1; uint64 values
// beyond 2⁶³ read negative).
func (f *File) ReadInts(from, to int64) ([]int64, error) {
	if f.Kind == 'f' {
		return nil, Errorf("read %s: dtype %s is a float type, want integers", f.name, f.Descr)
	}
	raw, err := f.readElems(from, to)
	if err != nil {
		return nil, err
	}
	return decodeInts(raw, f.Header), nil
}

// ReadFloat32s reads elements [from, to) of a float32 or float64 array as float32
// (float64 values are rounded; finite ones beyond float32's range are an error); an integer array is an ErrFormat error.
func (f *File) ReadFloat32s(from, to int64) ([]float32, error) {
	if f.Kind != 'f' {
		return nil, Errorf("read %s: dtype %s is not a float type (want float32 or float64)", f.name, f.Descr)
	}
	raw, err := f.readElems(from, to)
	if err != nil {
		return nil, err
	}
	bo := f.byteOrder()
	out := make([]float32, to-from)
	if f.Size == 4 {
		for i := range out {
			out[i] = math.Float32frombits(bo.Uint32(raw[4*i:]))
		}
	} else {
		for i := range out {
			v := math.Float64frombits(bo.Uint64(raw[8*i:]))
			if math.Abs(v) > math.MaxFloat32 && !math.IsInf(v, 0) {
				return nil, fmt.Errorf("read %s: value %g at element %d is beyond float32's range", f.name, v, from+int64(i))
			}
			out[i] = float32(v)
		}
	}
	return out, nil
}

// decodeInts converts raw elements of h's type to int64.
func decodeInts(raw []byte, h Header) []int64 {
	bo := h.byteOrder()
	out := make([]int64, len(raw)/h.Size)
	signed := h.Kind == 'i'
	for i := range out {
		b := raw[i*h.Size:]
		switch h.Size {
		case 1:
			if signed {
				out[i] = int64(int8(b[0]))
			} else {
				out[i] = int64(b[0])
			}
		case 2:
			v := bo.Uint16(b)
			if signed {
				out[i] = int64(int16(v))
			} else {
				out[i] = int64(v)
			}
		case 4:
			v := bo.Uint32(b)
			if signed {
				out[i] = int64(int32(v))
			} else {
				out[i] = int64(v)
			}
		case 8:
			out[i] = int64(bo.Uint64(b))
		}
	}
	return out
}

// WriteFloat32 writes v as a little-endian float32 .npy array of the given shape.
func WriteFloat32(w io.Writer, shape []int, v []float32) error {
	n := 1
	for _, d := range shape {
		n *= d
	}
	if n != len(v) {
		return fmt.Errorf("npy: %d values for shape %v", len(v), shape)
	}
	buf := HeaderBytes("<f4", shape)
	for _, x := range v {
		buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(x))
	}
	_, err := w.Write(buf)
	return err
}
