// A caching CPU allocator for ATen. A training step allocates the same buffer
// sizes every step; with glibc's malloc those aligned blocks were not reused
// (the small wrapper objects the JS GC frees later sit between them), so RSS
// grew by every activation of every step (measured: 7 GB over 200 steps), and
// mapping each buffer afresh instead costs a page fault per 4 KiB (3x slower
// steps). Freed large blocks are kept by exact size and handed out again;
// the cache is bounded, so memory stays flat.
#include "handle.h"

#include <c10/core/CPUAllocator.h>

#include <cstdlib>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace native {

namespace {

constexpr size_t kAlignment = 64;
constexpr size_t kMinCached = 0;                    // every size is cached: small blocks fragment the heap too
constexpr int64_t kMaxCached = int64_t(4) << 30;   // free blocks kept at most

struct Block {
  size_t size;
};

std::mutex mu;
std::unordered_map<size_t, std::vector<void*>> free_blocks;
int64_t cached_bytes = 0;

size_t RoundUp(size_t n) { return n < 65536 ? (n + 63) & ~size_t(63) : (n + 4095) & ~size_t(4095); }

void* RawAlloc(size_t n) {
  void* p = nullptr;
  if (posix_memalign(&p, kAlignment, n == 0 ? kAlignment : n) != 0) throw std::bad_alloc();
  return p;
}

// Each block starts with a header that remembers its size; ATen sees the data after it
// (it wants the DataPtr's context to equal its data).
constexpr size_t kHeader = kAlignment;

void Release(void* data) {
  if (data == nullptr) return;
  void* ctx = static_cast<char*>(data) - kHeader;
  size_t size = static_cast<Block*>(ctx)->size;
  if (size >= kMinCached) {
    std::lock_guard<std::mutex> lock(mu);
    if (cached_bytes + static_cast<int64_t>(size) <= kMaxCached) {
      free_blocks[size].push_back(ctx);
      cached_bytes += static_cast<int64_t>(size);
      return;
    }
  }
  std::free(ctx);
}

class CachingAllocator final : public c10::Allocator {
 public:
  c10::DataPtr allocate(size_t n) const override {
    size_t size = RoundUp(n);
    void* base = nullptr;
    if (size >= kMinCached) {
      std::lock_guard<std::mutex> lock(mu);
      auto it = free_blocks.find(size);
      if (it != free_blocks.end() && !it->second.empty()) {
        base = it->second.back();
        it->second.pop_back();
        cached_bytes -= static_cast<int64_t>(size);
      }
    }
    if (base == nullptr) {
      base = RawAlloc(size + kHeader);
      static_cast<Block*>(base)->size = size;
    }
    void* data = static_cast<char*>(base) + kHeader;
    return {data, data, &Release, c10::Device(c10::DeviceType::CPU)};
  }

  c10::DeleterFnPtr raw_deleter() const override { return &Release; }
};

CachingAllocator allocator;

}  // namespace

int64_t CachedBytes() {
  std::lock_guard<std::mutex> lock(mu);
  return cached_bytes;
}

void InstallCachingAllocator() { c10::SetCPUAllocator(&allocator, /*priority=*/1); }

}  // namespace native
