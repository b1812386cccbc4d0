// Plugins that are wrong on purpose, one per FIXTURE_* define, so the loader's
// refusals are tested: each must leave the runtime working and give a reason.
// FIXTURE_DEVICES adds two do-nothing devices with host memory, native-handle
// entries and host_copy, so the runtime's side of those entries (and of their
// absence) is tested.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

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

#ifdef FIXTURE_DEVICES
// Two devices whose streams do nothing: enough for the runtime to create,
// synchronize and destroy streams, and to reach the native-handle entries.
struct FixtureStream {
  int device;
};
FixtureStream g_streams[2] = {{0}, {1}};

int twoDevices(xpbContext *) {
  return 2;
}
xpStatus deviceProps(xpbContext *, int device, xpDeviceProps *props) {
  snprintf(props->name, sizeof props->name, "fixture device %d", device);
  snprintf(props->vendor, sizeof props->vendor, "fixture");
  snprintf(props->stable_id, sizeof props->stable_id, "%s:%032d", FIXTURE_NAME, device);
  props->numa_node = -1;
  props->max_threads_per_block = 1;
  props->memory_total = uint64_t{1} << 30;
  props->host_addressable = 1;
  return XP_SUCCESS;
}
xpStatus streamCreate(xpbContext *, int device, xpbStream **stream) {
  *stream = reinterpret_cast<xpbStream *>(&g_streams[device]);
  return XP_SUCCESS;
}
xpStatus streamDone(xpbStream *) {
  return XP_SUCCESS;
}
xpStatus streamSynchronize(xpbStream *, uint64_t) {
  return XP_SUCCESS;
}
// Device 0 has native handles, device 1 does not (and says why).
xpStatus streamNative(xpbStream *stream, void **native_stream, void **native_context,
                      int *ordinal) {
  const int device = reinterpret_cast<FixtureStream *>(stream)->device;
  if (device == 1) {
    return g_host->set_error(XP_ERROR_NOT_SUPPORTED, "fixture device 1 streams are emulated");
  }
  *native_stream = reinterpret_cast<void *>(uintptr_t{0x5100});
  *native_context = reinterpret_cast<void *>(uintptr_t{0xc0});
  *ordinal = 40 + device;
  return XP_SUCCESS;
}
xpStatus deviceMakeCurrent(xpbContext *, int device) {
  if (device == 1) return xpbFail(g_host, XP_ERROR_BACKEND, "fixture device %d has no context", 1);
  return XP_SUCCESS;
}
// Host-addressable memory (plain malloc), for the runtime's synchronous
// copies on the calling thread: device 0's host_copy copies, device 1's fails.
xpStatus memAlloc(xpbContext *, int, size_t bytes, xpbAllocation *out) {
  out->buffer = std::malloc(bytes);
  out->address = out->buffer;
  return out->buffer != nullptr ? XP_SUCCESS : XP_ERROR_OUT_OF_MEMORY;
}
xpStatus memFree(xpbContext *, int, void *buffer) {
  std::free(buffer);
  return XP_SUCCESS;
}
xpStatus hostCopy(xpbContext *, int device, void *dst, const void *src, size_t bytes) {
  if (device == 1) {
    return xpbFail(g_host, XP_ERROR_BACKEND, "fixture device 1 cannot copy %zu bytes", bytes);
  }
  std::memmove(dst, src, bytes);
  return XP_SUCCESS;
}
#endif

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
  mine.abi_minor = 0;
#endif
#ifdef FIXTURE_MISSING_ENTRY
  mine.event_elapsed = nullptr;
#endif
#ifdef FIXTURE_OLDER_TABLE
  // A plugin built before the optional entries existed: its table ends
  // where they begin. It must load.
  mine.struct_size = offsetof(xpbBackend, host_register);
#endif
#ifdef FIXTURE_DEVICES
  mine.device_count = twoDevices;
  mine.device_props = deviceProps;
  mine.stream_create = streamCreate;
  mine.stream_destroy = streamDone;
  mine.stream_synchronize = streamSynchronize;
  mine.stream_query = streamDone;
  mine.stream_native = streamNative;
  mine.device_make_current = deviceMakeCurrent;
  mine.mem_alloc = memAlloc;
  mine.mem_free = memFree;
  mine.host_copy = hostCopy;
#endif
#ifdef FIXTURE_ABI_1_0
  // A plugin built against ABI 1.0: its table ends after memcpy_peer_async.
  mine.abi_minor = 0;
  mine.struct_size = offsetof(xpbBackend, stream_native);
#endif
#ifdef FIXTURE_SLOPPY_TAIL
  // Writes the whole table but claims the 1.0 size: the runtime must not use
  // what lies past the size the plugin claims.
  xpStatus status = xpbExportTable(table, &mine);
  table->struct_size = offsetof(xpbBackend, stream_native);
  return status;
#else
  return xpbExportTable(table, &mine);
#endif
}
