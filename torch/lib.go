package torch

// #include <stdlib.h>
// #include <unistd.h>
// #include "shim/shim.h"
import "C"

import (
	"os"
	"runtime"
	"strconv"
	"unsafe"
)

// Version returns the version of the libtorch the shim was built against.
func Version() string { return C.GoString(C.dr_version()) }

// SetNumThreads sets libtorch's number of intra-op threads, and OpenBLAS's when
// libtorch calls OpenBLAS (libtorch itself leaves OpenBLAS at the CPU count)
// unless OPENBLAS_NUM_THREADS is set.
func SetNumThreads(n int) {
	if n > 0 {
		C.dr_set_num_threads(C.int(n))
	}
}

// NumThreads returns libtorch's number of intra-op threads: the count SetNumThreads
// asked for, which every OS thread adopts at its next call.
func NumThreads() int { return int(C.dr_get_num_threads()) }

// SetNumInteropThreads sets the inter-op pool size; it must be called before any
// inter-op parallel work starts.
func SetNumInteropThreads(n int) error {
	return takeError("SetNumInteropThreads", C.dr_set_num_interop_threads(C.int(n)))
}

// ParallelInfo describes libtorch's threading (OpenMP, MKL, pools).
func ParallelInfo() string { return C.GoString(C.dr_parallel_info()) }

// ManualSeed seeds libtorch's global random generator (CPU and CUDA).
func ManualSeed(seed uint64) { C.dr_manual_seed(C.uint64_t(seed)) }

// DefaultThreads is the intra-op thread count divres chooses when neither
// DIVRES_THREADS nor OMP_NUM_THREADS is set: the number of CPUs.
func DefaultThreads() int {
	if v, err := strconv.Atoi(os.Getenv("DIVRES_THREADS")); err == nil && v > 0 {
		return v
	}
	if v, err := strconv.Atoi(os.Getenv("OMP_NUM_THREADS")); err == nil && v > 0 {
		return v
	}
	return runtime.NumCPU()
}

func init() {
	// libtorch starts with a single intra-op thread on some machines; use the CPUs
	// unless the user said otherwise.
	SetNumThreads(DefaultThreads())
	if cap := cpuCacheCap(); cap > 0 {
		C.dr_cpu_cache_install(C.int64_t(cap))
	}
}

// cpuCacheCap is the most idle memory the caching CPU allocator keeps: a quarter of
// the physical memory unless DIVRES_CPU_CACHE_MB says otherwise (0 leaves libtorch's
// own allocator in place).
func cpuCacheCap() int64 {
	if v, err := strconv.ParseInt(os.Getenv("DIVRES_CPU_CACHE_MB"), 10, 64); err == nil {
		return v << 20
	}
	pages, size := C.sysconf(C._SC_PHYS_PAGES), C.sysconf(C._SC_PAGESIZE)
	if pages <= 0 || size <= 0 {
		return 1 << 30
	}
	return int64(pages) * int64(size) / 4
}

// CPUCacheStats reports the caching CPU allocator's bytes in use by tensors, bytes
// held idle for reuse, peak bytes in use, and the reuse hits and misses of large
// blocks. All zero when the allocator is not installed (DIVRES_CPU_CACHE_MB=0).
type CPUCacheStats struct {
	InUse, Cached, Peak, Hits, Misses int64
}

// CPUCache returns the caching CPU allocator's statistics.
func CPUCache() CPUCacheStats {
	var in, ca, pk, h, m C.int64_t
	C.dr_cpu_cache_stats(&in, &ca, &pk, &h, &m)
	return CPUCacheStats{int64(in), int64(ca), int64(pk), int64(h), int64(m)}
}

// cpuCacheInstalled reports whether the caching CPU allocator serves libtorch.
func cpuCacheInstalled() bool { return bool(C.dr_cpu_cache_installed()) }

// EmptyCPUCache returns the idle blocks of the caching CPU allocator to the system.
func EmptyCPUCache() { C.dr_cpu_cache_empty() }

func cString(p *C.char) string {
	s := C.GoString(p)
	C.free(unsafe.Pointer(p))
	return s
}
