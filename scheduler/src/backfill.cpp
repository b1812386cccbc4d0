#include "xpool/scheduler/backfill.h"

#include <algorithm>

namespace xpool::sched {

Time shadow_time(int64_t free_now_milli, int64_t need_milli, std::vector<Release> releases,
                 Time now, int64_t *spare_milli) {
  std::vector<std::pair<Time, int64_t>> sorted;
  sorted.reserve(releases.size());
  for (const Release &r : releases) sorted.push_back({r.end, r.milli});
  std::sort(sorted.begin(), sorted.end(),
            [](const auto &a, const auto &b) { return a.first < b.first; });
  return shadow_time_sorted(free_now_milli, need_milli, sorted.begin(), sorted.end(), now,
                            spare_milli);
}

bool outlasts_reservation(const Reservation &r, ModelId model, Time now,
                          std::optional<Time> expected_duration) {
  if (!r.active) return false;
  if (std::find(r.models.begin(), r.models.end(), model) == r.models.end()) return false;
  // Without an expected duration it may run forever.
  return !expected_duration || now + *expected_duration > r.start;
}

bool may_backfill(const Reservation &r, ModelId model, Time now,
                  std::optional<Time> expected_duration, int64_t milli) {
  if (!outlasts_reservation(r, model, now, expected_duration)) return true;
  return milli <= r.spare_milli;
}

}  // namespace xpool::sched
