// The scheduler facade: an event-driven, pure state machine. Callers report events (submit,
// finish, failures, activity) and ask for a scheduling pass; it answers with decisions.
// No I/O, no threads, no clocks: `now` is always passed in, so the same code runs inside the
// control plane and inside the simulator.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "xpool/scheduler/accounting.h"
#include "xpool/scheduler/backfill.h"
#include "xpool/scheduler/cluster_state.h"
#include "xpool/scheduler/devenv.h"
#include "xpool/scheduler/hetero.h"
#include "xpool/scheduler/model.h"
#include "xpool/scheduler/ordering.h"
#include "xpool/scheduler/placement.h"
#include "xpool/scheduler/preemption.h"
#include "xpool/scheduler/quota.h"
#include "xpool/scheduler/throughput.h"

namespace xpool::sched {

struct SchedulerConfig {
  bool quotas = true;      // admission against quotas (off: only capacity counts)
  bool priorities = true;  // emergency queue and priority classes (off: submit order)
  FairShareMode fair_share = FairShareMode::kDominantResourceFairness;
  bool backfill = true;
  // Head-of-line blocking: the first job in order that waits for capacity ends the pass, so no
  // job behind it starts (the textbook FIFO, Slurm's builtin scheduler without backfill, and
  // Gavel's FIFO baseline). Off, a job that does not fit is skipped and later ones may start
  // in any hole, with no reservation protecting the skipped one.
  bool strict_order = false;
  bool preemption = true;
  // A gang a failure ended on some of its nodes is planned before the fair-share order (after
  // emergencies) and takes the reservation until it restarts: the nodes it survived on are
  // free at that moment, so its shadow time is the drain or repair of the few nodes it lost,
  // not of a whole gang's nodes (see docs/scheduler.md, policy 7).
  bool failed_gangs_first = true;
  ModelChoice model_choice = ModelChoice::kHeterogeneityAware;
  HeteroOptions hetero;
  PlacementOptions placement;
  DevEnvPolicy devenv;
  int max_jobs_per_pass = 0;  // 0: every waiting job is considered
  int max_preemption_attempts_per_pass = 32;
  int max_victim_candidates = 1024;
};

// "xpool" (every policy), "fifo" (type-blind strict FIFO baseline), "greedy" (type-blind, submit
// order, skipping what does not fit), "fastest" (fastest free device type, otherwise like
// greedy), "drf", "wrr". Throws std::invalid_argument on other names.
SchedulerConfig policy_preset(const std::string &name);

enum class JobState : uint8_t { kWaiting, kRunning, kFinished, kRejected, kStopped, kCancelled };

struct WaitReason {
  enum class Kind : uint8_t {
    kNone,
    kQuota,
    kCapacity,
    kReservation,
    kDeclined,
    kFasterSoon,
    kNotConsidered
  };
  Kind kind = Kind::kNotConsidered;
  QuotaCheck quota;
  ModelId model = -1;
  int64_t need_milli = 0;
  int64_t free_milli = 0;
  Time until = 0;
};

struct JobRecord {
  JobSpec spec;
  std::vector<ModelId> allowed;
  JobState state = JobState::kWaiting;
  Placement placement;
  Time submit = 0;
  Time queued_since = 0;
  Time first_start = -1;
  Time run_start = -1;
  Time last_activity = 0;
  int runs = 0;
  int preemptions = 0;
  int failures = 0;
  bool head = false;           // requeued at the head of its class
  bool restart_claim = false;  // a failure ended it on part of its nodes (failed_gangs_first)
  bool borrowing = false;
  bool warned = false;
  WaitReason reason;
  std::string reject_reason;
  QueueKey key{};
  int32_t running_pos = -1;
  std::multiset<std::pair<Time, int64_t>>::iterator release;  // in releases_ while running
};

struct StartDecision {
  JobId job;
  ModelId model;
  int nodes;
  bool backfilled;  // started while a reservation was held for another job
  bool borrowing;   // beyond its group's guaranteed quota
};

struct PreemptDecision {
  JobId victim;
  JobId beneficiary;
  PreemptionCause cause;
  double lost_work;  // device-seconds since the victim's last checkpoint
};

struct DevEnvDecision {
  JobId job;
  DevEnvAction action;
  std::string message;
};

struct Decisions {
  std::vector<StartDecision> starts;
  std::vector<PreemptDecision> preemptions;
  std::vector<DevEnvDecision> devenv;
  Reservation reservation;
  int64_t examined = 0;
};

struct SubmitResult {
  JobId job = -1;
  bool accepted = false;
  std::string reason;  // why it was rejected
};

struct FailureResult {
  std::vector<JobId> requeued;
};

class Scheduler {
 public:
  Scheduler(Cluster cluster, ThroughputMatrix throughput, SchedulerConfig config);
  Scheduler(const Scheduler &) = delete;
  Scheduler &operator=(const Scheduler &) = delete;

  SubmitResult submit(JobSpec job, Time now);
  void finish(JobId job, Time now);
  void cancel(JobId job, Time now);
  FailureResult fail_node(NodeId node, Time now);
  FailureResult fail_device(DeviceId device, Time now);
  void repair_node(NodeId node);
  void repair_device(DeviceId device);
  void record_activity(JobId job, Time now);  // a development environment was used
  Decisions schedule(Time now);

  std::string wait_reason(JobId job) const;
  const JobRecord &job(JobId id) const { return jobs_[size_t(id)]; }
  size_t job_count() const { return jobs_.size(); }
  size_t waiting_count() const { return waiting_; }
  size_t running_count() const { return running_.size(); }
  const std::vector<JobId> &running_jobs() const { return running_; }
  const Cluster &cluster() const { return cluster_; }
  const ClusterState &state() const { return state_; }
  const QuotaBook &quotas() const { return quotas_; }
  const Accounting &accounting() const { return accounting_; }
  const ThroughputMatrix &throughput() const { return throughput_; }
  const SchedulerConfig &config() const { return config_; }
  double dominant_share(GroupId g) const { return fair_.dominant_share(quotas_, g); }
  // Groups with waiting jobs.
  std::vector<GroupId> backlogged_groups() const;
  // Every invariant: no device or node oversubscribed, indexes right, quota usage equal to
  // the sum of running jobs and never above a maximum. Empty when all hold (for tests).
  std::vector<std::string> check_invariants() const;

 private:
  struct PassContext;
  JobQueue &queue_of(const JobRecord &rec);
  void enqueue(JobId id, Time now, bool head);
  bool consider(JobId id, PassContext &ctx);
  bool consider_job(JobId id, PassContext &ctx);
  bool cannot_start(const QueueKey &key, const PassContext &ctx) const;
  bool try_preempt(JobId id, const std::vector<ModelId> &order, PassContext &ctx);
  void start(JobId id, Placement p, PassContext &ctx);
  void end_run(JobId id, Time now, bool release_capacity = true);
  void make_reservation(JobId id, const std::vector<ModelId> &models, PassContext &ctx);
  bool make_node_reservation(JobId id, const std::vector<ModelId> &models, PassContext &ctx);
  void node_drains(ModelId m, Time now, size_t limit, std::vector<NodeDrain> &out) const;
  // Whether only the devices held for a node-aware reservation keep the job from fitting.
  bool held_back(const JobSpec &s, ModelId m, const PassContext &ctx) const;
  void release_held(PassContext &ctx);
  void rehold(PassContext &ctx);
  std::string check_never_fits(const JobRecord &rec) const;
  // Requeues a job a failure ended on `lost` (a node); see SchedulerConfig::failed_gangs_first.
  void requeue_failed(JobId id, NodeId lost, Time now);
  // Heterogeneity-aware: a faster allowed model whose devices are expected free soon enough
  // that the job finishes sooner by waiting for it than by starting on `m` now (-1: none).
  ModelId sooner_elsewhere(const JobRecord &rec, ModelId m, const std::vector<ModelId> &order,
                           Time now, Time *until) const;

  Cluster cluster_;
  ThroughputMatrix throughput_;
  SchedulerConfig config_;
  ClusterState state_;
  QuotaBook quotas_;
  Accounting accounting_;
  FairShare fair_;
  ModelRanker ranker_;
  std::vector<JobRecord> jobs_;
  std::vector<JobQueue> group_queues_;
  JobQueue emergency_;
  size_t waiting_ = 0;
  std::vector<int64_t> waiting_with_choice_per_type_;
  std::vector<JobId> running_;
  std::vector<std::vector<JobId>> node_jobs_;
  std::vector<int> devenvs_per_user_;
  int running_devenvs_ = 0;
  // The job holding the reservation keeps it from pass to pass until it starts, so that a
  // large gang is not overtaken forever while the order among groups shifts.
  JobId reserved_ = -1;
  // A failed gang takes the reservation ahead of its holder; the holder gets it back (it is
  // planned first again) once the gang has restarted.
  JobId displaced_ = -1;
  // Jobs with restart_claim, in failure order (started or cancelled ones are dropped lazily).
  std::vector<JobId> restarts_;
  // Expected (end, milli) of the running jobs per device model, kept sorted as jobs start and
  // end, so that a reservation's shadow time reads only the first few.
  std::vector<std::multiset<std::pair<Time, int64_t>>> releases_;
  // Scratch of the node-aware reservation (kept between passes for its capacity).
  std::vector<NodeDrain> drain_scratch_[2];
};

}  // namespace xpool::sched
