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

Time node_shadow_time(const std::vector<NodeDrain> &nodes, int workers, int per_worker,
                      bool one_per_node, Time now, std::vector<std::pair<NodeId, int>> *chosen) {
  if (chosen) chosen->clear();
  if (workers <= 0 || per_worker <= 0) return now;
  // One event per worker slot a node can offer: the time its per_worker-th, 2*per_worker-th,
  // ... device is free.
  struct Event {
    Time t;
    size_t index;
  };
  std::vector<Event> events;
  std::vector<Time> times;
  for (size_t i = 0; i < nodes.size(); ++i) {
    times = nodes[i].device_free;
    std::sort(times.begin(), times.end());
    const size_t slots = one_per_node ? std::min<size_t>(1, times.size() / size_t(per_worker))
                                      : times.size() / size_t(per_worker);
    for (size_t k = 1; k <= slots; ++k) {
      const Time t = times[k * size_t(per_worker) - 1];
      if (t == kNever) break;
      events.push_back({std::max(t, now), i});
    }
  }
  if (events.size() < size_t(workers)) return kNever;
  std::nth_element(events.begin(), events.begin() + (workers - 1), events.end(),
                   [](const Event &a, const Event &b) {
                     return a.t < b.t || (a.t == b.t && a.index < b.index);
                   });
  std::sort(events.begin(), events.begin() + workers, [](const Event &a, const Event &b) {
    return a.t < b.t || (a.t == b.t && a.index < b.index);
  });
  if (chosen) {
    std::vector<std::pair<size_t, int>> per_node;
    for (int w = 0; w < workers; ++w) {
      const size_t i = events[size_t(w)].index;
      auto it = std::find_if(per_node.begin(), per_node.end(),
                             [&](const auto &p) { return p.first == i; });
      if (it == per_node.end())
        per_node.push_back({i, 1});
      else
        it->second++;
    }
    std::sort(per_node.begin(), per_node.end());
    for (auto [i, w] : per_node) chosen->push_back({nodes[i].node, w});
  }
  return events[size_t(workers - 1)].t;
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
