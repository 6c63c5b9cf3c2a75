// Package cuda reports and controls CUDA through divres's libtorch shim: device
// availability and names, memory held by libtorch's caching allocator,
// synchronisation, cuDNN autotuning, TF32 and mixed-precision (autocast) scopes.
//
// On a CPU-only libtorch every query answers truthfully that CUDA is not available
// and the device functions return an error; nothing here needs a CUDA file at build
// time (build.sh links libtorch_cuda only when the libtorch it found has CUDA).
package cuda

// #cgo CFLAGS: -I${SRCDIR}/../torch/shim
// #cgo LDFLAGS: -L${SRCDIR}/../build/shim -ldivres_torch -Wl,-rpath,${SRCDIR}/../build/shim
// #include <stdlib.h>
// #include "shim.h"
import "C"

import (
	"errors"
	"fmt"
	"unsafe"

	"github.com/divres/divres/torch"
)

func takeError(op string, e C.dr_err) error {
	if e == nil {
		return nil
	}
	msg := C.GoString(e)
	C.free(unsafe.Pointer(e))
	return &torch.Error{Op: op, Msg: msg}
}

// Built reports whether the libtorch in use was built with CUDA.
func Built() bool { return bool(C.dr_built_with_cuda()) }

// IsAvailable reports whether CUDA can be used: a CUDA libtorch and at least one
// device.
func IsAvailable() bool { return bool(C.dr_cuda_is_available()) }

// DeviceCount returns the number of visible devices (0 without CUDA).
func DeviceCount() int { return int(C.dr_cuda_device_count()) }

// CudnnAvailable reports whether cuDNN can be used.
func CudnnAvailable() bool { return bool(C.dr_cudnn_is_available()) }

// DeviceName returns the product name of device i.
func DeviceName(i int) (string, error) {
	var p *C.char
	if err := takeError("cuda.DeviceName", C.dr_cuda_device_name(C.int(i), &p)); err != nil {
		return "", err
	}
	s := C.GoString(p)
	C.free(unsafe.Pointer(p))
	return s, nil
}

// Memory is the caching allocator's view of one device, in bytes.
type Memory struct {
	// Allocated is held by live tensors; Reserved is held by the allocator
	// (allocated plus cached); PeakAllocated is the maximum of Allocated since the
	// start or the last ResetPeak.
	Allocated, Reserved, PeakAllocated int64
}

// MemoryStats returns the memory use of device i.
func MemoryStats(i int) (Memory, error) {
	var a, r, p C.int64_t
	if err := takeError("cuda.MemoryStats", C.dr_cuda_memory(C.int(i), &a, &r, &p)); err != nil {
		return Memory{}, err
	}
	return Memory{Allocated: int64(a), Reserved: int64(r), PeakAllocated: int64(p)}, nil
}

// ResetPeak restarts the peak-allocation counter of device i.
func ResetPeak(i int) error { return takeError("cuda.ResetPeak", C.dr_cuda_reset_peak(C.int(i))) }

// Synchronize waits for all work queued on device i.
func Synchronize(i int) error { return takeError("cuda.Synchronize", C.dr_cuda_synchronize(C.int(i))) }

// EmptyCache returns the allocator's cached, unused blocks to the driver.
func EmptyCache() error { return takeError("cuda.EmptyCache", C.dr_cuda_empty_cache()) }

// SetCudnnBenchmark turns cuDNN's per-shape algorithm autotuning on or off (faster
// for fixed input shapes).
func SetCudnnBenchmark(on bool) { C.dr_set_cudnn_benchmark(C.bool(on)) }

// SetTF32 allows (or forbids) TensorFloat-32 in float32 matrix products and
// convolutions on Ampere and later GPUs.
func SetTF32(on bool) { C.dr_set_tf32(C.bool(on)) }

// TF32 reports whether TensorFloat-32 matrix products are allowed.
func TF32() bool { return bool(C.dr_get_tf32()) }

// ErrNotAvailable is returned where a CUDA device is required and there is none.
var ErrNotAvailable = errors.New("CUDA is not available (no device, or libtorch was built without CUDA)")

// AutocastScope returns a scope whose operations on CUDA tensors run with automatic
// mixed precision in dtype (torch.Float16 or torch.BFloat16), for a forward pass.
// Compute the loss's backward outside autocast, as in PyTorch.
func AutocastScope(dtype torch.DType, opts ...torch.ScopeOption) (*torch.Scope, error) {
	if dtype != torch.Float16 && dtype != torch.BFloat16 {
		return nil, fmt.Errorf("autocast dtype must be float16 or bfloat16, not %v", dtype)
	}
	if !IsAvailable() {
		return nil, ErrNotAvailable
	}
	return torch.NewScope(append(opts, torch.Autocast(torch.DeviceCUDA, dtype))...), nil
}

// Info summarises the CUDA set-up.
type Info struct {
	Built, Available, Cudnn bool
	Devices                 []string
}

// Describe collects Info.
func Describe() Info {
	in := Info{Built: Built(), Available: IsAvailable(), Cudnn: CudnnAvailable()}
	for i := 0; i < DeviceCount(); i++ {
		name, err := DeviceName(i)
		if err != nil {
			name = "unknown: " + err.Error()
		}
		in.Devices = append(in.Devices, name)
	}
	return in
}
