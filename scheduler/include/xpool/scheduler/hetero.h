// Which device model a job with a choice of models goes to. Heterogeneity-aware (after
// Gavel): a job's advantage on a model is its speed there divided by the mean speed there of
// the jobs waiting with a choice; it prefers the model where that advantage is largest and
// declines a model where it is clearly below the others waiting (they make better use of
// it) or far slower than its own best, unless it has waited long (so nobody starves). The
// two baselines are type-blind (most free devices first) and fastest-free-type.
#pragma once

#include <vector>

#include "xpool/scheduler/cluster_state.h"
#include "xpool/scheduler/throughput.h"

namespace xpool::sched {

enum class ModelChoice : uint8_t { kHeterogeneityAware, kFastestFree, kTypeBlind };

struct HeteroOptions {
  double min_relative_speed = 0.3;  // decline models slower than this fraction of the best
  double min_advantage = 0.8;       // decline models where others waiting gain 1/0.8 x more
  Time max_wait = 1800;             // ...unless the job waited longer than this
  // A job with a single worker is ranked by its own speed (fastest allowed model first, none
  // declined): it holds a small part of the cluster, so its own run time is most of what
  // its placement changes. The advantage rule is kept for gangs, which hold most of the
  // device-time and whose placement decides the cluster's throughput.
  bool single_worker_fastest = true;
};

// Earliest expected finish: a job of `work` reference-seconds that could start now on a model
// of speed `here` finishes sooner by waiting until `there_from` for a model of speed `there`.
// (Past `max_wait` the advantage rule gives way; this one does not need to: it only waits
// when waiting is expected to end the job sooner.)
inline bool finishes_sooner(double work, double here, Time now, double there, Time there_from) {
  if (here <= 0 || there <= 0) return false;
  return there_from + work / there < now + work / here;
}

class ModelRanker {
 public:
  ModelRanker(ModelChoice mode, HeteroOptions options) : mode_(mode), options_(options) {}
  // `waiting_per_type`: how many waiting jobs of each workload type have a choice of models.
  void begin_pass(const ThroughputMatrix &tp, const std::vector<int64_t> &waiting_per_type);
  // Allowed models in the order to try; models the job declines are left out.
  // `single_worker`: the job has one worker (see HeteroOptions::single_worker_fastest).
  void rank(const ThroughputMatrix &tp, const ClusterState &state, int type,
            const std::vector<ModelId> &allowed, Time waited, std::vector<ModelId> &out,
            bool single_worker = false) const;
  double competition(ModelId m) const { return competition_[size_t(m)]; }

 private:
  ModelChoice mode_;
  HeteroOptions options_;
  std::vector<double> competition_;  // mean speed of the waiting jobs per model
};

}  // namespace xpool::sched
