// Package cuda builds on the CUDA facts and switches of package torch (BuiltWithCUDA,
// CUDAAvailable, CUDADeviceCount, CUDADeviceName, CUDAMemoryStats, CUDASynchronize,
// CUDAEmptyCache, SetCudnnBenchmark, SetTF32, ...): mixed-precision (autocast)
// scopes for a forward pass on the GPU, and a summary of the CUDA set-up.
//
// On a CPU-only libtorch everything here answers truthfully that CUDA is not
// available; nothing needs a CUDA file at build time (build.sh links libtorch_cuda
// only when the libtorch it found has CUDA).
package cuda

import (
	"fmt"

	"github.com/divres/divres/torch"
)

// ErrNotAvailable is returned where a CUDA device is required and there is none. It
// is a device error: errors.Is(err, torch.ErrDevice) holds for it.
var ErrNotAvailable error = &torch.Error{Class: torch.ErrDevice, Op: "cuda",
	Msg: "CUDA is not available (no device, or libtorch was built without CUDA)"}

// AutocastScope returns a scope whose operations on CUDA tensors run with automatic
// mixed precision in dtype (torch.Float16 or torch.BFloat16), for a forward pass.
// Compute the loss's backward outside autocast, as in PyTorch.
func AutocastScope(dtype torch.DType, opts ...torch.ScopeOption) (*torch.Scope, error) {
	if dtype != torch.Float16 && dtype != torch.BFloat16 {
		return nil, fmt.Errorf("autocast dtype must be float16 or bfloat16, not %v", dtype)
	}
	if !torch.CUDAAvailable() {
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
	in := Info{Built: torch.BuiltWithCUDA(), Available: torch.CUDAAvailable(), Cudnn: torch.CudnnAvailable()}
	for i := range torch.CUDADeviceCount() {
		name, err := torch.CUDADeviceName(i)
		if err != nil {
			name = "unknown: " + err.Error()
		}
		in.Devices = append(in.Devices, name)
	}
	return in
}
