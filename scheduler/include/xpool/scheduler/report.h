// Reports from a simulation: the summary (JCT and queueing delay per class and group,
// makespan, utilization, fairness, preemptions, restarts, decisions per second), its table,
// and the per-job and timeline files. All return text; the caller writes it.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "xpool/scheduler/simulator.h"

namespace xpool::sched {

struct Stats {
  int64_t count = 0;
  double mean = 0, p50 = 0, p95 = 0, p99 = 0, max = 0;
};
Stats stats_of(std::vector<double> values);

struct Summary {
  std::string policy;
  int64_t jobs = 0, completed = 0, rejected = 0, unfinished = 0, stopped = 0;
  int64_t devenv_warnings = 0;  // idle development environments warned
  Stats jct, queueing;
  std::map<std::string, Stats> jct_by_class, queueing_by_class, jct_by_group, queueing_by_group;
  double makespan = 0;
  double utilization = 0;          // busy device-seconds / (capacity x makespan)
  double normalized_work = 0;      // throughput-weighted device-seconds
  double normalized_per_busy = 0;  // normalized work per busy device-second
  double fairness = 1;             // mean Jain index across backlogged groups
  int64_t preemptions = 0, node_failures = 0, restarts = 0;
  Stats restart_latency;
  int64_t passes = 0, decisions = 0;
  double decisions_per_second = 0;
  Stats pass_ms;
  int64_t quota_violations = 0;
  double fragmentation = 0;  // mean free share of capacity while jobs wait
  int64_t emergency_jobs = 0, emergency_first_pass = 0;
  double total_cost = 0;
  double wall_seconds = 0;
};

Summary summarize(const SimResult &result, const Cluster &cluster);
std::string format_summary(const Summary &s);
// One column per policy, for runs of the same trace.
std::string format_comparison(const std::vector<Summary> &runs);
std::string summary_json(const Summary &s);
std::string jobs_csv(const SimResult &result, const Cluster &cluster);
std::string timeline_csv(const SimResult &result);
std::string timeline_json(const SimResult &result);

}  // namespace xpool::sched
