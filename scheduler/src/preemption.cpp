#include "xpool/scheduler/preemption.h"

#include <algorithm>
#include <cmath>

namespace xpool::sched {

Time seconds_since_checkpoint(Time run_start, Time interval, Time now) {
  const Time ran = std::max<Time>(0, now - run_start);
  if (interval <= 0) return ran;
  return ran - std::floor(ran / interval) * interval;
}

void order_victims(std::vector<VictimCandidate> &c) {
  std::sort(c.begin(), c.end(), [](const VictimCandidate &a, const VictimCandidate &b) {
    if (a.lost_work != b.lost_work) return a.lost_work < b.lost_work;
    if (a.priority != b.priority) return a.priority < b.priority;
    if (a.run_start != b.run_start) return a.run_start > b.run_start;
    return a.job < b.job;
  });
}

}  // namespace xpool::sched
