// Device memory of the cpu backend: page-aligned host memory.
#include <cstdlib>

#include "cpu_backend.h"

namespace xpool::cpu {

xpStatus memAlloc(xpbContext *ctx, int index, size_t bytes, xpbAllocation *out) {
  CpuDevice &device = *ctx->devices[static_cast<size_t>(index)];
  const uint64_t available = availableMemory(device.parts);
  if (bytes > available) {
    return xpbFail(ctx->host, XP_ERROR_OUT_OF_MEMORY,
                   "%zu bytes requested but only %llu are available to cpu device %d", bytes,
                   static_cast<unsigned long long>(available), index);
  }
  void *memory = nullptr;
  // Page alignment: large copies and SIMD kernels prefer it, and it keeps
  // two allocations from sharing a cache line.
  const size_t alignment = bytes >= 4096 ? 4096 : 64;
  if (posix_memalign(&memory, alignment, bytes) != 0) {
    return xpbFail(ctx->host, XP_ERROR_OUT_OF_MEMORY,
                   "posix_memalign could not provide %zu bytes on cpu device %d", bytes, index);
  }
  device.allocated.fetch_add(bytes);
  out->buffer = memory;
  out->address = memory;
  return XP_SUCCESS;
}

xpStatus memFree(xpbContext *ctx, int index, void *buffer) {
  (void)ctx;
  (void)index;
  // The runtime tracks sizes; the backend only needs to give the memory back.
  std::free(buffer);
  return XP_SUCCESS;
}

}  // namespace xpool::cpu
