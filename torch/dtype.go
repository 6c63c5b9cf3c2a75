package torch

import (
	"fmt"
	"strings"
)

// DType is a tensor element type; its values are libtorch's ScalarType codes.
type DType int8

// Element types.
const (
	Uint8    DType = 0
	Int8     DType = 1
	Int16    DType = 2
	Int32    DType = 3
	Int64    DType = 4
	Float16  DType = 5
	Float32  DType = 6
	Float64  DType = 7
	Bool     DType = 11
	BFloat16 DType = 15
)

var dtypeInfo = map[DType]struct {
	name string
	size int
}{
	Uint8: {"uint8", 1}, Int8: {"int8", 1}, Int16: {"int16", 2}, Int32: {"int32", 4},
	Int64: {"int64", 8}, Float16: {"float16", 2}, Float32: {"float32", 4},
	Float64: {"float64", 8}, Bool: {"bool", 1}, BFloat16: {"bfloat16", 2},
}

// String returns the dtype's name, e.g. "float32".
func (d DType) String() string {
	if i, ok := dtypeInfo[d]; ok {
		return i.name
	}
	return fmt.Sprintf("dtype(%d)", int(d))
}

// Size is the number of bytes of one element.
func (d DType) Size() int { return dtypeInfo[d].size }

// IsFloat reports whether d is a floating-point type.
func (d DType) IsFloat() bool {
	return d == Float16 || d == Float32 || d == Float64 || d == BFloat16
}

// ParseDType parses a dtype name ("float32", "f32", "bf16", "half", …).
func ParseDType(s string) (DType, error) {
	switch strings.ToLower(s) {
	case "uint8", "u8":
		return Uint8, nil
	case "int8", "i8":
		return Int8, nil
	case "int16", "i16":
		return Int16, nil
	case "int32", "i32", "int":
		return Int32, nil
	case "int64", "i64", "long":
		return Int64, nil
	case "float16", "f16", "half", "fp16":
		return Float16, nil
	case "float32", "f32", "float", "fp32":
		return Float32, nil
	case "float64", "f64", "double", "fp64":
		return Float64, nil
	case "bool":
		return Bool, nil
	case "bfloat16", "bf16":
		return BFloat16, nil
	}
	return 0, fmt.Errorf("unknown dtype %q", s)
}

func (d DType) applyOption(o *options) { o.dtype = int(d) }
