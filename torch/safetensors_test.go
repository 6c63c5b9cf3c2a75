package torch

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// A file assembled byte by byte from the format description: 8-byte little-endian
// header length, JSON header (padded with spaces), then raw little-endian data.
func specFile() []byte {
	var data bytes.Buffer
	for _, f := range []float32{1.5, -2, 0.25, 8} { // "a": F32 [2,2] at [0,16)
		binary.Write(&data, binary.LittleEndian, math.Float32bits(f))
	}
	binary.Write(&data, binary.LittleEndian, int64(-7)) // "b": I64 [1] at [16,24)
	binary.Write(&data, binary.LittleEndian, int64(1<<40))
	data.Write([]byte{0x80, 0x3f}) // "c": BF16 [1] = 1.0 at [32,34)
	data.Write([]byte{1, 0})       // "d": BOOL [2] at [34,36)
	hdr := `{"__metadata__":{"format":"pt"},"b":{"dtype":"I64","shape":[2],"data_offsets":[16,32]},` +
		`"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"c":{"dtype":"BF16","shape":[1],"data_offsets":[32,34]},` +
		`"d":{"dtype":"BOOL","shape":[2],"data_offsets":[34,36]}}`
	for len(hdr)%8 != 0 {
		hdr += " "
	}
	var f bytes.Buffer
	binary.Write(&f, binary.LittleEndian, uint64(len(hdr)))
	f.WriteString(hdr)
	f.Write(data.Bytes())
	return f.Bytes()
}

func TestSafetensorsSpecFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "spec.safetensors")
	if err := os.WriteFile(path, specFile(), 0o644); err != nil {
		t.Fatal(err)
	}
	s := NewScope()
	defer s.Close()
	ts, meta, err := LoadSafetensors(path, s, CPU)
	if err != nil {
		t.Fatal(err)
	}
	if meta["format"] != "pt" {
		t.Fatalf("metadata %v", meta)
	}
	a, _ := Data[float32](ts["a"])
	b, _ := Data[int64](ts["b"])
	c, _ := ts["c"].Float32s()
	d, _ := Data[bool](ts["d"])
	if !slices.Equal(ts["a"].Shape(), []int64{2, 2}) || a[0] != 1.5 || a[3] != 8 || b[0] != -7 || b[1] != 1<<40 || c[0] != 1 || !d[0] || d[1] {
		t.Fatalf("decoded a=%v b=%v c=%v d=%v", a, b, c, d)
	}
	if ts["c"].DType() != BFloat16 {
		t.Fatalf("c dtype %v", ts["c"].DType())
	}
}

func TestSafetensorsRoundTrip(t *testing.T) {
	s := NewScope()
	defer s.Close()
	ManualSeed(3)
	in := map[string]*Tensor{
		"layer1.0.conv1.weight":  Randn(s, []int64{4, 3, 3, 3}),
		"bn.running_mean":        Randn(s, []int64{4}, Float64),
		"bn.num_batches_tracked": FromSlice(s, []int64{12}, []int64{}),
		"half":                   Randn(s, []int64{5}).ToDType(Float16),
		"bf":                     Randn(s, []int64{5}).ToDType(BFloat16),
		"i32":                    FromSlice(s, []int32{1, -2}, nil),
		"u8":                     FromSlice(s, []uint8{0, 200}, nil),
		"mask":                   FromSlice(s, []bool{true, false, true}, nil),
		"empty":                  Zeros(s, []int64{0, 3}),
	}
	path := filepath.Join(t.TempDir(), "rt.safetensors")
	if err := SaveSafetensors(path, in, map[string]string{"epoch": "3"}); err != nil {
		t.Fatal(err)
	}
	out, meta, err := LoadSafetensors(path, s, CPU)
	if err != nil {
		t.Fatal(err)
	}
	if meta["epoch"] != "3" || len(out) != len(in) {
		t.Fatalf("meta %v, %d tensors", meta, len(out))
	}
	for name, x := range in {
		y := out[name]
		if y.DType() != x.DType() || !slices.Equal(y.Shape(), x.Shape()) {
			t.Fatalf("%s: %v %v vs %v %v", name, y.DType(), y.Shape(), x.DType(), x.Shape())
		}
		if ok, err := y.Equal(x); err != nil || !ok {
			t.Fatalf("%s differs after the round trip (%v)", name, err)
		}
	}
	raw, _ := os.ReadFile(path)
	if n := binary.LittleEndian.Uint64(raw); (8+n)%8 != 0 {
		t.Fatalf("header length %d leaves the data unaligned", n)
	}
}

func TestSafetensorsRejectsMalformed(t *testing.T) {
	good := specFile()
	hdrLen := binary.LittleEndian.Uint64(good)
	header := string(good[8 : 8+hdrLen])
	withHeader := func(h string) []byte {
		for len(h)%8 != 0 {
			h += " "
		}
		var f bytes.Buffer
		binary.Write(&f, binary.LittleEndian, uint64(len(h)))
		f.WriteString(h)
		f.Write(good[8+hdrLen:])
		return f.Bytes()
	}
	cases := map[string][]byte{
		"empty":            {},
		"short length":     good[:5],
		"truncated header": good[:20],
		"truncated data":   good[:len(good)-3],
		"huge length":      append([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, good[8:]...),
		"not json":         withHeader("{oops"),
		"unknown dtype":    withHeader(strings.Replace(header, `"F32"`, `"F8"`, 1)),
		"size mismatch":    withHeader(strings.Replace(header, `"shape":[2,2]`, `"shape":[3,2]`, 1)),
		"overlap":          withHeader(strings.Replace(header, `[16,32]`, `[8,24]`, 1)),
		"negative shape":   withHeader(strings.Replace(header, `"shape":[2]`, `"shape":[-2]`, 1)),
		"extra field":      withHeader(strings.Replace(header, `"dtype":"I64"`, `"dtype":"I64","x":1`, 1)),
	}
	dir := t.TempDir()
	for name, data := range cases {
		p := filepath.Join(dir, strings.ReplaceAll(name, " ", "_"))
		os.WriteFile(p, data, 0o644)
		if _, _, err := LoadSafetensors(p, nil, CPU); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func FuzzSafetensorsHeader(f *testing.F) {
	f.Add(specFile())
	f.Add([]byte{8, 0, 0, 0, 0, 0, 0, 0, '{', '}', ' ', ' ', ' ', ' ', ' ', ' '})
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := ReadSafetensorsHeader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		// An accepted header describes tensors that tile the data exactly.
		end := int64(0)
		for _, e := range h.Entries {
			end = e.End
		}
		if h.DataOffset+end != int64(len(data)) {
			t.Fatalf("accepted header does not cover the data: %d + %d != %d", h.DataOffset, end, len(data))
		}
	})
}

func TestStoreSaveLoadFreezeCopy(t *testing.T) {
	ManualSeed(1)
	a := NewStore()
	defer a.Close()
	conv := a.Root().Sub("features").Sub("0")
	w := conv.Param("weight", []int64{8, 3, 3, 3}, KaimingNormal{Mode: FanOut})
	conv.Param("bias", []int64{8}, BiasUniform{FanIn: 27})
	bn := a.Root().Sub("bn")
	bn.Buffer("running_var", []int64{8}, Constant(1), Float32)
	bn.Buffer("num_batches_tracked", []int64{}, Constant(0), Int64)
	if err := a.Err(); err != nil {
		t.Fatal(err)
	}
	if got := a.NumParams(); got != 8*27+8 {
		t.Fatalf("NumParams = %d", got)
	}
	names := []string{}
	for _, v := range a.Vars() {
		names = append(names, v.Name)
	}
	if strings.Join(names, ",") != "features.0.weight,features.0.bias,bn.running_var,bn.num_batches_tracked" {
		t.Fatalf("names %v", names)
	}
	// Kaiming normal (fan out = 8·9): std ≈ √(2/72).
	sd, _ := w.Std([]int64{0, 1, 2, 3}, true, false).Item()
	if math.Abs(sd-math.Sqrt(2.0/72)) > 0.05 {
		t.Fatalf("kaiming std %v", sd)
	}
	if err := a.Freeze("features.0.b"); err != nil || len(a.Trainable()) != 1 {
		t.Fatalf("freeze: %v, %d trainable", err, len(a.Trainable()))
	}
	path := filepath.Join(t.TempDir(), "m.safetensors")
	if err := a.Save(path, nil); err != nil {
		t.Fatal(err)
	}
	b := NewStore()
	defer b.Close()
	b.Root().Sub("features").Sub("0").Param("weight", []int64{8, 3, 3, 3}, Constant(0))
	b.Root().Sub("features").Sub("0").Param("bias", []int64{8}, Constant(0))
	if _, err := b.Load(path, true); err == nil {
		t.Fatal("strict load with missing entries succeeded")
	}
	if _, err := b.Load(path, false); err != nil {
		t.Fatal(err)
	}
	if ok, _ := b.Get("features.0.weight").T.Equal(w); !ok {
		t.Fatal("loaded weight differs")
	}
	c := NewStore()
	defer c.Close()
	c.Root().Sub("features").Sub("0").Param("weight", []int64{8, 3, 3, 2}, Constant(0))
	if _, err := c.Load(path, false); err == nil {
		t.Fatal("load with a shape mismatch succeeded")
	}
	if err := b.CopyFrom(a, false); err != nil {
		t.Fatal(err)
	}
	if err := b.CopyFrom(a, true); err == nil {
		t.Fatal("strict copy between different stores succeeded")
	}
	if a.Root().Sub("features").Sub("0").Param("weight", []int64{1}, nil).Err() == nil {
		t.Fatal("duplicate name accepted")
	}
}
