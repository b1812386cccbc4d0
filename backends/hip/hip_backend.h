// Internal declarations of the hip backend: AMD GPUs through the HIP runtime
// (ROCm 5 and 6), opened with dlopen. Device memory has unified addresses, so
// hipMalloc pointers are the pool pointers; streams are non-blocking HIP
// streams; host functions run on a worker thread per stream (hip_stream.h).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unordered_set>
#include <utility>
#include <vector>

#include "hip_api.h"
#include "xpool/backend.h"

namespace xpool::hip {

struct HipDevice {
  int ordinal = 0;  // HIP's device ordinal (after HIP_VISIBLE_DEVICES)
  hipDevice_t handle = 0;
  std::string name;
  uint8_t uuid[16] = {};
  std::string pci_bus_id;  // "0000:41:00.0" or ""
  uint64_t memory_total = 0;
  int compute_units = 0;
  int max_threads_per_block = 0;
  uint64_t shared_mem_per_block = 0;
  int warp_size = 0;  // 64 on CDNA/GCN, 32 on RDNA: kernels care, the ABI does not
  int compute_major = 0, compute_minor = 0;
};

// The result of work that may run later, on another thread: a status and the
// message that goes with it (set_error only works on the caller's thread).
struct Outcome {
  xpStatus status = XP_SUCCESS;
  std::string message;
  bool ok() const { return status == XP_SUCCESS; }
};

#if defined(__GNUC__)
#define XPOOL_HIP_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define XPOOL_HIP_PRINTF(a, b)
#endif

std::string formatText(const char *format, ...) XPOOL_HIP_PRINTF(1, 2);

// An Outcome for a failed HIP call: "<call>: <error> (<n>) <detail>: <text>".
Outcome hipOutcome(const HipApi *api, const char *call, hipError_t error, const char *format, ...)
    XPOOL_HIP_PRINTF(4, 5);
// Sets the caller's last error from an Outcome and returns its status.
xpStatus report(xpbContext *ctx, const Outcome &outcome);
// set_error for a failed HIP call; returns the matching xpool status.
xpStatus hipFail(xpbContext *ctx, const char *call, hipError_t error, const char *format, ...)
    XPOOL_HIP_PRINTF(4, 5);
void logf(xpbContext *ctx, xpbLogLevel level, const char *format, ...) XPOOL_HIP_PRINTF(3, 4);

// HIP's current device is per thread: every entry makes its device current
// before calling HIP.
xpStatus useDevice(xpbContext *ctx, int device);

// Deadlines. Waits spin briefly, then sleep in growing steps of at most 1 ms.
using Clock = std::chrono::steady_clock;
Clock::time_point deadlineAfter(uint64_t timeout_ns);
// The runtime's deadline for waits without one of their own: XPOOL_TIMEOUT_MS,
// else XP_DEFAULT_TIMEOUT_MS.
uint64_t defaultTimeoutNs();

template <class Done>
bool pollUntil(Clock::time_point deadline, Done &&done) {
  constexpr auto kSpin = std::chrono::microseconds(50);
  const auto start = Clock::now();
  auto nap = std::chrono::microseconds(10);
  for (;;) {
    if (done()) return true;
    const auto now = Clock::now();
    if (now >= deadline) return false;
    if (now - start < kSpin) {
      std::this_thread::yield();
      continue;
    }
    const auto left = std::chrono::duration_cast<std::chrono::microseconds>(deadline - now);
    std::this_thread::sleep_for(std::min(nap, left));
    nap = std::min(nap * 2, std::chrono::microseconds(1000));
  }
}

// One HIP event per record, recycled. An xpool event points at the handle
// of its latest record; streams that wait on it hold the handle they saw, so
// a later record of the same xpool event never changes what they wait for.
struct EventHandle {
  enum State { kPending = 0, kRecorded = 1, kFailed = 2 };
  hipEvent_t event = nullptr;
  int device = 0;
  bool timing = false;
  // kPending while the record is queued behind a host function, kRecorded
  // once hipEventRecord returned, kFailed (with `failure`) if it failed.
  std::atomic<int> state{kPending};
  std::string failure;
};
using EventRef = std::shared_ptr<EventHandle>;

class EventPool {
 public:
  EventPool(const HipApi *api, int device) : api_(api), device_(device) {}
  ~EventPool();
  EventPool(const EventPool &) = delete;
  EventPool &operator=(const EventPool &) = delete;
  // The caller has made the pool's device current.
  hipError_t acquire(bool timing, EventRef *out);

 private:
  void giveBack(EventHandle *handle);
  const HipApi *api_;
  int device_;
  std::mutex mutex_;
  std::vector<hipEvent_t> free_[2];  // [timing]
};

xpStatus discoverDevices(xpbContext *ctx);

// Waits (with the default deadline) until every stream of `device` has
// submitted what queued behind its host functions and finished it, like the
// implicit device synchronisation of hipFree. The stream whose worker is the
// calling thread (a host function freeing memory) is left out. `what` names
// the operation for the timeout message.
xpStatus drainDevice(xpbContext *ctx, int device, const char *what);

// Table entries, by file.
xpStatus deviceProps(xpbContext *ctx, int device, xpDeviceProps *props);
xpStatus memInfo(xpbContext *ctx, int device, uint64_t *free_bytes, uint64_t *total_bytes);

xpStatus memAlloc(xpbContext *ctx, int device, size_t bytes, xpbAllocation *out);
xpStatus memFree(xpbContext *ctx, int device, void *buffer);
xpStatus hostRegister(xpbContext *ctx, void *ptr, size_t bytes);
xpStatus hostUnregister(xpbContext *ctx, void *ptr);

xpStatus streamCreate(xpbContext *ctx, int device, xpbStream **stream);
xpStatus streamDestroy(xpbStream *stream);
xpStatus streamSynchronize(xpbStream *stream, uint64_t timeout_ns);
xpStatus streamQuery(xpbStream *stream);
xpStatus memcpyAsync(xpbStream *stream, xpbMemRef dst, xpbMemRef src, size_t bytes);
xpStatus memsetAsync(xpbStream *stream, xpbMemRef dst, int value, size_t bytes);
xpStatus launchHostFunc(xpbStream *stream, xpHostFn fn, void *user_data);
xpStatus memcpyPeerAsync(xpbStream *stream, int dst_device, xpbMemRef dst, int src_device,
                         xpbMemRef src, size_t bytes);
// The hipStream_t and the HIP device ordinal (no context: NULL).
xpStatus streamNative(xpbStream *stream, void **native_stream, void **native_context, int *ordinal);

xpStatus eventCreate(xpbContext *ctx, int device, unsigned flags, xpbEvent **event);
xpStatus eventDestroy(xpbEvent *event);
xpStatus eventRecord(xpbEvent *event, xpbStream *stream);
xpStatus eventQuery(xpbEvent *event);
xpStatus eventSynchronize(xpbEvent *event, uint64_t timeout_ns);
xpStatus eventElapsed(xpbEvent *start, xpbEvent *end, float *ms);
xpStatus streamWaitEvent(xpbStream *stream, xpbEvent *event);

xpStatus moduleLoad(xpbContext *ctx, int device, xpModuleFormat format, const void *data,
                    size_t bytes, const char *options, xpbModule **module);
xpStatus moduleUnload(xpbModule *module);
xpStatus kernelGet(xpbModule *module, const char *name, xpbKernel **kernel);
xpStatus kernelLaunch(xpbStream *stream, xpbKernel *kernel, xpDim3 grid, xpDim3 block,
                      size_t shared_bytes, void *const *args, const size_t *arg_sizes,
                      int num_args);

}  // namespace xpool::hip

struct xpbContext {
  const xpbHostApi *host = nullptr;
  const xpool::hip::HipApi *api = nullptr;
  std::vector<xpool::hip::HipDevice> devices;
  std::vector<std::unique_ptr<xpool::hip::EventPool>> event_pools;  // one per device
  std::string version;
  // Host ranges this backend pinned (and must unpin); ranges someone else
  // registered first are left alone.
  std::mutex registered_mutex;
  std::unordered_set<void *> registered;
  // Live streams, for drainDevice.
  std::mutex streams_mutex;
  std::condition_variable streams_unpinned;
  std::vector<xpbStream *> streams;
  // Ordered device pairs whose peer access was already tried.
  std::mutex peer_mutex;
  std::set<std::pair<int, int>> peer_tried;
};
