#include "xpool/scheduler/ordering.h"

#include <algorithm>
#include <limits>

namespace xpool::sched {

FairShare::FairShare(FairShareMode mode, const Cluster &cluster, std::vector<int64_t> capacity)
    : mode_(mode), cluster_(&cluster), capacity_(std::move(capacity)) {}

double FairShare::dominant_share(const QuotaBook &quotas, GroupId g) const {
  double share = 0;
  for (size_t r = 0; r < capacity_.size(); ++r) {
    if (r == cluster_->any_resource() || capacity_[r] <= 0) continue;
    share = std::max(share, double(quotas.group_usage(g, r)) / double(capacity_[r]));
  }
  const double w = g < GroupId(cluster_->groups.size()) ? cluster_->groups[size_t(g)].weight : 1.0;
  return share / std::max(w, 1e-9);
}

double FairShare::key(const QuotaBook &quotas, GroupId g) const {
  if (mode_ == FairShareMode::kWeightedRoundRobin) {
    const double w = cluster_->groups[size_t(g)].weight;
    const double t = size_t(g) < turns_.size() ? turns_[size_t(g)] : 0.0;
    return t / std::max(w, 1e-9);
  }
  if (mode_ == FairShareMode::kNone) return 0;
  return dominant_share(quotas, g);
}

void FairShare::on_start(GroupId g) {
  if (turns_.size() <= size_t(g)) turns_.resize(size_t(g) + 1, 0);
  turns_[size_t(g)] += 1;
}

void FairShare::rebase(const std::vector<GroupId> &backlogged) {
  if (mode_ != FairShareMode::kWeightedRoundRobin || backlogged.empty()) return;
  if (turns_.size() < cluster_->groups.size()) turns_.resize(cluster_->groups.size(), 0);
  double low = std::numeric_limits<double>::max();
  for (GroupId g : backlogged)
    low = std::min(low, turns_[size_t(g)] / std::max(cluster_->groups[size_t(g)].weight, 1e-9));
  // Idle groups are lifted to the lowest backlogged key; backlogged ones keep their lead.
  std::vector<char> is_backlogged(turns_.size(), 0);
  for (GroupId g : backlogged) is_backlogged[size_t(g)] = 1;
  for (size_t g = 0; g < turns_.size(); ++g) {
    const double w = std::max(cluster_->groups[g].weight, 1e-9);
    if (!is_backlogged[g] || turns_[g] / w < low) turns_[g] = std::max(turns_[g], low * w);
  }
}

bool JobQueue::erase(const QueueKey &k) {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), k);
  for (; it != entries_.end() && !(k < *it); ++it) {
    if (it->job == k.job && !it->removed) {
      it->removed = true;
      ++removed_;
      --size_;
      return true;
    }
  }
  for (size_t i = 0; i < pending_.size(); ++i) {
    if (pending_[i].job == k.job) {
      pending_[i] = pending_.back();
      pending_.pop_back();
      --size_;
      return true;
    }
  }
  return false;
}

void JobQueue::prepare() {
  if (removed_ > 0) {
    std::erase_if(entries_, [](const QueueKey &k) { return k.removed; });
    removed_ = 0;
  }
  if (!pending_.empty()) {
    std::sort(pending_.begin(), pending_.end());
    const size_t mid = entries_.size();
    entries_.insert(entries_.end(), pending_.begin(), pending_.end());
    std::inplace_merge(entries_.begin(), entries_.begin() + std::ptrdiff_t(mid), entries_.end());
    pending_.clear();
  }
}

double jain_index(const std::vector<double> &values) {
  if (values.empty()) return 1.0;
  double sum = 0, sq = 0;
  for (double v : values) {
    sum += v;
    sq += v * v;
  }
  if (sq <= 0) return 1.0;
  return sum * sum / (double(values.size()) * sq);
}

}  // namespace xpool::sched
