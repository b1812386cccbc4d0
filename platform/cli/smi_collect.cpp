#include "smi_collect.h"

#include <cstring>
#include <utility>

namespace xpool::cli {
namespace {

// A fixed-size C string field, tolerating a missing terminator.
template <size_t N>
std::string FromField(const char (&field)[N]) {
  return std::string(field, strnlen(field, N));
}

void Record(Snapshot &snapshot, std::string call, xpStatus status) {
  const char *message = xpGetLastError();
  snapshot.errors.push_back(
      CallError{std::move(call), xpStatusName(status), message != nullptr ? message : ""});
}

// After a failed xpInit every call answers XP_ERROR_NOT_INITIALIZED; those
// repeat the init failure and are not worth reporting again.
bool Worth(const Snapshot &snapshot, xpStatus status) {
  return snapshot.initialized || status != XP_ERROR_NOT_INITIALIZED;
}

void CollectHost(Snapshot &snapshot) {
  xpHostTopology topology{};
  topology.struct_size = sizeof(topology);
  const xpStatus status = xpHostGetTopology(&topology);
  if (status != XP_SUCCESS) {
    if (Worth(snapshot, status)) Record(snapshot, "xpHostGetTopology", status);
    return;
  }
  HostInfo &host = snapshot.host;
  host.valid = true;
  host.hostname = FromField(topology.hostname);
  host.sockets = topology.sockets;
  host.numa_nodes = topology.numa_nodes;
  host.cores = topology.cores;
  host.pus = topology.pus;
  host.memory_total = topology.memory_total;
}

void CollectBackends(Snapshot &snapshot) {
  int count = 0;
  xpStatus status = xpBackendCount(&count);
  if (status != XP_SUCCESS) {
    if (Worth(snapshot, status)) Record(snapshot, "xpBackendCount", status);
    return;
  }
  for (int i = 0; i < count; ++i) {
    xpBackendInfo info{};
    info.struct_size = sizeof(info);
    status = xpBackendGetInfo(i, &info);
    if (status != XP_SUCCESS) {
      Record(snapshot, "xpBackendGetInfo(" + std::to_string(i) + ")", status);
      continue;
    }
    BackendInfo backend;
    backend.index = i;
    backend.name = FromField(info.name);
    backend.available = info.available != 0;
    backend.device_count = info.device_count;
    backend.first_device = info.first_device;
    backend.reason = FromField(info.reason);
    backend.plugin_path = FromField(info.plugin_path);
    backend.vendor_version = FromField(info.vendor_version);
    backend.abi_major = info.abi_major;
    backend.abi_minor = info.abi_minor;
    snapshot.backends.push_back(std::move(backend));
  }
}

void CollectDevices(Snapshot &snapshot) {
  int count = 0;
  xpStatus status = xpDeviceCount(&count);
  if (status != XP_SUCCESS) {
    if (Worth(snapshot, status)) Record(snapshot, "xpDeviceCount", status);
    return;
  }
  for (int i = 0; i < count; ++i) {
    xpDeviceProps props{};
    props.struct_size = sizeof(props);
    status = xpDeviceGetProperties(i, &props);
    if (status != XP_SUCCESS) {
      Record(snapshot, "xpDeviceGetProperties(" + std::to_string(i) + ")", status);
      continue;
    }
    DeviceInfo device;
    device.device = props.device;
    device.backend_index = props.backend_index;
    device.backend_device = props.backend_device;
    device.backend = FromField(props.backend);
    device.vendor = FromField(props.vendor);
    device.name = FromField(props.name);
    std::memcpy(device.uuid.data(), props.uuid, device.uuid.size());
    device.stable_id = FromField(props.stable_id);
    device.memory_total = props.memory_total;
    device.memory_free = props.memory_free;
    device.memory_allocated = props.memory_allocated;
    device.compute_units = props.compute_units;
    device.max_threads_per_block = props.max_threads_per_block;
    device.shared_mem_per_block = props.shared_mem_per_block;
    device.pci_bus_id = FromField(props.pci_bus_id);
    device.numa_node = props.numa_node;
    device.host_addressable = props.host_addressable != 0;
    device.compute_major = props.compute_major;
    device.compute_minor = props.compute_minor;
    snapshot.devices.push_back(std::move(device));
  }
}

void CollectAffinity(Snapshot &snapshot) {
  const size_t n = snapshot.devices.size();
  snapshot.affinity.assign(n, std::vector<int>(n, kAffinityUnknown));
  for (size_t a = 0; a < n; ++a) {
    for (size_t b = 0; b < n; ++b) {
      const int da = snapshot.devices[a].device;
      const int db = snapshot.devices[b].device;
      xpAffinity affinity = XP_AFFINITY_SAME_HOST;
      const xpStatus status = xpDeviceGetAffinity(da, db, &affinity);
      if (status != XP_SUCCESS) {
        Record(snapshot,
               "xpDeviceGetAffinity(" + std::to_string(da) + ", " + std::to_string(db) + ")",
               status);
        continue;
      }
      snapshot.affinity[a][b] = static_cast<int>(affinity);
    }
  }
}

}  // namespace

std::string DeviceInfo::uuid_hex() const {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(uuid.size() * 2);
  for (const uint8_t byte : uuid) {
    hex.push_back(kDigits[byte >> 4]);
    hex.push_back(kDigits[byte & 0xf]);
  }
  return hex;
}

Snapshot Collect(const CollectOptions &options) {
  Snapshot snapshot;
  const xpStatus init = xpInit();
  snapshot.initialized = init == XP_SUCCESS;
  if (!snapshot.initialized) Record(snapshot, "xpInit", init);

  // Even without a runtime, show what the calls that still answer can give.
  CollectHost(snapshot);
  CollectBackends(snapshot);
  if (snapshot.initialized) {
    CollectDevices(snapshot);
    if (options.affinity) CollectAffinity(snapshot);
    const xpStatus shutdown = xpShutdown();
    if (shutdown != XP_SUCCESS) Record(snapshot, "xpShutdown", shutdown);
  }
  return snapshot;
}

const char *AffinityAbbrev(int affinity) {
  switch (affinity) {
    case XP_AFFINITY_SAME_DEVICE:
      return "X";
    case XP_AFFINITY_SAME_PCI_SWITCH:
      return "PIX";
    case XP_AFFINITY_SAME_NUMA_NODE:
      return "NODE";
    case XP_AFFINITY_SAME_HOST:
      return "SYS";
    default:
      return "?";
  }
}

const char *AffinityDescription(int affinity) {
  switch (affinity) {
    case XP_AFFINITY_SAME_DEVICE:
      return "same device";
    case XP_AFFINITY_SAME_PCI_SWITCH:
      return "same PCI switch: a PCI bridge below the host bridge links them";
    case XP_AFFINITY_SAME_NUMA_NODE:
      return "same NUMA node: traffic crosses the host bridge of one NUMA node";
    case XP_AFFINITY_SAME_HOST:
      return "same host only: traffic crosses NUMA nodes (and sockets)";
    default:
      return "unknown: the runtime could not tell";
  }
}

}  // namespace xpool::cli
