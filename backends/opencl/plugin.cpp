// The plugin's one exported symbol: the xpool backend table for OpenCL.
#include "objects.h"

namespace {

using namespace xpool::opencl;

const xpbBackend kTable = [] {
  xpbBackend t{};
  t.struct_size = sizeof(xpbBackend);
  t.abi_major = XPB_ABI_MAJOR;
  t.abi_minor = XPB_ABI_MINOR;
  t.name = "opencl";
  t.init = init;
  t.shutdown = shutdown;
  t.vendor_version = vendorVersion;
  t.device_count = deviceCount;
  t.device_props = deviceProps;
  t.mem_info = memInfo;
  t.mem_alloc = memAlloc;
  t.mem_free = memFree;
  t.stream_create = streamCreate;
  t.stream_destroy = streamDestroy;
  t.stream_synchronize = streamSynchronize;
  t.stream_query = streamQuery;
  t.memcpy_async = memcpyAsync;
  t.memset_async = memsetAsync;
  t.launch_host_func = launchHostFunc;
  t.event_create = eventCreate;
  t.event_destroy = eventDestroy;
  t.event_record = eventRecord;
  t.event_query = eventQuery;
  t.event_synchronize = eventSynchronize;
  t.event_elapsed = eventElapsed;
  t.stream_wait_event = streamWaitEvent;
  t.module_load = moduleLoad;
  t.module_unload = moduleUnload;
  t.kernel_get = kernelGet;
  t.kernel_launch = kernelLaunch;
  t.host_register = nullptr;  // OpenCL has no way to pin existing host memory
  t.host_unregister = nullptr;
  t.memcpy_peer_async = memcpyPeerAsync;
  t.stream_native = streamNative;
  t.device_make_current = nullptr;  // OpenCL has no per-thread current device
  return t;
}();

}  // namespace

extern "C" XPB_EXPORT xpStatus xpoolBackendGetTable(xpbBackend *table) {
  if (table == nullptr) return XP_ERROR_INVALID_VALUE;
  return xpbExportTable(table, &kTable);
}
