package data

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"codeberg.org/sbinet/npyio/npy"
)

// Reading slices of .npy files (NumPy's array format) without loading them whole: the
// header is parsed with codeberg.org/sbinet/npyio, then the wanted rows are read at
// their offset.
//
// TODO(fold): the corrupt package's OpenSet reads the same set layout; fold the two
// readers into one when it lands.

// maxNpyHeader bounds the header length accepted (NumPy writes a few hundred bytes).
const maxNpyHeader = 1 << 20

// npyHeader is what divres needs of an .npy header.
type npyHeader struct {
	kind   byte  // 'u', 'i' or 'b'
	size   int   // bytes per element
	big    bool  // big-endian elements
	shape  []int // C order
	offset int64 // byte offset of the data
	nbytes int64 // data size
}

// elems returns the number of elements.
func (h npyHeader) elems() int64 {
	n := int64(1)
	for _, d := range h.shape {
		n *= int64(d)
	}
	return n
}

// parseNpyHeader parses the header at the start of r, returning ErrFormat-wrapped
// errors for anything but a C-ordered integer or boolean array.
func parseNpyHeader(r io.Reader) (npyHeader, error) {
	var h npyHeader
	var pre [10]byte
	if n, err := io.ReadFull(r, pre[:8]); err != nil {
		return h, formatErr("npy: header truncated after %d bytes", n)
	}
	if !bytes.Equal(pre[:6], npy.Magic[:]) {
		return h, formatErr("npy: bad magic % x", pre[:6])
	}
	major := pre[6]
	var hdrLen, preLen int
	switch major {
	case 1:
		if _, err := io.ReadFull(r, pre[8:10]); err != nil {
			return h, formatErr("npy: header truncated")
		}
		hdrLen, preLen = int(binary.LittleEndian.Uint16(pre[8:10])), 10
	case 2, 3:
		var l [4]byte
		if _, err := io.ReadFull(r, l[:]); err != nil {
			return h, formatErr("npy: header truncated")
		}
		hdrLen, preLen = int(binary.LittleEndian.Uint32(l[:])), 12
		if hdrLen > maxNpyHeader {
			return h, formatErr("npy: header length %d exceeds %d", hdrLen, maxNpyHeader)
		}
	default:
		return h, formatErr("npy: unsupported format version %d.%d", major, pre[7])
	}
	dict := make([]byte, hdrLen)
	if n, err := io.ReadFull(r, dict); err != nil {
		return h, formatErr("npy: header dictionary truncated (%d of %d bytes)", n, hdrLen)
	}
	if hdrLen == 0 || dict[hdrLen-1] != '\n' {
		return h, formatErr("npy: header dictionary does not end with a newline")
	}
	hd, err := npyioHeader(dict)
	if err != nil {
		return h, formatErr("npy: %v", err)
	}
	if hd.Descr.Fortran {
		return h, formatErr("npy: Fortran-ordered arrays are not supported")
	}
	if err := parseDescr(strings.Trim(hd.Descr.Type, `'" `), &h); err != nil {
		return h, err
	}
	h.shape = hd.Descr.Shape
	n := int64(1)
	for _, d := range h.shape {
		if d < 0 {
			return h, formatErr("npy: negative dimension in shape %v", h.shape)
		}
		if d > 0 && n > math.MaxInt64/int64(h.size)/int64(d) {
			return h, formatErr("npy: shape %v too large", h.shape)
		}
		n *= int64(d)
	}
	h.nbytes = n * int64(h.size)
	h.offset = int64(preLen + hdrLen)
	return h, nil
}

// npyioHeader hands the header dictionary to npyio (as a version 1 or 2 file, which
// is how npyio knows them) and converts any panic of its parser into an error.
func npyioHeader(dict []byte) (hd npy.Header, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("unparsable header dictionary %q", truncate(string(dict), 80))
		}
	}()
	var buf bytes.Buffer
	buf.Write(npy.Magic[:])
	buf.Write([]byte{2, 0})
	binary.Write(&buf, binary.LittleEndian, uint32(len(dict)))
	buf.Write(dict)
	rd, err := npy.NewReader(&buf)
	if err != nil {
		return hd, err
	}
	return rd.Header, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// parseDescr understands the NumPy type strings of integers and booleans:
// an optional byte order (<, >, |, =), a kind (u, i, b) and a size (1, 2, 4, 8).
func parseDescr(d string, h *npyHeader) error {
	s := d
	if s != "" && strings.ContainsRune("<>|=", rune(s[0])) {
		h.big = s[0] == '>'
		s = s[1:]
	}
	if len(s) < 2 || !strings.ContainsRune("uib", rune(s[0])) {
		return formatErr("npy: unsupported element type %q (want an integer type)", d)
	}
	size, err := strconv.Atoi(s[1:])
	if err != nil || (size != 1 && size != 2 && size != 4 && size != 8) || (s[0] == 'b' && size != 1) {
		return formatErr("npy: unsupported element type %q", d)
	}
	h.kind, h.size = s[0], size
	return nil
}

// npyFile is an .npy file whose data is read at offsets.
type npyFile struct {
	r    io.ReaderAt
	c    io.Closer // nil when not owned
	path string
	h    npyHeader
}

// newNpyFile parses the header of the .npy data in r (size bytes long) and checks
// that the data is long enough for the header's shape. name is used in errors.
func newNpyFile(r io.ReaderAt, size int64, name string) (*npyFile, error) {
	h, err := parseNpyHeader(io.NewSectionReader(r, 0, size))
	if err == nil && size < h.offset+h.nbytes {
		err = formatErr("npy: truncated: %d data bytes for shape %v, want %d", size-h.offset, h.shape, h.nbytes)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return &npyFile{r: r, path: name, h: h}, nil
}

// openNpy opens an .npy file (see newNpyFile).
func openNpy(path string) (*npyFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	n, err := newNpyFile(f, st.Size(), path)
	if err != nil {
		f.Close()
		return nil, err
	}
	n.c = f
	return n, nil
}

// Close closes the file.
func (n *npyFile) Close() error {
	if n.c == nil {
		return nil
	}
	return n.c.Close()
}

// readBytes reads len(p) data bytes starting at data byte off.
func (n *npyFile) readBytes(p []byte, off int64) error {
	if off < 0 || off+int64(len(p)) > n.h.nbytes {
		return fmt.Errorf("read %s: bytes [%d, %d) outside the %d data bytes", n.path, off, off+int64(len(p)), n.h.nbytes)
	}
	if len(p) == 0 {
		return nil
	}
	if _, err := n.r.ReadAt(p, n.h.offset+off); err != nil {
		return fmt.Errorf("read %s: %w", n.path, err)
	}
	return nil
}

// readInts reads elements [from, to) of an integer array as int64.
func (n *npyFile) readInts(from, to int64) ([]int64, error) {
	if from < 0 || to < from || to > n.h.elems() {
		return nil, fmt.Errorf("read %s: elements [%d, %d) outside [0, %d)", n.path, from, to, n.h.elems())
	}
	sz := int64(n.h.size)
	raw := make([]byte, (to-from)*sz)
	if err := n.readBytes(raw, from*sz); err != nil {
		return nil, err
	}
	return decodeInts(raw, n.h), nil
}

// decodeInts converts raw elements of h's type to int64.
func decodeInts(raw []byte, h npyHeader) []int64 {
	var bo binary.ByteOrder = binary.LittleEndian
	if h.big {
		bo = binary.BigEndian
	}
	out := make([]int64, len(raw)/h.size)
	signed := h.kind == 'i'
	for i := range out {
		b := raw[i*h.size:]
		switch h.size {
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
			out[i] = int64(bo.Uint64(b)) // uint64 labels beyond 2^63 read negative and are rejected
		}
	}
	return out
}
