#include "allocation_table.h"

#include <sys/mman.h>

#include <mutex>
#include <utility>

namespace xpool {

void AllocationTable::insert(const Allocation &allocation) {
  std::unique_lock lock(mutex_);
  by_base_[allocation.base] = allocation;
}

std::optional<Allocation> AllocationTable::find(const void *ptr) const {
  const auto address = reinterpret_cast<uintptr_t>(ptr);
  std::shared_lock lock(mutex_);
  auto it = by_base_.upper_bound(address);
  if (it == by_base_.begin()) return std::nullopt;
  --it;
  const Allocation &candidate = it->second;
  if (address - candidate.base < candidate.size) return candidate;
  return std::nullopt;
}

std::optional<Allocation> AllocationTable::erase(const void *base) {
  std::unique_lock lock(mutex_);
  auto it = by_base_.find(reinterpret_cast<uintptr_t>(base));
  if (it == by_base_.end()) return std::nullopt;
  Allocation removed = it->second;
  by_base_.erase(it);
  return removed;
}

std::map<uintptr_t, Allocation> AllocationTable::takeAll() {
  std::unique_lock lock(mutex_);
  return std::exchange(by_base_, {});
}

void *reserveAddressRange(size_t bytes) {
  void *base = mmap(nullptr, bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  return base == MAP_FAILED ? nullptr : base;
}

void releaseAddressRange(void *base, size_t bytes) {
  munmap(base, bytes);
}

void *allocatePinnedPages(size_t bytes) {
  void *base = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  return base == MAP_FAILED ? nullptr : base;
}

}  // namespace xpool
