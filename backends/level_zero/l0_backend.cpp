// The level_zero backend's entry point, lifecycle and shared helpers.
#include "l0_backend.h"

#include <cstdarg>
#include <cstdio>
#include <cstdlib>

using namespace xpool::level_zero;

namespace xpool::level_zero {
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

Outcome zeOutcome(const char *call, ze_result_t result, const char *format, ...) {
  va_list args;
  va_start(args, format);
  std::string detail = vformat(format, args);
  va_end(args);
  return {statusForZeResult(result), describeZeFailure(call, result, detail)};
}

xpStatus report(xpbContext *ctx, const Outcome &outcome) {
  if (outcome.ok()) return XP_SUCCESS;
  return ctx->host->set_error(outcome.status, outcome.message.c_str());
}

xpStatus zeFail(xpbContext *ctx, const char *call, ze_result_t result, const char *format, ...) {
  va_list args;
  va_start(args, format);
  std::string detail = vformat(format, args);
  va_end(args);
  return ctx->host->set_error(statusForZeResult(result),
                              describeZeFailure(call, result, detail).c_str());
}

void logf(xpbContext *ctx, xpbLogLevel level, const char *format, ...) {
  if (ctx->host->log == nullptr) return;
  va_list args;
  va_start(args, format);
  std::string text = vformat(format, args);
  va_end(args);
  ctx->host->log(level, "level_zero", text.c_str());
}

uint64_t defaultTimeoutNs() {
  return xpbDefaultTimeoutNs();
}

// ---- event slots ----------------------------------------------------------

SlotPool::~SlotPool() {
  // Every slot is back (the runtime released streams and events first).
  for (ze_event_handle_t event : events_) (void)api_->zeEventDestroy(event);
  for (ze_event_pool_handle_t pool : pools_) (void)api_->zeEventPoolDestroy(pool);
  for (void *cells : cells_) (void)api_->zeMemFree(context_, cells);
}

Outcome SlotPool::grow() {
  void *cells = nullptr;
  if (timing_) {
    ze_host_mem_alloc_desc_t host_desc{};
    host_desc.stype = ZE_STRUCTURE_TYPE_HOST_MEM_ALLOC_DESC;
    ze_result_t result = api_->zeMemAllocHost(
        context_, &host_desc, kEventsPerPool * sizeof(uint64_t), alignof(uint64_t), &cells);
    if (result != ZE_RESULT_SUCCESS) {
      return zeOutcome("zeMemAllocHost", result, "allocating %zu bytes of timestamp cells",
                       kEventsPerPool * sizeof(uint64_t));
    }
    cells_.push_back(cells);
  }
  ze_event_pool_desc_t pool_desc{};
  pool_desc.stype = ZE_STRUCTURE_TYPE_EVENT_POOL_DESC;
  // Host-visible: the host waits on these, and signals the gates of host
  // functions. No device list: usable by every device of the context, so a
  // stream may wait on an event of another device of the same driver.
  pool_desc.flags = ZE_EVENT_POOL_FLAG_HOST_VISIBLE;
  pool_desc.count = kEventsPerPool;
  ze_event_pool_handle_t pool = nullptr;
  ze_result_t result = api_->zeEventPoolCreate(context_, &pool_desc, 0, nullptr, &pool);
  if (result != ZE_RESULT_SUCCESS) {
    return zeOutcome("zeEventPoolCreate", result, "creating a pool of %u host-visible events",
                     kEventsPerPool);
  }
  pools_.push_back(pool);
  for (uint32_t i = 0; i < kEventsPerPool; ++i) {
    ze_event_desc_t event_desc{};
    event_desc.stype = ZE_STRUCTURE_TYPE_EVENT_DESC;
    event_desc.index = i;
    // Flush to and invalidate from the host: what the device wrote before a
    // signal is visible to the host after it sees the signal.
    event_desc.signal = ZE_EVENT_SCOPE_FLAG_HOST;
    event_desc.wait = ZE_EVENT_SCOPE_FLAG_HOST;
    ze_event_handle_t event = nullptr;
    result = api_->zeEventCreate(pool, &event_desc, &event);
    if (result != ZE_RESULT_SUCCESS) {
      return zeOutcome("zeEventCreate", result, "creating event %u of a pool", i);
    }
    events_.push_back(event);
    Slot slot;
    slot.event = event;
    if (cells != nullptr) slot.timestamp = static_cast<uint64_t *>(cells) + i;
    free_.push_back(slot);
  }
  return {};
}

Outcome SlotPool::acquire(SlotRef *out) {
  Slot slot;
  {
    std::lock_guard lock(mutex_);
    if (free_.empty()) {
      if (Outcome grown = grow(); !grown.ok() && free_.empty()) return grown;
    }
    slot = free_.back();
    free_.pop_back();
  }
  if (slot.timestamp != nullptr) *slot.timestamp = 0;
  *out = SlotRef(new Slot(slot), [this](Slot *s) { giveBack(s); });
  return {};
}

void SlotPool::giveBack(Slot *slot) {
  const Slot copy = *slot;
  delete slot;
  // Only slots no command can still signal or wait on come back here.
  if (api_->zeEventHostReset(copy.event) != ZE_RESULT_SUCCESS) return;  // retire it
  std::lock_guard lock(mutex_);
  free_.push_back(copy);
}

}  // namespace xpool::level_zero

namespace {

xpStatus init(const xpbHostApi *host, xpbContext **out) {
  std::string why;
  const ZeApi *api = loadZeApi(&why);
  if (api == nullptr) return xpbFail(host, XP_ERROR_NO_DEVICE, "%s", why.c_str());
  auto ctx = std::make_unique<xpbContext>();
  ctx->host = host;
  ctx->api = api;
  if (xpStatus status = discoverDevices(ctx.get()); status != XP_SUCCESS) {
    releaseDrivers(ctx.get());
    return status;
  }
  *out = ctx.release();
  return XP_SUCCESS;
}

void shutdown(xpbContext *ctx) {
  // The runtime has released every stream, event, module and allocation.
  releaseDrivers(ctx);
  delete ctx;
}

const char *vendorVersion(xpbContext *ctx) {
  return ctx->version.c_str();
}

int deviceCount(xpbContext *ctx) {
  return static_cast<int>(ctx->devices.size());
}

}  // namespace

extern "C" XPB_EXPORT xpStatus xpoolBackendGetTable(xpbBackend *table) {
  xpbBackend mine{};
  mine.struct_size = sizeof mine;
  mine.abi_major = XPB_ABI_MAJOR;
  mine.abi_minor = XPB_ABI_MINOR;
  mine.name = "level_zero";
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
  return xpbExportTable(table, &mine);
}
