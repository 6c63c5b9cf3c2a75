package torch

// #include "shim/shim.h"
import "C"

import (
	"fmt"
	"math"
	"runtime"
	"unsafe"
)

// F16 is an IEEE 754 half-precision value, stored as its bits.
type F16 uint16

// BF16 is a bfloat16 value (the top 16 bits of a float32), stored as its bits.
type BF16 uint16

// Element is a Go type that maps to a tensor dtype.
type Element interface {
	float32 | float64 | int64 | int32 | int16 | int8 | uint8 | bool | F16 | BF16
}

// DTypeOf returns the dtype that holds values of type T.
func DTypeOf[T Element]() DType {
	var z T
	switch any(z).(type) {
	case float32:
		return Float32
	case float64:
		return Float64
	case int64:
		return Int64
	case int32:
		return Int32
	case int16:
		return Int16
	case int8:
		return Int8
	case uint8:
		return Uint8
	case bool:
		return Bool
	case F16:
		return Float16
	case BF16:
		return BFloat16
	}
	panic("unreachable")
}

// pinned asks FromSlice for page-locked host memory (CUDA builds only).
type pinnedOption struct{}

func (pinnedOption) applyOption(o *options) { o.devIndex = -2 }

// Pinned is an option of FromSlice: allocate the host tensor in page-locked memory
// so that a later non-blocking copy to a CUDA device is asynchronous. Ignored on a
// CPU build.
var Pinned Option = pinnedOption{}

// FromSlice copies data into a new tensor of the given shape (1-D when shape is
// empty) owned by s. A Device option copies it to that device; Pinned allocates
// page-locked host memory.
func FromSlice[T Element](s *Scope, data []T, shape []int64, opts ...Option) *Tensor {
	c := newCallScope("FromSlice", s)
	if shape == nil {
		shape = []int64{int64(len(data))}
	}
	n := int64(1)
	for _, d := range shape {
		if d < 0 {
			c.err = &Error{Class: ErrShape, Op: "FromSlice", Msg: fmt.Sprintf("negative dimension in shape %v", shape)}
			return c.fail()
		}
		n *= d
	}
	if n != int64(len(data)) {
		c.err = &Error{Class: ErrShape, Op: "FromSlice", Msg: fmt.Sprintf("%d values do not fill shape %v (%d elements)", len(data), shape, n)}
		return c.fail()
	}
	devType, devIndex, pinned := C.int(DeviceCPU), C.int(-1), false
	for _, o := range opts {
		switch v := o.(type) {
		case Device:
			devType, devIndex = C.int(v.Type), C.int(v.Index)
		case pinnedOption:
			pinned = true
		case DType:
			c.err = &Error{Class: ErrType, Op: "FromSlice", Msg: "the dtype comes from the slice's element type; convert with ToDType"}
			return c.fail()
		}
	}
	var ptr unsafe.Pointer
	if len(data) > 0 {
		ptr = unsafe.Pointer(&data[0])
	}
	var z T
	nbytes := int64(len(data)) * int64(unsafe.Sizeof(z))
	var out C.dr_tensor
	e := C.dr_from_data(ptr, C.int64_t(nbytes), int64sPtr(shape), C.int64_t(len(shape)), C.int(DTypeOf[T]()),
		devType, devIndex, C.bool(pinned), &out)
	runtime.KeepAlive(data)
	return c.result(e, out)
}

// Scalar returns a 0-d float32 tensor holding v.
func Scalar(s *Scope, v float64, opts ...Option) *Tensor {
	return Full(s, []int64{}, v, opts...)
}

// Data copies the tensor's elements (moved to the CPU, made contiguous) into a new
// slice. T must match the tensor's dtype.
func Data[T Element](t *Tensor) ([]T, error) {
	if err := t.Err(); err != nil {
		return nil, err
	}
	if want := DTypeOf[T](); t.DType() != want {
		return nil, &Error{Class: ErrType, Op: "Data", Msg: fmt.Sprintf("tensor is %v, not %v", t.DType(), want)}
	}
	out := make([]T, t.Numel())
	var z T
	var ptr unsafe.Pointer
	if len(out) > 0 {
		ptr = unsafe.Pointer(&out[0])
	}
	e := C.dr_copy_out(t.h, ptr, C.int64_t(len(out)*int(unsafe.Sizeof(z))))
	runtime.KeepAlive(t)
	if err := takeError("Data", e); err != nil {
		return nil, err
	}
	return out, nil
}

// CopyFrom overwrites the tensor's elements with data (same dtype and element
// count), on whatever device the tensor lives.
func CopyFrom[T Element](t *Tensor, data []T) error {
	if err := t.Err(); err != nil {
		return err
	}
	if want := DTypeOf[T](); t.DType() != want {
		return &Error{Class: ErrType, Op: "CopyFrom", Msg: fmt.Sprintf("tensor is %v, not %v", t.DType(), want)}
	}
	var z T
	var ptr unsafe.Pointer
	if len(data) > 0 {
		ptr = unsafe.Pointer(&data[0])
	}
	e := C.dr_copy_in(t.h, ptr, C.int64_t(len(data)*int(unsafe.Sizeof(z))))
	runtime.KeepAlive(t)
	runtime.KeepAlive(data)
	return takeError("CopyFrom", e)
}

// UnsafeSlice returns the tensor's memory as a Go slice without copying. The tensor
// must be a contiguous CPU tensor of dtype T; the slice is valid only while the
// tensor is alive (until its scope closes or it is freed) and must not be used after.
func UnsafeSlice[T Element](t *Tensor) ([]T, error) {
	if err := t.Err(); err != nil {
		return nil, err
	}
	if want := DTypeOf[T](); t.DType() != want {
		return nil, &Error{Class: ErrType, Op: "UnsafeSlice", Msg: fmt.Sprintf("tensor is %v, not %v", t.DType(), want)}
	}
	var p unsafe.Pointer
	if err := takeError("UnsafeSlice", C.dr_data_ptr(t.h, &p)); err != nil {
		return nil, err
	}
	n := int(t.Numel())
	if n == 0 {
		return []T{}, nil
	}
	return unsafe.Slice((*T)(p), n), nil
}

// Float32s copies the elements as float32 (converting the dtype if needed).
func (t *Tensor) Float32s() ([]float32, error) { return Data[float32](t.convertedTo(Float32)) }

// Float64s copies the elements as float64 (converting the dtype if needed).
func (t *Tensor) Float64s() ([]float64, error) { return Data[float64](t.convertedTo(Float64)) }

// Int64s copies the elements as int64 (converting the dtype if needed).
func (t *Tensor) Int64s() ([]int64, error) { return Data[int64](t.convertedTo(Int64)) }

func (t *Tensor) convertedTo(d DType) *Tensor {
	if t.Err() != nil || t.DType() == d {
		return t
	}
	r := t.In(nil).ToDType(d)
	return r
}

// Item returns the value of a one-element tensor as float64.
func (t *Tensor) Item() (float64, error) {
	if err := t.Err(); err != nil {
		return 0, err
	}
	var v C.double
	e := C.dr_item_double(t.h, &v)
	runtime.KeepAlive(t)
	return float64(v), takeError("Item", e)
}

// ItemInt returns the value of a one-element tensor as int64.
func (t *Tensor) ItemInt() (int64, error) {
	if err := t.Err(); err != nil {
		return 0, err
	}
	var v C.int64_t
	e := C.dr_item_int64(t.h, &v)
	runtime.KeepAlive(t)
	return int64(v), takeError("ItemInt", e)
}

// Shape returns the sizes of the dimensions (nil for a failed or released tensor).
func (t *Tensor) Shape() []int64 {
	if t.Err() != nil {
		return nil
	}
	n := int(C.dr_ndim(t.h))
	out := make([]int64, n)
	if n > 0 {
		C.dr_shape(t.h, (*C.int64_t)(unsafe.Pointer(&out[0])))
	}
	runtime.KeepAlive(t)
	return out
}

// Dim returns the number of dimensions.
func (t *Tensor) Dim() int {
	if t.Err() != nil {
		return 0
	}
	defer runtime.KeepAlive(t)
	return int(C.dr_ndim(t.h))
}

// Size returns the size of dimension d (negative counts from the end); 0 if there is
// no such dimension.
func (t *Tensor) Size(d int) int64 {
	s := t.Shape()
	if d < 0 {
		d += len(s)
	}
	if d < 0 || d >= len(s) {
		return 0
	}
	return s[d]
}

// Numel returns the number of elements.
func (t *Tensor) Numel() int64 {
	if t.Err() != nil {
		return 0
	}
	defer runtime.KeepAlive(t)
	return int64(C.dr_numel(t.h))
}

// DType returns the element type.
func (t *Tensor) DType() DType {
	if t.Err() != nil {
		return -1
	}
	defer runtime.KeepAlive(t)
	return DType(C.dr_dtype(t.h))
}

// Device returns where the tensor lives.
func (t *Tensor) Device() Device {
	if t.Err() != nil {
		return CPU
	}
	var typ, idx C.int
	C.dr_device(t.h, &typ, &idx)
	runtime.KeepAlive(t)
	return Device{Type: DeviceType(typ), Index: int(idx)}
}

// IsContiguous reports whether the elements are contiguous in row-major order.
func (t *Tensor) IsContiguous() bool {
	if t.Err() != nil {
		return false
	}
	defer runtime.KeepAlive(t)
	return bool(C.dr_is_contiguous(t.h))
}

// To copies the tensor to a device (self if already there).
func (t *Tensor) To(d Device) *Tensor { return t.ToOpts(false, d) }

// ToAsync copies to a device without waiting (from pinned memory on CUDA).
func (t *Tensor) ToAsync(d Device) *Tensor { return t.ToOpts(true, d) }

// String formats the tensor like PyTorch prints it.
func (t *Tensor) String() string {
	if err := t.Err(); err != nil {
		return "Tensor(" + err.Error() + ")"
	}
	var p *C.char
	e := C.dr_to_string(t.h, &p)
	runtime.KeepAlive(t)
	if err := takeError("String", e); err != nil {
		return "Tensor(" + err.Error() + ")"
	}
	return cString(p)
}

// F16FromFloat32 converts to half precision, rounding to nearest even.
func F16FromFloat32(f float32) F16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int((b>>23)&0xff) - 127 + 15
	mant := b & 0x7fffff
	switch {
	case (b>>23)&0xff == 0xff: // inf or nan
		if mant != 0 {
			return F16(sign | 0x7e00)
		}
		return F16(sign | 0x7c00)
	case exp >= 0x1f:
		return F16(sign | 0x7c00)
	case exp <= 0:
		if exp < -10 {
			return F16(sign)
		}
		mant |= 0x800000
		shift := uint32(14 - exp)
		half := uint32(1) << (shift - 1)
		v := mant >> shift
		rem := mant & ((1 << shift) - 1)
		if rem > half || (rem == half && v&1 == 1) {
			v++
		}
		return F16(sign | uint16(v))
	}
	v := uint32(exp)<<10 | mant>>13
	rem := mant & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && v&1 == 1) {
		v++
	}
	return F16(sign | uint16(v))
}

// Float32 converts a half-precision value to float32 exactly.
func (h F16) Float32() float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp == 0:
		if mant == 0 {
			return math.Float32frombits(sign)
		}
		f := float32(mant) / 1024 / 16384
		if sign != 0 {
			return -f
		}
		return f
	}
	return math.Float32frombits(sign | (exp+112)<<23 | mant<<13)
}

// BF16FromFloat32 converts to bfloat16, rounding to nearest even.
func BF16FromFloat32(f float32) BF16 {
	b := math.Float32bits(f)
	if b&0x7fffffff > 0x7f800000 {
		return BF16(b>>16 | 0x40)
	}
	return BF16((b + 0x7fff + (b>>16)&1) >> 16)
}

// Float32 converts a bfloat16 value to float32 exactly.
func (h BF16) Float32() float32 { return math.Float32frombits(uint32(h) << 16) }
