// xpInit, xpShutdown and the backend list.
#include <cstdio>

#include "errors.h"
#include "registry.h"

using xpool::fail;
using xpool::Runtime;

extern "C" {

xpStatus xpInit(void) {
  return Runtime::init();
}

xpStatus xpShutdown(void) {
  return Runtime::shutdown();
}

xpStatus xpBackendCount(int *count) {
  Runtime *runtime = Runtime::acquire("xpBackendCount");
  if (runtime == nullptr) return XP_ERROR_NOT_INITIALIZED;
  if (count == nullptr) return fail(XP_ERROR_INVALID_VALUE, "xpBackendCount: count is NULL");
  *count = static_cast<int>(runtime->backends.size());
  return XP_SUCCESS;
}

xpStatus xpBackendGetInfo(int index, xpBackendInfo *info) {
  Runtime *runtime = Runtime::acquire("xpBackendGetInfo");
  if (runtime == nullptr) return XP_ERROR_NOT_INITIALIZED;
  if (info == nullptr) return fail(XP_ERROR_INVALID_VALUE, "xpBackendGetInfo: info is NULL");
  if (info->struct_size < sizeof(xpBackendInfo)) {
    return fail(XP_ERROR_INVALID_VALUE,
                "xpBackendGetInfo: info->struct_size is {}, expected at least {}",
                info->struct_size, sizeof(xpBackendInfo));
  }
  if (index < 0 || index >= static_cast<int>(runtime->backends.size())) {
    return fail(XP_ERROR_INVALID_VALUE,
                "xpBackendGetInfo: backend {} does not exist (there are {})", index,
                runtime->backends.size());
  }
  const xpool::Backend &backend = *runtime->backends[static_cast<size_t>(index)];
  xpBackendInfo out{};
  out.struct_size = sizeof out;
  snprintf(out.name, sizeof out.name, "%s", backend.name.c_str());
  out.available = backend.available ? 1 : 0;
  out.device_count = 0;
  for (const auto &device : runtime->devices) {
    if (device->backend == &backend) ++out.device_count;
  }
  out.first_device = backend.first_device;
  snprintf(out.reason, sizeof out.reason, "%s", backend.reason.c_str());
  snprintf(out.plugin_path, sizeof out.plugin_path, "%s", backend.plugin_path.c_str());
  snprintf(out.vendor_version, sizeof out.vendor_version, "%s", backend.vendor_version.c_str());
  out.abi_major = backend.table.abi_major;
  out.abi_minor = backend.table.abi_minor;
  *info = out;
  return XP_SUCCESS;
}

}  // extern "C"
