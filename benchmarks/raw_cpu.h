// Raw peer of a cpu device: device memory is host memory, so a raw copy is a
// plain memcpy on the host -- with one thread, and with as many threads as
// the device has cores (at least 2), because the cpu backend spreads large
// copies over all of its cores. A raw launch runs the grid of the kernel
// function from the same shared object (dlopen/dlsym) on the device's cores
// the way host code does without xpool: an OpenMP parallel for over the
// blocks (launch and synchronize in one, as OpenMP regions are). A direct
// call of the kernel function is measured as the floor.
#pragma once

#include <memory>
#include <string>

#include "raw_device.h"

namespace membench {

// `a` and `b` are the device's xpool buffers (host addressable), reused as
// they are. Throws std::runtime_error when the kernel cannot be loaded.
std::unique_ptr<RawDevice> makeRawCpu(void *a, void *b, int cores, const std::string &kernel_path,
                                      const std::string &kernel_name);

}  // namespace membench
