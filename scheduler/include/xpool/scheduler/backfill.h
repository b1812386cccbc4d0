// Backfill with a reservation: the highest-priority gang that cannot start holds a
// reservation at the earliest time its devices free up (from running jobs' expected
// durations); smaller jobs run in the hole only if they end before it.
#pragma once

#include <optional>
#include <vector>

#include "xpool/scheduler/model.h"

namespace xpool::sched {

struct Reservation {
  bool active = false;
  JobId job = -1;
  std::vector<ModelId> models;  // the models the reserved job may use
  Time start = kNever;          // shadow time: when the reserved job is expected to fit
  // Capacity free at the shadow time beyond what the reserved job needs (EASY backfill):
  // a job that would still run then may start if it fits in this spare.
  int64_t spare_milli = 0;
  // Node-aware reservations (whole-device workers of 2 or more devices): the nodes chosen
  // for the job. Their free devices are held for it during the pass; jobs that outlast the
  // shadow time may use any other free device (`spare_milli` is then unlimited).
  std::vector<NodeId> nodes;
};

struct Release {
  Time end;  // expected end of a running job (kNever when it has no expected duration)
  int64_t milli;
};

// Earliest time at which `need_milli` of a model are free, given `free_now_milli` free now
// and the running jobs' releases. kNever when the releases with known ends do not suffice.
// `spare_milli` receives what is free then beyond the need.
Time shadow_time(int64_t free_now_milli, int64_t need_milli, std::vector<Release> releases,
                 Time now, int64_t *spare_milli = nullptr);

// The same over releases already sorted by end time (pairs of end, milli): it stops at the
// first release that suffices, so it costs what it reads, not the number of running jobs.
template <typename It>
Time shadow_time_sorted(int64_t free_now_milli, int64_t need_milli, It begin, It end, Time now,
                        int64_t *spare_milli) {
  if (spare_milli) *spare_milli = 0;
  if (free_now_milli >= need_milli) {
    if (spare_milli) *spare_milli = free_now_milli - need_milli;
    return now;
  }
  int64_t free = free_now_milli;
  for (It it = begin; it != end;) {
    const Time t = it->first;
    if (t == kNever) break;
    for (; it != end && it->first == t; ++it) free += it->second;  // all ending then count
    if (free >= need_milli) {
      if (spare_milli) *spare_milli = free - need_milli;
      return t > now ? t : now;
    }
  }
  return kNever;
}

// When each device of one node (of the reserved model) is free: the pass's time for a free
// device, a running job's expected end (kNever when unknown) for a busy one.
struct NodeDrain {
  NodeId node = -1;
  std::vector<Time> device_free;
};

// Node-aware shadow time: the earliest time at which `workers` workers of `per_worker` whole
// devices each fit on the nodes (a node holds as many workers as it has groups of
// `per_worker` devices free by then; at most one with `one_per_node`). kNever when the
// releases with known ends do not suffice. `chosen` receives (node, workers) for the nodes
// that free up first, in node order of `nodes` ties broken by position.
Time node_shadow_time(const std::vector<NodeDrain> &nodes, int workers, int per_worker,
                      bool one_per_node, Time now, std::vector<std::pair<NodeId, int>> *chosen);

// Whether a job on `model` would still hold its devices at the reservation's shadow time.
bool outlasts_reservation(const Reservation &r, ModelId model, Time now,
                          std::optional<Time> expected_duration);

// Whether a job expected to run `expected_duration` and holding `milli` may start on
// `model` now without delaying the reservation: it ends before the shadow time, or it fits
// in the spare. The caller takes what a started job outlasting it holds off the spare.
bool may_backfill(const Reservation &r, ModelId model, Time now,
                  std::optional<Time> expected_duration, int64_t milli);

}  // namespace xpool::sched
