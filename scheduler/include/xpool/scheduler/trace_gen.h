// Synthetic job traces with realistic shapes: heavy-tailed (log-normal) durations, mostly
// single-device jobs with some 8- to 64-device gangs, and diurnal arrivals.
#pragma once

#include <string>
#include <vector>

#include "xpool/scheduler/trace_io.h"

namespace xpool::sched {

struct TraceShape {
  int64_t jobs = 1000;
  uint64_t seed = 1;
  double jobs_per_hour = 60;       // mean arrival rate
  double diurnal_amplitude = 0.5;  // rate swings +-50% over a day (peak mid-afternoon)
  int groups = 4;
  int users_per_group = 5;
  double median_duration = 1800;  // seconds on a reference device
  double duration_sigma = 1.5;    // log-normal shape: a few jobs run for days
  double max_duration = 7 * 86400;
  std::vector<std::string> models;  // device models for "specific model" constraints
  double any_share = 0.6;           // jobs that accept any accelerator
  double fractional_share = 0.1;    // jobs taking 1/2 or 1/4 of a card
  double gang_share = 0.06;         // 8..64-device gangs
  double emergency_share = 0.0;
  double devenv_share = 0.0;  // single-worker jobs that are development environments
  // A development environment stays open for a working session (log-normal, median 4 h) in
  // which its user is active in stretches (log-normal, median 40 min) separated by short
  // breaks (exponential, mean 15 min) or, with this share, a long one of 2 to 16 h (a meeting,
  // the night) in which the idle timeout should stop it.
  double devenv_session_median = 4 * 3600;
  double devenv_active_median = 2400;
  double devenv_break_mean = 900;
  double devenv_long_break_share = 0.2;
  double checkpoint_share = 0.6;
};

std::vector<TraceJob> generate_trace(const TraceShape &shape);

}  // namespace xpool::sched
