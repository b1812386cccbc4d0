// Quota usage per user and per group, kept up to date incrementally as jobs start and stop,
// and the admission checks against it.
#pragma once

#include <string>
#include <vector>

#include "xpool/scheduler/model.h"

namespace xpool::sched {

// What one running job holds, by quota resource.
struct Demand {
  ModelId model = -1;  // -1: model not chosen yet (only "any", CPU and memory are checked)
  int64_t device_milli = 0;
  int64_t cpu = 0;
  int64_t memory_mb = 0;
};

Demand demand_of(const JobSpec &job, ModelId model);

struct QuotaCheck {
  bool ok = true;
  bool is_group = true;  // the subject that blocks: the group or the user
  int32_t subject = -1;
  size_t resource = 0;
  int64_t used = 0;
  int64_t demand = 0;
  int64_t limit = 0;
};

class QuotaBook {
 public:
  explicit QuotaBook(const Cluster &cluster);
  void add_group_or_user_slots(const Cluster &cluster);  // after users/groups were added

  // Checks the maximum quotas of the job's user and group for this demand on top of current
  // usage. With `never` set it checks demand alone against the maximum (can it ever fit).
  QuotaCheck check_max(UserId user, GroupId group, const Demand &d, bool never) const;
  void add(UserId user, GroupId group, const Demand &d);
  void remove(UserId user, GroupId group, const Demand &d);

  int64_t group_usage(GroupId g, size_t resource) const { return group_[size_t(g)][resource]; }
  int64_t user_usage(UserId u, size_t resource) const { return user_[size_t(u)][resource]; }
  // Usage of a device resource above the group's guaranteed amount: capacity it borrows.
  bool group_borrowing(GroupId g, size_t resource) const;
  // Whether the group would stay within its guarantee after adding this demand.
  bool within_guarantee(GroupId g, const Demand &d) const;
  std::string describe(const QuotaCheck &c) const;
  std::vector<std::string> check_limits() const;  // every usage <= max (for tests)

 private:
  void apply(UserId user, GroupId group, const Demand &d, int sign);
  const Cluster *cluster_;
  std::vector<std::vector<int64_t>> group_;
  std::vector<std::vector<int64_t>> user_;
};

}  // namespace xpool::sched
