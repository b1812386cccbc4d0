// Internal declarations of the level_zero backend: Intel GPUs (and any other
// Level Zero driver's GPUs) through the Level Zero loader, opened with dlopen.
//
// One context per driver; root devices are xpool devices (sub-devices are
// logged, not exposed). Device memory is USM device memory, whose pointers
// are unique virtual addresses: they are the pool pointers. Streams are
// immediate command lists (l0_stream.h); events are pooled ze events (Slots).
// IPC (zeMemGetIpcHandle, IPC event pools) is out of scope for now.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "l0_api.h"
#include "xpool/backend.h"

namespace xpool::level_zero {

// The result of work that may run later, on another thread.
struct Outcome {
  xpStatus status = XP_SUCCESS;
  std::string message;
  bool ok() const { return status == XP_SUCCESS; }
};

#if defined(__GNUC__)
#define XPOOL_ZE_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define XPOOL_ZE_PRINTF(a, b)
#endif

std::string formatText(const char *format, ...) XPOOL_ZE_PRINTF(1, 2);
Outcome zeOutcome(const char *call, ze_result_t result, const char *format, ...)
    XPOOL_ZE_PRINTF(3, 4);
xpStatus report(xpbContext *ctx, const Outcome &outcome);
// set_error for a failed Level Zero call; returns the matching xpool status.
xpStatus zeFail(xpbContext *ctx, const char *call, ze_result_t result, const char *format, ...)
    XPOOL_ZE_PRINTF(4, 5);
void logf(xpbContext *ctx, xpbLogLevel level, const char *format, ...) XPOOL_ZE_PRINTF(3, 4);

using Clock = std::chrono::steady_clock;

// One ze event, used for one purpose (a record, a host-function gate, a
// progress marker) and recycled (zeEventHostReset) once nothing refers to
// it: not the xpool event, not a stream whose commands may still wait on or
// signal it. Timing slots come with an 8-byte host cell that receives a
// global device timestamp when the record executes.
struct Slot {
  ze_event_handle_t event = nullptr;
  uint64_t *timestamp = nullptr;  // timing slots only
};
using SlotRef = std::shared_ptr<Slot>;

class SlotPool {
 public:
  SlotPool(const ZeApi *api, ze_context_handle_t context, bool timing)
      : api_(api), context_(context), timing_(timing) {}
  ~SlotPool();
  SlotPool(const SlotPool &) = delete;
  SlotPool &operator=(const SlotPool &) = delete;
  // A slot in the reset state; Outcome names the failed call.
  Outcome acquire(SlotRef *out);

 private:
  Outcome grow();  // one more event pool (caller holds mutex_)
  void giveBack(Slot *slot);

  static constexpr uint32_t kEventsPerPool = 256;
  const ZeApi *api_;
  ze_context_handle_t context_;
  bool timing_;
  std::mutex mutex_;
  std::vector<ze_event_pool_handle_t> pools_;
  std::vector<ze_event_handle_t> events_;  // every event created
  std::vector<void *> cells_;              // host USM blocks of timestamp cells
  std::vector<Slot> free_;
};

struct Driver {
  ze_driver_handle_t handle = nullptr;
  uint32_t api_version = 0;     // ze_api_version_t the driver speaks
  uint32_t driver_version = 0;  // ze_driver_properties_t.driverVersion
  ze_context_handle_t context = nullptr;
  bool relaxed_allocation_limits = false;  // ZE_experimental_relaxed_allocation_limits
  std::unique_ptr<SlotPool> plain;         // host-visible events
  std::unique_ptr<SlotPool> timing;        // host-visible events with timestamp cells
  // Intel's host pointer import (zexDriverImportExternalPointer), if any.
  PfnImportExternalPointer import_pointer = nullptr;
  PfnReleaseImportedPointer release_pointer = nullptr;
};

struct Device {
  int index = 0;
  Driver *driver = nullptr;
  ze_device_handle_t handle = nullptr;
  ze_device_properties_t props{};
  ze_device_compute_properties_t compute{};
  uint64_t memory_total = 0;
  std::string pci_bus_id;
  uint32_t compute_ordinal = 0;  // command queue group with compute (and copy) support
  uint32_t subdevices = 0;
  double ns_per_tick = 1.0;         // global timestamp resolution
  uint64_t timestamp_mask = ~0ull;  // timestampValidBits
  std::atomic<uint64_t> allocated{0};
};

xpStatus discoverDevices(xpbContext *ctx);
void releaseDrivers(xpbContext *ctx);

// The runtime's deadline for waits without one of their own: XPOOL_TIMEOUT_MS,
// else XP_DEFAULT_TIMEOUT_MS.
uint64_t defaultTimeoutNs();
// Waits (with the default deadline) until every stream of `device` has
// finished what was appended so far. zeMemFree and zeModuleDestroy require
// that nothing in flight uses the memory or module; CUDA and HIP free with an
// implicit device synchronisation, and xpool keeps that meaning. The stream
// whose worker is the calling thread (a host function freeing memory) is
// left out. `what` names the operation for the timeout message.
xpStatus drainDevice(xpbContext *ctx, const Device &device, const char *what);

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

}  // namespace xpool::level_zero

struct xpbContext {
  const xpbHostApi *host = nullptr;
  const xpool::level_zero::ZeApi *api = nullptr;
  std::vector<std::unique_ptr<xpool::level_zero::Driver>> drivers;
  std::vector<std::unique_ptr<xpool::level_zero::Device>> devices;
  std::string version;
  // Live allocations: pointer -> (device, bytes), for mem_info's accounting.
  std::mutex allocations_mutex;
  std::unordered_map<void *, std::pair<int, size_t>> allocations;
  // Host ranges imported into drivers by host_register.
  std::mutex imported_mutex;
  std::unordered_map<void *, std::vector<xpool::level_zero::Driver *>> imported;
  // Live streams, for drainDevice.
  std::mutex streams_mutex;
  std::condition_variable streams_unpinned;
  std::vector<xpbStream *> streams;
  // Peer access answers, by (from, to) device index.
  std::mutex peer_mutex;
  std::unordered_map<uint64_t, bool> peer_access;
};
