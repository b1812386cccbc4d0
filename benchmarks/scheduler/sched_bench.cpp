// xpool-sched-bench: how fast the scheduler decides at scale.
//   1. one pass over N waiting jobs on an empty cluster (cold: places as many as fit);
//   2. steady-state passes on a full cluster with N jobs waiting: each pass follows the end
//      of 1% of the running jobs and as many new submissions;
//   3. the replay of a generated trace of M jobs through the simulator.
// Defaults are the targets: 10,000 nodes x 8 devices, 100,000 waiting jobs, a
// 1,000,000-job trace. Everything runs on one thread.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <random>

#include "xpool/scheduler/report.h"
#include "xpool/scheduler/scheduler.h"
#include "xpool/scheduler/simulator.h"
#include "xpool/scheduler/trace_gen.h"

using namespace xpool::sched;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// CPU time of this thread: on a shared machine wall time also counts other programs.
double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

const char *kModels[] = {"V100", "A100", "H100", "MI250"};

Cluster make_cluster(int nodes, int per_node, int groups) {
  Cluster c;
  for (const char *m : kModels)
    c.add_model(DeviceModel{m, std::string(m) == "MI250" ? "amd" : "nvidia", "", 80 * 1024, 2.0});
  for (int n = 0; n < nodes; ++n) {
    NodeSpec ns;
    ns.name = "node" + std::to_string(n);
    ns.cpu_cores = 128;
    ns.memory_mb = 1024 * 1024;
    const ModelId m = ModelId(n % 4);
    for (int d = 0; d < per_node; ++d)
      ns.devices.push_back(DeviceSpec{m, n % 8 == 0 ? 4 : 1, d / 4, 0});
    if (n % 5 == 0) ns.datasets = {"imagenet"};
    c.nodes.push_back(std::move(ns));
  }
  const int64_t total_milli = int64_t(nodes) * per_node * kMilliPerDevice;
  for (int g = 0; g < groups; ++g) {
    GroupId id = c.add_group("group" + std::to_string(g));
    c.groups[size_t(id)].weight = 1 + g % 3;
    // Guarantees add up to half the cluster; maxima allow borrowing up to 40%.
    c.groups[size_t(id)].quotas.set(c.any_resource(),
                                    QuotaLimit{total_milli / 2 / groups, total_milli * 2 / 5});
    for (int u = 0; u < 10; ++u)
      c.add_user("group" + std::to_string(g) + "-user" + std::to_string(u), id);
  }
  return c;
}

JobSpec random_job(std::mt19937_64 &rng, const Cluster &c) {
  std::uniform_real_distribution<double> u01(0, 1);
  JobSpec j;
  j.user = UserId(size_t(u01(rng) * double(c.users.size())) % c.users.size());
  j.group = c.users[size_t(j.user)].group;
  const double size = u01(rng);
  if (size < 0.08) {
    j.fraction_denominator = 4;
  } else if (size < 0.78) {
    j.devices_per_worker = 1;
  } else if (size < 0.88) {
    j.devices_per_worker = 2;
  } else if (size < 0.95) {
    j.devices_per_worker = 4;
  } else {
    j.devices_per_worker = 8;
    j.workers = 1 << int(u01(rng) * 4);  // 8..64 devices
  }
  if (u01(rng) < 0.5) {
    j.constraint.kind = DeviceConstraint::Kind::kModels;
    j.constraint.models = {ModelId(u01(rng) * 4) % 4};
  }
  const double p = u01(rng);
  j.priority = p < 0.2    ? PriorityClass::kLow
               : p < 0.85 ? PriorityClass::kNormal
                          : PriorityClass::kHigh;
  j.workload_type = int(u01(rng) * 5) % 5;
  j.cpu_per_worker = 4;
  j.memory_mb_per_worker = 32 * 1024;
  j.checkpoint_interval = 900;
  if (u01(rng) < 0.8) j.expected_duration = 600 + u01(rng) * 20000;
  if (u01(rng) < 0.2) j.dataset = "imagenet";
  return j;
}

// Fragmentation with fractional GPUs: jobs (mostly 1/4 and 1/2 cards with memory caps, some
// whole cards) arrive until the next one cannot be placed; the unallocated share of the
// capacity at that moment is recorded; then a random 20% of the jobs leave and arrivals go
// on. The same random sequence is replayed with best-fit packing and with first-fit.
double fragmentation(FractionalFit fit, int nodes, int rounds, uint64_t seed) {
  Cluster c;
  c.add_model(DeviceModel{"A100", "nvidia", "", 80 * 1024, 1.0});
  for (int n = 0; n < nodes; ++n) {
    NodeSpec ns;
    ns.name = "n" + std::to_string(n);
    ns.cpu_cores = 256;
    ns.memory_mb = 4 << 20;
    for (int d = 0; d < 8; ++d) ns.devices.push_back(DeviceSpec{0, 4, d / 4, 0});
    c.nodes.push_back(std::move(ns));
  }
  ClusterState st(c);
  PlacementOptions opt;
  opt.fractional = fit;
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u01(0, 1);
  std::vector<Placement> live;
  double sum = 0;
  for (int r = 0; r < rounds; ++r) {
    for (;;) {
      JobSpec j;
      const double k = u01(rng);
      if (k < 0.45) {
        j.fraction_denominator = 4;
        j.memory_cap_mb = 16 * 1024;
      } else if (k < 0.85) {
        j.fraction_denominator = 2;
        j.memory_cap_mb = 32 * 1024;
      } else {
        j.devices_per_worker = k < 0.95 ? 1 : 2;
      }
      auto p = place_gang(st, j, 0, opt);
      if (!p) break;
      live.push_back(std::move(*p));
    }
    sum += double(st.total_free_milli()) / double(st.total_capacity_milli());
    std::shuffle(live.begin(), live.end(), rng);
    const size_t leave = live.size() / 5;
    for (size_t i = 0; i < leave; ++i) {
      st.release(live.back());
      live.pop_back();
    }
  }
  return sum / rounds;
}

}  // namespace

int main(int argc, char **argv) {
  CLI::App app{"xpool-sched-bench: scheduler pass time and decisions per second at scale"};
  int nodes = 10000, per_node = 8, jobs = 100000, passes = 21, groups = 20;
  int64_t replay_jobs = 1000000;
  std::string policy = "xpool";
  app.add_option("--nodes", nodes, "nodes");
  app.add_option("--devices", per_node, "devices per node");
  app.add_option("--jobs", jobs, "waiting jobs");
  app.add_option("--passes", passes, "steady-state passes to time");
  app.add_option("--groups", groups, "groups");
  app.add_option("--replay-jobs", replay_jobs, "jobs in the replayed trace (0: skip)");
  app.add_option("--policy", policy, "scheduler policy preset");
  int frag_rounds = 200;
  app.add_option("--fragmentation-rounds", frag_rounds,
                 "rounds of the fractional packing comparison (0: skip)");
  CLI11_PARSE(app, argc, argv);

  Cluster cluster = make_cluster(nodes, per_node, groups);
  SchedulerConfig config = policy_preset(policy);
  std::printf("cluster: %d nodes x %d devices = %d devices, %d groups; policy %s\n", nodes,
              per_node, nodes * per_node, groups, policy.c_str());

  std::mt19937_64 rng(42);
  auto t_build = std::chrono::steady_clock::now();
  Scheduler s(cluster, default_throughput(cluster), config);
  for (int i = 0; i < jobs; ++i) s.submit(random_job(rng, cluster), 0);
  std::printf("setup: %.3f s (%zu waiting)\n", seconds_since(t_build), s.waiting_count());

  // 1. Cold pass.
  auto t0 = std::chrono::steady_clock::now();
  const double c0 = thread_cpu_seconds();
  Decisions cold = s.schedule(1);
  const double cold_s = seconds_since(t0);
  const double cold_cpu = thread_cpu_seconds() - c0;
  std::printf(
      "cold pass: %.1f ms wall, %.1f ms CPU, %zu starts (%.0f decisions/s of CPU), %lld jobs "
      "examined, "
      "%zu running, %zu waiting\n",
      cold_s * 1e3, cold_cpu * 1e3, cold.starts.size(), double(cold.starts.size()) / cold_cpu,
      static_cast<long long>(cold.examined), s.running_count(), s.waiting_count());

  // Keep the queue at `jobs` waiting.
  while (s.waiting_count() < size_t(jobs)) s.submit(random_job(rng, cluster), 1);

  // 2. Steady-state passes.
  std::vector<double> pass_ms, pass_cpu_ms;
  int64_t decisions = 0;
  double busy = 0;
  Time now = 2;
  for (int p = 0; p < passes; ++p) {
    now += 30;
    std::vector<JobId> running = s.running_jobs();
    std::shuffle(running.begin(), running.end(), rng);
    const size_t ending = std::max<size_t>(1, running.size() / 100);
    for (size_t i = 0; i < ending && i < running.size(); ++i) s.finish(running[i], now);
    for (size_t i = 0; i < ending; ++i) s.submit(random_job(rng, cluster), now);
    auto tp = std::chrono::steady_clock::now();
    const double cp = thread_cpu_seconds();
    Decisions d = s.schedule(now);
    const double sec = seconds_since(tp);
    const double cpu = thread_cpu_seconds() - cp;
    pass_ms.push_back(sec * 1e3);
    pass_cpu_ms.push_back(cpu * 1e3);
    busy += cpu;
    decisions += int64_t(d.starts.size() + d.preemptions.size());
  }
  std::sort(pass_ms.begin(), pass_ms.end());
  std::sort(pass_cpu_ms.begin(), pass_cpu_ms.end());
  if (!pass_ms.empty())
    std::printf(
        "steady passes (%d, %zu waiting, %zu running): CPU median %.2f ms (min %.2f, max %.2f); "
        "wall "
        "median %.2f ms; %lld decisions, %.0f decisions/s of CPU\n",
        passes, s.waiting_count(), s.running_count(), pass_cpu_ms[pass_cpu_ms.size() / 2],
        pass_cpu_ms.front(), pass_cpu_ms.back(), pass_ms[pass_ms.size() / 2],
        static_cast<long long>(decisions), busy > 0 ? double(decisions) / busy : 0.0);
  auto errors = s.check_invariants();
  std::printf("invariants: %s\n", errors.empty() ? "hold" : errors.front().c_str());

  // 3. Fragmentation: best-fit packing against first-fit on the same sequence.
  if (frag_rounds > 0) {
    const int frag_nodes = std::max(1, nodes / 10);
    const double best = fragmentation(FractionalFit::kBestFit, frag_nodes, frag_rounds, 7);
    const double first = fragmentation(FractionalFit::kFirstFit, frag_nodes, frag_rounds, 7);
    std::printf(
        "fragmentation (%d nodes x 8 shareable cards, %d rounds): unallocated when the next job "
        "cannot fit: best-fit %.2f%%, first-fit %.2f%%\n",
        frag_nodes, frag_rounds, best * 100, first * 100);
  }

  // 4. Trace replay.
  if (replay_jobs > 0) {
    TraceShape shape;
    shape.jobs = replay_jobs;
    // Arrivals sized to keep the cluster busy: about 0.35 jobs per device per hour.
    shape.jobs_per_hour = 0.35 * nodes * per_node;
    shape.models = {"V100", "A100", "H100", "MI250"};
    auto tg = std::chrono::steady_clock::now();
    std::vector<TraceJob> trace = generate_trace(shape);
    Cluster replay_cluster = cluster;
    ThroughputMatrix tp = default_throughput(replay_cluster);
    std::vector<SimJob> sim_jobs = resolve_trace(trace, replay_cluster, tp, "generated");
    const double gen_s = seconds_since(tg);
    SimOptions opt;
    opt.min_pass_interval = 10;
    opt.timeline_step = 3600;
    auto tr = std::chrono::steady_clock::now();
    const double rc = thread_cpu_seconds();
    SimResult r = simulate(replay_cluster, tp, config, sim_jobs, {}, opt, policy);
    const double replay_s = seconds_since(tr);
    const double replay_cpu = thread_cpu_seconds() - rc;
    Summary sum = summarize(r, replay_cluster);
    std::printf("replay CPU time: %.1f s\n", replay_cpu);
    std::printf(
        "replay: %lld jobs generated in %.1f s, replayed in %.1f s wall (%.1f simulated hours, "
        "%lld passes, "
        "%lld decisions, %.0f decisions/s, pass p50 %.2f ms, p99 %.2f ms); completed %lld, avg JCT "
        "%.2f h, "
        "utilization %.1f%%\n",
        static_cast<long long>(replay_jobs), gen_s, replay_s, sum.makespan / 3600,
        static_cast<long long>(sum.passes), static_cast<long long>(sum.decisions),
        sum.decisions_per_second, sum.pass_ms.p50, sum.pass_ms.p99,
        static_cast<long long>(sum.completed), sum.jct.mean / 3600, sum.utilization * 100);
  }
  return 0;
}
