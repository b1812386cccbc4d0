// The hip backend's entry point, lifecycle and shared helpers.
#include "hip_backend.h"

#include <cstdarg>
#include <cstdio>
#include <cstdlib>

using namespace xpool::hip;

namespace xpool::hip {
namespace {

std::string vformat(const char *format, va_list args) {
  va_list copy;
  va_copy(copy, args);
  const int needed = vsnprintf(nullptr, 0, format, copy);
  va_end(copy);
  if (needed <= 0) return {};
  std::string text(static_cast<size_t>(needed) + 1, '\0');
  vsnprintf(text.data(), text.size(), format, args);
  text.resize(static_cast<size_t>(needed));
  return text;
}

}  // namespace

std::string formatText(const char *format, ...) {
  va_list args;
  va_start(args, format);
  std::string text = vformat(format, args);
  va_end(args);
  return text;
}

Outcome hipOutcome(const HipApi *api, const char *call, hipError_t error, const char *format, ...) {
  va_list args;
  va_start(args, format);
  std::string detail = vformat(format, args);
  va_end(args);
  return {statusForHipError(error), describeHipFailure(api, call, error, detail)};
}

xpStatus report(xpbContext *ctx, const Outcome &outcome) {
  if (outcome.ok()) return XP_SUCCESS;
  return ctx->host->set_error(outcome.status, outcome.message.c_str());
}

xpStatus hipFail(xpbContext *ctx, const char *call, hipError_t error, const char *format, ...) {
  va_list args;
  va_start(args, format);
  std::string detail = vformat(format, args);
  va_end(args);
  return ctx->host->set_error(statusForHipError(error),
                              describeHipFailure(ctx->api, call, error, detail).c_str());
}

void logf(xpbContext *ctx, xpbLogLevel level, const char *format, ...) {
  if (ctx->host->log == nullptr) return;
  va_list args;
  va_start(args, format);
  std::string text = vformat(format, args);
  va_end(args);
  ctx->host->log(level, "hip", text.c_str());
}

xpStatus useDevice(xpbContext *ctx, int device) {
  hipError_t error = ctx->api->hipSetDevice(device);
  if (error != hipSuccess) return hipFail(ctx, "hipSetDevice", error, "for hip device %d", device);
  return XP_SUCCESS;
}

Clock::time_point deadlineAfter(uint64_t timeout_ns) {
  // Far enough to mean "never" without overflowing the clock's arithmetic.
  constexpr uint64_t kMaxNs = 365ull * 24 * 3600 * 1000000000ull;
  return Clock::now() + std::chrono::nanoseconds(timeout_ns < kMaxNs ? timeout_ns : kMaxNs);
}

uint64_t defaultTimeoutNs() {
  return xpbDefaultTimeoutNs();
}

EventPool::~EventPool() {
  for (auto &list : free_) {
    for (hipEvent_t event : list) (void)api_->hipEventDestroy(event);
  }
}

hipError_t EventPool::acquire(bool timing, EventRef *out) {
  hipEvent_t event = nullptr;
  {
    std::lock_guard lock(mutex_);
    auto &list = free_[timing ? 1 : 0];
    if (!list.empty()) {
      event = list.back();
      list.pop_back();
    }
  }
  if (event == nullptr) {
    hipError_t error =
        api_->hipEventCreateWithFlags(&event, timing ? hipEventDefault : hipEventDisableTiming);
    if (error != hipSuccess) return error;
  }
  auto *handle = new EventHandle;
  handle->event = event;
  handle->device = device_;
  handle->timing = timing;
  *out = EventRef(handle, [this](EventHandle *h) { giveBack(h); });
  return hipSuccess;
}

void EventPool::giveBack(EventHandle *handle) {
  // A HIP event may be recorded again while an earlier record is pending;
  // streams that waited on the earlier record keep their own dependency.
  constexpr size_t kKeep = 256;
  hipEvent_t event = handle->event;
  const bool timing = handle->timing;
  delete handle;
  {
    std::lock_guard lock(mutex_);
    auto &list = free_[timing ? 1 : 0];
    if (list.size() < kKeep) {
      list.push_back(event);
      return;
    }
  }
  (void)api_->hipEventDestroy(event);
}

}  // namespace xpool::hip

namespace {

xpStatus init(const xpbHostApi *host, xpbContext **out) {
  std::string why;
  const HipApi *api = loadHipApi(&why);
  if (api == nullptr) return xpbFail(host, XP_ERROR_NO_DEVICE, "%s", why.c_str());
  auto ctx = std::make_unique<xpbContext>();
  ctx->host = host;
  ctx->api = api;
  if (xpStatus status = discoverDevices(ctx.get()); status != XP_SUCCESS) return status;
  for (const HipDevice &device : ctx->devices) {
    ctx->event_pools.push_back(std::make_unique<EventPool>(api, device.ordinal));
  }
  *out = ctx.release();
  return XP_SUCCESS;
}

void shutdown(xpbContext *ctx) {
  // The runtime has released every stream, event, module and allocation;
  // what is left are cached HIP events. The library itself stays loaded.
  delete ctx;
}

const char *vendorVersion(xpbContext *ctx) {
  return ctx->version.c_str();
}

int deviceCount(xpbContext *ctx) {
  return static_cast<int>(ctx->devices.size());
}

// hipSetDevice, for a vendor library called next on this thread (RCCL).
xpStatus deviceMakeCurrent(xpbContext *ctx, int device) {
  return useDevice(ctx, ctx->devices[static_cast<size_t>(device)].ordinal);
}

}  // namespace

extern "C" XPB_EXPORT xpStatus xpoolBackendGetTable(xpbBackend *table) {
  xpbBackend mine{};
  mine.struct_size = sizeof mine;
  mine.abi_major = XPB_ABI_MAJOR;
  mine.abi_minor = XPB_ABI_MINOR;
  mine.name = "hip";
  mine.init = init;
  mine.shutdown = shutdown;
  mine.vendor_version = vendorVersion;
  mine.device_count = deviceCount;
  mine.device_props = deviceProps;
  mine.mem_info = memInfo;
  mine.mem_alloc = memAlloc;
  mine.mem_free = memFree;
  mine.stream_create = streamCreate;
  mine.stream_destroy = streamDestroy;
  mine.stream_synchronize = streamSynchronize;
  mine.stream_query = streamQuery;
  mine.memcpy_async = memcpyAsync;
  mine.memset_async = memsetAsync;
  mine.launch_host_func = launchHostFunc;
  mine.event_create = eventCreate;
  mine.event_destroy = eventDestroy;
  mine.event_record = eventRecord;
  mine.event_query = eventQuery;
  mine.event_synchronize = eventSynchronize;
  mine.event_elapsed = eventElapsed;
  mine.stream_wait_event = streamWaitEvent;
  mine.module_load = moduleLoad;
  mine.module_unload = moduleUnload;
  mine.kernel_get = kernelGet;
  mine.kernel_launch = kernelLaunch;
  mine.host_register = hostRegister;
  mine.host_unregister = hostUnregister;
  mine.memcpy_peer_async = memcpyPeerAsync;
  mine.stream_native = streamNative;
  mine.device_make_current = deviceMakeCurrent;
  return xpbExportTable(table, &mine);
}
