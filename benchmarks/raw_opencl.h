// Raw peer of an opencl device: the OpenCL API driven directly, on the same
// device (platforms and devices enumerated in the order the opencl backend
// uses, the match checked by name), with a context, queue and buffers of its
// own. Copies are blocking clEnqueueWrite/Read/CopyBuffer (+ clFinish); the
// launch is clEnqueueNDRangeKernel of the same empty kernel, then clFinish.
#pragma once

#include <memory>
#include <string>

#include "raw_device.h"

namespace membench {

// The OpenCL C source of the empty kernel (named "empty"), for xpool and raw.
extern const char *const kOpenClEmptyKernel;

// nullptr with *why when there is no raw peer: the benchmark was built
// without OpenCL, or no device of that position and name exists.
std::unique_ptr<RawDevice> makeRawOpenCL(int backend_device, const std::string &name,
                                         std::string *why);

}  // namespace membench
