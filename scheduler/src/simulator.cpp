#include "xpool/scheduler/simulator.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <queue>
#include <random>

namespace xpool::sched {
namespace {

enum class EventType : uint8_t {
  kSubmit,
  kFinish,
  kFail,
  kRepair,
  kPass,
  kActivityBegin,  // a development environment's user starts working (a: job id)
  kActivityEnd,    // ... stops: it is idle from here
  kDevEnvCheck,    // an idle environment reaches its warning or stop time: run a pass
};

struct Event {
  Time t;
  uint64_t seq;
  EventType type;
  int64_t a;  // job index / job id / node
  int64_t b;  // run number (finish) / repair delay flag
  bool operator>(const Event &o) const { return t != o.t ? t > o.t : seq > o.seq; }
};

struct Live {
  double progress = 0;  // reference-device seconds done at the start of this run
  double rate = 1;
  Time failed_at = -1;
  int sim_index = -1;
  bool active = false;  // a development environment inside one of its active periods
};

double wall_now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

SimResult simulate(const Cluster &cluster, const ThroughputMatrix &throughput,
                   const SchedulerConfig &config, const std::vector<SimJob> &jobs,
                   const std::vector<NodeFailure> &failures, const SimOptions &options,
                   const std::string &policy_name) {
  const double wall_start = wall_now();
  SimResult r;
  r.policy = policy_name;
  Scheduler s(cluster, throughput, config);
  r.capacity_devices = double(s.state().total_capacity_milli()) / kMilliPerDevice;

  std::priority_queue<Event, std::vector<Event>, std::greater<Event>> events;
  uint64_t seq = 0;
  auto push = [&](Time t, EventType type, int64_t a, int64_t b) {
    events.push(Event{t, seq++, type, a, b});
  };
  for (size_t i = 0; i < jobs.size(); ++i) push(jobs[i].submit, EventType::kSubmit, int64_t(i), 0);
  for (const NodeFailure &f : failures) {
    push(f.time, EventType::kFail, f.node, 0);
    push(f.time + f.repair_after, EventType::kRepair, f.node, 0);
  }
  std::mt19937_64 rng(options.seed);
  const double rate_per_s = options.failures_per_node_day / 86400.0;
  if (rate_per_s > 0) {
    std::exponential_distribution<double> gap(rate_per_s);
    for (size_t n = 0; n < cluster.nodes.size(); ++n)
      push(gap(rng), EventType::kFail, int64_t(n), /*random=*/1);
  }

  std::vector<Live> live;  // by scheduler job id
  r.jobs.reserve(jobs.size());
  size_t outstanding = jobs.size();
  Time last_pass = -kNever;
  bool pass_pending = false;  // a kPass event is queued
  bool dirty = false;         // something changed since the last pass
  double busy_milli = 0, normalized_rate = 0;
  Time last_t = jobs.empty() ? 0 : jobs.front().submit;
  r.first_submit = kNever;
  for (const SimJob &j : jobs) r.first_submit = std::min(r.first_submit, j.submit);
  if (jobs.empty()) r.first_submit = 0;
  Time next_sample = r.first_submit;

  auto account_until = [&](Time t) {
    if (t > last_t) {
      r.busy_device_seconds += busy_milli / kMilliPerDevice * (t - last_t);
      r.normalized_work += normalized_rate * (t - last_t);
      last_t = t;
    }
  };
  auto run_rate = [&](const JobRecord &rec) {
    return rec.placement.model < 0 ? 1.0
                                   : throughput.get(rec.spec.workload_type, rec.placement.model);
  };
  // Reference seconds of its duration a run gets through per second: a development
  // environment is open as long as its user keeps it, on whatever device.
  auto progress_rate = [&](const JobRecord &rec, const Live &l) {
    return rec.spec.kind == JobKind::kDevEnvironment ? 1.0 : l.rate;
  };
  // Environments inside an active period: their activity is recorded before every pass.
  std::vector<JobId> active_envs;
  // A pass when an environment idle since t reaches its warning and its stop time; 1 ms
  // late, since (t + idle) - t can round to a hair below idle and find it not idle enough.
  auto check_idle_from = [&](Time t) {
    if (config.devenv.idle_warn > 0)
      push(t + config.devenv.idle_warn + 1e-3, EventType::kDevEnvCheck, 0, 0);
    if (config.devenv.idle_stop > 0)
      push(t + config.devenv.idle_stop + 1e-3, EventType::kDevEnvCheck, 0, 0);
  };
  auto stop_run = [&](JobId id, Time t) {
    // The run ended early (preempted, failed, stopped): roll progress back to its checkpoint.
    Live &l = live[size_t(id)];
    const JobRecord &rec = s.job(id);
    const Time ran = t - rec.run_start;
    if (rec.spec.checkpoint_interval > 0) {
      const Time kept =
          std::floor(ran / rec.spec.checkpoint_interval) * rec.spec.checkpoint_interval;
      l.progress += kept * progress_rate(rec, l);
    } else {
      l.progress = 0;  // no checkpoints: start over
    }
  };
  // `busy` bookkeeping for a job that is running now (before the state changes).
  auto unbusy = [&](JobId id) {
    const JobRecord &rec = s.job(id);
    busy_milli -= double(rec.spec.total_milli());
    normalized_rate -= double(rec.spec.total_milli()) / kMilliPerDevice * live[size_t(id)].rate;
  };

  auto do_pass = [&](Time t) {
    for (JobId id : active_envs)
      if (s.job(id).state == JobState::kRunning) s.record_activity(id, t);
    const double w0 = wall_now();
    Decisions d = s.schedule(t);
    const double w1 = wall_now();
    r.passes++;
    r.schedule_wall_seconds += w1 - w0;
    if (d.examined > 0) r.pass_seconds.push_back(w1 - w0);
    const Time previous_pass = last_pass;
    last_pass = t;
    dirty = false;
    for (const DevEnvDecision &dv : d.devenv) {
      if (dv.action == DevEnvAction::kWarn) r.devenv_warnings++;
      if (dv.action != DevEnvAction::kStop) continue;
      // The scheduler already released it; undo our busy counters with the last run's rate.
      Live &l = live[size_t(dv.job)];
      const JobRecord &rec = s.job(dv.job);
      busy_milli -= double(rec.spec.total_milli());
      normalized_rate -= double(rec.spec.total_milli()) / kMilliPerDevice * l.rate;
      JobOutcome &o = r.jobs[size_t(l.sim_index)];
      o.end = t;
      o.stopped = true;
      --outstanding;
    }
    for (const PreemptDecision &p : d.preemptions) {
      r.preemptions++;
      const JobRecord &rec = s.job(p.victim);
      Live &l = live[size_t(p.victim)];
      busy_milli -= double(rec.spec.total_milli());
      normalized_rate -= double(rec.spec.total_milli()) / kMilliPerDevice * l.rate;
      // The run keeps the work up to its last checkpoint (none without checkpoints).
      stop_run(p.victim, t);
      r.jobs[size_t(l.sim_index)].preemptions++;
    }
    for (const StartDecision &st : d.starts) {
      r.starts++;
      const JobRecord &rec = s.job(st.job);
      Live &l = live[size_t(st.job)];
      l.rate = run_rate(rec);
      busy_milli += double(rec.spec.total_milli());
      normalized_rate += double(rec.spec.total_milli()) / kMilliPerDevice * l.rate;
      JobOutcome &o = r.jobs[size_t(l.sim_index)];
      if (rec.spec.kind == JobKind::kDevEnvironment) {
        // Its user's activity, on the user's clock from the first start.
        if (o.first_start < 0)
          for (const ActivePeriod &a : jobs[size_t(l.sim_index)].activity) {
            push(t + a.begin, EventType::kActivityBegin, st.job, 0);
            push(t + a.end, EventType::kActivityEnd, st.job, 0);
          }
        check_idle_from(t);
      }
      if (o.first_start < 0) {
        o.first_start = t;
        if (rec.spec.priority == PriorityClass::kEmergency)
          // Submitted after the previous pass: this is the first pass that saw it.
          r.emergency_started_in_first_pass += o.submit > previous_pass;
      }
      o.model = rec.placement.model;
      o.runs = rec.runs;
      if (l.failed_at >= 0) {
        r.restart_latency.push_back(t - l.failed_at);
        o.restart_wait += t - l.failed_at;
        r.restarts++;
        l.failed_at = -1;
      }
      const double remaining = std::max(0.0, jobs[size_t(l.sim_index)].work - l.progress);
      push(t + remaining / std::max(progress_rate(rec, l), 1e-9), EventType::kFinish, st.job,
           rec.runs);
    }
    r.quota_violations += int64_t(s.quotas().check_limits().size());
    if (options.check_invariants) {
      for (auto &e : s.check_invariants()) r.invariant_errors.push_back(e);
    }
    if (s.waiting_count() > 0) {
      r.fragmentation_sum +=
          double(s.state().total_free_milli()) / double(s.state().total_capacity_milli());
      r.fragmentation_samples++;
    }
  };

  int idle_retries = 0;
  for (;;) {
    if (outstanding == 0) break;
    if (events.empty()) {
      // Jobs wait yet nothing is scheduled to happen (a job waits for its preferred model
      // longer than the heterogeneity wait limit, or for a repair): try again later, a few
      // times, then give up and report them unfinished.
      if (s.waiting_count() == 0 || s.running_count() > 0 || idle_retries >= 3) break;
      ++idle_retries;
      push(last_t + std::max<Time>(60, config.hetero.max_wait), EventType::kPass, 0, 0);
      dirty = true;
      pass_pending = true;
    }
    const Time t = events.top().t;
    // Timeline samples and fairness up to t.
    while (next_sample <= t) {
      account_until(next_sample);
      r.timeline.push_back(TimelinePoint{next_sample, busy_milli / kMilliPerDevice, normalized_rate,
                                         int64_t(s.waiting_count()), int64_t(s.running_count())});
      std::vector<GroupId> backlogged = s.backlogged_groups();
      if (backlogged.size() >= 2) {
        std::vector<double> shares;
        for (GroupId g : backlogged) shares.push_back(s.dominant_share(g));
        r.fairness_sum += jain_index(shares);
        r.fairness_samples++;
      }
      next_sample += options.timeline_step;
    }
    account_until(t);
    while (!events.empty() && events.top().t == t) {
      Event e = events.top();
      events.pop();
      switch (e.type) {
        case EventType::kSubmit: {
          const SimJob &sj = jobs[size_t(e.a)];
          SubmitResult res = s.submit(sj.spec, t);
          if (live.size() <= size_t(res.job)) live.resize(size_t(res.job) + 1);
          live[size_t(res.job)].sim_index = int(r.jobs.size());
          JobOutcome o;
          o.id = res.job;
          o.name = sj.spec.name;
          o.group = sj.spec.group;
          o.user = sj.spec.user;
          o.priority = sj.spec.priority;
          o.kind = sj.spec.kind;
          o.devices_milli = int(sj.spec.total_milli());
          o.submit = t;
          if (sj.spec.priority == PriorityClass::kEmergency && res.accepted) r.emergency_jobs++;
          if (!res.accepted) {
            o.rejected = true;
            o.reason = res.reason;
            --outstanding;
          }
          r.jobs.push_back(std::move(o));
          dirty |= res.accepted;
          break;
        }
        case EventType::kFinish: {
          const JobId id = JobId(e.a);
          const JobRecord &rec = s.job(id);
          if (rec.state != JobState::kRunning || rec.runs != e.b) break;  // stale
          unbusy(id);
          s.finish(id, t);
          JobOutcome &o = r.jobs[size_t(live[size_t(id)].sim_index)];
          o.end = t;
          o.completed = true;
          r.last_end = std::max(r.last_end, t);
          --outstanding;
          dirty = true;
          break;
        }
        case EventType::kFail: {
          const NodeId n = NodeId(e.a);
          if (!s.state().node(n).healthy) break;
          r.node_failures++;
          // Snapshot the running jobs on the node before the scheduler ends them.
          std::vector<JobId> before;
          for (JobId id : s.running_jobs()) {
            for (const WorkerSlot &w : s.job(id).placement.workers)
              if (w.node == n) {
                before.push_back(id);
                break;
              }
          }
          for (JobId id : before) {
            unbusy(id);
            stop_run(id, t);
          }
          FailureResult f = s.fail_node(n, t);
          for (JobId id : f.requeued) {
            live[size_t(id)].failed_at = t;
            r.jobs[size_t(live[size_t(id)].sim_index)].failures++;
          }
          if (e.b == 1) push(t + options.repair_time, EventType::kRepair, n, 1);
          dirty = true;
          break;
        }
        case EventType::kRepair: {
          s.repair_node(NodeId(e.a));
          if (e.b == 1 && rate_per_s > 0) {
            std::exponential_distribution<double> gap(rate_per_s);
            push(t + gap(rng), EventType::kFail, e.a, 1);
          }
          dirty = true;
          break;
        }
        case EventType::kPass:
          pass_pending = false;
          break;
        case EventType::kActivityBegin:
        case EventType::kActivityEnd: {
          const JobId id = JobId(e.a);
          Live &l = live[size_t(id)];
          l.active = e.type == EventType::kActivityBegin;
          if (l.active)
            active_envs.push_back(id);
          else
            std::erase(active_envs, id);
          if (s.job(id).state != JobState::kRunning) break;
          s.record_activity(id, t);
          if (!l.active) check_idle_from(t);
          break;
        }
        case EventType::kDevEnvCheck:
          dirty |= s.running_count() > 0;
          break;
      }
    }
    if (dirty || s.running_count() > 0) {
      // Idle development environments are checked on every pass too.
      if (t >= last_pass + options.min_pass_interval) {
        if (dirty) do_pass(t);
      } else if (!pass_pending && dirty) {
        push(last_pass + options.min_pass_interval, EventType::kPass, 0, 0);
        pass_pending = true;
      }
    }
  }
  account_until(r.last_end);
  for (JobOutcome &o : r.jobs) {
    const JobRecord &rec = s.job(o.id);
    o.runs = rec.runs;
    if (!o.completed && !o.rejected && !o.stopped) o.reason = s.wait_reason(o.id);
  }
  r.accounting = s.accounting().lines();
  r.total_wall_seconds = wall_now() - wall_start;
  return r;
}

}  // namespace xpool::sched
