// Host topology from hwloc: sockets, NUMA nodes, cores, and where PCI
// devices attach, so that the runtime can say how close two devices are.
#pragma once

#include <string>

#include "xpool/runtime.h"

struct hwloc_topology;

namespace xpool {

class Topology {
 public:
  Topology() = default;
  Topology(const Topology &) = delete;
  Topology &operator=(const Topology &) = delete;
  ~Topology();

  // Best effort: without hwloc data, answers degrade to "same host".
  void load();
  xpHostTopology host() const;
  // Logical index of the NUMA node a PCI device ("0000:41:00.0") hangs off; -1 unknown.
  int numaNodeOfPciDevice(const std::string &bus_id) const;
  xpAffinity between(const xpDeviceProps &a, const xpDeviceProps &b) const;
  xpAffinity toHost(const xpDeviceProps &device, int numa_node) const;

 private:
  hwloc_topology *topology_ = nullptr;
};

}  // namespace xpool
