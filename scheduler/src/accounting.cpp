#include "xpool/scheduler/accounting.h"

namespace xpool::sched {

Accounting::Accounting(const Cluster &cluster) : cluster_(&cluster) {
  grow(cluster);
  model_.assign(cluster.models.size(), 0);
}

void Accounting::grow(const Cluster &cluster) {
  cluster_ = &cluster;
  user_.resize(cluster.users.size(), 0);
  user_cost_.resize(cluster.users.size(), 0);
  group_.resize(cluster.groups.size(), 0);
  group_cost_.resize(cluster.groups.size(), 0);
}

void Accounting::record(UserId user, GroupId group, ModelId model, int64_t milli, Time seconds) {
  if (model < 0 || seconds <= 0 || milli <= 0) return;
  const double ds = double(milli) / kMilliPerDevice * seconds;
  const double cost = ds / 3600.0 * cluster_->models[size_t(model)].price_per_hour;
  user_[size_t(user)] += ds;
  group_[size_t(group)] += ds;
  model_[size_t(model)] += ds;
  user_cost_[size_t(user)] += cost;
  group_cost_[size_t(group)] += cost;
}

double Accounting::model_cost(ModelId m) const {
  return model_[size_t(m)] / 3600.0 * cluster_->models[size_t(m)].price_per_hour;
}

double Accounting::total_device_seconds() const {
  double t = 0;
  for (double v : model_) t += v;
  return t;
}

double Accounting::total_cost() const {
  double t = 0;
  for (size_t m = 0; m < model_.size(); ++m) t += model_cost(ModelId(m));
  return t;
}

std::vector<Accounting::Line> Accounting::lines() const {
  std::vector<Line> out;
  for (size_t g = 0; g < group_.size(); ++g)
    if (group_[g] > 0)
      out.push_back({"group", cluster_->groups[g].name, group_[g] / 3600, group_cost_[g]});
  for (size_t u = 0; u < user_.size(); ++u)
    if (user_[u] > 0)
      out.push_back({"user", cluster_->users[u].name, user_[u] / 3600, user_cost_[u]});
  for (size_t m = 0; m < model_.size(); ++m)
    if (model_[m] > 0)
      out.push_back({"model", cluster_->models[m].name, model_[m] / 3600, model_cost(ModelId(m))});
  return out;
}

}  // namespace xpool::sched
