// Host memory for the MPI and Gloo peers' buffers: page-aligned and touched
// once when allocated, so that no timed call pays first-touch page faults
// (about 10 us per 4 KiB page on the development machines).
#pragma once

#include <cstddef>
#include <cstdlib>
#include <memory>

namespace xccl_bench {

struct FreeDeleter {
  void operator()(void *p) const { std::free(p); }
};
using HostBuffer = std::unique_ptr<char, FreeDeleter>;

// Throws std::bad_alloc when the memory is not there.
HostBuffer touchedBuffer(size_t bytes);

}  // namespace xccl_bench
