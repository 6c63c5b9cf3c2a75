// Core of the divres shim: library settings, tensor handles, data transfer,
// autograd, mode guard and the helpers used by the generated operations.
#include <ATen/Parallel.h>
#include <ATen/CPUGeneratorImpl.h>

#include <dlfcn.h>

#include <cstdlib>

#include <atomic>
#include <mutex>
#include <torch/csrc/autograd/autograd.h>

#include <cctype>
#include <cmath>
#include <sstream>

#include "internal.h"

namespace {

bool cuda_present() { return at::hasCUDA(); }

// g_threads is the intra-op thread count asked for with dr_set_num_threads (0: not
// set). With OpenMP, libtorch's setting lives in the calling OS thread's OpenMP
// state, and Go runs cgo calls on whichever thread is free; every call therefore
// brings its thread to the asked count (once per thread: the check is a read).
std::atomic<int> g_threads{0};

// set_blas_threads brings OpenBLAS's own thread pool, when libtorch's BLAS is
// OpenBLAS, to n threads: libtorch's thread setting does not reach it, and two
// pools of busy threads on few cores (OpenMP's and OpenBLAS's) slow each other
// down. Without OpenBLAS (MKL, which libtorch sets itself; another BLAS) it does
// nothing, and so does an OPENBLAS_NUM_THREADS set by the user.
void set_blas_threads(int n) {
  static const bool user_set = std::getenv("OPENBLAS_NUM_THREADS") != nullptr;
  if (user_set) return;
  using setter = void (*)(int);
  static const setter set = reinterpret_cast<setter>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  if (set != nullptr) set(n);
}

}  // namespace

namespace dr {

// Grad mode is on unless the call asks otherwise; the guards restore what the thread
// had before, so no state outlives the call.
ModeGuard::ModeGuard(int mode) : grad_(!(mode & (DR_MODE_NOGRAD | DR_MODE_INFERENCE))) {
  int want = g_threads.load(std::memory_order_relaxed);
  if (want > 0 && at::get_num_threads() != want) at::set_num_threads(want);
  if (mode & DR_MODE_INFERENCE) inference_.emplace(true);
  auto dtype = static_cast<at::ScalarType>((mode >> DR_MODE_DTYPE_SHIFT) & 0xff);
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
  if (mode & DR_MODE_AUTOCAST_CUDA) {
    cuda_autocast_ = true;
    prev_cuda_ = at::autocast::is_autocast_enabled(at::kCUDA);
    prev_cuda_dtype_ = at::autocast::get_autocast_dtype(at::kCUDA);
    at::autocast::set_autocast_enabled(at::kCUDA, true);
    at::autocast::set_autocast_dtype(at::kCUDA, dtype);
  }
  if (mode & DR_MODE_AUTOCAST_CPU) {
    cpu_autocast_ = true;
    prev_cpu_ = at::autocast::is_autocast_enabled(at::kCPU);
    prev_cpu_dtype_ = at::autocast::get_autocast_dtype(at::kCPU);
    at::autocast::set_autocast_enabled(at::kCPU, true);
    at::autocast::set_autocast_dtype(at::kCPU, dtype);
  }
#else
  if (mode & DR_MODE_AUTOCAST_CUDA) {
    cuda_autocast_ = true;
    prev_cuda_ = at::autocast::is_enabled();
    prev_cuda_dtype_ = at::autocast::get_autocast_gpu_dtype();
    at::autocast::set_enabled(true);
    at::autocast::set_autocast_gpu_dtype(dtype);
  }
  if (mode & DR_MODE_AUTOCAST_CPU) {
    cpu_autocast_ = true;
    prev_cpu_ = at::autocast::is_cpu_enabled();
    prev_cpu_dtype_ = at::autocast::get_autocast_cpu_dtype();
    at::autocast::set_cpu_enabled(true);
    at::autocast::set_autocast_cpu_dtype(dtype);
  }
#endif
}

ModeGuard::~ModeGuard() {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
  if (cuda_autocast_) {
    at::autocast::set_autocast_enabled(at::kCUDA, prev_cuda_);
    at::autocast::set_autocast_dtype(at::kCUDA, prev_cuda_dtype_);
  }
  if (cpu_autocast_) {
    at::autocast::set_autocast_enabled(at::kCPU, prev_cpu_);
    at::autocast::set_autocast_dtype(at::kCPU, prev_cpu_dtype_);
  }
#else
  if (cuda_autocast_) {
    at::autocast::set_enabled(prev_cuda_);
    at::autocast::set_autocast_gpu_dtype(prev_cuda_dtype_);
  }
  if (cpu_autocast_) {
    at::autocast::set_cpu_enabled(prev_cpu_);
    at::autocast::set_autocast_cpu_dtype(prev_cpu_dtype_);
  }
#endif
  // Casts of weights are cached only while autocast is on; drop them with it.
  if (cuda_autocast_ || cpu_autocast_) at::autocast::clear_cache();
}

namespace {

bool contains(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

// classify_message tells the class of a generic libtorch error from its message,
// lower-cased; the first matching family wins.
int classify_message(std::string msg, int fallback) {
  for (auto& ch : msg) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (contains(msg, "out of memory") || contains(msg, "can't allocate memory") || contains(msg, "not enough memory"))
    return DR_ERR_OUT_OF_MEMORY;
  if (contains(msg, "device") || contains(msg, "cuda")) return DR_ERR_DEVICE;
  if (contains(msg, "not implemented for")) return DR_ERR_NOT_IMPLEMENTED;
  if (contains(msg, "bounds") || contains(msg, "out of range")) return DR_ERR_INDEX;
  if (contains(msg, "scalar type") || contains(msg, "dtype") || contains(msg, "result type"))
    return DR_ERR_TYPE;
  if (contains(msg, "size") || contains(msg, "shape") || contains(msg, "dimension") || contains(msg, "channels") ||
      contains(msg, "-d input") || contains(msg, "broadcast"))
    return DR_ERR_SHAPE;
  return fallback;
}

}  // namespace

dr_err translate() noexcept {
  try {
    throw;
  } catch (const c10::OutOfMemoryError& e) {
    return error(e.what_without_backtrace(), DR_ERR_OUT_OF_MEMORY);
  } catch (const c10::IndexError& e) {
    return error(e.what_without_backtrace(), DR_ERR_INDEX);
  } catch (const c10::ValueError& e) {
    return error(e.what_without_backtrace(), DR_ERR_VALUE);
  } catch (const c10::TypeError& e) {
    return error(e.what_without_backtrace(), DR_ERR_TYPE);
  } catch (const c10::NotImplementedError& e) {
    // Without CUDA, every operation on a CUDA tensor lacks its CUDA kernel: that is a
    // missing device, not a missing kernel.
    const char* msg = e.what_without_backtrace();
    bool no_cuda = !cuda_present() && std::strstr(msg, "'CUDA' backend") != nullptr;
    return error(msg, no_cuda ? DR_ERR_DEVICE : DR_ERR_NOT_IMPLEMENTED);
  } catch (const c10::LinAlgError& e) {
    return error(e.what_without_backtrace(), DR_ERR_LINALG);
  } catch (const c10::Error& e) {
    const char* msg = e.what_without_backtrace();
    return error(msg, classify_message(msg, DR_ERR_OTHER));
  } catch (const Failure& e) {
    return error(e.what(), e.cls());
  } catch (const std::bad_alloc& e) {
    return error(e.what(), DR_ERR_OUT_OF_MEMORY);
  } catch (const std::out_of_range& e) {
    return error(e.what(), DR_ERR_INDEX);
  } catch (const std::invalid_argument& e) {
    return error(e.what(), DR_ERR_VALUE);
  } catch (const std::exception& e) {
    return error(e.what(), classify_message(e.what(), DR_ERR_OTHER));
  } catch (...) {
    return error("unknown C++ exception");
  }
}

at::Tensor pin(const at::Tensor& t) {
  if (!cuda_present() || !t.device().is_cpu()) return t;
  return t.pin_memory();
}

at::Tensor pad(const at::Tensor& x, at::IntArrayRef pads, const std::string& mode, double value) {
  if (mode == "constant") return at::constant_pad_nd(x, pads, value);
  if (pads.size() != 2 && pads.size() != 4)
    throw Failure(DR_ERR_VALUE, "pad: " + mode + " padding takes 2 or 4 pad sizes");
  bool two = pads.size() == 4;
  if (mode == "reflect") return two ? at::reflection_pad2d(x, pads) : at::reflection_pad1d(x, pads);
  if (mode == "replicate") return two ? at::replication_pad2d(x, pads) : at::replication_pad1d(x, pads);
  throw Failure(DR_ERR_VALUE, "pad: unknown mode \"" + mode + "\" (want constant, reflect or replicate)");
}

at::Tensor channel_shuffle(const at::Tensor& x, int64_t groups) {
  if (x.dim() != 4) throw Failure(DR_ERR_SHAPE, "channel_shuffle: want a 4-D (N,C,H,W) tensor");
  auto n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  if (groups <= 0 || c % groups != 0) throw Failure(DR_ERR_SHAPE, "channel_shuffle: channels not divisible by groups");
  return x.view({n, groups, c / groups, h, w}).transpose(1, 2).contiguous().view({n, c, h, w});
}

}  // namespace dr

using dr::ref;

extern "C" {

const char* dr_version(void) {
  static const std::string v = std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
                               std::to_string(TORCH_VERSION_PATCH);
  return v.c_str();
}

void dr_set_num_threads(int n) {
  g_threads.store(n, std::memory_order_relaxed);
  at::set_num_threads(n);
  set_blas_threads(n);
}
// The count asked for (every OS thread adopts it at its next call), not the
// calling thread's OpenMP state, which lags on a thread that has run nothing since.
int dr_get_num_threads(void) {
  int want = g_threads.load(std::memory_order_relaxed);
  return want > 0 ? want : at::get_num_threads();
}

dr_err dr_set_num_interop_threads(int n) {
  DR_TRY(0) { at::set_num_interop_threads(n); }
  DR_CATCH
}

void dr_manual_seed(uint64_t seed) {
  at::manual_seed(seed);
}

dr_err dr_get_rng_state(dr_tensor* out) {
  DR_TRY(DR_MODE_NOGRAD) {
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    *out = dr::make(gen.get_state());
  }
  DR_CATCH
}

dr_err dr_set_rng_state(dr_tensor state) {
  DR_TRY(DR_MODE_NOGRAD) {
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(ref(state));
  }
  DR_CATCH
}

const char* dr_parallel_info(void) {
  static thread_local std::string s;
  s = at::get_parallel_info();
  return s.c_str();
}

void dr_free(dr_tensor t) { delete reinterpret_cast<at::Tensor*>(t); }

void dr_free_many(dr_tensor* ts, int64_t n) {
  for (int64_t i = 0; i < n; i++) delete reinterpret_cast<at::Tensor*>(ts[i]);
}

dr_tensor dr_alias(dr_tensor t) { return dr::make(ref(t)); }
bool dr_defined(dr_tensor t) { return t != nullptr && ref(t).defined(); }
int64_t dr_ndim(dr_tensor t) { return ref(t).dim(); }

void dr_shape(dr_tensor t, int64_t* out) {
  auto s = ref(t).sizes();
  for (size_t i = 0; i < s.size(); i++) out[i] = s[i];
}

int64_t dr_numel(dr_tensor t) { return ref(t).numel(); }
int dr_dtype(dr_tensor t) { return static_cast<int>(ref(t).scalar_type()); }

void dr_device(dr_tensor t, int* type, int* index) {
  auto d = ref(t).device();
  *type = static_cast<int>(d.type());
  *index = d.index();
}

bool dr_requires_grad(dr_tensor t) { return ref(t).requires_grad(); }
bool dr_is_contiguous(dr_tensor t) { return ref(t).is_contiguous(); }
bool dr_is_leaf(dr_tensor t) { return ref(t).is_leaf(); }

dr_err dr_to_string(dr_tensor t, char** out) {
  DR_TRY(DR_MODE_NOGRAD) {
    std::ostringstream os;
    os << ref(t);
    *out = dr::error(os.str().c_str());
  }
  DR_CATCH
}

dr_err dr_from_data(const void* data, int64_t nbytes, const int64_t* shape, int64_t ndim, int dtype, int devtype,
                    int devindex, bool pinned, dr_tensor* out) {
  DR_TRY(DR_MODE_NOGRAD) {
    at::IntArrayRef sizes(shape, static_cast<size_t>(ndim));
    auto opts = at::TensorOptions().dtype(static_cast<c10::ScalarType>(dtype));
    bool to_device = devtype != DR_DEVICE_CPU;
    if ((pinned || to_device) && cuda_present()) opts = opts.pinned_memory(true);
    at::Tensor t = at::empty(sizes, opts);
    if (static_cast<int64_t>(t.nbytes()) != nbytes)
      throw dr::Failure(DR_ERR_SHAPE, "from_data: " + std::to_string(nbytes) + " bytes do not fill a tensor of " +
                                  std::to_string(t.nbytes()) + " bytes");
    if (nbytes > 0) std::memcpy(t.data_ptr(), data, static_cast<size_t>(nbytes));
    // From page-locked memory the copy is asynchronous; libtorch's pinned-memory
    // allocator keeps the host block alive until the copy has completed.
    if (to_device)
      t = t.to(c10::Device(static_cast<c10::DeviceType>(devtype), static_cast<c10::DeviceIndex>(devindex)),
               /*non_blocking=*/t.is_pinned());
    *out = dr::make(std::move(t));
  }
  DR_CATCH
}

dr_err dr_copy_out(dr_tensor t, void* dst, int64_t nbytes) {
  DR_TRY(DR_MODE_NOGRAD) {
    at::Tensor c = ref(t).detach().to(at::kCPU).contiguous();
    if (static_cast<int64_t>(c.nbytes()) != nbytes)
      throw dr::Failure(DR_ERR_SHAPE, "copy_out: buffer of " + std::to_string(nbytes) + " bytes for a tensor of " +
                                  std::to_string(c.nbytes()) + " bytes");
    if (nbytes > 0) std::memcpy(dst, c.data_ptr(), static_cast<size_t>(nbytes));
  }
  DR_CATCH
}

dr_err dr_copy_in(dr_tensor t, const void* src, int64_t nbytes) {
  DR_TRY(DR_MODE_NOGRAD) {
    at::Tensor& d = ref(t);
    if (static_cast<int64_t>(d.nbytes()) != nbytes)
      throw dr::Failure(DR_ERR_SHAPE, "copy_in: " + std::to_string(nbytes) + " bytes for a tensor of " +
                                  std::to_string(d.nbytes()) + " bytes");
    if (d.device().is_cpu() && d.is_contiguous()) {
      if (nbytes > 0) std::memcpy(d.data_ptr(), src, static_cast<size_t>(nbytes));
    } else {
      at::Tensor tmp = at::empty(d.sizes(), d.options().device(at::kCPU));
      if (nbytes > 0) std::memcpy(tmp.data_ptr(), src, static_cast<size_t>(nbytes));
      d.copy_(tmp);
    }
  }
  DR_CATCH
}

dr_err dr_data_ptr(dr_tensor t, void** out) {
  DR_TRY(DR_MODE_NOGRAD) {
    at::Tensor& x = ref(t);
    if (!x.device().is_cpu()) throw dr::Failure(DR_ERR_DEVICE, "data_ptr: tensor is on " + x.device().str() + ", not the CPU");
    if (!x.is_contiguous()) throw dr::Failure(DR_ERR_VALUE, "data_ptr: tensor is not contiguous");
    *out = x.data_ptr();
  }
  DR_CATCH
}

dr_err dr_item_double(dr_tensor t, double* out) {
  DR_TRY(DR_MODE_NOGRAD) { *out = ref(t).item<double>(); }
  DR_CATCH
}

dr_err dr_item_int64(dr_tensor t, int64_t* out) {
  DR_TRY(DR_MODE_NOGRAD) { *out = ref(t).item<int64_t>(); }
  DR_CATCH
}

dr_err dr_set_requires_grad(dr_tensor t, bool r) {
  DR_TRY(0) { ref(t).set_requires_grad(r); }
  DR_CATCH
}

dr_err dr_backward(int mode, dr_tensor t, dr_tensor grad, bool retain, bool create) {
  DR_TRY(mode) {
    at::Tensor g = grad ? ref(grad) : at::Tensor();
    ref(t).backward(g, retain, create);
  }
  DR_CATCH
}

dr_err dr_grad(dr_tensor t, dr_tensor* out) {
  DR_TRY(0) {
    const at::Tensor& g = ref(t).grad();
    *out = g.defined() ? dr::make(g) : nullptr;
  }
  DR_CATCH
}

dr_err dr_set_grad(dr_tensor t, dr_tensor g) {
  DR_TRY(DR_MODE_NOGRAD) { ref(t).mutable_grad() = g ? ref(g) : at::Tensor(); }
  DR_CATCH
}

dr_err dr_autograd_grad(int mode, dr_tensor* outs, int64_t nouts, dr_tensor* ins, int64_t nins, dr_tensor* gouts,
                        bool retain, bool create, bool allow_unused, dr_tensor* results) {
  DR_TRY(mode) {
    std::vector<at::Tensor> o = dr::list(outs, nouts), i = dr::list(ins, nins), g;
    if (gouts != nullptr) {
      for (int64_t k = 0; k < nouts; k++) g.push_back(gouts[k] ? ref(gouts[k]) : at::Tensor());
    }
    auto r = torch::autograd::grad(o, i, g, retain, create, allow_unused);
    for (int64_t k = 0; k < nins; k++) results[k] = r[k].defined() ? dr::make(r[k]) : nullptr;
  }
  DR_CATCH
}

}  // extern "C"
