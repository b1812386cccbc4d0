// Live capacity of the cluster, indexed so that a placement never scans every node:
// per device model, nodes are kept in buckets by how many whole devices of that model they
// have free, and partly used shareable cards are kept sorted by free capacity.
#pragma once

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "xpool/scheduler/model.h"

namespace xpool::sched {

struct WorkerSlot {
  NodeId node = -1;
  std::vector<std::pair<DeviceId, int>> devices;  // device, milli-devices taken on it
};

struct Placement {
  ModelId model = -1;
  std::vector<WorkerSlot> workers;
  int64_t memory_cap_mb = 0;  // per fractional worker (device memory)
  int cpu_per_worker = 0;
  int64_t memory_mb_per_worker = 0;
  bool empty() const { return workers.empty(); }
  int node_count() const;
};

class ClusterState {
 public:
  struct Device {
    ModelId model;
    NodeId node;
    int share_count;
    int topology_group;
    int64_t memory_mb;
    int free_milli = kMilliPerDevice;
    int tenants = 0;
    int64_t memory_used_mb = 0;
    bool healthy = true;
  };
  struct ModelSlot {
    ModelId model;
    int free_whole = 0;  // healthy devices of the model with nothing on them
    int bucket_pos = -1;
  };
  struct Node {
    NodeSpec spec;
    int cpu_free = 0;
    int64_t memory_free_mb = 0;
    bool healthy = true;
    DeviceId first_device = 0;
    int device_count = 0;
    std::vector<ModelSlot> models;
  };

  explicit ClusterState(const Cluster &cluster);

  size_t model_count() const { return whole_buckets_.size(); }
  const std::vector<Node> &nodes() const { return nodes_; }
  const std::vector<Device> &devices() const { return devices_; }
  const Node &node(NodeId n) const { return nodes_[size_t(n)]; }
  const Device &device(DeviceId d) const { return devices_[size_t(d)]; }

  int free_whole(ModelId m) const { return free_whole_[size_t(m)]; }
  int64_t free_milli(ModelId m) const { return free_milli_[size_t(m)]; }
  int64_t capacity_milli(ModelId m) const { return capacity_milli_[size_t(m)]; }
  // The most fractional tenants any card of the model accepts (1: not shareable).
  int max_share_count(ModelId m) const { return max_share_[size_t(m)]; }
  int64_t total_capacity_milli() const;
  int64_t total_free_milli() const;
  int max_per_node(ModelId m) const { return int(whole_buckets_[size_t(m)].size()) - 1; }
  // Nodes whose count of free whole devices of model m is exactly k.
  const std::vector<NodeId> &bucket(ModelId m, int k) const {
    return whole_buckets_[size_t(m)][size_t(k)];
  }
  // Healthy shareable cards of model m that are partly used and still accept a tenant,
  // ordered by (free milli, device).
  const std::set<std::pair<int, DeviceId>> &partial_cards(ModelId m) const {
    return partial_[size_t(m)];
  }
  // Healthy shareable cards of model m with any room, in device order (for first-fit).
  const std::set<DeviceId> &shareable_with_room(ModelId m) const { return roomy_[size_t(m)]; }
  int max_node_cpu() const { return max_node_cpu_; }
  int64_t max_node_memory_mb() const { return max_node_memory_mb_; }
  int total_cpu() const { return total_cpu_; }
  int64_t total_memory_mb() const { return total_memory_mb_; }
  bool node_has_dataset(NodeId n, const std::string &dataset) const;

  // Takes milli on a device (and CPU/memory on its node are handled by take_host).
  void take_device(DeviceId d, int milli, int64_t memory_mb);
  void give_device(DeviceId d, int milli, int64_t memory_mb);
  void take_host(NodeId n, int cpu, int64_t memory_mb);
  void give_host(NodeId n, int cpu, int64_t memory_mb);
  void allocate(const Placement &p);
  void release(const Placement &p);

  // A failed node or device leaves every index; what was allocated on it must be released by
  // the caller (the scheduler knows which jobs ran there).
  void set_node_health(NodeId n, bool healthy);
  void set_device_health(DeviceId d, bool healthy);

  // Recomputes every index from the devices and reports inconsistencies (for tests).
  std::vector<std::string> check_indexes() const;

 private:
  bool counts_as_whole_free(const Device &dev) const {
    return dev.healthy && nodes_[size_t(dev.node)].healthy && dev.free_milli == kMilliPerDevice;
  }
  bool usable(const Device &dev) const { return dev.healthy && nodes_[size_t(dev.node)].healthy; }
  void index_remove(DeviceId d);  // before a device changes
  void index_add(DeviceId d);     // after it changed
  void bucket_move(NodeId n, ModelId m, int delta);
  ModelSlot &slot(NodeId n, ModelId m);

  std::vector<Node> nodes_;
  std::vector<Device> devices_;
  std::vector<std::vector<std::vector<NodeId>>> whole_buckets_;  // [model][free count]
  std::vector<int> free_whole_;
  std::vector<int64_t> free_milli_;
  std::vector<int64_t> capacity_milli_;
  std::vector<int> max_share_;
  std::vector<std::set<std::pair<int, DeviceId>>> partial_;
  std::vector<std::set<DeviceId>> roomy_;
  int max_node_cpu_ = 0;
  int64_t max_node_memory_mb_ = 0;
  int total_cpu_ = 0;
  int64_t total_memory_mb_ = 0;
};

}  // namespace xpool::sched
