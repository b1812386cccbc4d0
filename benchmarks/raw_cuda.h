// Raw peer of a cuda device: the CUDA driver API driven directly (libcuda.so.1
// opened with dlopen, like the backend, so the benchmark runs on machines
// without a driver), on the same device (ordinal checked by name), in its
// primary context, with buffers of its own. Copies are the synchronous
// cuMemcpy* calls; the launch is cuLaunchKernel of the same empty PTX kernel,
// then cuCtxSynchronize.
#pragma once

#include <memory>
#include <string>

#include "raw_device.h"

namespace membench {

// PTX of the empty kernel (named "empty"), for xpool and raw.
extern const char *const kCudaEmptyKernelPtx;

// nullptr with *why when there is no raw peer: the benchmark was built
// without cuda.h, libcuda.so.1 cannot be opened, or no device of that ordinal
// and name exists.
std::unique_ptr<RawDevice> makeRawCuda(int backend_device, const std::string &name,
                                       std::string *why);

}  // namespace membench
