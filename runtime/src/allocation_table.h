// The pool's pointer space: every live allocation by address range, so any
// pointer (including one inside an allocation) maps back to its device and
// backend buffer. Backends whose buffers are not addresses (OpenCL cl_mem)
// get a reserved, never-accessible address range of the same size, which
// keeps pool pointers unique and makes pointer arithmetic work everywhere.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <shared_mutex>

#include "xpool/runtime.h"

namespace xpool {

struct Allocation {
  uintptr_t base = 0;
  size_t size = 0;
  xpMemoryType type = XP_MEMORY_UNKNOWN;
  int device = XP_HOST_DEVICE;    // owner; XP_HOST_DEVICE for pinned host memory
  void *buffer = nullptr;         // the backend's handle
  bool reserved_address = false;  // base came from reserveAddressRange
};

class AllocationTable {
 public:
  void insert(const Allocation &allocation);
  // The allocation containing `ptr`, if any.
  std::optional<Allocation> find(const void *ptr) const;
  // Removes the allocation starting exactly at `base`.
  std::optional<Allocation> erase(const void *base);
  // Removes and returns every allocation (at shutdown).
  std::map<uintptr_t, Allocation> takeAll();

 private:
  mutable std::shared_mutex mutex_;
  std::map<uintptr_t, Allocation> by_base_;
};

// A range of `bytes` addresses that nothing else in the process will get and
// that faults if touched; nullptr when the address space is exhausted.
void *reserveAddressRange(size_t bytes);
void releaseAddressRange(void *base, size_t bytes);
// Readable, writable, already-faulted pages (first touch is paid here, once,
// not in the middle of a transfer); release with releaseAddressRange.
void *allocatePinnedPages(size_t bytes);

}  // namespace xpool
