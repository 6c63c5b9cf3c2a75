// Package npyfile reads and writes NumPy .npy files of integer arrays without loading
// them whole: the header is parsed (with codeberg.org/sbinet/npyio for the header
// dictionary, behind guards so that no input panics or allocates far beyond its
// size) and the wanted elements are read at their offset. It serves the data and
// corrupt packages, which both read CIFAR-10-C style sets.
package npyfile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	npyio "codeberg.org/sbinet/npyio/npy"
)

// ErrFormat is matched (errors.Is) by every error about a malformed, truncated or
// unsupported .npy file.
var ErrFormat = errors.New("malformed .npy file")

// formatError is an ErrFormat error whose text is only its message.
type formatError struct{ msg string }

func (e *formatError) Error() string        { return e.msg }
func (e *formatError) Is(target error) bool { return target == ErrFormat }

// Errorf returns an error with the formatted message that matches ErrFormat; callers
// use it for their own checks of a file's shape or type. %w verbs are not unwrapped.
func Errorf(format string, args ...any) error {
	return &formatError{msg: fmt.Sprintf(format, args...)}
}

// MaxHeader bounds the header length accepted (NumPy writes a few hundred bytes).
const MaxHeader = 1 << 20

// Header is what divres needs of an .npy header.
type Header struct {
	Descr     string // the element type as written, e.g. "|u1", "<i8"
	Kind      byte   // 'u', 'i', 'b' or 'f'
	Size      int    // bytes per element: 1, 2, 4 or 8
	BigEndian bool   // big-endian elements
	Shape     []int  // C order
	Offset    int64  // byte offset of the data
	NBytes    int64  // data size
}

// Elems returns the number of elements.
func (h Header) Elems() int64 {
	n := int64(1)
	for _, d := range h.Shape {
		n *= int64(d)
	}
	return n
}

// ParseHeader parses the header at the start of r (format versions 1 to 3). Anything
// but a C-ordered integer, boolean or float32/float64 array is an ErrFormat error.
func ParseHeader(r io.Reader) (Header, error) {
	var h Header
	var pre [10]byte
	if n, err := io.ReadFull(r, pre[:8]); err != nil {
		return h, Errorf("not a .npy file: header truncated after %d bytes", n)
	}
	if !bytes.Equal(pre[:6], npyio.Magic[:]) {
		return h, Errorf("not a .npy file: bad magic % x", pre[:6])
	}
	major := pre[6]
	var hdrLen, preLen int
	switch major {
	case 1:
		if _, err := io.ReadFull(r, pre[8:10]); err != nil {
			return h, Errorf("not a .npy file: header truncated")
		}
		hdrLen, preLen = int(binary.LittleEndian.Uint16(pre[8:10])), 10
	case 2, 3:
		var l [4]byte
		if _, err := io.ReadFull(r, l[:]); err != nil {
			return h, Errorf("not a .npy file: header truncated")
		}
		hdrLen, preLen = int(binary.LittleEndian.Uint32(l[:])), 12
		if hdrLen > MaxHeader {
			return h, Errorf("not a .npy file: header length %d exceeds %d", hdrLen, MaxHeader)
		}
	default:
		return h, Errorf("not a .npy file: unsupported format version %d.%d", major, pre[7])
	}
	dict := make([]byte, hdrLen)
	if n, err := io.ReadFull(r, dict); err != nil {
		return h, Errorf("not a .npy file: header dictionary truncated (%d of %d bytes)", n, hdrLen)
	}
	if hdrLen == 0 || dict[hdrLen-1] != '\n' {
		return h, Errorf("not a .npy file: header dictionary does not end with a newline")
	}
	hd, err := npyioHeader(dict)
	if err != nil {
		return h, Errorf("not a .npy file: %v", err)
	}
	if hd.Descr.Fortran {
		return h, Errorf("npy: Fortran-ordered arrays are not supported")
	}
	if err := parseDescr(strings.Trim(hd.Descr.Type, `'" `), &h); err != nil {
		return h, err
	}
	h.Shape = hd.Descr.Shape
	n := int64(1)
	for _, d := range h.Shape {
		if d < 0 {
			return h, Errorf("npy: negative dimension in shape %v", h.Shape)
		}
		if d > 0 && n > math.MaxInt64/int64(h.Size)/int64(d) {
			return h, Errorf("npy: shape %v too large", h.Shape)
		}
		n *= int64(d)
	}
	h.NBytes = n * int64(h.Size)
	h.Offset = int64(preLen + hdrLen)
	return h, nil
}

// npyioHeader hands the header dictionary to npyio (as a version 2 file, which npyio
// knows) and converts any panic of its parser into an error.
func npyioHeader(dict []byte) (hd npyio.Header, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("unparsable header dictionary %q", truncate(string(dict), 80))
		}
	}()
	var buf bytes.Buffer
	buf.Write(npyio.Magic[:])
	buf.Write([]byte{2, 0})
	binary.Write(&buf, binary.LittleEndian, uint32(len(dict)))
	buf.Write(dict)
	rd, err := npyio.NewReader(&buf)
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

// parseDescr understands the NumPy type strings of integers, booleans and floats:
// an optional byte order (<, >, |, =), a kind (u, i, b, f) and a size (1, 2, 4, 8;
// floats 4 or 8).
func parseDescr(d string, h *Header) error {
	s := d
	big := false
	if s != "" && strings.ContainsRune("<>|=", rune(s[0])) {
		big = s[0] == '>'
		s = s[1:]
	}
	if len(s) < 2 || !strings.ContainsRune("uibf", rune(s[0])) {
		return Errorf("npy: element type %q is not a supported numeric type (uint8, int64, float32, …)", d)
	}
	size, err := strconv.Atoi(s[1:])
	if err != nil || (size != 1 && size != 2 && size != 4 && size != 8) || (s[0] == 'b' && size != 1) ||
		(s[0] == 'f' && size != 4 && size != 8) {
		return Errorf("npy: unsupported element type %q", d)
	}
	h.Descr, h.Kind, h.Size, h.BigEndian = d, s[0], size, big
	return nil
}

// HeaderBytes returns a version 1.0 header for a C-ordered array of the given element
// type (e.g. "|u1", "<i8") and shape, padded with spaces to a multiple of 64 bytes
// and ended by a newline, as NumPy writes it.
func HeaderBytes(descr string, shape []int) []byte {
	var sb strings.Builder
	fmt.Fprintf(&sb, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr)
	for i, d := range shape {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(strconv.Itoa(d))
	}
	if len(shape) == 1 {
		sb.WriteString(",")
	}
	sb.WriteString("), }")
	dict := sb.String()
	total := 10 + len(dict) + 1
	pad := (64 - total%64) % 64
	dict += strings.Repeat(" ", pad) + "\n"
	out := make([]byte, 10, 10+len(dict))
	copy(out, npyio.Magic[:])
	out[6], out[7] = 1, 0
	binary.LittleEndian.PutUint16(out[8:], uint16(len(dict)))
	return append(out, dict...)
}
