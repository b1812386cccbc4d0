// Plugins that are wrong on purpose, one per FIXTURE_* define, so the loader's
// refusals are tested: each must leave the runtime working and give a reason.
#include <cstddef>

#include "xpool/backend.h"

namespace {

const xpbHostApi *g_host = nullptr;

xpStatus init(const xpbHostApi *host, xpbContext **ctx) {
  g_host = host;
#ifdef FIXTURE_FAIL_INIT
  (void)ctx;
  return xpbFail(host, XP_ERROR_NO_DEVICE, "libfixture-vendor.so.1 not found (fixture)");
#else
  static int dummy = 0;
  *ctx = reinterpret_cast<xpbContext *>(&dummy);
  return XP_SUCCESS;
#endif
}
void shutdown(xpbContext *) {}
const char *vendorVersion(xpbContext *) {
  return "fixture 1.0";
}
int deviceCount(xpbContext *) {
  return 0;
}
xpStatus unused() {
  return g_host->set_error(XP_ERROR_NOT_SUPPORTED, "fixture has no devices");
}

template <typename Fn>
Fn refuse() {
  // Every device-level entry of a zero-device backend is unreachable; they
  // still must be present, so point them at one refusing function.
  return reinterpret_cast<Fn>(reinterpret_cast<void (*)()>(&unused));
}

}  // namespace

extern "C" XPB_EXPORT xpStatus xpoolBackendGetTable(xpbBackend *table) {
  xpbBackend mine{};
  mine.struct_size = sizeof mine;
  mine.abi_major = XPB_ABI_MAJOR;
  mine.abi_minor = XPB_ABI_MINOR;
  mine.name = FIXTURE_NAME;
  mine.init = init;
  mine.shutdown = shutdown;
  mine.vendor_version = vendorVersion;
  mine.device_count = deviceCount;
  mine.device_props = refuse<decltype(mine.device_props)>();
  mine.mem_info = refuse<decltype(mine.mem_info)>();
  mine.mem_alloc = refuse<decltype(mine.mem_alloc)>();
  mine.mem_free = refuse<decltype(mine.mem_free)>();
  mine.stream_create = refuse<decltype(mine.stream_create)>();
  mine.stream_destroy = refuse<decltype(mine.stream_destroy)>();
  mine.stream_synchronize = refuse<decltype(mine.stream_synchronize)>();
  mine.stream_query = refuse<decltype(mine.stream_query)>();
  mine.memcpy_async = refuse<decltype(mine.memcpy_async)>();
  mine.memset_async = refuse<decltype(mine.memset_async)>();
  mine.launch_host_func = refuse<decltype(mine.launch_host_func)>();
  mine.event_create = refuse<decltype(mine.event_create)>();
  mine.event_destroy = refuse<decltype(mine.event_destroy)>();
  mine.event_record = refuse<decltype(mine.event_record)>();
  mine.event_query = refuse<decltype(mine.event_query)>();
  mine.event_synchronize = refuse<decltype(mine.event_synchronize)>();
  mine.event_elapsed = refuse<decltype(mine.event_elapsed)>();
  mine.stream_wait_event = refuse<decltype(mine.stream_wait_event)>();
  mine.module_load = refuse<decltype(mine.module_load)>();
  mine.module_unload = refuse<decltype(mine.module_unload)>();
  mine.kernel_get = refuse<decltype(mine.kernel_get)>();
  mine.kernel_launch = refuse<decltype(mine.kernel_launch)>();
#ifdef FIXTURE_NEWER_ABI
  mine.abi_major = XPB_ABI_MAJOR + 1;
#endif
#ifdef FIXTURE_MISSING_ENTRY
  mine.event_elapsed = nullptr;
#endif
#ifdef FIXTURE_OLDER_TABLE
  // A plugin built before the optional entries existed: its table ends
  // where they begin. It must load.
  mine.struct_size = offsetof(xpbBackend, host_register);
#endif
  return xpbExportTable(table, &mine);
}
