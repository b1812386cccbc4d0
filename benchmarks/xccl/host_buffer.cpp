#include "host_buffer.h"

#include <algorithm>
#include <cstring>
#include <new>

namespace xccl_bench {

HostBuffer touchedBuffer(size_t bytes) {
  constexpr size_t kPage = 4096;
  const size_t rounded = (std::max<size_t>(bytes, 1) + kPage - 1) / kPage * kPage;
  HostBuffer buffer(static_cast<char *>(std::aligned_alloc(kPage, rounded)));
  if (!buffer) throw std::bad_alloc();
  std::memset(buffer.get(), 0, rounded);
  return buffer;
}

}  // namespace xccl_bench
