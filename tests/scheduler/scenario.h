// Small hand-built clusters and jobs for the scheduler tests.
#pragma once

#include <string>
#include <vector>

#include "xpool/scheduler/scheduler.h"

namespace xpool::sched::testing {

class ClusterBuilder {
 public:
  ModelId model(const std::string &name, const std::string &vendor = "nvidia",
                int64_t memory_mb = 80000, double price = 1.0) {
    return cluster.add_model(DeviceModel{name, vendor, "cuda", memory_mb, price});
  }
  // A node with `count` devices of `model`; topology groups cycle in blocks of `group_size`.
  NodeId node(const std::string &name, ModelId model, int count, int share_count = 1,
              int group_size = 8, std::vector<std::string> datasets = {}, int cpu = 64,
              int64_t memory_mb = 512000) {
    NodeSpec n;
    n.name = name;
    n.cpu_cores = cpu;
    n.memory_mb = memory_mb;
    n.datasets = std::move(datasets);
    for (int i = 0; i < count; ++i)
      n.devices.push_back(DeviceSpec{model, share_count, i / group_size, 0});
    cluster.nodes.push_back(std::move(n));
    return NodeId(cluster.nodes.size() - 1);
  }
  GroupId group(const std::string &name, double weight = 1.0) {
    GroupId g = cluster.add_group(name);
    cluster.groups[size_t(g)].weight = weight;
    return g;
  }
  UserId user(const std::string &name, GroupId g, bool emergency = false) {
    UserId u = cluster.add_user(name, g);
    cluster.users[size_t(u)].may_use_emergency = emergency;
    return u;
  }
  // Device quotas are given in whole devices.
  void group_devices(GroupId g, size_t resource, int64_t guaranteed, int64_t max) {
    cluster.groups[size_t(g)].quotas.set(
        resource, QuotaLimit{guaranteed * kMilliPerDevice,
                             max >= kUnlimited ? kUnlimited : max * kMilliPerDevice});
  }
  void user_devices(UserId u, size_t resource, int64_t max) {
    cluster.users[size_t(u)].quotas.set(resource, QuotaLimit{0, max * kMilliPerDevice});
  }
  Cluster cluster;
};

inline JobSpec job(UserId user, GroupId group, int workers, int devices,
                   std::vector<ModelId> models = {}) {
  JobSpec j;
  j.user = user;
  j.group = group;
  j.workers = workers;
  j.devices_per_worker = devices;
  if (!models.empty()) {
    j.constraint.kind = DeviceConstraint::Kind::kModels;
    j.constraint.models = std::move(models);
  }
  return j;
}

inline int started_count(const Decisions &d, GroupId g, const Scheduler &s) {
  int n = 0;
  for (const auto &st : d.starts)
    if (s.job(st.job).spec.group == g) ++n;
  return n;
}

}  // namespace xpool::sched::testing
