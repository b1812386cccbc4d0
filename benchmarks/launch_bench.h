// Launch cost of an empty kernel, xpool against raw: the median latency of
// launch + synchronize, and the time per launch of N back-to-back launches
// followed by one synchronize.
#pragma once

#include "bench.h"
#include "report.h"

namespace membench {

// Backends with an empty kernel: cpu (kernels/empty_kernel.c) and opencl
// (OpenCL C source); for others the section says why nothing was measured.
// `quick`: short turns, for the CI smoke run.
LaunchSection launchBench(BenchDevice &device, bool quick, int back_to_back);

}  // namespace membench
