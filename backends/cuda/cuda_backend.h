// Internal declarations of the cuda backend: NVIDIA GPUs through the CUDA
// driver API (opened with dlopen, see cuda_api.h). Each device is driven
// through its primary context, the one the CUDA runtime and most libraries
// share; device memory has unified addresses, so a CUdeviceptr is the pool
// pointer itself.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "cuda_api.h"
#include "nvrtc_api.h"
#include "xpool/backend.h"

namespace xpool::cuda {

struct CudaDevice {
  int index = 0;  // ordinal inside the backend
  CUdevice handle = 0;
  int cuda_ordinal = 0;         // CUDA's own ordinal (after CUDA_VISIBLE_DEVICES)
  CUcontext context = nullptr;  // retained primary context
  std::string name;
  uint8_t uuid[16] = {};
  uint64_t memory_total = 0;
  int multiprocessors = 0;
  int compute_major = 0, compute_minor = 0;
  int max_threads_per_block = 0;
  int shared_mem_per_block = 0;  // opt-in maximum of dynamic shared memory
  std::string pci_bus_id;        // "0000:41:00.0"
  // Whether host-task gates (host_tasks.h) can hold the stream with
  // cuStreamWaitValue32: false when the driver lacks it or once it answered
  // NOT_SUPPORTED; host functions then hold a driver callback thread instead.
  std::atomic<bool> wait_value_supported{true};

  // Pinned, device-mapped 32-bit flags for those gates, carved from pages
  // allocated on first use and freed at shutdown only (freeing pinned memory
  // may synchronize the device, which stream_destroy must not do).
  std::mutex flag_mutex;
  std::vector<void *> flag_pages;
  std::vector<std::pair<uint32_t *, CUdeviceptr>> free_flags;
  bool keep_flag_pages = false;  // a gate left running still writes its flag
};

// Makes `device`'s primary context current on this thread for one scope and
// restores the previous one after, so code around xpool that uses the CUDA
// runtime on the same thread keeps its own device. cuCtxSetCurrent is per
// thread: every entry that touches a device opens one of these first.
class ScopedContext {
 public:
  ScopedContext(const CudaApi &api, const CudaDevice &device);
  ~ScopedContext();
  ScopedContext(const ScopedContext &) = delete;
  ScopedContext &operator=(const ScopedContext &) = delete;

 private:
  const CudaApi &api_;
  CUcontext previous_ = nullptr;
  bool changed_ = false;
};

// The deadline of waits the backend starts on its own (copies a host task
// runs): XPOOL_TIMEOUT_MS, or XP_DEFAULT_TIMEOUT_MS.
uint64_t defaultTimeoutNs();

// Calls `query` (a CUDA query that answers CUDA_ERROR_NOT_READY while work is
// pending) until it answers anything else, for at most timeout_ns. Returns
// the last answer, or CUDA_ERROR_TIMEOUT when the deadline passed first.
//
// cuStreamSynchronize and cuEventSynchronize have no deadline, hence the
// polling: it spins for the first 50 us (short copies and launches finish
// within that; a thread wake-up alone costs 10 us or more), then sleeps for
// 1/16 of the time waited so far, between 10 us and 1 ms, so that a long
// wait overshoots by about 6% at most and costs little CPU.
template <typename Query>
CUresult pollUntilDone(Query query, uint64_t timeout_ns) {
  using Clock = std::chrono::steady_clock;
  constexpr auto kSpin = std::chrono::microseconds(50);
  constexpr auto kShortestNap = std::chrono::microseconds(10);
  constexpr auto kLongestNap = std::chrono::microseconds(1000);
  const auto start = Clock::now();
  const auto deadline = timeout_ns >= uint64_t{1} << 62
                            ? Clock::time_point::max()
                            : start + std::chrono::nanoseconds(timeout_ns);
  for (;;) {
    const CUresult result = query();
    if (result != CUDA_ERROR_NOT_READY) return result;
    const auto now = Clock::now();
    if (now >= deadline) return CUDA_ERROR_TIMEOUT;
    const auto waited = now - start;
    if (waited < kSpin) {
      std::this_thread::yield();
      continue;
    }
    const Clock::duration nap = std::clamp<Clock::duration>(waited / 16, kShortestNap, kLongestNap);
    std::this_thread::sleep_for(std::min<Clock::duration>(nap, deadline - now));
  }
}

// Table entries, by file.
xpStatus discoverDevices(xpbContext *ctx);  // devices.cpp
xpStatus deviceProps(xpbContext *ctx, int device, xpDeviceProps *props);
xpStatus memInfo(xpbContext *ctx, int device, uint64_t *free_bytes, uint64_t *total_bytes);

xpStatus memAlloc(xpbContext *ctx, int device, size_t bytes, xpbAllocation *out);  // memory.cpp
xpStatus memFree(xpbContext *ctx, int device, void *buffer);
xpStatus hostRegister(xpbContext *ctx, void *ptr, size_t bytes);
xpStatus hostUnregister(xpbContext *ctx, void *ptr);
// Lets dst and src reach each other's memory directly when the hardware can
// (once per pair); cuMemcpyPeerAsync works either way.
void enablePeerAccess(xpbContext *ctx, int a, int b);

// Frees a device's flag pages (host_tasks.cpp); its context must still be
// retained.
void freeFlagPages(xpbContext *ctx, CudaDevice &device);

xpStatus streamCreate(xpbContext *ctx, int device, xpbStream **stream);  // streams.cpp
xpStatus streamDestroy(xpbStream *stream);
xpStatus streamSynchronize(xpbStream *stream, uint64_t timeout_ns);
xpStatus streamQuery(xpbStream *stream);
xpStatus memcpyAsync(xpbStream *stream, xpbMemRef dst, xpbMemRef src, size_t bytes);
xpStatus memsetAsync(xpbStream *stream, xpbMemRef dst, int value, size_t bytes);
xpStatus launchHostFunc(xpbStream *stream, xpHostFn fn, void *user_data);
xpStatus memcpyPeerAsync(xpbStream *stream, int dst_device, xpbMemRef dst, int src_device,
                         xpbMemRef src, size_t bytes);
// The CUstream, the device's primary context and its CUDA ordinal.
xpStatus streamNative(xpbStream *stream, void **native_stream, void **native_context, int *ordinal);

xpStatus eventCreate(xpbContext *ctx, int device, unsigned flags, xpbEvent **event);  // events.cpp
xpStatus eventDestroy(xpbEvent *event);
xpStatus eventRecord(xpbEvent *event, xpbStream *stream);
xpStatus eventQuery(xpbEvent *event);
xpStatus eventSynchronize(xpbEvent *event, uint64_t timeout_ns);
xpStatus eventElapsed(xpbEvent *start, xpbEvent *end, float *ms);
xpStatus streamWaitEvent(xpbStream *stream, xpbEvent *event);

xpStatus moduleLoad(xpbContext *ctx, int device, xpModuleFormat format, const void *data,
                    size_t bytes, const char *options, xpbModule **module);  // modules.cpp
xpStatus moduleUnload(xpbModule *module);
xpStatus kernelGet(xpbModule *module, const char *name, xpbKernel **kernel);
xpStatus kernelLaunch(xpbStream *stream, xpbKernel *kernel, xpDim3 grid, xpDim3 block,
                      size_t shared_bytes, void *const *args, const size_t *arg_sizes,
                      int num_args);

// The device address an xpbMemRef of device memory names.
inline CUdeviceptr devicePointer(const xpbMemRef &ref) {
  return reinterpret_cast<CUdeviceptr>(ref.buffer) + ref.offset;
}

}  // namespace xpool::cuda

struct xpbContext {
  const xpbHostApi *host = nullptr;
  xpool::cuda::CudaApi api;
  xpool::cuda::Nvrtc nvrtc;
  std::vector<std::unique_ptr<xpool::cuda::CudaDevice>> devices;
  std::string version;

  // Peer access per ordered pair (accessor * count + owner): 0 not tried,
  // 1 enabled, 2 not possible.
  std::mutex peer_mutex;
  std::vector<uint8_t> peer_state;

  // Host ranges this backend pinned (host_unregister leaves others alone).
  std::mutex registered_mutex;
  std::set<void *> registered;

  xpool::cuda::CudaDevice &device(int index) { return *devices[static_cast<size_t>(index)]; }
  void log(xpbLogLevel level, const std::string &message) const {
    if (host->log != nullptr) host->log(level, "cuda", message.c_str());
  }
};
