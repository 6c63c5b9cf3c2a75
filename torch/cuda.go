package torch

// #include <stdlib.h>
// #include "shim/shim.h"
import "C"

// The CUDA facts and switches of libtorch. On a CPU-only libtorch the queries answer
// that CUDA is not available and the device functions return an ErrDevice error;
// nothing here needs a CUDA file at build time. Package cuda builds on these
// (mixed-precision scopes, a summary of the set-up).

// BuiltWithCUDA reports whether the shim was built against a CUDA libtorch.
func BuiltWithCUDA() bool { return bool(C.dr_built_with_cuda()) }

// CUDAAvailable reports whether CUDA can be used (a CUDA libtorch and a device).
func CUDAAvailable() bool { return bool(C.dr_cuda_is_available()) }

// CUDADeviceCount returns the number of visible CUDA devices (0 without CUDA).
func CUDADeviceCount() int { return int(C.dr_cuda_device_count()) }

// CudnnAvailable reports whether cuDNN can be used.
func CudnnAvailable() bool { return bool(C.dr_cudnn_is_available()) }

// CUDADeviceName returns the product name of CUDA device i.
func CUDADeviceName(i int) (string, error) {
	var p *C.char
	if err := takeError("CUDADeviceName", C.dr_cuda_device_name(C.int(i), &p)); err != nil {
		return "", err
	}
	return cString(p), nil
}

// CUDAMemory is the caching allocator's view of one CUDA device, in bytes.
type CUDAMemory struct {
	// Allocated is held by live tensors; Reserved is held by the allocator
	// (allocated plus cached); PeakAllocated is the maximum of Allocated since the
	// start or the last CUDAResetPeak.
	Allocated, Reserved, PeakAllocated int64
}

// CUDAMemoryStats returns the memory use of CUDA device i.
func CUDAMemoryStats(i int) (CUDAMemory, error) {
	var a, r, p C.int64_t
	if err := takeError("CUDAMemoryStats", C.dr_cuda_memory(C.int(i), &a, &r, &p)); err != nil {
		return CUDAMemory{}, err
	}
	return CUDAMemory{Allocated: int64(a), Reserved: int64(r), PeakAllocated: int64(p)}, nil
}

// CUDAResetPeak restarts the peak-allocation counter of CUDA device i.
func CUDAResetPeak(i int) error {
	return takeError("CUDAResetPeak", C.dr_cuda_reset_peak(C.int(i)))
}

// CUDASynchronize waits for all work queued on CUDA device i.
func CUDASynchronize(i int) error {
	return takeError("CUDASynchronize", C.dr_cuda_synchronize(C.int(i)))
}

// CUDAEmptyCache returns the CUDA allocator's cached, unused blocks to the driver
// (nothing to do without CUDA).
func CUDAEmptyCache() error { return takeError("CUDAEmptyCache", C.dr_cuda_empty_cache()) }

// SetCudnnBenchmark turns cuDNN's per-shape algorithm autotuning on or off (faster
// for fixed input shapes).
func SetCudnnBenchmark(on bool) { C.dr_set_cudnn_benchmark(C.bool(on)) }

// SetTF32 allows (or forbids) TensorFloat-32 in float32 matrix products and
// convolutions on Ampere and later GPUs.
func SetTF32(on bool) { C.dr_set_tf32(C.bool(on)) }

// TF32 reports whether TensorFloat-32 matrix products are allowed.
func TF32() bool { return bool(C.dr_get_tf32()) }
