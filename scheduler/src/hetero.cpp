#include "xpool/scheduler/hetero.h"

#include <algorithm>

namespace xpool::sched {

void ModelRanker::begin_pass(const ThroughputMatrix &tp, const std::vector<int64_t> &waiting) {
  competition_.assign(tp.model_count(), 1.0);
  if (mode_ != ModelChoice::kHeterogeneityAware) return;
  int64_t total = 0;
  std::vector<double> sum(tp.model_count(), 0.0);
  for (size_t t = 0; t < waiting.size() && t < tp.type_count(); ++t) {
    if (waiting[t] == 0) continue;
    total += waiting[t];
    for (size_t m = 0; m < tp.model_count(); ++m)
      sum[m] += double(waiting[t]) * tp.get(int(t), ModelId(m));
  }
  if (total == 0) return;
  for (size_t m = 0; m < tp.model_count(); ++m)
    competition_[m] = std::max(sum[m] / double(total), 1e-6);
}

void ModelRanker::rank(const ThroughputMatrix &tp, const ClusterState &state, int type,
                       const std::vector<ModelId> &allowed, Time waited, std::vector<ModelId> &out,
                       bool single_worker) const {
  out = allowed;
  if (out.size() <= 1) return;
  switch (mode_) {
    case ModelChoice::kTypeBlind:
      std::stable_sort(out.begin(), out.end(), [&](ModelId a, ModelId b) {
        return state.free_milli(a) > state.free_milli(b);
      });
      return;
    case ModelChoice::kFastestFree:
      std::stable_sort(out.begin(), out.end(),
                       [&](ModelId a, ModelId b) { return tp.get(type, a) > tp.get(type, b); });
      return;
    case ModelChoice::kHeterogeneityAware: {
      if (single_worker && options_.single_worker_fastest) {
        std::stable_sort(out.begin(), out.end(),
                         [&](ModelId a, ModelId b) { return tp.get(type, a) > tp.get(type, b); });
        return;
      }
      double best = 0;
      for (ModelId m : allowed) best = std::max(best, tp.get(type, m));
      best = std::max(best, 1e-9);
      auto advantage = [&](ModelId m) { return tp.get(type, m) / competition_[size_t(m)]; };
      std::stable_sort(out.begin(), out.end(),
                       [&](ModelId a, ModelId b) { return advantage(a) > advantage(b); });
      if (waited < options_.max_wait) {
        std::erase_if(out, [&](ModelId m) {
          return tp.get(type, m) / best < options_.min_relative_speed ||
                 advantage(m) < options_.min_advantage;
        });
      }
      return;
    }
  }
}

}  // namespace xpool::sched
