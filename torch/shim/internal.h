// Internal C++ helpers of the shim (not part of the C ABI).
#pragma once

#include <ATen/ATen.h>
#include <ATen/autocast_mode.h>
#include <c10/core/InferenceMode.h>
#include <c10/util/Exception.h>
#include <torch/version.h>

#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "shim.h"

namespace dr {

// error copies a message into malloc'd memory for the Go side to free; the byte after
// the terminating NUL holds the error class (DR_ERR_*, see dr_err_class).
inline dr_err error(const char* msg, int cls = DR_ERR_OTHER) {
  size_t n = std::strlen(msg);
  char* p = static_cast<char*>(std::malloc(n + 2));
  if (p == nullptr) return nullptr;
  std::memcpy(p, msg, n + 1);
  p[n + 1] = static_cast<char>(cls);
  return p;
}

// Failure is an exception of the shim's own checks that carries its error class.
class Failure : public std::runtime_error {
 public:
  Failure(int cls, const std::string& msg) : std::runtime_error(msg), cls_(cls) {}
  int cls() const { return cls_; }

 private:
  int cls_;
};

// translate turns the exception being handled into a classified dr_err: the class
// comes from the C++ exception type (c10::OutOfMemoryError, c10::IndexError, ...) and,
// for libtorch's generic c10::Error, from the message (shape, device, dtype
// mismatches). Call it only inside a catch block.
dr_err translate() noexcept;

inline at::Tensor& ref(dr_tensor t) {
  if (t == nullptr) throw std::invalid_argument("null tensor handle");
  return *reinterpret_cast<at::Tensor*>(t);
}

inline c10::optional<at::Tensor> opt(dr_tensor t) {
  if (t == nullptr) return c10::nullopt;
  return ref(t);
}

inline dr_tensor make(at::Tensor t) { return reinterpret_cast<dr_tensor>(new at::Tensor(std::move(t))); }

inline std::vector<at::Tensor> list(dr_tensor* ts, int64_t n) {
  std::vector<at::Tensor> v;
  v.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; i++) v.push_back(ref(ts[i]));
  return v;
}

inline void list_out(const std::vector<at::Tensor>& v, dr_tensor** outs, int64_t* n) {
  *n = static_cast<int64_t>(v.size());
  *outs = static_cast<dr_tensor*>(std::malloc(sizeof(dr_tensor) * (v.size() ? v.size() : 1)));
  if (*outs == nullptr) throw std::bad_alloc();
  for (size_t i = 0; i < v.size(); i++) (*outs)[i] = make(v[i]);
}

// options builds TensorOptions; dtype < 0 leaves the default.
inline at::TensorOptions options(int dtype, int devtype, int devindex) {
  at::TensorOptions o;
  if (dtype >= 0) o = o.dtype(static_cast<c10::ScalarType>(dtype));
  if (devtype >= 0) o = o.device(c10::Device(static_cast<c10::DeviceType>(devtype), static_cast<c10::DeviceIndex>(devindex)));
  return o;
}

// int_default makes int64 the default dtype (randint, randperm).
inline at::TensorOptions int_default(at::TensorOptions o) {
  if (!o.has_dtype()) o = o.dtype(at::kLong);
  return o;
}

// merge completes options with the dtype/device of t where they are unset.
inline at::TensorOptions merge(const at::Tensor& t, at::TensorOptions o) {
  if (!o.has_dtype()) o = o.dtype(t.scalar_type());
  if (!o.has_device()) o = o.device(t.device());
  return o;
}

at::Tensor pin(const at::Tensor& t);
at::Tensor pad(const at::Tensor& x, at::IntArrayRef pads, const std::string& mode, double value);
at::Tensor channel_shuffle(const at::Tensor& x, int64_t groups);

// ModeGuard sets grad/inference/autocast state for one call and restores it.
class ModeGuard {
 public:
  explicit ModeGuard(int mode);
  ~ModeGuard();
  ModeGuard(const ModeGuard&) = delete;
  ModeGuard& operator=(const ModeGuard&) = delete;

 private:
  c10::AutoGradMode grad_;
  c10::optional<c10::InferenceMode> inference_;
  bool cuda_autocast_ = false, cpu_autocast_ = false;
  bool prev_cuda_ = false, prev_cpu_ = false;
  at::ScalarType prev_cuda_dtype_ = at::kHalf, prev_cpu_dtype_ = at::kBFloat16;
};

}  // namespace dr

#define DR_TRY(mode) \
  try {              \
    dr::ModeGuard dr_mode_guard_(mode);

#define DR_CATCH           \
  }                        \
  catch (...) {            \
    return dr::translate(); \
  }                        \
  return nullptr;
