// Simulator: hand-worked replays, failure handling, reports and the SVG plot.
#include <gtest/gtest.h>

#include "scenario.h"
#include "xpool/scheduler/report.h"
#include "xpool/scheduler/simulator.h"
#include "xpool/scheduler/svg_plot.h"
#include "xpool/scheduler/trace_gen.h"

namespace xpool::sched {
namespace {

using testing::ClusterBuilder;

struct World {
  ClusterBuilder b;
  ModelId v100, a100;
  GroupId g;
  UserId u;
  ThroughputMatrix tp;
  World() {
    v100 = b.model("V100");
    a100 = b.model("A100");
    b.node("v", v100, 2);
    b.node("a", a100, 2);
    g = b.group("g");
    u = b.user("u", g);
    tp = ThroughputMatrix({"other"}, 2);
    tp.set(0, v100, 1.0);
    tp.set(0, a100, 2.0);
  }
  SimJob job(Time submit, Time work, int devices, std::vector<ModelId> models = {}) {
    SimJob j;
    j.submit = submit;
    j.work = work;
    j.spec = testing::job(u, g, 1, devices, models);
    return j;
  }
};

TEST(Simulator, HandWorkedReplay) {
  // Two 2-device jobs of 1000 s work each: one runs on V100 (1000 s), one on A100 (500 s).
  // A third job pinned to A100 submitted at 10 waits for the A100 job: starts at 500, ends 1000.
  World w;
  std::vector<SimJob> jobs = {w.job(0, 1000, 2, {w.v100}), w.job(0, 1000, 2, {w.a100}),
                              w.job(10, 1000, 2, {w.a100})};
  SimOptions o;
  o.timeline_step = 100;
  o.check_invariants = true;
  SimResult r = simulate(w.b.cluster, w.tp, policy_preset("xpool"), jobs, {}, o, "xpool");
  ASSERT_EQ(r.jobs.size(), 3u);
  EXPECT_DOUBLE_EQ(r.jobs[0].end, 1000);
  EXPECT_DOUBLE_EQ(r.jobs[1].end, 500);
  EXPECT_DOUBLE_EQ(r.jobs[2].first_start, 500);
  EXPECT_DOUBLE_EQ(r.jobs[2].end, 1000);
  EXPECT_TRUE(r.invariant_errors.empty());
  Summary s = summarize(r, w.b.cluster);
  EXPECT_EQ(s.completed, 3);
  EXPECT_DOUBLE_EQ(s.makespan, 1000);
  // JCTs 1000, 500, 990: mean 830.
  EXPECT_DOUBLE_EQ(s.jct.mean, 830);
  EXPECT_DOUBLE_EQ(s.queueing.max, 490);
  // Busy device-seconds: 2x1000 + 2x500 + 2x500 = 4000 of 4 devices x 1000 s.
  EXPECT_DOUBLE_EQ(s.utilization, 1.0);
  // Normalized work: V100 2x1000x1 + A100 2x1000x2 = 6000 device-seconds.
  EXPECT_DOUBLE_EQ(s.normalized_work, 6000);
  EXPECT_EQ(s.quota_violations, 0);
}

// A development environment of 10,000 s on A100 (speed 2 for its type, which must not matter:
// an environment is open for wall time), idle warning after 1800 s, stop after 3600 s
// (checked 1 ms after each: the stop times below are within 0.01 s).
SimResult run_devenv(const World &w, std::vector<ActivePeriod> activity) {
  SimJob env;
  env.work = 10000;
  env.activity = std::move(activity);
  env.spec = testing::job(w.u, w.g, 1, 1, {w.a100});
  env.spec.kind = JobKind::kDevEnvironment;
  SchedulerConfig c = policy_preset("xpool");
  c.devenv.idle_warn = 1800;
  c.devenv.idle_stop = 3600;
  SimOptions o;
  o.check_invariants = true;
  return simulate(w.b.cluster, w.tp, c, {env}, {}, o, "xpool");
}

TEST(Simulator, DevEnvIdleTimeoutCountsFromTheLastActivity) {
  World w;
  // Active 0-1000 and 4000-5000: idle from 1000 (warned at 2800, 3000 s idle at 4000: not
  // stopped), active again until 5000, then warned at 6800 and stopped at 8600.
  SimResult r = run_devenv(w, {{0, 1000}, {4000, 5000}});
  ASSERT_EQ(r.jobs.size(), 1u);
  EXPECT_TRUE(r.jobs[0].stopped);
  EXPECT_NEAR(r.jobs[0].end, 8600, 0.01);
  EXPECT_EQ(r.devenv_warnings, 2);
  EXPECT_EQ(summarize(r, w.b.cluster).devenv_warnings, 2);
  EXPECT_TRUE(r.invariant_errors.empty());
  // A period longer than the timeouts: active 0-5000, never warned; stopped at 8600 again.
  r = run_devenv(w, {{0, 5000}});
  EXPECT_NEAR(r.jobs[0].end, 8600, 0.01);
  EXPECT_EQ(r.devenv_warnings, 1);
}

TEST(Simulator, DevEnvActiveThroughoutRunsItsWholeSession) {
  World w;
  SimResult r = run_devenv(w, {{0, 10000}});
  EXPECT_TRUE(r.jobs[0].completed);
  EXPECT_DOUBLE_EQ(r.jobs[0].end, 10000);  // wall time, not 10000 / 2
  EXPECT_EQ(r.devenv_warnings, 0);
}

TEST(Simulator, DevEnvWithoutActivityIsIdleFromItsStart) {
  World w;
  SimResult r = run_devenv(w, {});  // an old trace without the activity column
  EXPECT_TRUE(r.jobs[0].stopped);
  EXPECT_NEAR(r.jobs[0].end, 3600, 0.01);
  EXPECT_EQ(r.devenv_warnings, 1);
}

TEST(Simulator, FailureRestartsFromCheckpointInOnePass) {
  // One V100 job of 1000 s work checkpointing every 100 s; the node fails at 350 and is
  // repaired at 360. 300 s of work is kept; the job restarts on V100 when it is back... but
  // an A100 is free at once, so it restarts there immediately: remaining 700 at rate 2.
  World w;
  SimJob j = w.job(0, 1000, 1, {});
  j.spec.checkpoint_interval = 100;
  std::vector<NodeFailure> f = {{350, 0, 10}};
  SimOptions o;
  o.check_invariants = true;
  // Make the job start on the V100: flat throughput for the placement decision is not
  // needed; restricting it to "any" with the A100 node busy is simpler:
  std::vector<SimJob> jobs = {w.job(0, 100000, 2, {w.a100}), j};
  SimResult r = simulate(w.b.cluster, w.tp, policy_preset("xpool"), jobs, f, o, "xpool");
  const JobOutcome &victim = r.jobs[1];
  EXPECT_EQ(victim.failures, 1);
  EXPECT_EQ(r.restarts, 1);
  ASSERT_EQ(r.restart_latency.size(), 1u);
  // Restarted at 360 when the node came back (the A100s are busy): 0 + 10 s repair.
  EXPECT_DOUBLE_EQ(r.restart_latency[0], 10);
  EXPECT_DOUBLE_EQ(victim.end, 360 + 700);
  EXPECT_TRUE(r.invariant_errors.empty());
}

TEST(Simulator, FailedJobRestartsAtOnceWhenCapacityIsFree) {
  World w;
  SimJob j = w.job(0, 1000, 1, {w.v100});
  j.spec.checkpoint_interval = 100;
  // A second V100 node; the job goes to it first (the tightest fit) and it fails.
  const NodeId v2 = w.b.node("v2", w.v100, 1);
  std::vector<NodeFailure> f = {{350, v2, 1000}};
  SimResult r = simulate(w.b.cluster, w.tp, policy_preset("xpool"), {j}, f, SimOptions{}, "xpool");
  ASSERT_EQ(r.restart_latency.size(), 1u);
  EXPECT_DOUBLE_EQ(r.restart_latency[0], 0);  // re-placed in the pass right after the failure
  EXPECT_DOUBLE_EQ(r.jobs[0].end, 350 + 700);
}

TEST(Simulator, GeneratedTraceKeepsInvariantsAndWritesReports) {
  ClusterBuilder b;
  ModelId v = b.model("V100"), a = b.model("A100");
  for (int i = 0; i < 4; ++i) b.node("v" + std::to_string(i), v, 8, 4);
  for (int i = 0; i < 4; ++i) b.node("a" + std::to_string(i), a, 8, 4);
  TraceShape shape;
  shape.jobs = 400;
  shape.jobs_per_hour = 100;
  shape.models = {"V100", "A100"};
  auto trace = generate_trace(shape);
  ThroughputMatrix tp = default_throughput(b.cluster);
  auto jobs = resolve_trace(trace, b.cluster, tp, "gen");
  SimOptions o;
  o.check_invariants = true;
  o.failures_per_node_day = 0.5;
  for (const char *policy : {"xpool", "fifo", "greedy", "fastest", "wrr"}) {
    SimResult r = simulate(b.cluster, tp, policy_preset(policy), jobs, {}, o, policy);
    ASSERT_TRUE(r.invariant_errors.empty()) << policy << ": " << r.invariant_errors.front();
    Summary s = summarize(r, b.cluster);
    EXPECT_EQ(s.quota_violations, 0);
    EXPECT_EQ(s.unfinished, 0) << policy;
    EXPECT_EQ(s.completed + s.rejected + s.stopped, s.jobs);
    EXPECT_NE(format_summary(s).find("job completion time"), std::string::npos);
    EXPECT_NE(summary_json(s).find("\"fairness_jain\""), std::string::npos);
    const std::string csv = jobs_csv(r, b.cluster);
    EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 401);
    EXPECT_EQ(timeline_csv(r).rfind("time,busy_devices", 0), 0u);
    const std::string svg = utilization_svg(r, "test");
    EXPECT_EQ(svg.rfind("<svg", 0), 0u);
    EXPECT_NE(svg.find("<polyline"), std::string::npos);
    EXPECT_NE(svg.find("</svg>"), std::string::npos);
  }
}

TEST(Report, StatsNearestRank) {
  Stats s = stats_of({5, 1, 4, 2, 3});
  EXPECT_DOUBLE_EQ(s.mean, 3);
  EXPECT_DOUBLE_EQ(s.p50, 3);
  EXPECT_DOUBLE_EQ(s.p95, 5);
  EXPECT_DOUBLE_EQ(s.max, 5);
}

TEST(SvgPlot, EscapesAndDrawsEverySeries) {
  std::string svg =
      svg_plot("a < b", "x", {0, 1, 2},
               {PlotPanel{"y", {{"one", "red", {1, 2, 3}}, {"two", "blue", {3, 2, 1}}}}});
  EXPECT_NE(svg.find("a &lt; b"), std::string::npos);
  EXPECT_EQ(std::count(svg.begin(), svg.end(), 'p') > 0, true);
  size_t polylines = 0;
  for (size_t p = svg.find("<polyline"); p != std::string::npos; p = svg.find("<polyline", p + 1))
    ++polylines;
  EXPECT_EQ(polylines, 2u);
}

}  // namespace
}  // namespace xpool::sched
