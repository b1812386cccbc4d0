// The job trace format (CSV) and the cluster description (JSON). Text in, data out: the
// caller reads and writes the files, so the library stays free of I/O.
#pragma once

#include <istream>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "xpool/scheduler/devenv.h"
#include "xpool/scheduler/model.h"
#include "xpool/scheduler/throughput.h"

namespace xpool::sched {

// Bad input: the message names the source, the line and the offending value.
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One trace line, as written (names unresolved).
struct TraceJob {
  int line = 0;
  std::string name;
  Time submit = 0;
  Time duration = 0;  // run time on a reference device (throughput 1.0): the job's work
  int workers = 1;
  int devices_per_worker = 1;
  int fraction_denominator = 1;
  std::string constraint = "any";  // "any", "vendor:amd", "A100" or "A100|H100"
  std::string user;
  std::string group;
  PriorityClass priority = PriorityClass::kNormal;
  std::string job_type = "other";  // throughput-matrix row
  JobKind kind = JobKind::kTraining;
  int cpu_per_worker = 0;
  double memory_gb_per_worker = 0;
  double memory_cap_gb = 0;
  bool preemptible = true;
  Time checkpoint_interval = 0;
  std::optional<Time> expected_duration;
  std::string dataset;
  Affinity affinity = Affinity::kNone;
  // Development environments: when the user works in it (sorted, not overlapping). Empty:
  // no activity, so it is idle from its start.
  std::vector<ActivePeriod> activity;
};

std::vector<TraceJob> parse_trace_csv(std::istream &in, const std::string &source);
std::string write_trace_csv(const std::vector<TraceJob> &jobs);

// A trace job bound to a cluster: ids resolved, ready for the simulator.
struct SimJob {
  JobSpec spec;
  Time submit = 0;
  Time work = 0;  // reference-device seconds (wall seconds for a development environment)
  std::vector<ActivePeriod> activity;
};

// Resolves names against the cluster. Users and groups missing from the cluster are added
// (no quotas, weight 1); workload types missing from the matrix are added (1.0 everywhere);
// an unknown device model or vendor is an error naming the line.
std::vector<SimJob> resolve_trace(const std::vector<TraceJob> &jobs, Cluster &cluster,
                                  ThroughputMatrix &throughput, const std::string &source);

struct ClusterDescription {
  Cluster cluster;
  ThroughputMatrix throughput;
};

// See docs/scheduler.md for the format. Throughput entries override the default table.
ClusterDescription parse_cluster_json(const std::string &text, const std::string &source);

// A failure trace: CSV "time,node,repair_after" with node names.
struct NodeFailure {
  Time time;
  NodeId node;
  Time repair_after;
};
std::vector<NodeFailure> parse_failure_csv(std::istream &in, const std::string &source,
                                           const Cluster &cluster);

}  // namespace xpool::sched
