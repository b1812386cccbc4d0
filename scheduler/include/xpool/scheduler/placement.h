// Gang placement: all workers of a job or none. Preference order, as the issue asks: the
// fewest nodes, then devices in one topology group, then nodes that cache the job's dataset;
// fractional workers are packed onto partly used cards before whole cards are broken into.
#pragma once

#include <optional>

#include "xpool/scheduler/cluster_state.h"
#include "xpool/scheduler/model.h"

namespace xpool::sched {

enum class FractionalFit : uint8_t {
  kBestFit,   // the partly used card with the least room that still fits (packing)
  kFirstFit,  // the first card in device order with room (baseline for comparison)
};

struct PlacementOptions {
  FractionalFit fractional = FractionalFit::kBestFit;
  // How many candidate nodes of one bucket are compared for topology and dataset before
  // taking the best seen: bounds a placement's cost on a 10,000-node cluster.
  int scan_limit = 32;
};

// Places every worker of `job` on devices of `model`. On success the capacity is taken from
// `state` and the placement returned; on failure `state` is left exactly as it was.
std::optional<Placement> place_gang(ClusterState &state, const JobSpec &job, ModelId model,
                                    const PlacementOptions &options);

// Cheap necessary condition: is there enough free capacity of the model at all?
bool may_fit(const ClusterState &state, const JobSpec &job, ModelId model);

}  // namespace xpool::sched
