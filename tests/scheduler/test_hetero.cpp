// Heterogeneity-aware placement: a job with a choice goes where its speed-up is largest
// relative to the other waiting jobs; it declines much slower devices unless it waited long.
#include <gtest/gtest.h>

#include "scenario.h"

namespace xpool::sched {
namespace {

using testing::ClusterBuilder;
using testing::job;

struct Mixed {
  ClusterBuilder b;
  ModelId v100, a100;
  GroupId g;
  UserId u;
  ThroughputMatrix tp;
  int flat, steep;
  Mixed() {
    v100 = b.model("V100");
    a100 = b.model("A100");
    b.node("v", v100, 1);
    b.node("a", a100, 1);
    g = b.group("g");
    u = b.user("u", g);
    tp = ThroughputMatrix({"flat", "steep"}, 2);
    flat = 0;
    steep = 1;
    tp.set(flat, v100, 1.0);
    tp.set(flat, a100, 1.2);
    tp.set(steep, v100, 1.0);
    tp.set(steep, a100, 3.0);
  }
  JobSpec any(int type) {
    JobSpec j = job(u, g, 1, 1);
    j.workload_type = type;
    return j;
  }
};

TEST(Hetero, RankerPrefersRelativeAdvantage) {
  Mixed x;
  ClusterState st(x.b.cluster);
  ModelRanker r(ModelChoice::kHeterogeneityAware, {});
  r.begin_pass(x.tp, {1, 1});
  // Mean speed of the waiting jobs: V100 (1 + 1) / 2 = 1, A100 (1.2 + 3) / 2 = 2.1.
  EXPECT_DOUBLE_EQ(r.competition(x.v100), 1.0);
  EXPECT_DOUBLE_EQ(r.competition(x.a100), 2.1);
  std::vector<ModelId> out;
  // Flat: advantage V100 1/1 = 1, A100 1.2/2.1 = 0.57 < 0.8: it leaves the A100 to the
  // steep job, which gains more there...
  r.rank(x.tp, st, x.flat, {x.v100, x.a100}, 0, out);
  EXPECT_EQ(out, (std::vector<ModelId>{x.v100}));
  // ...unless it has waited past the limit.
  r.rank(x.tp, st, x.flat, {x.v100, x.a100}, 1800, out);
  EXPECT_EQ(out, (std::vector<ModelId>{x.v100, x.a100}));
  // Steep: advantage A100 3/2.1 = 1.43 > V100 1; the V100 (1/3 of its best) stays acceptable.
  r.rank(x.tp, st, x.steep, {x.v100, x.a100}, 0, out);
  EXPECT_EQ(out, (std::vector<ModelId>{x.a100, x.v100}));
  ModelRanker fastest(ModelChoice::kFastestFree, {});
  fastest.rank(x.tp, st, x.flat, {x.v100, x.a100}, 0, out);
  EXPECT_EQ(out, (std::vector<ModelId>{x.a100, x.v100}));
}

TEST(Hetero, SchedulerGivesEachJobItsBestRelativeDevice) {
  // The flat job was submitted first. Fastest-free gives it the A100 and leaves the steep
  // job the V100 (total rate 1.2 + 1.0 = 2.2); heterogeneity-aware swaps them (1.0 + 3.0).
  for (ModelChoice mode : {ModelChoice::kHeterogeneityAware, ModelChoice::kFastestFree}) {
    Mixed x;
    SchedulerConfig c = policy_preset("xpool");
    c.model_choice = mode;
    c.hetero.single_worker_fastest = false;  // the advantage rule for single workers too
    Scheduler s(x.b.cluster, x.tp, c);
    JobId flat = s.submit(x.any(x.flat), 0).job;
    JobId steep = s.submit(x.any(x.steep), 1).job;
    s.schedule(2);
    const bool aware = mode == ModelChoice::kHeterogeneityAware;
    EXPECT_EQ(s.job(flat).placement.model, aware ? x.v100 : x.a100);
    EXPECT_EQ(s.job(steep).placement.model, aware ? x.a100 : x.v100);
  }
}

TEST(Hetero, DeclinesMuchSlowerDevicesUntilItWaitedLong) {
  Mixed x;
  x.tp.set(x.steep, x.a100, 5.0);  // V100 runs it at 20% of its best: below the 30% floor
  SchedulerConfig c = policy_preset("xpool");
  c.hetero.max_wait = 600;
  c.hetero.single_worker_fastest = false;  // the advantage rule for single workers too
  Scheduler s(x.b.cluster, x.tp, c);
  JobSpec blocker = job(x.u, x.g, 1, 1, {x.a100});
  s.submit(blocker, 0);
  s.schedule(0);
  JobId steep = s.submit(x.any(x.steep), 0).job;
  EXPECT_TRUE(s.schedule(10).starts.empty());
  // The V100 is declined, so the job waits for its fast model.
  EXPECT_EQ(s.wait_reason(steep), "waiting for 1 free A100 (0 free)");
  Decisions late = s.schedule(700);  // waited 700 s > 600 s: takes the V100 to avoid starving
  ASSERT_EQ(late.starts.size(), 1u);
  EXPECT_EQ(s.job(steep).placement.model, x.v100);
}

TEST(Hetero, TypeBlindTakesTheModelWithMostFreeDevices) {
  ClusterBuilder b;
  ModelId v100 = b.model("V100");
  ModelId a100 = b.model("A100");
  b.node("v", v100, 4);
  b.node("a", a100, 2);
  ClusterState st(b.cluster);
  ModelRanker r(ModelChoice::kTypeBlind, {});
  std::vector<ModelId> out;
  r.rank(default_throughput(b.cluster), st, 0, {a100, v100}, 0, out);
  EXPECT_EQ(out, (std::vector<ModelId>{v100, a100}));
}

// A single worker is ranked by its own speed (fastest first, nothing declined); the advantage
// rule stays for gangs.
TEST(Hetero, SingleWorkerRankedByItsOwnSpeed) {
  Mixed x;
  ClusterState st(x.b.cluster);
  ModelRanker r(ModelChoice::kHeterogeneityAware, {});
  r.begin_pass(x.tp, {1, 1});
  std::vector<ModelId> out;
  r.rank(x.tp, st, x.flat, {x.v100, x.a100}, 0, out, /*single_worker=*/true);
  EXPECT_EQ(out, (std::vector<ModelId>{x.a100, x.v100}));
  r.rank(x.tp, st, x.flat, {x.v100, x.a100}, 0, out, /*single_worker=*/false);
  EXPECT_EQ(out, (std::vector<ModelId>{x.v100}));
  HeteroOptions off;
  off.single_worker_fastest = false;
  ModelRanker gavel(ModelChoice::kHeterogeneityAware, off);
  gavel.begin_pass(x.tp, {1, 1});
  gavel.rank(x.tp, st, x.flat, {x.v100, x.a100}, 0, out, /*single_worker=*/true);
  EXPECT_EQ(out, (std::vector<ModelId>{x.v100}));
}

TEST(Hetero, FinishesSooner) {
  // 600 s of work: V100 (1.0) now ends at 610; A100 (3.0) free at 100 ends at 300.
  EXPECT_TRUE(finishes_sooner(600, 1.0, 10, 3.0, 100));
  // 60 s of work: V100 now ends at 70; A100 at 100 ends at 120.
  EXPECT_FALSE(finishes_sooner(60, 1.0, 10, 3.0, 100));
}

// Earliest expected finish: the steep job (V100 1.0, A100 3.0) could start on the free V100,
// but the A100 is expected free at t=100 (the blocker's expected end): 600 s of work end at
// 10 + 600 = 610 on the V100 and at 100 + 200 = 300 on the A100, so it waits for the A100.
// A 60 s job ends sooner on the V100 (70 against 120) and takes it.
TEST(Hetero, WaitsForAFasterModelWhenItFinishesSooner) {
  for (Time work : {600.0, 60.0}) {
    Mixed x;
    Scheduler s(x.b.cluster, x.tp, policy_preset("xpool"));
    JobSpec blocker = job(x.u, x.g, 1, 1, {x.a100});
    blocker.expected_duration = 100;
    s.submit(blocker, 0);
    s.schedule(0);
    JobSpec steep = x.any(x.steep);
    steep.expected_duration = work;
    const JobId id = s.submit(steep, 5).job;
    s.schedule(10);
    if (work == 600.0) {
      EXPECT_EQ(s.job(id).state, JobState::kWaiting);
      EXPECT_EQ(s.wait_reason(id),
                "waiting for A100, expected free at t=100 s: it finishes sooner there than on a "
                "slower model free now");
    } else {
      EXPECT_EQ(s.job(id).state, JobState::kRunning);
      EXPECT_EQ(s.job(id).placement.model, x.v100);
    }
  }
}

}  // namespace
}  // namespace xpool::sched
