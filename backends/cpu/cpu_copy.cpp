// Copies and fills spread over a cpu device's cores: the work of memcpy_async
// and memset_async on a stream's thread, and of host_copy on the caller's.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <functional>

#include "cpu_backend.h"

namespace xpool::cpu {

namespace {

// Runs fn(offset, length) over [0, bytes) in page-multiple chunks on the
// device's cores, or in one call on the calling thread when small.
void forEachChunk(WorkerPool &pool, size_t bytes, const std::function<void(size_t, size_t)> &fn) {
  // Below this a second core does not pay for its wake-up (1 MiB: measured
  // 1.2-1.3x faster on two threads than one with the helper awake).
  constexpr size_t kParallelFrom = size_t{1} << 20;
  if (bytes < kParallelFrom || pool.parallelism() == 1) {
    fn(0, bytes);
    return;
  }
  // One contiguous, page-aligned range per thread. Each range stays large
  // enough for glibc's memcpy to switch to non-temporal stores (above a few
  // MiB), which skip reading the destination first: smaller chunks measured
  // 25-30% slower at 1 GiB on a quiet machine.
  const size_t pieces = static_cast<size_t>(pool.parallelism());
  const size_t chunk = ((bytes + pieces - 1) / pieces + 4095) & ~size_t{4095};
  const size_t count = (bytes + chunk - 1) / chunk;
  pool.parallelFor(count, [&](size_t i) {
    const size_t offset = i * chunk;
    fn(offset, std::min(chunk, bytes - offset));
  });
}

}  // namespace

void parallelCopy(WorkerPool &pool, void *dst, const void *src, size_t bytes) {
  const auto to = reinterpret_cast<uintptr_t>(dst);
  const auto from = reinterpret_cast<uintptr_t>(src);
  if (to < from + bytes && from < to + bytes) {  // overlapping: only in order is safe
    std::memmove(dst, src, bytes);
    return;
  }
  forEachChunk(pool, bytes, [&](size_t offset, size_t length) {
    std::memcpy(static_cast<char *>(dst) + offset, static_cast<const char *>(src) + offset, length);
  });
}

void parallelFill(WorkerPool &pool, void *dst, int value, size_t bytes) {
  forEachChunk(pool, bytes, [&](size_t offset, size_t length) {
    std::memset(static_cast<char *>(dst) + offset, value, length);
  });
}

xpStatus hostCopy(xpbContext *ctx, int device, void *dst, const void *src, size_t bytes) {
  parallelCopy(*ctx->devices[static_cast<size_t>(device)]->pool, dst, src, bytes);
  return XP_SUCCESS;
}

}  // namespace xpool::cpu
