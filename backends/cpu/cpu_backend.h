// Internal declarations of the cpu backend: the host's cores and memory as
// xpool devices. Device memory is ordinary host memory, so every device is
// host-addressable; streams are worker threads; kernels come from shared
// objects (see xpool/cpu_kernel.h) and run their blocks on a worker pool.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "worker_pool.h"
#include "xpool/backend.h"

namespace xpool::cpu {

struct CpuDevice {
  int index = 0;
  std::string name;
  std::string vendor;
  int cores = 1;
  int numa_node = -1;
  int parts = 1;  // how many devices share this NUMA node (XPOOL_CPU_DEVICES)
  uint64_t memory_total = 0;
  uint8_t uuid[16] = {};
  std::unique_ptr<WorkerPool> pool;
  std::atomic<uint64_t> allocated{0};
};

// Fills ctx->devices from hwloc and XPOOL_CPU_DEVICES.
xpStatus discoverDevices(xpbContext *ctx);
// Bytes the OS can still give (MemAvailable), shared among `parts` devices.
uint64_t availableMemory(int parts);

// Table entries, by file.
xpStatus deviceProps(xpbContext *ctx, int device, xpDeviceProps *props);
xpStatus memInfo(xpbContext *ctx, int device, uint64_t *free_bytes, uint64_t *total_bytes);
xpStatus memAlloc(xpbContext *ctx, int device, size_t bytes, xpbAllocation *out);
xpStatus memFree(xpbContext *ctx, int device, void *buffer);

xpStatus streamCreate(xpbContext *ctx, int device, xpbStream **stream);
xpStatus streamDestroy(xpbStream *stream);
xpStatus streamSynchronize(xpbStream *stream, uint64_t timeout_ns);
xpStatus streamQuery(xpbStream *stream);
xpStatus memcpyAsync(xpbStream *stream, xpbMemRef dst, xpbMemRef src, size_t bytes);
xpStatus memsetAsync(xpbStream *stream, xpbMemRef dst, int value, size_t bytes);
xpStatus launchHostFunc(xpbStream *stream, xpHostFn fn, void *user_data);
xpStatus eventCreate(xpbContext *ctx, int device, unsigned flags, xpbEvent **event);
xpStatus eventDestroy(xpbEvent *event);
xpStatus eventRecord(xpbEvent *event, xpbStream *stream);
xpStatus eventQuery(xpbEvent *event);
xpStatus eventSynchronize(xpbEvent *event, uint64_t timeout_ns);
xpStatus eventElapsed(xpbEvent *start, xpbEvent *end, float *ms);
xpStatus streamWaitEvent(xpbStream *stream, xpbEvent *event);

// Copies (overlapping ranges: in order, with memmove) and fills on the
// device's cores, returning when done (cpu_copy.cpp).
void parallelCopy(WorkerPool &pool, void *dst, const void *src, size_t bytes);
void parallelFill(WorkerPool &pool, void *dst, int value, size_t bytes);
xpStatus hostCopy(xpbContext *ctx, int device, void *dst, const void *src, size_t bytes);

xpStatus moduleLoad(xpbContext *ctx, int device, xpModuleFormat format, const void *data,
                    size_t bytes, const char *options, xpbModule **module);
xpStatus moduleUnload(xpbModule *module);
xpStatus kernelGet(xpbModule *module, const char *name, xpbKernel **kernel);
xpStatus kernelLaunch(xpbStream *stream, xpbKernel *kernel, xpDim3 grid, xpDim3 block,
                      size_t shared_bytes, void *const *args, const size_t *arg_sizes,
                      int num_args);

}  // namespace xpool::cpu

struct xpbContext {
  const xpbHostApi *host = nullptr;
  std::vector<std::unique_ptr<xpool::cpu::CpuDevice>> devices;
  std::string version;
};
