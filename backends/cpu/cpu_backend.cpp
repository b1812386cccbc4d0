// The cpu backend's entry point and lifecycle.
#include "cpu_backend.h"

using namespace xpool::cpu;

namespace {

xpStatus init(const xpbHostApi *host, xpbContext **out) {
  auto ctx = std::make_unique<xpbContext>();
  ctx->host = host;
  if (xpStatus status = discoverDevices(ctx.get()); status != XP_SUCCESS) return status;
  *out = ctx.release();
  return XP_SUCCESS;
}

void shutdown(xpbContext *ctx) {
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
  mine.name = "cpu";
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
  mine.host_copy = hostCopy;
  // Device memory is host memory: no registration, no peer copies needed.
  return xpbExportTable(table, &mine);
}
