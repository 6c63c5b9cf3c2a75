package torch

// #include "shim/shim.h"
import "C"

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unsafe"

	"github.com/divres/divres/internal/atomicfile"
)

// Safetensors format (https://huggingface.co/docs/safetensors): an 8-byte
// little-endian header length N, N bytes of JSON mapping each tensor name to
// {"dtype", "shape", "data_offsets": [begin, end]} (offsets into the data that
// follows) plus an optional "__metadata__" string map, then the raw little-endian
// tensor data, row-major.

var safeDTypes = map[DType]string{
	Float64: "F64", Float32: "F32", Float16: "F16", BFloat16: "BF16", Int64: "I64",
	Int32: "I32", Int16: "I16", Int8: "I8", Uint8: "U8", Bool: "BOOL",
}

func parseSafeDType(s string) (DType, bool) {
	for d, n := range safeDTypes {
		if n == s {
			return d, true
		}
	}
	return 0, false
}

// maxSafetensorsHeader bounds the JSON header (as the reference implementation does).
const maxSafetensorsHeader = 100 << 20

// SafetensorsEntry describes one tensor of a safetensors file.
type SafetensorsEntry struct {
	Name       string
	DType      DType
	Shape      []int64
	Begin, End int64 // byte offsets into the data section
}

// SafetensorsHeader is the parsed header of a safetensors file.
type SafetensorsHeader struct {
	Entries  []SafetensorsEntry // ordered by offset
	Metadata map[string]string
	// DataOffset is where the data section starts in the file.
	DataOffset int64
}

type rawEntry struct {
	DType       string  `json:"dtype"`
	Shape       []int64 `json:"shape"`
	DataOffsets []int64 `json:"data_offsets"`
}

// ReadSafetensorsHeader parses and validates the header of a safetensors stream of
// total size size: known dtypes, sizes that match shapes, and tensors that exactly
// tile the data section without gaps or overlap.
func ReadSafetensorsHeader(r io.Reader, size int64) (*SafetensorsHeader, error) {
	var lenBuf [8]byte
	if _, err := io.ReadFull(r, lenBuf[:]); err != nil {
		return nil, fmt.Errorf("safetensors: reading header length: %w", err)
	}
	n := binary.LittleEndian.Uint64(lenBuf[:])
	if n > maxSafetensorsHeader || int64(n) > size-8 {
		return nil, fmt.Errorf("safetensors: header length %d is invalid for a %d-byte file", n, size)
	}
	hb := make([]byte, n)
	if _, err := io.ReadFull(r, hb); err != nil {
		return nil, fmt.Errorf("safetensors: reading header: %w", err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(hb, &raw); err != nil {
		return nil, fmt.Errorf("safetensors: header is not a JSON object: %w", err)
	}
	h := &SafetensorsHeader{DataOffset: 8 + int64(n), Metadata: map[string]string{}}
	dataLen := size - h.DataOffset
	for name, msg := range raw {
		if name == "__metadata__" {
			if err := json.Unmarshal(msg, &h.Metadata); err != nil {
				return nil, fmt.Errorf("safetensors: __metadata__ must map strings to strings: %w", err)
			}
			continue
		}
		var e rawEntry
		dec := json.NewDecoder(strings.NewReader(string(msg)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			return nil, fmt.Errorf("safetensors: entry %q: %w", name, err)
		}
		dt, ok := parseSafeDType(e.DType)
		if !ok {
			return nil, fmt.Errorf("safetensors: entry %q has unsupported dtype %q", name, e.DType)
		}
		if len(e.DataOffsets) != 2 {
			return nil, fmt.Errorf("safetensors: entry %q needs two data_offsets", name)
		}
		numel := int64(1)
		for _, d := range e.Shape {
			if d < 0 || (d > 0 && numel > (1<<62)/d) {
				return nil, fmt.Errorf("safetensors: entry %q has invalid shape %v", name, e.Shape)
			}
			numel *= d
		}
		b, en := e.DataOffsets[0], e.DataOffsets[1]
		if b < 0 || en < b || en > dataLen {
			return nil, fmt.Errorf("safetensors: entry %q has offsets [%d, %d] outside the %d-byte data", name, b, en, dataLen)
		}
		if en-b != numel*int64(dt.Size()) {
			return nil, fmt.Errorf("safetensors: entry %q holds %d bytes, but %v %v needs %d", name, en-b, dt, e.Shape, numel*int64(dt.Size()))
		}
		h.Entries = append(h.Entries, SafetensorsEntry{Name: name, DType: dt, Shape: e.Shape, Begin: b, End: en})
	}
	sort.Slice(h.Entries, func(i, j int) bool {
		if h.Entries[i].Begin != h.Entries[j].Begin {
			return h.Entries[i].Begin < h.Entries[j].Begin
		}
		return h.Entries[i].End < h.Entries[j].End
	})
	pos := int64(0)
	for _, e := range h.Entries {
		if e.Begin != pos {
			return nil, fmt.Errorf("safetensors: entry %q starts at %d, expected %d (gap or overlap)", e.Name, e.Begin, pos)
		}
		pos = e.End
	}
	if pos != dataLen {
		return nil, fmt.Errorf("safetensors: tensors cover %d bytes of a %d-byte data section", pos, dataLen)
	}
	return h, nil
}

// LoadSafetensors reads every tensor of a safetensors file onto device dev. The
// tensors belong to scope s (the caller when s is nil).
func LoadSafetensors(path string, s *Scope, dev Device) (map[string]*Tensor, map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	h, err := ReadSafetensorsHeader(bufio.NewReader(f), st.Size())
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	out := make(map[string]*Tensor, len(h.Entries))
	var buf []byte
	for _, e := range h.Entries {
		n := e.End - e.Begin
		if int64(cap(buf)) < n {
			buf = make([]byte, n)
		}
		buf = buf[:n]
		if _, err := f.ReadAt(buf, h.DataOffset+e.Begin); err != nil {
			freeAll(out, s)
			return nil, nil, fmt.Errorf("%s: reading %q: %w", path, e.Name, err)
		}
		t := fromBytes(s, buf, e.Shape, e.DType, dev)
		if err := t.Err(); err != nil {
			freeAll(out, s)
			return nil, nil, fmt.Errorf("%s: %q: %w", path, e.Name, err)
		}
		out[e.Name] = t
	}
	return out, h.Metadata, nil
}

func freeAll(m map[string]*Tensor, s *Scope) {
	if s != nil {
		return // the scope releases them
	}
	for _, t := range m {
		t.Free()
	}
}

func fromBytes(s *Scope, data []byte, shape []int64, dt DType, dev Device) *Tensor {
	c := newCallScope("FromBytes", s)
	var p unsafe.Pointer
	if len(data) > 0 {
		p = unsafe.Pointer(&data[0])
	}
	var out C.dr_tensor
	e := C.dr_from_data(p, C.int64_t(len(data)), int64sPtr(shape), C.int64_t(len(shape)), C.int(dt),
		C.int(dev.Type), C.int(dev.Index), C.bool(false), &out)
	runtime.KeepAlive(data)
	return c.result(e, out)
}

func rawBytes(t *Tensor) ([]byte, error) {
	if err := t.Err(); err != nil {
		return nil, err
	}
	n := t.Numel() * int64(t.DType().Size())
	b := make([]byte, n)
	var p unsafe.Pointer
	if n > 0 {
		p = unsafe.Pointer(&b[0])
	}
	e := C.dr_copy_out(t.h, p, C.int64_t(n))
	runtime.KeepAlive(t)
	return b, takeError("SaveSafetensors", e)
}

// SaveSafetensors writes the tensors (copied to the CPU) and metadata to path,
// atomically: a temporary file in the same directory is synced and renamed.
func SaveSafetensors(path string, tensors map[string]*Tensor, metadata map[string]string) error {
	names := sortedNames(tensors)
	var hdr strings.Builder
	hdr.WriteByte('{')
	if len(metadata) > 0 {
		mb, err := json.Marshal(metadata)
		if err != nil {
			return err
		}
		hdr.WriteString(`"__metadata__":`)
		hdr.Write(mb)
	}
	off := int64(0)
	for i, name := range names {
		t := tensors[name]
		if err := t.Err(); err != nil {
			return fmt.Errorf("save %q: %w", name, err)
		}
		dt, ok := safeDTypes[t.DType()]
		if !ok {
			return fmt.Errorf("save %q: dtype %v has no safetensors code", name, t.DType())
		}
		if name == "__metadata__" {
			return errors.New("save: a tensor may not be called __metadata__")
		}
		n := t.Numel() * int64(t.DType().Size())
		if i > 0 || len(metadata) > 0 {
			hdr.WriteByte(',')
		}
		kb, _ := json.Marshal(name)
		hdr.Write(kb)
		shape := t.Shape()
		ss := make([]string, len(shape))
		for k, d := range shape {
			ss[k] = strconv.FormatInt(d, 10)
		}
		fmt.Fprintf(&hdr, `:{"dtype":"%s","shape":[%s],"data_offsets":[%d,%d]}`, dt, strings.Join(ss, ","), off, off+n)
		off += n
	}
	hdr.WriteByte('}')
	for (8+hdr.Len())%8 != 0 {
		hdr.WriteByte(' ')
	}
	return atomicfile.Write(path, func(w io.Writer) error {
		var lb [8]byte
		binary.LittleEndian.PutUint64(lb[:], uint64(hdr.Len()))
		if _, err := w.Write(lb[:]); err != nil {
			return err
		}
		if _, err := io.WriteString(w, hdr.String()); err != nil {
			return err
		}
		for _, name := range names {
			b, err := rawBytes(tensors[name])
			if err != nil {
				return fmt.Errorf("save %q: %w", name, err)
			}
			if _, err := w.Write(b); err != nil {
				return err
			}
		}
		return nil
	})
}

// Save writes the store's parameters and buffers as a safetensors file with PyTorch
// state_dict names.
func (s *Store) Save(path string, metadata map[string]string) error {
	if err := s.Err(); err != nil {
		return err
	}
	return SaveSafetensors(path, s.Tensors(), metadata)
}

// Load copies the tensors of a safetensors file into the entries with the same
// names (converting dtype and device). With strict, missing or unexpected names are
// errors; a shape mismatch always is. It returns the file's metadata.
func (s *Store) Load(path string, strict bool) (map[string]string, error) {
	sc := NewScope(NoGrad())
	defer sc.Close()
	ts, meta, err := LoadSafetensors(path, sc, CPU)
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, v := range s.Vars() {
		t, ok := ts[v.Name]
		if !ok {
			missing = append(missing, v.Name)
			continue
		}
		if !slices.Equal(t.Shape(), v.T.Shape()) {
			return nil, fmt.Errorf("%s: %q has shape %v, the model expects %v", path, v.Name, t.Shape(), v.T.Shape())
		}
		if err := v.T.Copy_(t); err != nil {
			return nil, fmt.Errorf("%s: %q: %w", path, v.Name, err)
		}
		delete(ts, v.Name)
	}
	if strict && (len(missing) > 0 || len(ts) > 0) {
		return nil, fmt.Errorf("%s: does not match the model: missing %v, unexpected %v", path, missing, sortedNames(ts))
	}
	return meta, nil
}
