/* divres libtorch shim: a C ABI over libtorch.
 *
 * Every function that can fail returns dr_err: NULL on success, otherwise a message
 * allocated with malloc (the caller frees it) whose terminating NUL is followed by one
 * byte, the error class (DR_ERR_*, read with dr_err_class). No C++ exception crosses
 * this ABI.
 * Tensors are opaque handles (each owns one reference to an at::Tensor) that must be
 * released with dr_free / dr_free_many.
 *
 * Thread-local libtorch state (grad mode, inference mode, autocast) is never left set
 * between calls: every operation takes a `mode` word and sets that state for its own
 * duration only, so callers may move between OS threads freely.
 */
#ifndef DIVRES_SHIM_H
#define DIVRES_SHIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dr_tensor_s* dr_tensor;
typedef char* dr_err;

/* Error classes, from the C++ exception type or, for libtorch's generic c10::Error,
 * from its message. */
#define DR_ERR_OTHER 0           /* any other failure */
#define DR_ERR_OUT_OF_MEMORY 1   /* c10::OutOfMemoryError, std::bad_alloc, allocator failures */
#define DR_ERR_SHAPE 2           /* sizes, shapes or dimensions that do not fit */
#define DR_ERR_INDEX 3           /* c10::IndexError, std::out_of_range: index or dim out of range */
#define DR_ERR_TYPE 4            /* c10::TypeError, dtype mismatches */
#define DR_ERR_VALUE 5           /* c10::ValueError, std::invalid_argument: bad argument values */
#define DR_ERR_DEVICE 6          /* device mismatches, CUDA missing or failing */
#define DR_ERR_NOT_IMPLEMENTED 7 /* c10::NotImplementedError: no kernel for this dtype or device */
#define DR_ERR_LINALG 8          /* c10::LinAlgError: singular or non-positive-definite input */

/* dr_err_class returns the class of a non-NULL error. */
static inline int dr_err_class(dr_err e) {
  size_t n = 0;
  while (e[n] != 0) n++;
  return (unsigned char)e[n + 1];
}

/* Mode bits. */
#define DR_MODE_NOGRAD 1          /* gradient recording off */
#define DR_MODE_INFERENCE 2       /* c10::InferenceMode (implies no grad) */
#define DR_MODE_AUTOCAST_CUDA 4   /* autocast on CUDA tensors */
#define DR_MODE_AUTOCAST_CPU 8    /* autocast on CPU tensors */
#define DR_MODE_DTYPE_SHIFT 8     /* autocast dtype (c10::ScalarType) in bits 8..15 */

/* Device types (c10::DeviceType values). */
#define DR_DEVICE_CPU 0
#define DR_DEVICE_CUDA 1

/* ---- library ---- */
const char* dr_version(void);
void dr_set_num_threads(int n);
int dr_get_num_threads(void);
dr_err dr_set_num_interop_threads(int n);
void dr_manual_seed(uint64_t seed);
const char* dr_parallel_info(void);

/* CPU default generator state (a uint8 tensor), for exact resume. */
dr_err dr_get_rng_state(dr_tensor* out);
dr_err dr_set_rng_state(dr_tensor state);

/* ---- caching CPU allocator (large blocks reused; idle bytes capped) ---- */
void dr_cpu_cache_install(int64_t cap_bytes);
void dr_cpu_cache_empty(void);
void dr_cpu_cache_stats(int64_t* in_use, int64_t* cached, int64_t* peak, int64_t* hits, int64_t* misses);
bool dr_cpu_cache_installed(void);

/* ---- tensor lifetime and facts ---- */
void dr_free(dr_tensor t);
void dr_free_many(dr_tensor* ts, int64_t n);
dr_tensor dr_alias(dr_tensor t);
bool dr_defined(dr_tensor t);
int64_t dr_ndim(dr_tensor t);
void dr_shape(dr_tensor t, int64_t* out);
int64_t dr_numel(dr_tensor t);
int dr_dtype(dr_tensor t);
void dr_device(dr_tensor t, int* type, int* index);
bool dr_requires_grad(dr_tensor t);
bool dr_is_contiguous(dr_tensor t);
bool dr_is_leaf(dr_tensor t);
dr_err dr_to_string(dr_tensor t, char** out);

/* ---- data in and out ---- */
dr_err dr_from_data(const void* data, int64_t nbytes, const int64_t* shape, int64_t ndim, int dtype,
                    int devtype, int devindex, bool pinned, dr_tensor* out);
dr_err dr_copy_out(dr_tensor t, void* dst, int64_t nbytes);
dr_err dr_copy_in(dr_tensor t, const void* src, int64_t nbytes);
dr_err dr_data_ptr(dr_tensor t, void** out);
dr_err dr_item_double(dr_tensor t, double* out);
dr_err dr_item_int64(dr_tensor t, int64_t* out);

/* ---- autograd ---- */
dr_err dr_set_requires_grad(dr_tensor t, bool r);
dr_err dr_backward(int mode, dr_tensor t, dr_tensor grad, bool retain, bool create);
dr_err dr_grad(dr_tensor t, dr_tensor* out); /* *out = NULL when undefined */
dr_err dr_set_grad(dr_tensor t, dr_tensor g); /* g NULL: set undefined */
dr_err dr_autograd_grad(int mode, dr_tensor* outs, int64_t nouts, dr_tensor* ins, int64_t nins,
                        dr_tensor* gouts, bool retain, bool create, bool allow_unused, dr_tensor* results);

/* ---- optimizers (in place, no grad; params without a gradient are skipped) ---- */
dr_err dr_sgd_step(dr_tensor* params, dr_tensor* bufs, int64_t n, double lr, double momentum,
                   double dampening, double weight_decay, bool nesterov);
dr_err dr_adam_step(dr_tensor* params, dr_tensor* exp_avg, dr_tensor* exp_avg_sq, int64_t n, double lr,
                    double beta1, double beta2, double eps, double weight_decay, bool decoupled,
                    int64_t step);
dr_err dr_clip_grad_norm(dr_tensor* params, int64_t n, double max_norm, double* total);
dr_err dr_grads_finite(dr_tensor* params, int64_t n, bool* finite);
dr_err dr_scale_grads(dr_tensor* params, int64_t n, double factor);

/* ---- CUDA ---- */
bool dr_built_with_cuda(void);
bool dr_cuda_is_available(void);
int dr_cuda_device_count(void);
bool dr_cudnn_is_available(void);
dr_err dr_cuda_device_name(int index, char** out);
dr_err dr_cuda_memory(int index, int64_t* allocated, int64_t* reserved, int64_t* peak_allocated);
dr_err dr_cuda_synchronize(int index);
dr_err dr_cuda_empty_cache(void);
dr_err dr_cuda_reset_peak(int index);
void dr_set_cudnn_benchmark(bool on);
void dr_set_tf32(bool on);
bool dr_get_tf32(void);

#ifdef __cplusplus
}
#endif

#endif
