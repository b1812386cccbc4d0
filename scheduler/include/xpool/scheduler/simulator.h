// Discrete-event simulator: replays a job trace on a cluster through the Scheduler, with
// node failures from a trace or a rate, and records what the reports need.
#pragma once

#include <string>
#include <vector>

#include "xpool/scheduler/scheduler.h"
#include "xpool/scheduler/trace_io.h"

namespace xpool::sched {

struct SimOptions {
  // A pass runs at every event time, but not more often than this (a real control plane
  // batches the events of a few seconds).
  Time min_pass_interval = 1.0;
  Time timeline_step = 600;          // sampling period of the utilization timeline
  double failures_per_node_day = 0;  // random node failures (exponential), on top of the trace
  Time repair_time = 1800;
  uint64_t seed = 1;
  bool check_invariants = false;  // after every pass (slow; for tests)
};

struct JobOutcome {
  JobId id = -1;
  std::string name;
  GroupId group = 0;
  UserId user = 0;
  PriorityClass priority = PriorityClass::kNormal;
  JobKind kind = JobKind::kTraining;
  ModelId model = -1;  // of the last run
  int devices_milli = 0;
  Time submit = 0;
  Time first_start = -1;
  Time end = -1;
  bool completed = false;
  bool rejected = false;
  bool stopped = false;
  std::string reason;
  int preemptions = 0;
  int failures = 0;
  int runs = 0;
  double restart_wait = 0;  // seconds from its failures to its restarts, summed
};

struct TimelinePoint {
  Time t;
  double busy_devices;     // devices allocated (fractions count as fractions)
  double normalized_rate;  // work per second: allocated devices weighted by throughput
  int64_t queue_length;
  int64_t running;
};

struct SimResult {
  std::string policy;
  std::vector<JobOutcome> jobs;
  std::vector<TimelinePoint> timeline;
  double capacity_devices = 0;
  Time first_submit = 0;
  Time last_end = 0;
  double busy_device_seconds = 0;
  double normalized_work = 0;  // device-seconds weighted by the throughput matrix
  int64_t passes = 0;
  int64_t starts = 0;
  int64_t preemptions = 0;
  int64_t node_failures = 0;
  int64_t restarts = 0;                 // runs ended by a failure and started again
  std::vector<double> restart_latency;  // failure to restart, seconds of simulated time
  std::vector<double> pass_seconds;     // wall time of each pass that examined jobs
  double schedule_wall_seconds = 0;
  double total_wall_seconds = 0;
  int64_t quota_violations = 0;
  double fairness_sum = 0;  // Jain over backlogged groups, summed over samples
  int64_t fairness_samples = 0;
  double fragmentation_sum = 0;  // free share of capacity while jobs wait, per sample
  int64_t fragmentation_samples = 0;
  int64_t emergency_jobs = 0;
  int64_t emergency_started_in_first_pass = 0;  // in the first pass after their submission
  int64_t devenv_warnings = 0;                  // idle development environments warned
  std::vector<Accounting::Line> accounting;
  std::vector<std::string> invariant_errors;
};

SimResult simulate(const Cluster &cluster, const ThroughputMatrix &throughput,
                   const SchedulerConfig &config, const std::vector<SimJob> &jobs,
                   const std::vector<NodeFailure> &failures, const SimOptions &options,
                   const std::string &policy_name = "");

}  // namespace xpool::sched
