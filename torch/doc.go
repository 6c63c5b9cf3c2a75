// Package torch is divres's Go binding of libtorch, the C++ core of PyTorch.
//
// Go calls a thin C ABI (torch/shim, built by build.sh against the libtorch it finds)
// and never sees a C++ exception: libtorch's errors come back as *Error values with
// libtorch's message and a class taken from the C++ exception (test it with
// errors.Is: ErrOutOfMemory, ErrShape, ErrIndex, ErrType, ErrDevice, ...). Tensors
// are released deterministically by Scopes (see Tensor and Scope), with
// runtime.AddCleanup as the safety net for forgotten ones; grad, inference and
// autocast modes travel with each call instead of living in thread-local state, so
// goroutines may move between OS threads freely.
//
// The operations (creation, shape, math, reductions, linear algebra, functional
// neural-network layers and losses) are generated from ops.spec; autograd (including
// double backward through Grad), parameter stores, optimizers, learning-rate
// schedules, safetensors I/O and the CUDA facts and switches (device count, names,
// memory, synchronisation, cuDNN and TF32) are written by hand.
package torch

//go:generate go run ./internal/gen .
