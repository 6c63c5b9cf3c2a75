package torch

// #include <stdlib.h>
// #include "shim/shim.h"
import "C"

import (
	"strconv"
	"unsafe"
)

// Error is a failure reported by libtorch (or by the binding's checks). Its Class
// tells what kind of failure it is; test for one with errors.Is:
//
//	if errors.Is(err, torch.ErrOutOfMemory) { ... halve the batch ... }
type Error struct {
	Class ErrorClass
	Op    string
	Msg   string
}

func (e *Error) Error() string { return "torch " + e.Op + ": " + e.Msg }

// Is reports whether target is e's class, so that errors.Is(err, torch.ErrShape)
// holds for every shape error.
func (e *Error) Is(target error) bool {
	c, ok := target.(ErrorClass)
	return ok && c == e.Class
}

// ErrorClass is the kind of an Error. The shim derives it from the type of the C++
// exception (c10::OutOfMemoryError, c10::IndexError, c10::ValueError,
// c10::TypeError, c10::NotImplementedError, c10::LinAlgError) and, for libtorch's
// generic c10::Error, from its message (size, shape and dimension mismatches, tensors
// on different devices, missing CUDA, dtype mismatches). Each class is itself an
// error, for errors.Is.
type ErrorClass uint8

// Error classes.
const (
	// ErrOther is any failure of no more specific class.
	ErrOther ErrorClass = C.DR_ERR_OTHER
	// ErrOutOfMemory: an allocation failed, on the host or a device.
	ErrOutOfMemory ErrorClass = C.DR_ERR_OUT_OF_MEMORY
	// ErrShape: sizes, shapes or numbers of dimensions that do not fit.
	ErrShape ErrorClass = C.DR_ERR_SHAPE
	// ErrIndex: an index or a dimension out of range.
	ErrIndex ErrorClass = C.DR_ERR_INDEX
	// ErrType: a dtype that does not fit.
	ErrType ErrorClass = C.DR_ERR_TYPE
	// ErrValue: an argument with a bad value.
	ErrValue ErrorClass = C.DR_ERR_VALUE
	// ErrDevice: tensors on different devices, or CUDA missing or failing.
	ErrDevice ErrorClass = C.DR_ERR_DEVICE
	// ErrNotImplemented: no kernel for this dtype or device.
	ErrNotImplemented ErrorClass = C.DR_ERR_NOT_IMPLEMENTED
	// ErrLinAlg: a singular or non-positive-definite matrix.
	ErrLinAlg ErrorClass = C.DR_ERR_LINALG
)

var classNames = [...]string{
	ErrOther:          "error",
	ErrOutOfMemory:    "out of memory",
	ErrShape:          "shape error",
	ErrIndex:          "index error",
	ErrType:           "type error",
	ErrValue:          "value error",
	ErrDevice:         "device error",
	ErrNotImplemented: "not implemented",
	ErrLinAlg:         "linear algebra error",
}

// Error names the class ("torch: shape error").
func (c ErrorClass) Error() string {
	if int(c) < len(classNames) {
		return "torch: " + classNames[c]
	}
	return "torch: error class " + strconv.Itoa(int(c))
}

// takeError turns an error of the shim (nil: success) into an *Error and frees it.
func takeError(op string, e C.dr_err) error {
	if e == nil {
		return nil
	}
	class := ErrorClass(C.dr_err_class(e))
	msg := C.GoString(e)
	C.free(unsafe.Pointer(e))
	if int(class) >= len(classNames) {
		class = ErrOther
	}
	return &Error{Class: class, Op: op, Msg: msg}
}
