#include "xpool/scheduler/cluster_state.h"

#include <algorithm>
#include <map>

namespace xpool::sched {

int Placement::node_count() const {
  std::vector<NodeId> ns;
  for (const auto &w : workers) ns.push_back(w.node);
  std::sort(ns.begin(), ns.end());
  return int(std::unique(ns.begin(), ns.end()) - ns.begin());
}

ClusterState::ClusterState(const Cluster &cluster) {
  const size_t models = cluster.models.size();
  free_whole_.assign(models, 0);
  free_milli_.assign(models, 0);
  capacity_milli_.assign(models, 0);
  max_share_.assign(models, 1);
  partial_.resize(models);
  roomy_.resize(models);
  std::vector<int> max_count(models, 0);
  nodes_.reserve(cluster.nodes.size());
  for (size_t n = 0; n < cluster.nodes.size(); ++n) {
    const NodeSpec &spec = cluster.nodes[n];
    Node node;
    node.spec = spec;
    std::sort(node.spec.datasets.begin(), node.spec.datasets.end());
    node.cpu_free = spec.cpu_cores;
    node.memory_free_mb = spec.memory_mb;
    node.healthy = true;
    node.first_device = DeviceId(devices_.size());
    node.device_count = int(spec.devices.size());
    std::map<ModelId, int> per_model;
    for (const DeviceSpec &d : spec.devices) {
      int64_t mem = d.memory_mb > 0 ? d.memory_mb : cluster.models[size_t(d.model)].memory_mb;
      devices_.push_back(
          Device{d.model, NodeId(n), std::max(1, d.share_count), d.topology_group, mem});
      per_model[d.model]++;
      max_share_[size_t(d.model)] = std::max(max_share_[size_t(d.model)], d.share_count);
      capacity_milli_[size_t(d.model)] += kMilliPerDevice;
    }
    for (auto [m, c] : per_model) {
      node.models.push_back(ModelSlot{m, 0, -1});
      max_count[size_t(m)] = std::max(max_count[size_t(m)], c);
    }
    max_node_cpu_ = std::max(max_node_cpu_, spec.cpu_cores);
    max_node_memory_mb_ = std::max(max_node_memory_mb_, spec.memory_mb);
    total_cpu_ += spec.cpu_cores;
    total_memory_mb_ += spec.memory_mb;
    nodes_.push_back(std::move(node));
  }
  whole_buckets_.resize(models);
  for (size_t m = 0; m < models; ++m) whole_buckets_[m].resize(size_t(max_count[m]) + 1);
  for (size_t n = 0; n < nodes_.size(); ++n) {
    for (ModelSlot &s : nodes_[n].models) {
      auto &b = whole_buckets_[size_t(s.model)][0];
      s.bucket_pos = int(b.size());
      b.push_back(NodeId(n));
    }
  }
  for (size_t d = 0; d < devices_.size(); ++d) index_add(DeviceId(d));
  for (size_t n = 0; n < cluster.nodes.size(); ++n)
    if (!cluster.nodes[n].healthy) set_node_health(NodeId(n), false);
}

int64_t ClusterState::total_capacity_milli() const {
  int64_t t = 0;
  for (auto c : capacity_milli_) t += c;
  return t;
}

int64_t ClusterState::total_free_milli() const {
  int64_t t = 0;
  for (auto c : free_milli_) t += c;
  return t;
}

bool ClusterState::node_has_dataset(NodeId n, const std::string &dataset) const {
  const auto &ds = nodes_[size_t(n)].spec.datasets;
  return std::binary_search(ds.begin(), ds.end(), dataset);
}

ClusterState::ModelSlot &ClusterState::slot(NodeId n, ModelId m) {
  for (ModelSlot &s : nodes_[size_t(n)].models)
    if (s.model == m) return s;
  return nodes_[size_t(n)].models.front();  // unreachable: every device's model has a slot
}

void ClusterState::bucket_move(NodeId n, ModelId m, int delta) {
  ModelSlot &s = slot(n, m);
  auto &from = whole_buckets_[size_t(m)][size_t(s.free_whole)];
  NodeId last = from.back();
  from[size_t(s.bucket_pos)] = last;
  slot(last, m).bucket_pos = s.bucket_pos;
  from.pop_back();
  s.free_whole += delta;
  auto &to = whole_buckets_[size_t(m)][size_t(s.free_whole)];
  s.bucket_pos = int(to.size());
  to.push_back(n);
}

void ClusterState::index_remove(DeviceId d) {
  const Device &dev = devices_[size_t(d)];
  if (!usable(dev)) return;
  const size_t m = size_t(dev.model);
  free_milli_[m] -= dev.free_milli;
  if (dev.free_milli == kMilliPerDevice) {
    free_whole_[m]--;
    bucket_move(dev.node, dev.model, -1);
  }
  if (dev.share_count > 1) {
    partial_[m].erase({dev.free_milli, d});
    roomy_[m].erase(d);
  }
}

void ClusterState::index_add(DeviceId d) {
  const Device &dev = devices_[size_t(d)];
  if (!usable(dev)) return;
  const size_t m = size_t(dev.model);
  free_milli_[m] += dev.free_milli;
  if (dev.free_milli == kMilliPerDevice) {
    free_whole_[m]++;
    bucket_move(dev.node, dev.model, +1);
  }
  if (dev.share_count > 1 && dev.free_milli > 0 && dev.tenants < dev.share_count) {
    if (dev.free_milli < kMilliPerDevice) partial_[m].insert({dev.free_milli, d});
    roomy_[m].insert(d);
  }
}

void ClusterState::take_device(DeviceId d, int milli, int64_t memory_mb) {
  index_remove(d);
  Device &dev = devices_[size_t(d)];
  dev.free_milli -= milli;
  dev.tenants += 1;
  dev.memory_used_mb += memory_mb;
  index_add(d);
}

void ClusterState::give_device(DeviceId d, int milli, int64_t memory_mb) {
  index_remove(d);
  Device &dev = devices_[size_t(d)];
  dev.free_milli += milli;
  dev.tenants -= 1;
  dev.memory_used_mb -= memory_mb;
  index_add(d);
}

void ClusterState::take_host(NodeId n, int cpu, int64_t memory_mb) {
  nodes_[size_t(n)].cpu_free -= cpu;
  nodes_[size_t(n)].memory_free_mb -= memory_mb;
}

void ClusterState::give_host(NodeId n, int cpu, int64_t memory_mb) {
  nodes_[size_t(n)].cpu_free += cpu;
  nodes_[size_t(n)].memory_free_mb += memory_mb;
}

void ClusterState::allocate(const Placement &p) {
  for (const WorkerSlot &w : p.workers) {
    take_host(w.node, p.cpu_per_worker, p.memory_mb_per_worker);
    for (auto [d, milli] : w.devices) take_device(d, milli, p.memory_cap_mb);
  }
}

void ClusterState::release(const Placement &p) {
  for (const WorkerSlot &w : p.workers) {
    give_host(w.node, p.cpu_per_worker, p.memory_mb_per_worker);
    for (auto [d, milli] : w.devices) give_device(d, milli, p.memory_cap_mb);
  }
}

void ClusterState::set_node_health(NodeId n, bool healthy) {
  Node &node = nodes_[size_t(n)];
  if (node.healthy == healthy) return;
  for (int i = 0; i < node.device_count; ++i) index_remove(node.first_device + i);
  node.healthy = healthy;
  for (int i = 0; i < node.device_count; ++i) index_add(node.first_device + i);
}

void ClusterState::set_device_health(DeviceId d, bool healthy) {
  if (devices_[size_t(d)].healthy == healthy) return;
  index_remove(d);
  devices_[size_t(d)].healthy = healthy;
  index_add(d);
}

std::vector<std::string> ClusterState::check_indexes() const {
  std::vector<std::string> errors;
  const size_t models = model_count();
  std::vector<int> whole(models, 0);
  std::vector<int64_t> milli(models, 0);
  for (size_t d = 0; d < devices_.size(); ++d) {
    const Device &dev = devices_[d];
    if (dev.free_milli < 0 || dev.free_milli > kMilliPerDevice)
      errors.push_back("device " + std::to_string(d) + " oversubscribed: free milli " +
                       std::to_string(dev.free_milli));
    if (dev.tenants > dev.share_count)
      errors.push_back("device " + std::to_string(d) + " has " + std::to_string(dev.tenants) +
                       " tenants, share count " + std::to_string(dev.share_count));
    if (dev.memory_used_mb > dev.memory_mb)
      errors.push_back("device " + std::to_string(d) + " memory oversubscribed");
    if (!usable(dev)) continue;
    milli[size_t(dev.model)] += dev.free_milli;
    if (dev.free_milli == kMilliPerDevice) whole[size_t(dev.model)]++;
  }
  for (size_t m = 0; m < models; ++m) {
    if (whole[m] != free_whole_[m])
      errors.push_back("model " + std::to_string(m) + " free whole index " +
                       std::to_string(free_whole_[m]) + " != " + std::to_string(whole[m]));
    if (milli[m] != free_milli_[m])
      errors.push_back("model " + std::to_string(m) + " free milli index wrong");
  }
  for (size_t n = 0; n < nodes_.size(); ++n) {
    const Node &node = nodes_[n];
    if (node.cpu_free < 0 || node.memory_free_mb < 0)
      errors.push_back("node " + node.spec.name + " CPU or memory oversubscribed");
    for (const ModelSlot &s : node.models) {
      int count = 0;
      for (int i = 0; i < node.device_count; ++i) {
        const Device &dev = devices_[size_t(node.first_device + i)];
        if (dev.model == s.model && counts_as_whole_free(dev)) count++;
      }
      const auto &b = whole_buckets_[size_t(s.model)][size_t(s.free_whole)];
      if (count != s.free_whole || s.bucket_pos >= int(b.size()) ||
          b[size_t(s.bucket_pos)] != NodeId(n))
        errors.push_back("node " + node.spec.name + " bucket index wrong");
    }
  }
  return errors;
}

}  // namespace xpool::sched
