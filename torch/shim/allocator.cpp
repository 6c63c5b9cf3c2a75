// A caching CPU allocator for libtorch. Training steps allocate the same large
// buffers (activations, gradients) every step; glibc serves them from heaps whose
// fragmentation makes the resident size drift upwards over hundreds of steps, or from
// fresh mmaps whose page faults and zeroing cost a few percent per step. This
// allocator keeps freed large blocks in per-size-class free lists and hands them out
// again, so that a steady training loop reaches a fixed footprint after its first
// step and allocates nothing from the system afterwards. Blocks smaller than
// kSmallest bytes go straight to malloc. Cached (idle) bytes are capped; the cache
// can be emptied at any time.
#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "shim.h"

namespace {

constexpr size_t kAlignment = 64;
constexpr size_t kSmallest = 64 * 1024;

// size_class rounds n up to a class: multiples of 1/8 of the power of two below n
// (at most 12.5 % waste).
size_t size_class(size_t n) {
  size_t p = 1;
  while (p <= n / 2) p <<= 1;
  size_t step = p / 8 < 4096 ? 4096 : p / 8;
  return (n + step - 1) / step * step;
}

struct Cache {
  std::mutex mu;
  std::unordered_map<size_t, std::vector<void*>> free_lists;  // class size → idle blocks
  std::unordered_map<void*, size_t> live;                      // block → class size
  size_t cached = 0, in_use = 0, peak = 0, cap = 0;
  uint64_t hits = 0, misses = 0;
};

Cache& cache() {
  static Cache* c = new Cache();  // never destroyed: blocks may be freed during exit
  return *c;
}

void release(void* p) {
  if (p == nullptr) return;
  Cache& c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mu);
    auto it = c.live.find(p);
    if (it != c.live.end()) {
      size_t sz = it->second;
      c.live.erase(it);
      c.in_use -= sz;
      if (c.cached + sz <= c.cap) {
        c.free_lists[sz].push_back(p);
        c.cached += sz;
        return;
      }
    }
  }
  std::free(p);
}

void* acquire(size_t n) {
  if (n == 0) return nullptr;
  Cache& c = cache();
  if (n < kSmallest) {
    void* p = nullptr;
    if (posix_memalign(&p, kAlignment, n) != 0) return nullptr;
    return p;
  }
  size_t sz = size_class(n);
  {
    std::lock_guard<std::mutex> lock(c.mu);
    auto it = c.free_lists.find(sz);
    if (it != c.free_lists.end() && !it->second.empty()) {
      void* p = it->second.back();
      it->second.pop_back();
      c.cached -= sz;
      c.in_use += sz;
      if (c.in_use > c.peak) c.peak = c.in_use;
      c.live.emplace(p, sz);
      c.hits++;
      return p;
    }
    c.misses++;
  }
  void* p = nullptr;
  if (posix_memalign(&p, kAlignment, sz) != 0) {
    // Out of memory: give the cache back to the system and try once more.
    dr_cpu_cache_empty();
    if (posix_memalign(&p, kAlignment, sz) != 0) return nullptr;
  }
  std::lock_guard<std::mutex> lock(c.mu);
  c.in_use += sz;
  if (c.in_use > c.peak) c.peak = c.in_use;
  c.live.emplace(p, sz);
  return p;
}

// The allocate/copy_data members are declared for every libtorch interface at once:
// whichever of them matches the base class's virtual functions overrides it (const
// allocate before 2.3, non-const from 2.3; copy_data from 2.3, with a sync flag
// later); the others are harmless extra overloads.
class CachingAllocator final : public c10::Allocator {
 public:
  c10::DataPtr allocate(size_t n) const {
    void* p = acquire(n);
    if (n > 0 && p == nullptr) {
      TORCH_CHECK(false, "divres CPU allocator: out of memory allocating ", n, " bytes");
    }
    return {p, p, &release, c10::Device(c10::DeviceType::CPU)};
  }
  c10::DataPtr allocate(size_t n) { return static_cast<const CachingAllocator*>(this)->allocate(n); }
  c10::DeleterFnPtr raw_deleter() const override { return &release; }
  void copy_data(void* dest, const void* src, std::size_t count) const { std::memcpy(dest, src, count); }
  void copy_data(void* dest, const void* src, std::size_t count, bool) const { std::memcpy(dest, src, count); }
};

CachingAllocator* g_allocator = nullptr;

}  // namespace

extern "C" {

void dr_cpu_cache_install(int64_t cap_bytes) {
  Cache& c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mu);
    c.cap = cap_bytes > 0 ? static_cast<size_t>(cap_bytes) : 0;
  }
  if (g_allocator == nullptr) {
    g_allocator = new CachingAllocator();
    c10::SetCPUAllocator(g_allocator, /*priority=*/1);
  }
}

void dr_cpu_cache_empty(void) {
  Cache& c = cache();
  std::vector<void*> blocks;
  {
    std::lock_guard<std::mutex> lock(c.mu);
    for (auto& kv : c.free_lists) {
      blocks.insert(blocks.end(), kv.second.begin(), kv.second.end());
      kv.second.clear();
    }
    c.cached = 0;
  }
  for (void* p : blocks) std::free(p);
}

void dr_cpu_cache_stats(int64_t* in_use, int64_t* cached, int64_t* peak, int64_t* hits, int64_t* misses) {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  *in_use = static_cast<int64_t>(c.in_use);
  *cached = static_cast<int64_t>(c.cached);
  *peak = static_cast<int64_t>(c.peak);
  *hits = static_cast<int64_t>(c.hits);
  *misses = static_cast<int64_t>(c.misses);
}

bool dr_cpu_cache_installed(void) { return g_allocator != nullptr; }

}  // extern "C"
