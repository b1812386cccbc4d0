#include "xpool/scheduler/quota.h"

namespace xpool::sched {

Demand demand_of(const JobSpec &job, ModelId model) {
  Demand d;
  d.model = model;
  d.device_milli = job.total_milli();
  d.cpu = int64_t(job.workers) * job.cpu_per_worker;
  d.memory_mb = int64_t(job.workers) * job.memory_mb_per_worker;
  return d;
}

QuotaBook::QuotaBook(const Cluster &cluster) : cluster_(&cluster) {
  add_group_or_user_slots(cluster);
}

void QuotaBook::add_group_or_user_slots(const Cluster &cluster) {
  cluster_ = &cluster;
  group_.resize(cluster.groups.size(), std::vector<int64_t>(cluster.resource_count(), 0));
  user_.resize(cluster.users.size(), std::vector<int64_t>(cluster.resource_count(), 0));
}

QuotaCheck QuotaBook::check_max(UserId user, GroupId group, const Demand &d, bool never) const {
  const Cluster &c = *cluster_;
  struct Item {
    size_t resource;
    int64_t amount;
  };
  Item items[4] = {
      {c.any_resource(), d.device_milli},
      {c.cpu_resource(), d.cpu},
      {c.memory_resource(), d.memory_mb},
      {d.model >= 0 ? size_t(d.model) : c.any_resource(), d.model >= 0 ? d.device_milli : 0}};
  for (const Item &it : items) {
    if (it.amount == 0) continue;
    int64_t gl = c.groups[size_t(group)].quotas.get(it.resource).max;
    int64_t gu = never ? 0 : group_[size_t(group)][it.resource];
    if (gu + it.amount > gl) return QuotaCheck{false, true, group, it.resource, gu, it.amount, gl};
    int64_t ul = c.users[size_t(user)].quotas.get(it.resource).max;
    int64_t uu = never ? 0 : user_[size_t(user)][it.resource];
    if (uu + it.amount > ul) return QuotaCheck{false, false, user, it.resource, uu, it.amount, ul};
  }
  return QuotaCheck{};
}

void QuotaBook::apply(UserId user, GroupId group, const Demand &d, int sign) {
  const Cluster &c = *cluster_;
  auto bump = [&](std::vector<int64_t> &row) {
    if (d.model >= 0) row[size_t(d.model)] += sign * d.device_milli;
    row[c.any_resource()] += sign * d.device_milli;
    row[c.cpu_resource()] += sign * d.cpu;
    row[c.memory_resource()] += sign * d.memory_mb;
  };
  bump(group_[size_t(group)]);
  bump(user_[size_t(user)]);
}

void QuotaBook::add(UserId user, GroupId group, const Demand &d) {
  apply(user, group, d, +1);
}
void QuotaBook::remove(UserId user, GroupId group, const Demand &d) {
  apply(user, group, d, -1);
}

bool QuotaBook::group_borrowing(GroupId g, size_t resource) const {
  const Cluster &c = *cluster_;
  const auto &q = c.groups[size_t(g)].quotas;
  // A group borrows when it uses more of a device model, or of accelerators in total, than
  // it is guaranteed.
  return group_[size_t(g)][resource] > q.get(resource).guaranteed ||
         group_[size_t(g)][c.any_resource()] > q.get(c.any_resource()).guaranteed;
}

bool QuotaBook::within_guarantee(GroupId g, const Demand &d) const {
  const Cluster &c = *cluster_;
  const auto &q = c.groups[size_t(g)].quotas;
  const auto &u = group_[size_t(g)];
  if (d.model < 0) return false;
  const int64_t gm = q.get(size_t(d.model)).guaranteed;
  const int64_t ga = q.get(c.any_resource()).guaranteed;
  // Either the model-specific guarantee or the "any accelerator" guarantee covers it.
  return u[size_t(d.model)] + d.device_milli <= gm || u[c.any_resource()] + d.device_milli <= ga;
}

std::string QuotaBook::describe(const QuotaCheck &q) const {
  const Cluster &c = *cluster_;
  std::string who = q.is_group ? "group " + c.groups[size_t(q.subject)].name
                               : "user " + c.users[size_t(q.subject)].name;
  auto amount = [&](int64_t v) {
    return q.resource < c.models.size() || q.resource == c.any_resource() ? format_devices(v)
                                                                          : std::to_string(v);
  };
  return who + ": " + amount(q.used) + " of " + amount(q.limit) + " " +
         c.resource_name(q.resource) + " in use, job needs " + amount(q.demand);
}

std::vector<std::string> QuotaBook::check_limits() const {
  std::vector<std::string> errors;
  const Cluster &c = *cluster_;
  for (size_t g = 0; g < group_.size(); ++g)
    for (size_t r = 0; r < group_[g].size(); ++r) {
      if (group_[g][r] > c.groups[g].quotas.get(r).max)
        errors.push_back("group " + c.groups[g].name + " exceeds max " + c.resource_name(r));
      if (group_[g][r] < 0) errors.push_back("group " + c.groups[g].name + " negative usage");
    }
  for (size_t u = 0; u < user_.size(); ++u)
    for (size_t r = 0; r < user_[u].size(); ++r)
      if (user_[u][r] > c.users[u].quotas.get(r).max)
        errors.push_back("user " + c.users[u].name + " exceeds max " + c.resource_name(r));
  return errors;
}

}  // namespace xpool::sched
