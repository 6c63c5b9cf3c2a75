package corrupt

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// A minimal, defensive reader and writer of .npy headers (format versions 1–3), so
// that sets can be written by offset and read by slice without loading whole files,
// and so that malformed files give errors rather than panics.

// npyHeader describes the array of a .npy file.
type npyHeader struct {
	descr   string // e.g. "|u1", "<i8"
	fortran bool
	shape   []int
	offset  int64 // where the data starts
}

// elems returns the number of elements.
func (h npyHeader) elems() int64 {
	n := int64(1)
	for _, d := range h.shape {
		n *= int64(d)
	}
	return n
}

// itemSize returns the element size in bytes of the integer dtype, or 0.
func (h npyHeader) itemSize() int {
	if len(h.descr) < 3 {
		return 0
	}
	n, err := strconv.Atoi(h.descr[2:])
	if err != nil {
		return 0
	}
	return n
}

var errNotNPY = errors.New("not a .npy file")

// readNPYHeader parses the header at the start of r.
func readNPYHeader(r io.ReaderAt) (npyHeader, error) {
	var pre [12]byte
	if _, err := r.ReadAt(pre[:10], 0); err != nil {
		return npyHeader{}, fmt.Errorf("%w (too short)", errNotNPY)
	}
	if !bytes.Equal(pre[:6], []byte("\x93NUMPY")) {
		return npyHeader{}, fmt.Errorf("%w (bad magic)", errNotNPY)
	}
	var hlen, start int64
	switch pre[6] {
	case 1:
		hlen, start = int64(binary.LittleEndian.Uint16(pre[8:10])), 10
	case 2, 3:
		if _, err := r.ReadAt(pre[:12], 0); err != nil {
			return npyHeader{}, fmt.Errorf("%w (truncated header)", errNotNPY)
		}
		hlen, start = int64(binary.LittleEndian.Uint32(pre[8:12])), 12
	default:
		return npyHeader{}, fmt.Errorf("%w (unsupported version %d)", errNotNPY, pre[6])
	}
	if hlen > 1<<20 {
		return npyHeader{}, fmt.Errorf("%w (header of %d bytes)", errNotNPY, hlen)
	}
	buf := make([]byte, hlen)
	if _, err := r.ReadAt(buf, start); err != nil {
		return npyHeader{}, fmt.Errorf("%w (truncated header)", errNotNPY)
	}
	h, err := parseNPYDict(string(buf))
	if err != nil {
		return npyHeader{}, fmt.Errorf("%w: %v", errNotNPY, err)
	}
	h.offset = start + hlen
	return h, nil
}

// parseNPYDict parses "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 3), }".
func parseNPYDict(s string) (npyHeader, error) {
	var h npyHeader
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "{") || !strings.HasSuffix(s, "}") {
		return h, fmt.Errorf("header is not a dictionary")
	}
	value := func(key string) (string, error) {
		i := strings.Index(s, "'"+key+"'")
		if i < 0 {
			i = strings.Index(s, `"`+key+`"`)
		}
		if i < 0 {
			return "", fmt.Errorf("header has no %q", key)
		}
		rest := strings.TrimSpace(s[i+len(key)+2:])
		if !strings.HasPrefix(rest, ":") {
			return "", fmt.Errorf("bad %q entry", key)
		}
		return strings.TrimSpace(rest[1:]), nil
	}
	d, err := value("descr")
	if err != nil {
		return h, err
	}
	if len(d) < 2 || (d[0] != '\'' && d[0] != '"') {
		return h, fmt.Errorf("unsupported descr")
	}
	end := strings.IndexByte(d[1:], d[0])
	if end < 0 {
		return h, fmt.Errorf("bad descr")
	}
	h.descr = d[1 : 1+end]
	f, err := value("fortran_order")
	if err != nil {
		return h, err
	}
	switch {
	case strings.HasPrefix(f, "False"):
	case strings.HasPrefix(f, "True"):
		h.fortran = true
	default:
		return h, fmt.Errorf("bad fortran_order")
	}
	sh, err := value("shape")
	if err != nil {
		return h, err
	}
	if !strings.HasPrefix(sh, "(") || strings.IndexByte(sh, ')') < 0 {
		return h, fmt.Errorf("bad shape")
	}
	for _, part := range strings.Split(sh[1:strings.IndexByte(sh, ')')], ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		v, err := strconv.Atoi(strings.TrimSuffix(part, "L"))
		if err != nil || v < 0 {
			return h, fmt.Errorf("bad shape entry %q", part)
		}
		h.shape = append(h.shape, v)
	}
	return h, nil
}

// npyHeaderBytes returns a version-1.0 header (padded to a multiple of 64 bytes, as
// numpy writes it) for a C-ordered array.
func npyHeaderBytes(descr string, shape []int) []byte {
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
	copy(out, "\x93NUMPY")
	out[6], out[7] = 1, 0
	binary.LittleEndian.PutUint16(out[8:], uint16(len(dict)))
	return append(out, dict...)
}

// readNPYInts decodes count integers of the header's dtype from raw little-endian or
// byte-sized data.
func decodeNPYInts(h npyHeader, raw []byte) ([]int64, error) {
	size := h.itemSize()
	if size == 0 || len(h.descr) < 3 || (h.descr[1] != 'i' && h.descr[1] != 'u') {
		return nil, fmt.Errorf("dtype %s is not an integer type", h.descr)
	}
	if size > 1 && h.descr[0] != '<' {
		return nil, fmt.Errorf("dtype %s is not little-endian", h.descr)
	}
	signed := h.descr[1] == 'i'
	n := len(raw) / size
	out := make([]int64, n)
	for i := range out {
		b := raw[i*size : (i+1)*size]
		switch size {
		case 1:
			if signed {
				out[i] = int64(int8(b[0]))
			} else {
				out[i] = int64(b[0])
			}
		case 2:
			v := binary.LittleEndian.Uint16(b)
			if signed {
				out[i] = int64(int16(v))
			} else {
				out[i] = int64(v)
			}
		case 4:
			v := binary.LittleEndian.Uint32(b)
			if signed {
				out[i] = int64(int32(v))
			} else {
				out[i] = int64(v)
			}
		case 8:
			out[i] = int64(binary.LittleEndian.Uint64(b))
		default:
			return nil, fmt.Errorf("dtype %s not supported", h.descr)
		}
	}
	return out, nil
}
