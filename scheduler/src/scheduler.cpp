#include "xpool/scheduler/scheduler.h"

#include <algorithm>
#include <queue>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

namespace xpool::sched {

SchedulerConfig policy_preset(const std::string &name) {
  SchedulerConfig c;
  if (name == "xpool" || name == "drf") return c;
  if (name == "wrr") {
    c.fair_share = FairShareMode::kWeightedRoundRobin;
    return c;
  }
  if (name == "fifo" || name == "greedy" || name == "fastest") {
    c.priorities = false;
    c.fair_share = FairShareMode::kNone;
    c.backfill = false;
    c.preemption = false;
    c.failed_gangs_first = false;
    c.strict_order = name == "fifo";
    c.model_choice = name == "fastest" ? ModelChoice::kFastestFree : ModelChoice::kTypeBlind;
    return c;
  }
  throw std::invalid_argument("unknown policy '" + name +
                              "' (expected xpool, drf, wrr, fifo, greedy or fastest)");
}

namespace {

// Whether a placement released earlier can be taken again exactly as it was (several
// workers may share a node or a card, so the needs are summed first).
bool can_allocate(const ClusterState &state, const Placement &p) {
  std::vector<std::pair<NodeId, int>> nodes;
  std::vector<std::pair<DeviceId, int>> devices;
  for (const WorkerSlot &w : p.workers) {
    nodes.push_back({w.node, 1});
    for (auto [d, milli] : w.devices) devices.push_back({d, milli});
  }
  std::sort(nodes.begin(), nodes.end());
  std::sort(devices.begin(), devices.end());
  for (size_t i = 0; i < nodes.size();) {
    size_t j = i;
    while (j < nodes.size() && nodes[j].first == nodes[i].first) ++j;
    const auto &node = state.node(nodes[i].first);
    const int64_t workers = int64_t(j - i);
    if (!node.healthy || node.cpu_free < workers * p.cpu_per_worker ||
        node.memory_free_mb < workers * p.memory_mb_per_worker)
      return false;
    i = j;
  }
  for (size_t i = 0; i < devices.size();) {
    size_t j = i;
    int milli = 0;
    while (j < devices.size() && devices[j].first == devices[i].first) milli += devices[j++].second;
    const auto &dev = state.device(devices[i].first);
    if (!dev.healthy || dev.free_milli < milli || dev.tenants + int(j - i) > dev.share_count ||
        (p.memory_cap_mb > 0 &&
         dev.memory_mb - dev.memory_used_mb < int64_t(j - i) * p.memory_cap_mb))
      return false;
    i = j;
  }
  return true;
}

std::vector<int64_t> capacity_per_resource(const Cluster &cluster, const ClusterState &state) {
  std::vector<int64_t> cap(cluster.resource_count(), 0);
  for (size_t m = 0; m < cluster.models.size(); ++m) cap[m] = state.capacity_milli(ModelId(m));
  cap[cluster.any_resource()] = state.total_capacity_milli();
  cap[cluster.cpu_resource()] = state.total_cpu();
  cap[cluster.memory_resource()] = state.total_memory_mb();
  return cap;
}

}  // namespace

struct Scheduler::PassContext {
  Time now;
  Decisions *decisions;
  Reservation reservation;
  std::vector<JobId> requeue_after;  // victims go back to the queues after the pass
  int preemption_attempts = 0;
  std::vector<ModelId> order;  // scratch
  // Within a pass capacity only shrinks (preemption aside), so a job shape that failed to
  // place on a model fails again: remembering it keeps a pass over 100,000 jobs cheap.
  std::unordered_set<uint64_t> failed_shapes;
  // Preemption attempts that found no way, by (model, cause/group): the smallest demand.
  std::unordered_map<uint64_t, int64_t> failed_preemptions;
  int reservation_attempts = 0;
  // Preemptible running jobs per model, least lost work first: built once per pass for the
  // models a preemption is tried on.
  std::vector<std::vector<VictimCandidate>> victims;
  std::vector<char> victims_built;
  // Groups using less than some guarantee at the start of the pass: their jobs may reclaim.
  std::vector<char> may_reclaim;
  // Node-aware reservation: the free devices of the reserved nodes, taken for the pass so
  // that jobs outlasting the shadow time cannot fragment them again. Lent to jobs expected
  // to end before the shadow time (a bounded number per pass).
  Placement held;
  bool held_taken = false;
  bool lending = false;
  int lend_attempts = 0;
};

namespace {

// Jobs lent the devices a node-aware reservation holds, per pass (each lend releases and
// takes back the held devices).
constexpr int kMaxLendsPerPass = 32;
// Nodes of one model a node-aware reservation reads (at least 4 per worker of the gang).
constexpr size_t kDrainScanLimit = 256;
// Marks shapes tried with the held devices lent (more capacity than for the others).
constexpr uint64_t kLendShape = 0x5bd1e9955bd1e995ULL;

uint64_t mix(uint64_t h, uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  return h;
}

// Everything that decides whether a job can be placed (not where it prefers).
uint64_t shape_base(const JobSpec &s) {
  uint64_t h = 0x1234567;
  h = mix(h, uint64_t(s.workers));
  h = mix(h, uint64_t(s.devices_per_worker));
  h = mix(h, uint64_t(s.fraction_denominator));
  h = mix(h, uint64_t(s.memory_cap_mb));
  h = mix(h, uint64_t(s.cpu_per_worker));
  h = mix(h, uint64_t(s.memory_mb_per_worker));
  h = mix(h, uint64_t(s.affinity));
  return h;
}

uint64_t shape_key(uint64_t base, ModelId m) {
  return mix(base, uint64_t(m) + 1);
}
uint64_t shape_key(const JobSpec &s, ModelId m) {
  return shape_key(shape_base(s), m);
}

}  // namespace

Scheduler::Scheduler(Cluster cluster, ThroughputMatrix throughput, SchedulerConfig config)
    : cluster_(std::move(cluster)),
      throughput_(std::move(throughput)),
      config_(config),
      state_(cluster_),
      quotas_(cluster_),
      accounting_(cluster_),
      fair_(config.fair_share, cluster_, capacity_per_resource(cluster_, state_)),
      ranker_(config.model_choice, config.hetero) {
  if (throughput_.model_count() != cluster_.models.size())
    throw std::invalid_argument(
        "throughput matrix has " + std::to_string(throughput_.model_count()) +
        " device models, the cluster " + std::to_string(cluster_.models.size()));
  group_queues_.resize(std::max<size_t>(1, cluster_.groups.size()));
  waiting_with_choice_per_type_.assign(throughput_.type_count(), 0);
  node_jobs_.resize(cluster_.nodes.size());
  devenvs_per_user_.assign(cluster_.users.size(), 0);
  releases_.resize(cluster_.models.size());
}

ModelId Scheduler::sooner_elsewhere(const JobRecord &rec, ModelId m,
                                    const std::vector<ModelId> &order, Time now,
                                    Time *until) const {
  const JobSpec &s = rec.spec;
  if (config_.model_choice != ModelChoice::kHeterogeneityAware || !s.expected_duration ||
      order.size() < 2)
    return -1;
  const double work = *s.expected_duration;
  const double here = throughput_.get(s.workload_type, m);
  for (ModelId other : order) {
    const double there = throughput_.get(s.workload_type, other);
    if (other == m || there <= here) continue;
    const int64_t free = s.fractional() ? state_.free_milli(other)
                                        : int64_t(state_.free_whole(other)) * kMilliPerDevice;
    const auto &rel = releases_[size_t(other)];
    const Time at = shadow_time_sorted(free, s.total_milli(), rel.begin(), rel.end(), now, nullptr);
    // Free now yet not taken (fragmentation, CPU): no promise to wait for.
    if (at <= now || at == kNever) continue;
    if (finishes_sooner(work, here, now, there, at)) {
      *until = at;
      return other;
    }
  }
  return -1;
}

JobQueue &Scheduler::queue_of(const JobRecord &rec) {
  if (config_.priorities && rec.spec.priority == PriorityClass::kEmergency) return emergency_;
  if (config_.fair_share == FairShareMode::kNone) return group_queues_[0];
  return group_queues_[size_t(rec.spec.group)];
}

void Scheduler::enqueue(JobId id, Time now, bool head) {
  JobRecord &rec = jobs_[size_t(id)];
  rec.state = JobState::kWaiting;
  rec.head = head;
  rec.queued_since = now;
  rec.key = QueueKey{config_.priorities ? uint8_t(rec.spec.priority) : uint8_t(0),
                     uint8_t(head && config_.priorities ? 1 : 0), rec.submit, id};
  const JobSpec &s = rec.spec;
  rec.key.group = s.group;
  rec.key.user = s.user;
  rec.key.milli = s.total_milli();
  rec.key.cpu = int64_t(s.workers) * s.cpu_per_worker;
  rec.key.memory_mb = int64_t(s.workers) * s.memory_mb_per_worker;
  rec.key.shape = shape_base(s);
  rec.key.expected = s.expected_duration ? *s.expected_duration : kNever;
  rec.key.fractional = s.fractional();
  for (ModelId m : rec.allowed) {
    if (m >= 64) {
      rec.key.allowed_mask = 0;
      break;
    }
    rec.key.allowed_mask |= uint64_t(1) << m;
  }
  queue_of(rec).insert(rec.key);
  ++waiting_;
  if (rec.allowed.size() > 1) waiting_with_choice_per_type_[size_t(rec.spec.workload_type)]++;
}

std::string Scheduler::check_never_fits(const JobRecord &rec) const {
  const JobSpec &s = rec.spec;
  if (s.total_milli() > 0) {
    // Largest node: a worker (or, with same-node affinity, the gang) must fit on one node.
    const int per_node =
        s.affinity == Affinity::kSameNode || s.affinity == Affinity::kSameTopologyGroup
            ? s.workers * s.devices_per_worker
            : s.devices_per_worker;
    bool node_ok = false, capacity_ok = false, quota_ok = false;
    int largest = 0;
    QuotaCheck first_quota;
    for (ModelId m : rec.allowed) {
      largest = std::max(largest, state_.max_per_node(m));
      if (s.fractional() ? state_.max_share_count(m) > 1 : state_.max_per_node(m) >= per_node)
        node_ok = true;
      if (state_.capacity_milli(m) >= s.total_milli()) capacity_ok = true;
      if (!config_.quotas) {
        quota_ok = true;
        continue;
      }
      QuotaCheck q = quotas_.check_max(s.user, s.group, demand_of(s, m), true);
      if (q.ok)
        quota_ok = true;
      else if (first_quota.ok)
        first_quota = q;
    }
    if (!node_ok && s.fractional())
      return "needs a fraction of a card, and no card of the allowed models is shareable";
    if (!node_ok)
      return "needs " + std::to_string(per_node) + " devices on one node; the largest node has " +
             std::to_string(largest);
    if (!capacity_ok)
      return "needs " + format_devices(s.total_milli()) +
             " devices; the cluster has fewer of the allowed models";
    if (!quota_ok) return "exceeds the maximum quota: " + quotas_.describe(first_quota);
  }
  if (s.cpu_per_worker > state_.max_node_cpu())
    return "needs " + std::to_string(s.cpu_per_worker) +
           " CPU cores per worker; the largest node has " + std::to_string(state_.max_node_cpu());
  if (s.memory_mb_per_worker > state_.max_node_memory_mb())
    return "needs " + std::to_string(s.memory_mb_per_worker) +
           " MB memory per worker; the largest node has " +
           std::to_string(state_.max_node_memory_mb());
  if (config_.quotas) {
    QuotaCheck q = quotas_.check_max(s.user, s.group, demand_of(s, -1), true);
    if (!q.ok) return "exceeds the maximum quota: " + quotas_.describe(q);
  }
  return {};
}

SubmitResult Scheduler::submit(JobSpec spec, Time now) {
  JobRecord rec;
  rec.submit = now;
  rec.queued_since = now;
  rec.last_activity = now;
  const JobId id = JobId(jobs_.size());
  auto reject = [&](std::string why) {
    rec.state = JobState::kRejected;
    rec.reject_reason = why;
    rec.spec = std::move(spec);
    jobs_.push_back(std::move(rec));
    return SubmitResult{id, false, jobs_.back().reject_reason};
  };
  if (spec.user < 0 || size_t(spec.user) >= cluster_.users.size()) return reject("unknown user");
  if (spec.group < 0 || size_t(spec.group) >= cluster_.groups.size())
    return reject("unknown group");
  if (spec.workers < 1) return reject("a job needs at least one worker");
  if (spec.devices_per_worker < 0) return reject("negative devices per worker");
  if (spec.fractional() && spec.devices_per_worker != 1)
    return reject("a fractional worker takes a fraction of exactly one device");
  if (spec.workload_type < 0 || size_t(spec.workload_type) >= throughput_.type_count())
    spec.workload_type = 0;
  switch (spec.constraint.kind) {
    case DeviceConstraint::Kind::kAny:
      for (size_t m = 0; m < cluster_.models.size(); ++m) rec.allowed.push_back(ModelId(m));
      break;
    case DeviceConstraint::Kind::kVendor:
      for (size_t m = 0; m < cluster_.models.size(); ++m)
        if (cluster_.models[m].vendor == spec.constraint.vendor) rec.allowed.push_back(ModelId(m));
      break;
    case DeviceConstraint::Kind::kModels:
      for (ModelId m : spec.constraint.models)
        if (m >= 0 && size_t(m) < cluster_.models.size()) rec.allowed.push_back(m);
      break;
  }
  if (spec.total_milli() > 0 && rec.allowed.empty())
    return reject("no device model in the cluster matches the job's device constraint");
  if (spec.total_milli() == 0) rec.allowed.clear();
  if (spec.priority == PriorityClass::kEmergency && config_.priorities &&
      !cluster_.users[size_t(spec.user)].may_use_emergency)
    return reject("user " + cluster_.users[size_t(spec.user)].name +
                  " has not been granted the right to submit emergency jobs");
  if (spec.kind == JobKind::kDevEnvironment && config_.devenv.max_per_user > 0 &&
      devenvs_per_user_[size_t(spec.user)] >= config_.devenv.max_per_user)
    return reject("user " + cluster_.users[size_t(spec.user)].name + " already has " +
                  std::to_string(devenvs_per_user_[size_t(spec.user)]) +
                  " development environments (limit " +
                  std::to_string(config_.devenv.max_per_user) + ")");
  rec.spec = std::move(spec);
  if (std::string why = check_never_fits(rec); !why.empty()) {
    rec.state = JobState::kRejected;
    rec.reject_reason = why;
    jobs_.push_back(std::move(rec));
    return SubmitResult{id, false, why};
  }
  if (rec.spec.kind == JobKind::kDevEnvironment) devenvs_per_user_[size_t(rec.spec.user)]++;
  jobs_.push_back(std::move(rec));
  enqueue(id, now, false);
  return SubmitResult{id, true, {}};
}

void Scheduler::start(JobId id, Placement p, PassContext &ctx) {
  JobRecord &rec = jobs_[size_t(id)];
  if (ctx.reservation.active && ctx.reservation.job != id &&
      outlasts_reservation(ctx.reservation, p.model, ctx.now, rec.spec.expected_duration))
    ctx.reservation.spare_milli -= rec.spec.total_milli();
  const Demand d = demand_of(rec.spec, p.model);
  rec.borrowing = p.model >= 0 && !quotas_.within_guarantee(rec.spec.group, d);
  quotas_.add(rec.spec.user, rec.spec.group, d);
  rec.placement = std::move(p);
  rec.state = JobState::kRunning;
  rec.run_start = ctx.now;
  if (rec.first_start < 0) rec.first_start = ctx.now;
  rec.last_activity = ctx.now;
  rec.warned = false;
  rec.restart_claim = false;
  rec.runs++;
  rec.running_pos = int32_t(running_.size());
  running_.push_back(id);
  if (rec.placement.model >= 0)
    rec.release = releases_[size_t(rec.placement.model)].insert(
        {rec.spec.expected_duration ? ctx.now + *rec.spec.expected_duration : kNever,
         rec.spec.total_milli()});
  for (const WorkerSlot &w : rec.placement.workers) {
    auto &nj = node_jobs_[size_t(w.node)];
    if (std::find(nj.begin(), nj.end(), id) == nj.end()) nj.push_back(id);
  }
  --waiting_;
  if (rec.allowed.size() > 1) waiting_with_choice_per_type_[size_t(rec.spec.workload_type)]--;
  if (rec.spec.kind == JobKind::kDevEnvironment) ++running_devenvs_;
  fair_.on_start(rec.spec.group);
  ctx.decisions->starts.push_back(StartDecision{id, rec.placement.model, rec.placement.node_count(),
                                                ctx.reservation.active, rec.borrowing});
}

void Scheduler::end_run(JobId id, Time now, bool release_capacity) {
  JobRecord &rec = jobs_[size_t(id)];
  if (release_capacity) {
    state_.release(rec.placement);
    quotas_.remove(rec.spec.user, rec.spec.group, demand_of(rec.spec, rec.placement.model));
  }
  accounting_.record(rec.spec.user, rec.spec.group, rec.placement.model, rec.spec.total_milli(),
                     now - rec.run_start);
  if (rec.placement.model >= 0) releases_[size_t(rec.placement.model)].erase(rec.release);
  const JobId last = running_.back();
  running_[size_t(rec.running_pos)] = last;
  jobs_[size_t(last)].running_pos = rec.running_pos;
  running_.pop_back();
  rec.running_pos = -1;
  for (const WorkerSlot &w : rec.placement.workers) std::erase(node_jobs_[size_t(w.node)], id);
  if (rec.spec.kind == JobKind::kDevEnvironment) --running_devenvs_;
  rec.placement = Placement{};
}

void Scheduler::finish(JobId id, Time now) {
  JobRecord &rec = jobs_[size_t(id)];
  if (rec.state != JobState::kRunning) return;
  end_run(id, now);
  rec.state = JobState::kFinished;
  if (rec.spec.kind == JobKind::kDevEnvironment) devenvs_per_user_[size_t(rec.spec.user)]--;
}

void Scheduler::cancel(JobId id, Time now) {
  JobRecord &rec = jobs_[size_t(id)];
  if (rec.state == JobState::kRunning) {
    end_run(id, now);
  } else if (rec.state == JobState::kWaiting) {
    queue_of(rec).erase(rec.key);
    --waiting_;
    if (rec.allowed.size() > 1) waiting_with_choice_per_type_[size_t(rec.spec.workload_type)]--;
  } else {
    return;
  }
  rec.state = JobState::kCancelled;
  if (rec.spec.kind == JobKind::kDevEnvironment) devenvs_per_user_[size_t(rec.spec.user)]--;
}

FailureResult Scheduler::fail_node(NodeId node, Time now) {
  FailureResult r;
  // Out of the indexes first, so that what its jobs release there is not offered again.
  state_.set_node_health(node, false);
  std::vector<JobId> victims = node_jobs_[size_t(node)];
  for (JobId id : victims) {
    requeue_failed(id, node, now);
    r.requeued.push_back(id);
  }
  return r;
}

void Scheduler::requeue_failed(JobId id, NodeId lost, Time now) {
  JobRecord &rec = jobs_[size_t(id)];
  bool survived = false;  // some of its nodes are still healthy
  for (const WorkerSlot &w : rec.placement.workers) survived |= w.node != lost;
  end_run(id, now);
  rec.failures++;
  // Checkpointing jobs resume from their last checkpoint at the head of their class; the
  // others restart from scratch in their original place in the queue.
  enqueue(id, now, rec.spec.checkpoint_interval > 0);
  if (config_.failed_gangs_first && survived && !rec.restart_claim) {
    rec.restart_claim = true;
    restarts_.push_back(id);
  }
}

FailureResult Scheduler::fail_device(DeviceId device, Time now) {
  FailureResult r;
  state_.set_device_health(device, false);
  const NodeId node = state_.device(device).node;
  std::vector<JobId> on_node = node_jobs_[size_t(node)];
  for (JobId id : on_node) {
    JobRecord &rec = jobs_[size_t(id)];
    bool uses = false;
    for (const WorkerSlot &w : rec.placement.workers)
      for (auto [d, milli] : w.devices) uses |= d == device;
    if (!uses) continue;
    requeue_failed(id, node, now);
    r.requeued.push_back(id);
  }
  return r;
}

void Scheduler::repair_node(NodeId node) {
  state_.set_node_health(node, true);
}
void Scheduler::repair_device(DeviceId device) {
  state_.set_device_health(device, true);
}

void Scheduler::record_activity(JobId id, Time now) {
  JobRecord &rec = jobs_[size_t(id)];
  rec.last_activity = now;
  rec.warned = false;
}

std::vector<GroupId> Scheduler::backlogged_groups() const {
  std::vector<char> seen(cluster_.groups.size(), 0);
  for (const auto &q : group_queues_)
    q.for_each([&](const QueueKey &k) { seen[size_t(k.group)] = 1; });
  emergency_.for_each([&](const QueueKey &k) { seen[size_t(k.group)] = 1; });
  std::vector<GroupId> out;
  for (size_t g = 0; g < seen.size(); ++g)
    if (seen[g]) out.push_back(GroupId(g));
  return out;
}

void Scheduler::node_drains(ModelId m, Time now, size_t limit, std::vector<NodeDrain> &out) const {
  // `out` is reused from call to call: its per-node vectors keep their capacity.
  size_t count = 0;
  std::vector<int> pos;
  // The nodes with the most free devices first; at most `limit` of them (bounds the cost on
  // a 10,000-node cluster, like PlacementOptions::scan_limit).
  for (int k = state_.max_per_node(m); k >= 0 && count < limit; --k)
    for (NodeId n : state_.bucket(m, k)) {
      if (count >= limit) break;
      const auto &node = state_.node(n);
      if (!node.healthy) continue;
      if (count == out.size()) out.emplace_back();
      NodeDrain &d = out[count++];
      d.node = n;
      d.device_free.clear();
      pos.assign(size_t(node.device_count), -1);
      for (int i = 0; i < node.device_count; ++i) {
        const auto &dev = state_.device(node.first_device + i);
        if (dev.model != m || !dev.healthy) continue;
        pos[size_t(i)] = int(d.device_free.size());
        d.device_free.push_back(dev.free_milli == kMilliPerDevice ? now : -1);
      }
      for (JobId id : node_jobs_[size_t(n)]) {
        const JobRecord &run = jobs_[size_t(id)];
        if (run.placement.model != m) continue;
        Time t = run.release->first;
        // A job past its expected end still holds its devices now.
        if (t != kNever) t = std::max(t, now + 1);
        for (const WorkerSlot &w : run.placement.workers) {
          if (w.node != n) continue;
          for (auto [dv, milli] : w.devices) {
            const int p = pos[size_t(dv - node.first_device)];
            if (p >= 0) d.device_free[size_t(p)] = std::max(d.device_free[size_t(p)], t);
          }
        }
      }
      for (Time &t : d.device_free)
        if (t < 0) t = kNever;
    }
  out.resize(count);
}

bool Scheduler::held_back(const JobSpec &s, ModelId m, const PassContext &ctx) const {
  if (!ctx.held_taken || m != ctx.held.model || s.fractional() || ctx.reservation.job < 0)
    return false;
  int64_t held = 0;
  for (const WorkerSlot &w : ctx.held.workers) held += int64_t(w.devices.size());
  return (int64_t(state_.free_whole(m)) + held) * kMilliPerDevice >= s.total_milli();
}

void Scheduler::release_held(PassContext &ctx) {
  if (!ctx.held_taken) return;
  state_.release(ctx.held);
  ctx.held_taken = false;
}

void Scheduler::rehold(PassContext &ctx) {
  if (ctx.held_taken || ctx.held.empty()) return;
  // What a job lent the devices took stays with it; the rest is held again.
  Placement p;
  p.model = ctx.held.model;
  for (const WorkerSlot &w : ctx.held.workers) {
    WorkerSlot slot;
    slot.node = w.node;
    for (auto [d, milli] : w.devices) {
      const auto &dev = state_.device(d);
      if (dev.healthy && state_.node(w.node).healthy && dev.free_milli == kMilliPerDevice)
        slot.devices.push_back({d, kMilliPerDevice});
    }
    if (!slot.devices.empty()) p.workers.push_back(std::move(slot));
  }
  ctx.held = std::move(p);
  if (ctx.held.empty()) return;
  state_.allocate(ctx.held);
  ctx.held_taken = true;
}

// Gangs of multi-device workers need whole free devices on few nodes: counting devices per
// model says when enough are free, not where. The reservation instead picks the nodes that
// drain first (from the expected ends of the jobs on each node) and holds their free devices
// for the pass, so that jobs outlasting the shadow time go elsewhere. Returns false when it
// cannot tell (no known ends): the count-based reservation is used then.
bool Scheduler::make_node_reservation(JobId id, const std::vector<ModelId> &models,
                                      PassContext &ctx) {
  const JobSpec &s = jobs_[size_t(id)].spec;
  const bool same_node = s.affinity == Affinity::kSameNode;
  const int workers = same_node ? 1 : s.workers;
  const int per = same_node ? s.workers * s.devices_per_worker : s.devices_per_worker;
  // Counting devices gives a lower bound of the node-aware shadow time: models are read in
  // that order, and one whose bound is not earlier than the best found is not read at all.
  std::vector<std::pair<Time, ModelId>> bounds;
  for (ModelId m : models) {
    if (per > state_.max_per_node(m)) continue;
    const auto &rel = releases_[size_t(m)];
    const Time bound =
        shadow_time_sorted(int64_t(state_.free_whole(m)) * kMilliPerDevice, s.total_milli(),
                           rel.begin(), rel.end(), ctx.now, nullptr);
    if (bound != kNever) bounds.push_back({bound, m});
  }
  std::sort(bounds.begin(), bounds.end());
  ModelId best = -1;
  Time best_t = kNever;
  std::vector<std::pair<NodeId, int>> best_nodes, chosen;
  std::vector<NodeDrain> &drains = drain_scratch_[0], &best_drains = drain_scratch_[1];
  for (auto [bound, m] : bounds) {
    if (best >= 0 && bound >= best_t) break;
    node_drains(m, ctx.now, std::max<size_t>(kDrainScanLimit, 4 * size_t(workers)), drains);
    const Time t =
        node_shadow_time(drains, workers, per, s.affinity == Affinity::kSpread, ctx.now, &chosen);
    if (t < best_t) {
      best = m;
      best_t = t;
      best_nodes = chosen;
      std::swap(drains, best_drains);
    }
  }
  if (best < 0) return false;
  Reservation &r = ctx.reservation;
  r = Reservation{};
  // Devices are free on enough nodes now, yet the job did not fit (CPU or memory): holding
  // others back would not help it.
  if (best_t <= ctx.now) return true;
  r.active = true;
  r.job = id;
  r.models = {best};
  r.start = best_t;
  r.spare_milli = INT64_MAX / 4;  // outside the held devices, nothing is owed to the job
  ctx.held = Placement{};
  ctx.held.model = best;
  for (auto [n, w] : best_nodes) {
    r.nodes.push_back(n);
    const auto &node = state_.node(n);
    WorkerSlot slot;
    slot.node = n;
    // Devices busy now but free by the shadow time count towards the job's need there; only
    // the rest is held from the free ones, and what is left over stays usable (the spare).
    int freeing = 0;
    for (const NodeDrain &d : best_drains)
      if (d.node == n)
        for (Time t : d.device_free) freeing += t > ctx.now && t <= best_t ? 1 : 0;
    int want = w * per - freeing;
    for (int i = 0; i < node.device_count && want > 0; ++i) {
      const DeviceId d = node.first_device + i;
      const auto &dev = state_.device(d);
      if (dev.model != best || !dev.healthy || dev.free_milli != kMilliPerDevice) continue;
      slot.devices.push_back({d, kMilliPerDevice});
      --want;
    }
    if (!slot.devices.empty()) ctx.held.workers.push_back(std::move(slot));
  }
  if (!ctx.held.empty()) {
    state_.allocate(ctx.held);
    ctx.held_taken = true;
  }
  return true;
}

void Scheduler::make_reservation(JobId id, const std::vector<ModelId> &models, PassContext &ctx) {
  const JobRecord &rec = jobs_[size_t(id)];
  if (!rec.spec.fractional() && rec.spec.devices_per_worker >= 2 &&
      rec.spec.affinity != Affinity::kSameTopologyGroup && make_node_reservation(id, models, ctx))
    return;
  Reservation &r = ctx.reservation;
  r.active = true;
  r.job = id;
  r.models = models;
  r.start = kNever;
  // The reservation is on the model where the job is expected to fit first.
  ModelId best = -1;
  for (ModelId m : models) {
    const int64_t free = rec.spec.fractional() ? state_.free_milli(m)
                                               : int64_t(state_.free_whole(m)) * kMilliPerDevice;
    int64_t spare = 0;
    const auto &rel = releases_[size_t(m)];
    const Time t =
        shadow_time_sorted(free, rec.spec.total_milli(), rel.begin(), rel.end(), ctx.now, &spare);
    if (best < 0 || t < r.start) {
      best = m;
      r.start = t;
      r.spare_milli = spare;
    }
  }
  r.models = {best};
  // Enough devices are free now, yet the job did not fit (fragmentation, CPU or memory):
  // holding others back would not help it. Nor would a reservation nobody can release.
  const bool any_release = best >= 0 && !releases_[size_t(best)].empty();
  if (r.start <= ctx.now || (r.start == kNever && !any_release)) r = Reservation{};
}

bool Scheduler::try_preempt(JobId id, const std::vector<ModelId> &order, PassContext &ctx) {
  JobRecord &rec = jobs_[size_t(id)];
  const bool emergency = config_.priorities && rec.spec.priority == PriorityClass::kEmergency;
  // Reclaims are tried a bounded number of times per pass; emergencies always.
  if (!emergency && ctx.preemption_attempts >= config_.max_preemption_attempts_per_pass)
    return false;
  for (ModelId m : order) {
    const Demand dm = demand_of(rec.spec, m);
    const bool reclaim =
        !emergency && config_.quotas && quotas_.within_guarantee(rec.spec.group, dm);
    if (!emergency && !reclaim) continue;
    const uint64_t memo = mix(uint64_t(m), emergency ? ~0ULL : uint64_t(rec.spec.group));
    if (auto f = ctx.failed_preemptions.find(memo);
        f != ctx.failed_preemptions.end() && f->second <= rec.spec.total_milli())
      continue;
    ++ctx.preemption_attempts;
    if (ctx.victims_built.empty()) {
      ctx.victims_built.assign(cluster_.models.size(), 0);
      ctx.victims.resize(cluster_.models.size());
    }
    if (!ctx.victims_built[size_t(m)]) {
      auto &all = ctx.victims[size_t(m)];
      for (JobId rid : running_) {
        const JobRecord &run = jobs_[size_t(rid)];
        // Jobs started in this very pass are not taken back at once.
        if (!run.spec.preemptible || run.placement.model != m || run.run_start == ctx.now) continue;
        if (run.spec.priority == PriorityClass::kEmergency) continue;
        const double lost =
            seconds_since_checkpoint(run.run_start, run.spec.checkpoint_interval, ctx.now) *
            double(run.spec.total_milli()) / kMilliPerDevice;
        all.push_back(
            VictimCandidate{rid, run.spec.total_milli(), lost, run.spec.priority, run.run_start});
      }
      order_victims(all);
      ctx.victims_built[size_t(m)] = 1;
    }
    std::vector<VictimCandidate> candidates;
    for (const VictimCandidate &v : ctx.victims[size_t(m)]) {
      if (int(candidates.size()) >= config_.max_victim_candidates) break;
      const JobRecord &run = jobs_[size_t(v.job)];
      if (run.state != JobState::kRunning || run.run_start == ctx.now)
        continue;  // preempted already
      if (!emergency &&
          (run.spec.group == rec.spec.group || !quotas_.group_borrowing(run.spec.group, size_t(m))))
        continue;
      candidates.push_back(v);
    }
    // Release victims in order until the job fits; then give back those not needed.
    std::vector<VictimCandidate> released;
    std::optional<Placement> placed;
    for (const VictimCandidate &v : candidates) {
      const JobRecord &run = jobs_[size_t(v.job)];
      // A reclaim stops taking from a group once it is back within its guarantee.
      if (!emergency && !quotas_.group_borrowing(run.spec.group, size_t(m))) continue;
      state_.release(run.placement);
      quotas_.remove(run.spec.user, run.spec.group, demand_of(run.spec, m));
      released.push_back(v);
      if (!may_fit(state_, rec.spec, m)) continue;
      if (config_.quotas && !quotas_.check_max(rec.spec.user, rec.spec.group, dm, false).ok) break;
      placed = place_gang(state_, rec.spec, m, config_.placement);
      if (placed) break;
    }
    auto restore = [&](const VictimCandidate &v) {
      const JobRecord &run = jobs_[size_t(v.job)];
      state_.allocate(run.placement);
      quotas_.add(run.spec.user, run.spec.group, demand_of(run.spec, m));
    };
    if (!placed) {
      for (auto it = released.rbegin(); it != released.rend(); ++it) restore(*it);
      auto [f, inserted] = ctx.failed_preemptions.emplace(memo, rec.spec.total_milli());
      if (!inserted) f->second = std::min(f->second, rec.spec.total_milli());
      continue;
    }
    ctx.failed_shapes.clear();  // capacity moved: earlier failures may fit now
    // Victims whose devices the new placement does not use go back where they were.
    std::vector<DeviceId> used;
    for (const WorkerSlot &w : placed->workers)
      for (auto [d, milli] : w.devices) used.push_back(d);
    std::sort(used.begin(), used.end());
    std::vector<VictimCandidate> preempted;
    // The new job's usage counts while deciding whether a victim may come back.
    quotas_.add(rec.spec.user, rec.spec.group, dm);
    for (auto it = released.rbegin(); it != released.rend(); ++it) {
      const JobRecord &run = jobs_[size_t(it->job)];
      bool overlaps = false;
      for (const WorkerSlot &w : run.placement.workers)
        for (auto [d, milli] : w.devices)
          overlaps |= std::binary_search(used.begin(), used.end(), d);
      const bool fits = !overlaps && can_allocate(state_, run.placement);
      if (!overlaps && fits &&
          (!config_.quotas ||
           quotas_.check_max(run.spec.user, run.spec.group, demand_of(run.spec, m), false).ok)) {
        restore(*it);
      } else {
        preempted.push_back(*it);
      }
    }
    quotas_.remove(rec.spec.user, rec.spec.group, dm);
    // Make the victims' release official: accounting, running set, requeue after the pass.
    for (const VictimCandidate &v : preempted) {
      JobRecord &run = jobs_[size_t(v.job)];
      end_run(v.job, ctx.now, /*release_capacity=*/false);  // released above already
      run.preemptions++;
      run.state = JobState::kWaiting;
      ctx.requeue_after.push_back(v.job);
      ctx.decisions->preemptions.push_back(PreemptDecision{
          v.job, id, emergency ? PreemptionCause::kEmergency : PreemptionCause::kQuotaReclaim,
          v.lost_work});
    }
    start(id, std::move(*placed), ctx);
    return true;
  }
  return false;
}

bool Scheduler::cannot_start(const QueueKey &k, const PassContext &ctx) const {
  if (!k.examined || k.allowed_mask == 0 || k.milli == 0) return false;
  if (config_.quotas &&
      !quotas_.check_max(k.user, k.group, Demand{-1, k.milli, k.cpu, k.memory_mb}, false).ok)
    return false;  // consider() records the quota reason
  for (uint64_t mask = k.allowed_mask; mask != 0; mask &= mask - 1) {
    const ModelId m = ModelId(__builtin_ctzll(mask));
    const bool fits = k.fractional ? state_.free_milli(m) >= k.milli
                                   : int64_t(state_.free_whole(m)) * kMilliPerDevice >= k.milli;
    if (fits && !ctx.failed_shapes.count(shape_key(k.shape, m))) return false;
  }
  // Only the devices held for a node-aware reservation are free for it: consider() decides
  // whether it may borrow them (it ends before the shadow time).
  if (ctx.held_taken && !k.fractional && ctx.lend_attempts < kMaxLendsPerPass &&
      k.expected != kNever && ctx.now + k.expected <= ctx.reservation.start &&
      ctx.held.model < 64 && (k.allowed_mask >> ctx.held.model & 1)) {
    int64_t held = 0;
    for (const WorkerSlot &w : ctx.held.workers) held += int64_t(w.devices.size());
    if ((int64_t(state_.free_whole(ctx.held.model)) + held) * kMilliPerDevice >= k.milli)
      return false;
  }
  // No free capacity for it: only preemption or a reservation could still involve it.
  if (config_.preemption &&
      (k.priority == uint8_t(PriorityClass::kEmergency) || ctx.may_reclaim[size_t(k.group)]))
    return false;
  if (config_.backfill && !ctx.reservation.active && ctx.reservation_attempts < 4) return false;
  return true;
}

bool Scheduler::consider(JobId id, PassContext &ctx) {
  if (!ctx.held_taken) return consider_job(id, ctx);
  const JobRecord &rec = jobs_[size_t(id)];
  const JobSpec &s = rec.spec;
  // A job expected to end before the shadow time may use the held devices.
  const bool lend =
      id != ctx.reservation.job && s.total_milli() > 0 && !s.fractional() && s.expected_duration &&
      ctx.now + *s.expected_duration <= ctx.reservation.start &&
      ctx.lend_attempts < kMaxLendsPerPass &&
      std::find(rec.allowed.begin(), rec.allowed.end(), ctx.held.model) != rec.allowed.end();
  if (!lend) return consider_job(id, ctx);
  ++ctx.lend_attempts;
  release_held(ctx);
  ctx.lending = true;
  const bool started = consider_job(id, ctx);
  ctx.lending = false;
  rehold(ctx);
  return started;
}

bool Scheduler::consider_job(JobId id, PassContext &ctx) {
  JobRecord &rec = jobs_[size_t(id)];
  const JobSpec &s = rec.spec;
  ctx.decisions->examined++;
  if (config_.quotas) {
    QuotaCheck q = quotas_.check_max(s.user, s.group, demand_of(s, -1), false);
    if (!q.ok) {
      rec.reason = WaitReason{WaitReason::Kind::kQuota, q, -1, 0, 0, 0};
      return false;
    }
  }
  if (s.total_milli() == 0) {
    if (auto p = place_gang(state_, s, -1, config_.placement)) {
      start(id, std::move(*p), ctx);
      return true;
    }
    rec.reason = WaitReason{WaitReason::Kind::kCapacity, {}, -1, 0, 0, 0};
    return false;
  }
  // Fast path, the common case on a busy cluster: no allowed model has the free devices (or
  // this job shape already failed there in this pass). Ranking and placement are skipped.
  bool any_fit = false;
  for (ModelId m : rec.allowed)
    if (may_fit(state_, s, m) &&
        !ctx.failed_shapes.count(shape_key(s, m) ^ (ctx.lending ? kLendShape : 0))) {
      any_fit = true;
      break;
    }
  if (!any_fit) {
    const ModelId m = rec.allowed.front();
    rec.reason = WaitReason{
        WaitReason::Kind::kCapacity,
        {},
        m,
        s.total_milli(),
        s.fractional() ? state_.free_milli(m) : int64_t(state_.free_whole(m)) * kMilliPerDevice,
        0};
    for (ModelId held : rec.allowed)
      if (held_back(s, held, ctx)) {
        rec.reason =
            WaitReason{WaitReason::Kind::kReservation, {}, held, 0, 0, ctx.reservation.start};
        break;
      }
    if (config_.preemption && try_preempt(id, rec.allowed, ctx)) return true;
    if (config_.backfill && !ctx.reservation.active && ctx.reservation_attempts < 4) {
      ++ctx.reservation_attempts;
      make_reservation(id, rec.allowed, ctx);
    }
    return false;
  }
  ranker_.rank(throughput_, state_, s.workload_type, rec.allowed, ctx.now - rec.queued_since,
               ctx.order, s.workers == 1);
  if (ctx.order.empty()) {
    rec.reason = WaitReason{WaitReason::Kind::kDeclined, {}, -1, 0, 0, 0};
    return false;
  }
  const std::vector<ModelId> &order = ctx.order;  // not touched again until the next job
  bool capacity_blocked = false;
  bool reason_set = false;
  bool declined_set = false;
  for (ModelId m : order) {
    const Demand dm = demand_of(s, m);
    if (config_.quotas) {
      QuotaCheck q = quotas_.check_max(s.user, s.group, dm, false);
      if (!q.ok) {
        if (!reason_set) rec.reason = WaitReason{WaitReason::Kind::kQuota, q, m, 0, 0, 0};
        reason_set = true;
        continue;
      }
    }
    if (ctx.reservation.active && ctx.reservation.job != id &&
        !may_backfill(ctx.reservation, m, ctx.now, s.expected_duration, s.total_milli())) {
      rec.reason = WaitReason{WaitReason::Kind::kReservation, {}, m, 0, 0, ctx.reservation.start};
      reason_set = true;
      continue;
    }
    capacity_blocked = true;
    if (!reason_set)
      rec.reason = WaitReason{
          WaitReason::Kind::kCapacity,
          {},
          m,
          s.total_milli(),
          s.fractional() ? state_.free_milli(m) : int64_t(state_.free_whole(m)) * kMilliPerDevice,
          0};
    reason_set = true;
    if (!may_fit(state_, s, m)) {
      if (held_back(s, m, ctx))
        rec.reason = WaitReason{WaitReason::Kind::kReservation, {}, m, 0, 0, ctx.reservation.start};
      continue;
    }
    const uint64_t shape = shape_key(s, m) ^ (ctx.lending ? kLendShape : 0);
    if (ctx.failed_shapes.count(shape)) continue;
    Time until = 0;
    if (const ModelId faster = sooner_elsewhere(rec, m, order, ctx.now, &until); faster >= 0) {
      if (!declined_set)
        rec.reason = WaitReason{WaitReason::Kind::kFasterSoon, {}, faster, 0, 0, until};
      declined_set = true;
      continue;
    }
    if (auto p = place_gang(state_, s, m, config_.placement)) {
      start(id, std::move(*p), ctx);
      return true;
    }
    ctx.failed_shapes.insert(shape);
  }
  if (!capacity_blocked) return false;
  if (config_.preemption && try_preempt(id, order, ctx)) return true;
  // A few tries per pass: a job blocked by fragmentation rather than by device count gets
  // no reservation, and the next blocked job is tried.
  if (config_.backfill && !ctx.reservation.active && ctx.reservation_attempts < 4) {
    ++ctx.reservation_attempts;
    make_reservation(id, order, ctx);
  }
  return false;
}

Decisions Scheduler::schedule(Time now) {
  Decisions decisions;
  PassContext ctx;
  ctx.now = now;
  ctx.decisions = &decisions;
  // Idle development environments: warn, then stop.
  if (running_devenvs_ > 0) {
    std::vector<JobId> envs;
    for (JobId id : running_)
      if (jobs_[size_t(id)].spec.kind == JobKind::kDevEnvironment) envs.push_back(id);
    for (JobId id : envs) {
      JobRecord &rec = jobs_[size_t(id)];
      const DevEnvAction a = devenv_action(config_.devenv, rec.last_activity, rec.warned, now);
      if (a == DevEnvAction::kWarn) {
        rec.warned = true;
        decisions.devenv.push_back(
            {id, a,
             "idle for " + std::to_string(int64_t(now - rec.last_activity)) + " s; stops after " +
                 std::to_string(int64_t(config_.devenv.idle_stop)) + " s idle"});
      } else if (a == DevEnvAction::kStop) {
        end_run(id, now);
        rec.state = JobState::kStopped;
        devenvs_per_user_[size_t(rec.spec.user)]--;
        decisions.devenv.push_back(
            {id, a,
             "stopped after " + std::to_string(int64_t(now - rec.last_activity)) + " s idle"});
      }
    }
  }
  if (waiting_ == 0) return decisions;
  ranker_.begin_pass(throughput_, waiting_with_choice_per_type_);
  const int64_t limit = config_.max_jobs_per_pass > 0 ? config_.max_jobs_per_pass : INT64_MAX;
  // Emergency jobs first, in their own order.
  emergency_.prepare();
  for (size_t i = 0; i < emergency_.entries().size() && decisions.examined < limit; ++i) {
    if (consider(emergency_.entries()[i].job, ctx)) emergency_.remove_at(i);
  }
  ctx.may_reclaim.assign(cluster_.groups.size(), 0);
  if (config_.preemption && config_.quotas) {
    for (size_t g = 0; g < cluster_.groups.size(); ++g)
      for (size_t r = 0; r <= cluster_.any_resource(); ++r)
        if (quotas_.group_usage(GroupId(g), r) < cluster_.groups[g].quotas.get(r).guaranteed) {
          ctx.may_reclaim[g] = 1;
          break;
        }
  }
  // Gangs a failure ended on part of their nodes, in failure order: the first one blocked
  // takes the reservation while the nodes it survived on are still free.
  auto planned_apart = [&](JobId id) {
    const JobRecord &rec = jobs_[size_t(id)];
    return rec.state == JobState::kWaiting &&
           !(config_.priorities && rec.spec.priority == PriorityClass::kEmergency);
  };
  std::vector<JobId> planned;  // considered before the fair-share order, sorted
  std::erase_if(restarts_, [&](JobId id) {
    const JobRecord &rec = jobs_[size_t(id)];
    return !rec.restart_claim || rec.state != JobState::kWaiting;
  });
  for (JobId id : restarts_) {
    if (!planned_apart(id)) continue;  // emergency jobs were planned above
    planned.push_back(id);
    JobRecord &rec = jobs_[size_t(id)];
    if (consider(id, ctx)) queue_of(rec).erase(rec.key);
  }
  // The holder of the last pass's reservation is planned next (see reserved_), or the one a
  // failed gang took it from.
  JobId sticky = -1;
  for (JobId holder : {reserved_, displaced_})
    if (holder >= 0 && planned_apart(holder) && !jobs_[size_t(holder)].restart_claim) {
      sticky = holder;
      break;
    }
  if (sticky >= 0) {
    planned.push_back(sticky);
    JobRecord &rec = jobs_[size_t(sticky)];
    if (consider(sticky, ctx)) {
      queue_of(rec).erase(rec.key);
      sticky = -1;
    }
  }
  std::sort(planned.begin(), planned.end());
  // Then fair share across groups: the group with the lowest key offers its next job.
  std::vector<GroupId> backlogged;
  for (size_t g = 0; g < group_queues_.size(); ++g)
    if (!group_queues_[g].empty()) backlogged.push_back(GroupId(g));
  fair_.rebase(backlogged);
  using Entry = std::pair<double, GroupId>;
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> heap;
  std::vector<size_t> cursor(group_queues_.size(), 0);
  for (GroupId g : backlogged) {
    group_queues_[size_t(g)].prepare();
    heap.push({fair_.key(quotas_, g), g});
  }
  const bool can_preempt = config_.preemption;
  while (!heap.empty() && decisions.examined < limit) {
    // Nothing free and nothing to preempt: the rest keep waiting with their last reason.
    if (!can_preempt && state_.total_free_milli() == 0 && !config_.backfill) break;
    // The group on top stays on top until one of its jobs starts (only a start changes its
    // key), so the heap is touched once per start, not once per job.
    const GroupId g = heap.top().second;
    JobQueue &q = group_queues_[size_t(g)];
    std::vector<QueueKey> &entries = q.entries();
    size_t &i = cursor[size_t(g)];
    bool started = false;
    if (i < entries.size()) {
      QueueKey &k = entries[i];
      if (k.removed ||
          (!planned.empty() && std::binary_search(planned.begin(), planned.end(), k.job))) {
        // left the queue, or already planned this pass
      } else if (cannot_start(k, ctx)) {
        ++decisions.examined;
        if (config_.strict_order) break;
      } else if (consider(k.job, ctx)) {
        q.remove_at(i);
        started = true;
      } else {
        k.examined = true;
        // A job held by its quota maximum is not waiting for capacity: blocking on it would
        // let one group's limit stall the whole pool.
        if (config_.strict_order && jobs_[size_t(k.job)].reason.kind != WaitReason::Kind::kQuota)
          break;
      }
      ++i;
    }
    if (started || i >= entries.size()) {
      heap.pop();
      if (i < entries.size()) heap.push({fair_.key(quotas_, g), g});
    }
  }
  release_held(ctx);
  for (JobId id : ctx.requeue_after) enqueue(id, now, true);
  decisions.reservation = ctx.reservation;
  const JobId holder = ctx.reservation.active ? ctx.reservation.job : -1;
  if (holder < 0 || !jobs_[size_t(holder)].restart_claim)
    displaced_ = -1;
  else if (sticky >= 0)
    displaced_ = sticky;
  reserved_ = holder;
  return decisions;
}

std::string Scheduler::wait_reason(JobId id) const {
  const JobRecord &rec = jobs_[size_t(id)];
  switch (rec.state) {
    case JobState::kRejected:
      return "rejected: " + rec.reject_reason;
    case JobState::kRunning:
      return "running";
    case JobState::kFinished:
      return "finished";
    case JobState::kStopped:
      return "stopped (idle development environment)";
    case JobState::kCancelled:
      return "cancelled";
    case JobState::kWaiting:
      break;
  }
  const WaitReason &r = rec.reason;
  switch (r.kind) {
    case WaitReason::Kind::kQuota:
      return quotas_.describe(r.quota);
    case WaitReason::Kind::kCapacity:
      if (r.model < 0) return "waiting for CPU or memory on a node";
      return "waiting for " + format_devices(r.need_milli) + " free " +
             cluster_.models[size_t(r.model)].name + " (" + format_devices(r.free_milli) + " free)";
    case WaitReason::Kind::kReservation:
      return "held back by a reservation for a larger job starting at t=" +
             std::to_string(int64_t(r.until)) + " s";
    case WaitReason::Kind::kFasterSoon:
      return "waiting for " + cluster_.models[size_t(r.model)].name +
             ", expected free at t=" + std::to_string(int64_t(r.until)) +
             " s: it finishes sooner there than on a slower model free now";
    case WaitReason::Kind::kDeclined:
      return "waiting for a device model on which it runs at least " +
             std::to_string(int(config_.hetero.min_relative_speed * 100)) + "% of its best speed";
    case WaitReason::Kind::kNone:
    case WaitReason::Kind::kNotConsidered:
      break;
  }
  return "waiting for the next scheduling pass";
}

std::vector<std::string> Scheduler::check_invariants() const {
  std::vector<std::string> errors = state_.check_indexes();
  for (auto &e : quotas_.check_limits()) errors.push_back(e);
  // Usage recomputed from the running jobs must equal the incremental books.
  QuotaBook recomputed(cluster_);
  std::vector<int64_t> device_milli(state_.devices().size(), 0);
  std::vector<int> tenants(state_.devices().size(), 0);
  for (JobId id : running_) {
    const JobRecord &rec = jobs_[size_t(id)];
    if (rec.state != JobState::kRunning)
      errors.push_back("job " + std::to_string(id) + " listed as running");
    recomputed.add(rec.spec.user, rec.spec.group, demand_of(rec.spec, rec.placement.model));
    if (int(rec.placement.workers.size()) != rec.spec.workers)
      errors.push_back("job " + std::to_string(id) + " runs with a partial gang");
    for (const WorkerSlot &w : rec.placement.workers)
      for (auto [d, milli] : w.devices) {
        device_milli[size_t(d)] += milli;
        tenants[size_t(d)]++;
      }
  }
  for (size_t d = 0; d < device_milli.size(); ++d) {
    const auto &dev = state_.device(DeviceId(d));
    if (device_milli[d] > kMilliPerDevice)
      errors.push_back("device " + std::to_string(d) +
                       " oversubscribed: " + std::to_string(device_milli[d]));
    if (kMilliPerDevice - dev.free_milli != device_milli[d] || dev.tenants != tenants[d])
      errors.push_back("device " + std::to_string(d) + " usage does not match its jobs");
  }
  for (size_t g = 0; g < cluster_.groups.size(); ++g)
    for (size_t r = 0; r < cluster_.resource_count(); ++r)
      if (recomputed.group_usage(GroupId(g), r) != quotas_.group_usage(GroupId(g), r))
        errors.push_back("group " + cluster_.groups[g].name + " usage book drifted on " +
                         cluster_.resource_name(r));
  size_t waiting = emergency_.size();
  for (const auto &q : group_queues_) waiting += q.size();
  if (waiting != waiting_) errors.push_back("waiting count drifted");
  return errors;
}

}  // namespace xpool::sched
