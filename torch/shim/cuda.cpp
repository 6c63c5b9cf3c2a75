// CUDA facts and switches. Built against any libtorch; the parts that need CUDA
// headers compile only when CMake found a CUDA-enabled libtorch (DR_WITH_CUDA).
#include <torch/cuda.h>

#include "internal.h"

#ifdef DR_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDACachingAllocator.h>
#endif

namespace {

void check_device(int index) {
  int n = static_cast<int>(torch::cuda::device_count());
  if (n == 0) throw dr::Failure(DR_ERR_DEVICE, "CUDA is not available (no CUDA device, or libtorch was built without CUDA)");
  if (index < 0 || index >= n)
    throw dr::Failure(DR_ERR_DEVICE, "CUDA device " + std::to_string(index) + " does not exist (" + std::to_string(n) +
                            " device(s))");
}

}  // namespace

extern "C" {

bool dr_built_with_cuda(void) {
#ifdef DR_WITH_CUDA
  return true;
#else
  return false;
#endif
}

bool dr_cuda_is_available(void) {
  try {
    return torch::cuda::is_available();
  } catch (...) {
    return false;
  }
}

int dr_cuda_device_count(void) {
  try {
    return static_cast<int>(torch::cuda::device_count());
  } catch (...) {
    return 0;
  }
}

bool dr_cudnn_is_available(void) {
  try {
    return torch::cuda::cudnn_is_available();
  } catch (...) {
    return false;
  }
}

dr_err dr_cuda_device_name(int index, char** out) {
  DR_TRY(0) {
    check_device(index);
#ifdef DR_WITH_CUDA
    *out = dr::error(at::cuda::getDeviceProperties(index)->name);
#else
    *out = dr::error("unknown");
#endif
  }
  DR_CATCH
}

dr_err dr_cuda_memory(int index, int64_t* allocated, int64_t* reserved, int64_t* peak_allocated) {
  DR_TRY(0) {
    check_device(index);
#ifdef DR_WITH_CUDA
    auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(index);
    *allocated = stats.allocated_bytes[0].current;  // index 0: aggregate over pools
    *reserved = stats.reserved_bytes[0].current;
    *peak_allocated = stats.allocated_bytes[0].peak;
#else
    *allocated = *reserved = *peak_allocated = 0;
#endif
  }
  DR_CATCH
}

dr_err dr_cuda_synchronize(int index) {
  DR_TRY(0) {
    check_device(index);
    torch::cuda::synchronize(index);
  }
  DR_CATCH
}

dr_err dr_cuda_empty_cache(void) {
  DR_TRY(0) {
#ifdef DR_WITH_CUDA
    if (torch::cuda::is_available()) c10::cuda::CUDACachingAllocator::emptyCache();
#endif
  }
  DR_CATCH
}

dr_err dr_cuda_reset_peak(int index) {
  DR_TRY(0) {
    check_device(index);
#ifdef DR_WITH_CUDA
    c10::cuda::CUDACachingAllocator::resetPeakStats(index);
#endif
  }
  DR_CATCH
}

void dr_set_cudnn_benchmark(bool on) { at::globalContext().setBenchmarkCuDNN(on); }

void dr_set_tf32(bool on) {
  at::globalContext().setAllowTF32CuBLAS(on);
  at::globalContext().setAllowTF32CuDNN(on);
}

bool dr_get_tf32(void) { return at::globalContext().allowTF32CuBLAS(); }

}  // extern "C"
