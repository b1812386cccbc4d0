// Discovers the host's NUMA nodes and cores with hwloc and turns them into
// devices: one per NUMA node, or XPOOL_CPU_DEVICES=N equal slices of the
// host (for testing multi-device code on one machine).
#include <hwloc.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include "cpu_backend.h"

namespace xpool::cpu {
namespace {

// 64-bit FNV-1a; two seeds make the 16 bytes of a stable UUID.
uint64_t fnv1a(const std::string &text, uint64_t seed) {
  uint64_t hash = seed;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash;
}

void makeUuid(const std::string &identity, uint8_t out[16]) {
  const uint64_t high = fnv1a(identity, 14695981039346656037ull);
  const uint64_t low = fnv1a(identity, 0x9e3779b97f4a7c15ull);
  for (int i = 0; i < 8; ++i) {
    out[i] = static_cast<uint8_t>(high >> (56 - 8 * i));
    out[8 + i] = static_cast<uint8_t>(low >> (56 - 8 * i));
  }
}

std::string infoOf(hwloc_topology_t topology, const char *key) {
  hwloc_obj_t package = hwloc_get_obj_by_type(topology, HWLOC_OBJ_PACKAGE, 0);
  const char *value = package != nullptr ? hwloc_obj_get_info_by_name(package, key) : nullptr;
  return value != nullptr ? value : "";
}

struct Node {
  int cores;
  uint64_t memory;
};

}  // namespace

uint64_t availableMemory(int parts) {
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  uint64_t kib = 0;
  std::string unit;
  while (meminfo >> key >> kib >> unit) {
    if (key == "MemAvailable:") return kib * 1024 / static_cast<uint64_t>(parts);
  }
  return static_cast<uint64_t>(sysconf(_SC_AVPHYS_PAGES)) * sysconf(_SC_PAGESIZE) /
         static_cast<uint64_t>(parts);
}

xpStatus discoverDevices(xpbContext *ctx) {
  hwloc_topology_t topology = nullptr;
  if (hwloc_topology_init(&topology) != 0 || hwloc_topology_load(topology) != 0) {
    if (topology != nullptr) hwloc_topology_destroy(topology);
    return xpbFail(ctx->host, XP_ERROR_NO_DEVICE, "hwloc could not read the host topology");
  }
  std::string model = infoOf(topology, "CPUModel");
  std::string vendor = infoOf(topology, "CPUVendor");
  char hostname[256] = {};
  gethostname(hostname, sizeof hostname - 1);

  std::vector<Node> nodes;
  const int numa_count = hwloc_get_nbobjs_by_type(topology, HWLOC_OBJ_NUMANODE);
  for (int i = 0; i < numa_count; ++i) {
    hwloc_obj_t node =
        hwloc_get_obj_by_type(topology, HWLOC_OBJ_NUMANODE, static_cast<unsigned>(i));
    int cores = hwloc_get_nbobjs_inside_cpuset_by_type(topology, node->cpuset, HWLOC_OBJ_CORE);
    nodes.push_back({cores > 0 ? cores : 1, node->attr->numanode.local_memory});
  }
  if (nodes.empty()) {
    int cores = hwloc_get_nbobjs_by_type(topology, HWLOC_OBJ_CORE);
    nodes.push_back({cores > 0 ? cores : 1, hwloc_get_root_obj(topology)->total_memory});
  }
  hwloc_topology_destroy(topology);

  int total_cores = 0;
  uint64_t total_memory = 0;
  for (const Node &node : nodes) {
    total_cores += node.cores;
    total_memory += node.memory;
  }
  if (total_memory == 0) {
    total_memory = static_cast<uint64_t>(sysconf(_SC_PHYS_PAGES)) * sysconf(_SC_PAGESIZE);
  }

  int requested = 0;
  if (const char *value = std::getenv("XPOOL_CPU_DEVICES"); value != nullptr && *value != '\0') {
    char *end = nullptr;
    long parsed = std::strtol(value, &end, 10);
    if (end == value || *end != '\0' || parsed < 1 || parsed > 1024) {
      return xpbFail(ctx->host, XP_ERROR_INVALID_VALUE,
                     "XPOOL_CPU_DEVICES=%s is not a device count between 1 and 1024", value);
    }
    requested = static_cast<int>(parsed);
  }

  auto add = [&](int numa_node, int cores, uint64_t memory, int parts,
                 const std::string &identity) {
    auto device = std::make_unique<CpuDevice>();
    device->index = static_cast<int>(ctx->devices.size());
    device->name = model.empty() ? "host CPU" : model;
    device->vendor = vendor.empty() ? "unknown" : vendor;
    device->cores = cores > 0 ? cores : 1;
    device->numa_node = numa_node;
    device->parts = parts;
    device->memory_total = memory;
    makeUuid(std::string(hostname) + "|cpu|" + identity, device->uuid);
    // The stream thread that calls parallelFor works too: cores - 1 helpers.
    device->pool = std::make_unique<WorkerPool>(device->cores - 1);
    ctx->devices.push_back(std::move(device));
  };

  if (requested == 0) {
    for (size_t i = 0; i < nodes.size(); ++i) {
      add(static_cast<int>(i), nodes[i].cores, nodes[i].memory, 1, "numa" + std::to_string(i));
    }
  } else {
    // Equal slices of the whole host; a slice sits on the NUMA node its
    // first core belongs to.
    for (int part = 0; part < requested; ++part) {
      const int cores = total_cores / requested + (part < total_cores % requested ? 1 : 0);
      int first_core = part * total_cores / requested;
      int numa_node = 0;
      for (size_t i = 0; i < nodes.size(); ++i) {
        if (first_core < nodes[i].cores) {
          numa_node = static_cast<int>(i);
          break;
        }
        first_core -= nodes[i].cores;
      }
      add(numa_node, cores, total_memory / static_cast<uint64_t>(requested), requested,
          "slice" + std::to_string(part) + "of" + std::to_string(requested));
    }
  }
  ctx->version = "hwloc " + std::string(HWLOC_VERSION) + ", " + std::to_string(total_cores) +
                 " cores, " + std::to_string(nodes.size()) + " NUMA node(s)";
  return XP_SUCCESS;
}

xpStatus deviceProps(xpbContext *ctx, int index, xpDeviceProps *props) {
  if (index < 0 || index >= static_cast<int>(ctx->devices.size())) {
    return xpbFail(ctx->host, XP_ERROR_INVALID_VALUE, "cpu device %d does not exist", index);
  }
  const CpuDevice &device = *ctx->devices[static_cast<size_t>(index)];
  snprintf(props->vendor, sizeof props->vendor, "%s", device.vendor.c_str());
  snprintf(props->name, sizeof props->name, "%s", device.name.c_str());
  std::memcpy(props->uuid, device.uuid, sizeof device.uuid);
  char hex[33] = {};
  for (int i = 0; i < 16; ++i) snprintf(hex + 2 * i, 3, "%02x", device.uuid[i]);
  snprintf(props->stable_id, sizeof props->stable_id, "cpu:%s", hex);
  props->memory_total = device.memory_total;
  props->memory_free = availableMemory(device.parts);
  props->compute_units = device.cores;
  // A cpu kernel loops over its block's threads itself: the limits are only
  // there to keep launches portable to GPUs.
  props->max_threads_per_block = 1024;
  props->shared_mem_per_block = 1u << 20;
  props->pci_bus_id[0] = '\0';
  props->numa_node = device.numa_node;
  props->host_addressable = 1;
  props->kernel_pointer_alignment = 1;
  return XP_SUCCESS;
}

xpStatus memInfo(xpbContext *ctx, int index, uint64_t *free_bytes, uint64_t *total_bytes) {
  if (index < 0 || index >= static_cast<int>(ctx->devices.size())) {
    return xpbFail(ctx->host, XP_ERROR_INVALID_VALUE, "cpu device %d does not exist", index);
  }
  const CpuDevice &device = *ctx->devices[static_cast<size_t>(index)];
  *total_bytes = device.memory_total;
  *free_bytes = std::min(device.memory_total, availableMemory(device.parts));
  return XP_SUCCESS;
}

}  // namespace xpool::cpu
