// Preemption: emergency jobs and groups reclaiming their guaranteed quota may preempt
// preemptible jobs (lower class, or of groups borrowing beyond their guarantee). Victims are
// chosen so that the least work is lost since their last checkpoint.
#pragma once

#include <vector>

#include "xpool/scheduler/model.h"

namespace xpool::sched {

enum class PreemptionCause : uint8_t { kEmergency, kQuotaReclaim };

struct VictimCandidate {
  JobId job;
  int64_t milli;     // devices it holds
  double lost_work;  // device-seconds since its last checkpoint
  PriorityClass priority;
  Time run_start;
};

// Seconds of work since the last checkpoint of a run started at `run_start` that
// checkpoints every `interval` seconds (interval 0: everything since the start is lost).
Time seconds_since_checkpoint(Time run_start, Time interval, Time now);

// Least lost work first; ties: lower priority first, then the most recently started.
void order_victims(std::vector<VictimCandidate> &candidates);

}  // namespace xpool::sched
