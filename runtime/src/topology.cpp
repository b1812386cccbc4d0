#include "topology.h"

#include <hwloc.h>
#include <unistd.h>

#include <cstring>

#include "logging.h"

namespace xpool {

Topology::~Topology() {
  if (topology_ != nullptr) hwloc_topology_destroy(topology_);
}

void Topology::load() {
  if (topology_ != nullptr) return;
  hwloc_topology_t topology = nullptr;
  if (hwloc_topology_init(&topology) != 0) {
    logger("runtime")->warn("hwloc_topology_init failed; topology is unknown");
    return;
  }
  // PCI devices are needed for device locality; bridges for "same switch".
  hwloc_topology_set_io_types_filter(topology, HWLOC_TYPE_FILTER_KEEP_IMPORTANT);
  // hwloc's own GPU plugins would start the vendor runtimes inside xpInit
  // (PoCL, CUDA, ROCm); the backends enumerate their devices themselves.
  for (const char *component : {"opencl", "cuda", "nvml", "rsmi", "levelzero", "gl"}) {
    hwloc_topology_set_components(topology, HWLOC_TOPOLOGY_COMPONENTS_FLAG_BLACKLIST, component);
  }
  if (hwloc_topology_load(topology) != 0) {
    logger("runtime")->warn("hwloc_topology_load failed; topology is unknown");
    hwloc_topology_destroy(topology);
    return;
  }
  topology_ = topology;
}

xpHostTopology Topology::host() const {
  xpHostTopology out{};
  out.struct_size = sizeof out;
  gethostname(out.hostname, sizeof out.hostname - 1);
  if (topology_ == nullptr) {
    out.sockets = out.numa_nodes = 1;
    out.cores = out.pus = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
    out.memory_total = static_cast<uint64_t>(sysconf(_SC_PHYS_PAGES)) * sysconf(_SC_PAGESIZE);
    return out;
  }
  auto count = [&](hwloc_obj_type_t type) {
    int n = hwloc_get_nbobjs_by_type(topology_, type);
    return n > 0 ? n : 1;
  };
  out.sockets = count(HWLOC_OBJ_PACKAGE);
  out.numa_nodes = count(HWLOC_OBJ_NUMANODE);
  out.cores = count(HWLOC_OBJ_CORE);
  out.pus = count(HWLOC_OBJ_PU);
  out.memory_total = hwloc_get_root_obj(topology_)->total_memory;
  return out;
}

namespace {

hwloc_obj_t pciDevice(hwloc_topology_t topology, const char *bus_id) {
  if (topology == nullptr || bus_id[0] == '\0') return nullptr;
  return hwloc_get_pcidev_by_busidstring(topology, bus_id);
}

int numaNodeOf(hwloc_topology_t topology, hwloc_obj_t object) {
  hwloc_obj_t ancestor = hwloc_get_non_io_ancestor_obj(topology, object);
  if (ancestor == nullptr || ancestor->nodeset == nullptr) return -1;
  int os_index = hwloc_bitmap_first(ancestor->nodeset);
  if (os_index < 0) return -1;
  hwloc_obj_t node = hwloc_get_numanode_obj_by_os_index(topology, static_cast<unsigned>(os_index));
  return node != nullptr ? static_cast<int>(node->logical_index) : -1;
}

}  // namespace

int Topology::numaNodeOfPciDevice(const std::string &bus_id) const {
  hwloc_obj_t object = pciDevice(topology_, bus_id.c_str());
  return object != nullptr ? numaNodeOf(topology_, object) : -1;
}

xpAffinity Topology::between(const xpDeviceProps &a, const xpDeviceProps &b) const {
  if (a.device == b.device) return XP_AFFINITY_SAME_DEVICE;
  hwloc_obj_t pci_a = pciDevice(topology_, a.pci_bus_id);
  hwloc_obj_t pci_b = pciDevice(topology_, b.pci_bus_id);
  if (pci_a != nullptr && pci_b != nullptr) {
    if (pci_a == pci_b) return XP_AFFINITY_SAME_DEVICE;  // two views of one chip
    hwloc_obj_t common = hwloc_get_common_ancestor_obj(topology_, pci_a, pci_b);
    if (common != nullptr && common->type == HWLOC_OBJ_BRIDGE &&
        common->attr->bridge.upstream_type == HWLOC_OBJ_BRIDGE_PCI) {
      return XP_AFFINITY_SAME_PCI_SWITCH;
    }
  }
  if (a.numa_node >= 0 && a.numa_node == b.numa_node) return XP_AFFINITY_SAME_NUMA_NODE;
  return XP_AFFINITY_SAME_HOST;
}

xpAffinity Topology::toHost(const xpDeviceProps &device, int numa_node) const {
  if (device.numa_node >= 0 && device.numa_node == numa_node) return XP_AFFINITY_SAME_NUMA_NODE;
  return XP_AFFINITY_SAME_HOST;
}

}  // namespace xpool
