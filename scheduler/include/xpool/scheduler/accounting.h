// Device-seconds per user, group and device model, and their cost at a price per
// device-hour, so that usage can be billed by consumption.
#pragma once

#include <string>
#include <vector>

#include "xpool/scheduler/model.h"

namespace xpool::sched {

class Accounting {
 public:
  explicit Accounting(const Cluster &cluster);
  // A job held `milli` milli-devices of `model` for `seconds`.
  void record(UserId user, GroupId group, ModelId model, int64_t milli, Time seconds);
  void grow(const Cluster &cluster);  // users or groups were added

  double user_device_seconds(UserId u) const { return user_[size_t(u)]; }
  double group_device_seconds(GroupId g) const { return group_[size_t(g)]; }
  double model_device_seconds(ModelId m) const { return model_[size_t(m)]; }
  double user_cost(UserId u) const { return user_cost_[size_t(u)]; }
  double group_cost(GroupId g) const { return group_cost_[size_t(g)]; }
  double model_cost(ModelId m) const;
  double total_device_seconds() const;
  double total_cost() const;

  struct Line {
    std::string kind;  // "user", "group", "model"
    std::string name;
    double device_hours;
    double cost;
  };
  std::vector<Line> lines() const;

 private:
  const Cluster *cluster_;
  std::vector<double> user_, group_, model_, user_cost_, group_cost_;
};

}  // namespace xpool::sched
