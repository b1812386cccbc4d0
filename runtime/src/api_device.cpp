// Devices, their properties and topology.
#include <cstring>

#include "errors.h"
#include "registry.h"

using xpool::Device;
using xpool::fail;
using xpool::Runtime;

extern "C" {

xpStatus xpDeviceCount(int *count) {
  Runtime *runtime = Runtime::acquire("xpDeviceCount");
  if (runtime == nullptr) return XP_ERROR_NOT_INITIALIZED;
  if (count == nullptr) return fail(XP_ERROR_INVALID_VALUE, "xpDeviceCount: count is NULL");
  *count = static_cast<int>(runtime->devices.size());
  return XP_SUCCESS;
}

xpStatus xpDeviceGetProperties(int ordinal, xpDeviceProps *props) {
  Runtime *runtime = Runtime::acquire("xpDeviceGetProperties");
  if (runtime == nullptr) return XP_ERROR_NOT_INITIALIZED;
  if (props == nullptr) return fail(XP_ERROR_INVALID_VALUE, "xpDeviceGetProperties: props is NULL");
  if (props->struct_size < sizeof(xpDeviceProps)) {
    return fail(XP_ERROR_INVALID_VALUE,
                "xpDeviceGetProperties: props->struct_size is {}, expected at least {}",
                props->struct_size, sizeof(xpDeviceProps));
  }
  Device *device = nullptr;
  XP_RETURN_IF_ERROR(runtime->device("xpDeviceGetProperties", ordinal, &device));
  xpDeviceProps out = device->props;
  uint64_t free_bytes = 0, total_bytes = 0;
  if (device->api().mem_info(device->backend->context, device->local, &free_bytes, &total_bytes) ==
      XP_SUCCESS) {
    out.memory_free = free_bytes;
    out.memory_total = total_bytes;
  }
  out.memory_allocated = device->allocated.load(std::memory_order_relaxed);
  *props = out;
  xpClearLastError();
  return XP_SUCCESS;
}

xpStatus xpDeviceMakeCurrent(int ordinal) {
  Runtime *runtime = Runtime::acquire("xpDeviceMakeCurrent");
  if (runtime == nullptr) return XP_ERROR_NOT_INITIALIZED;
  Device *device = nullptr;
  XP_RETURN_IF_ERROR(runtime->device("xpDeviceMakeCurrent", ordinal, &device));
  const xpbBackend &api = device->api();
  if (api.device_make_current == nullptr) return XP_SUCCESS;  // no per-thread current device
  xpStatus status = api.device_make_current(device->backend->context, device->local);
  if (status != XP_SUCCESS) {
    return fail(status, "xpDeviceMakeCurrent: device {} ({}): {}", ordinal, device->backend->name,
                xpool::lastError());
  }
  return XP_SUCCESS;
}

xpStatus xpDeviceFindByStableId(const char *stable_id, int *ordinal) {
  Runtime *runtime = Runtime::acquire("xpDeviceFindByStableId");
  if (runtime == nullptr) return XP_ERROR_NOT_INITIALIZED;
  if (stable_id == nullptr || ordinal == nullptr) {
    return fail(XP_ERROR_INVALID_VALUE, "xpDeviceFindByStableId: stable_id or device is NULL");
  }
  for (const auto &device : runtime->devices) {
    if (std::strcmp(device->props.stable_id, stable_id) == 0) {
      *ordinal = device->ordinal;
      return XP_SUCCESS;
    }
  }
  return fail(XP_ERROR_NOT_FOUND, "xpDeviceFindByStableId: no device has the stable id '{}'",
              stable_id);
}

const char *xpAffinityName(xpAffinity affinity) {
  switch (affinity) {
    case XP_AFFINITY_SAME_DEVICE:
      return "same-device";
    case XP_AFFINITY_SAME_PCI_SWITCH:
      return "same-pci-switch";
    case XP_AFFINITY_SAME_NUMA_NODE:
      return "same-numa-node";
    case XP_AFFINITY_SAME_HOST:
      return "same-host";
  }
  return "unknown";
}

xpStatus xpDeviceGetAffinity(int device_a, int device_b, xpAffinity *affinity) {
  Runtime *runtime = Runtime::acquire("xpDeviceGetAffinity");
  if (runtime == nullptr) return XP_ERROR_NOT_INITIALIZED;
  if (affinity == nullptr)
    return fail(XP_ERROR_INVALID_VALUE, "xpDeviceGetAffinity: affinity is NULL");
  Device *a = nullptr, *b = nullptr;
  XP_RETURN_IF_ERROR(runtime->device("xpDeviceGetAffinity", device_a, &a));
  XP_RETURN_IF_ERROR(runtime->device("xpDeviceGetAffinity", device_b, &b));
  *affinity = runtime->topology.between(a->props, b->props);
  return XP_SUCCESS;
}

xpStatus xpDeviceGetHostAffinity(int ordinal, int numa_node, xpAffinity *affinity) {
  Runtime *runtime = Runtime::acquire("xpDeviceGetHostAffinity");
  if (runtime == nullptr) return XP_ERROR_NOT_INITIALIZED;
  if (affinity == nullptr) {
    return fail(XP_ERROR_INVALID_VALUE, "xpDeviceGetHostAffinity: affinity is NULL");
  }
  Device *device = nullptr;
  XP_RETURN_IF_ERROR(runtime->device("xpDeviceGetHostAffinity", ordinal, &device));
  const int nodes = runtime->topology.host().numa_nodes;
  if (numa_node < 0 || numa_node >= nodes) {
    return fail(XP_ERROR_INVALID_VALUE,
                "xpDeviceGetHostAffinity: NUMA node {} does not exist (the host has {})", numa_node,
                nodes);
  }
  *affinity = runtime->topology.toHost(device->props, numa_node);
  return XP_SUCCESS;
}

xpStatus xpHostGetTopology(xpHostTopology *topology) {
  Runtime *runtime = Runtime::acquire("xpHostGetTopology");
  if (runtime == nullptr) return XP_ERROR_NOT_INITIALIZED;
  if (topology == nullptr)
    return fail(XP_ERROR_INVALID_VALUE, "xpHostGetTopology: topology is NULL");
  *topology = runtime->topology.host();
  return XP_SUCCESS;
}

}  // extern "C"
