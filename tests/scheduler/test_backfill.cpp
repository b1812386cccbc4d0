// Backfill: the blocked gang holds a reservation at its shadow time; smaller jobs run in the
// hole only when they end before it.
#include <gtest/gtest.h>

#include "scenario.h"

namespace xpool::sched {
namespace {

using testing::ClusterBuilder;
using testing::job;

struct Hole {
  ClusterBuilder b;
  ModelId m;
  GroupId g;
  UserId u;
  Hole() {
    m = b.model("A100");
    b.node("n0", m, 8);
    g = b.group("g");
    u = b.user("u", g);
  }
  JobSpec timed(int devices, Time expected) {
    JobSpec j = job(u, g, 1, devices);
    j.expected_duration = expected;
    return j;
  }
};

// Running: 6 devices until t=100. Waiting: the 8-device gang, then two 1-device jobs of 50 s
// and 500 s. At t=10 the gang's shadow time is 100 (2 free + 6 released at 100); the 50 s job
// ends at 60 <= 100 and runs, the 500 s job would end at 510 and waits.
TEST(Backfill, SmallJobsRunOnlyIfTheyEndBeforeTheReservation) {
  Hole h;
  Scheduler s(h.b.cluster, default_throughput(h.b.cluster), policy_preset("xpool"));
  s.submit(h.timed(6, 100), 0);
  s.schedule(0);
  JobId gang = s.submit(h.timed(8, 1000), 1).job;
  JobId short_job = s.submit(h.timed(1, 50), 2).job;
  JobId long_job = s.submit(h.timed(1, 500), 3).job;
  Decisions d = s.schedule(10);
  ASSERT_TRUE(d.reservation.active);
  EXPECT_EQ(d.reservation.job, gang);
  EXPECT_DOUBLE_EQ(d.reservation.start, 100);
  ASSERT_EQ(d.starts.size(), 1u);
  EXPECT_EQ(d.starts[0].job, short_job);
  EXPECT_TRUE(d.starts[0].backfilled);
  EXPECT_EQ(s.job(long_job).state, JobState::kWaiting);
  EXPECT_EQ(s.wait_reason(long_job),
            "held back by a reservation for a larger job starting at t=100 s");
}

TEST(Backfill, WithoutBackfillTheLongJobTakesTheHole) {
  Hole h;
  SchedulerConfig c = policy_preset("xpool");
  c.backfill = false;
  Scheduler s(h.b.cluster, default_throughput(h.b.cluster), c);
  s.submit(h.timed(6, 100), 0);
  s.schedule(0);
  s.submit(h.timed(8, 1000), 1);
  s.submit(h.timed(1, 50), 2);
  JobId long_job = s.submit(h.timed(1, 500), 3).job;
  Decisions d = s.schedule(10);
  EXPECT_EQ(d.starts.size(), 2u);
  EXPECT_EQ(s.job(long_job).state, JobState::kRunning);
}

TEST(Backfill, UnknownDurationCannotBackfill) {
  Hole h;
  Scheduler s(h.b.cluster, default_throughput(h.b.cluster), policy_preset("xpool"));
  s.submit(h.timed(6, 100), 0);
  s.schedule(0);
  s.submit(h.timed(8, 1000), 1);
  JobId unknown = s.submit(job(h.u, h.g, 1, 1), 2).job;
  EXPECT_TRUE(s.schedule(10).starts.empty());
  EXPECT_EQ(s.job(unknown).state, JobState::kWaiting);
}

TEST(Backfill, ShadowTime) {
  std::vector<Release> r = {{300, 2000}, {100, 1000}, {kNever, 4000}};
  EXPECT_DOUBLE_EQ(shadow_time(1000, 2000, r, 0), 100);
  EXPECT_DOUBLE_EQ(shadow_time(1000, 4000, r, 0), 300);
  EXPECT_EQ(shadow_time(1000, 5000, r, 0), kNever);
  EXPECT_DOUBLE_EQ(shadow_time(3000, 2000, r, 7), 7);
}

TEST(Backfill, ReservationOnlyGuardsItsModels) {
  Reservation r{true, 0, {1}, 100, 0};
  EXPECT_TRUE(may_backfill(r, 0, 10, std::nullopt, 1000));  // another model: no conflict
  EXPECT_FALSE(may_backfill(r, 1, 10, std::nullopt, 1000));
  EXPECT_TRUE(may_backfill(r, 1, 10, 90.0, 1000));
  EXPECT_FALSE(may_backfill(r, 1, 10, 91.0, 1000));
  r.spare_milli = 1000;  // one device beyond the reserved job's need at the shadow time
  EXPECT_TRUE(may_backfill(r, 1, 10, std::nullopt, 1000));
  EXPECT_FALSE(may_backfill(r, 1, 10, std::nullopt, 2000));
}

TEST(Backfill, ShadowTimeSpare) {
  int64_t spare = -1;
  // Need 3: free 1, +2 at t=50 (3, exactly), +2 more at t=50 too: spare 2.
  std::vector<Release> r = {{50, 2000}, {50, 2000}, {80, 1000}};
  EXPECT_DOUBLE_EQ(shadow_time(1000, 3000, r, 0, &spare), 50);
  EXPECT_EQ(spare, 2000);
}

// EASY backfill: a long job may start if it only uses devices the gang will not need.
TEST(Backfill, LongJobRunsInTheSpare) {
  Hole h;
  Scheduler s(h.b.cluster, default_throughput(h.b.cluster), policy_preset("xpool"));
  s.submit(h.timed(4, 100), 0);
  s.schedule(0);
  JobId gang = s.submit(h.timed(6, 1000), 1).job;  // 4 free now, 8 at t=100: spare 2
  JobId long1 = s.submit(h.timed(2, 5000), 2).job;
  JobId long2 = s.submit(h.timed(1, 5000), 3).job;
  Decisions d = s.schedule(10);
  EXPECT_EQ(d.reservation.job, gang);
  EXPECT_EQ(s.job(long1).state, JobState::kRunning);  // fits the spare of 2
  EXPECT_EQ(s.job(long2).state, JobState::kWaiting);  // the spare is used up
}

// Node-aware shadow time: 2 workers of 4 devices. Node 0 has 4 free now; node 1 frees 2 at
// t=50 and 2 at t=200; node 2 frees all 4 at t=100; node 3 never (a job without an end).
TEST(Backfill, NodeShadowTime) {
  std::vector<NodeDrain> nodes = {{10, {0, 0, 0, 0}},
                                  {11, {50, 50, 200, 200}},
                                  {12, {100, 100, 100, 100}},
                                  {13, {0, 0, 0, kNever}}};
  std::vector<std::pair<NodeId, int>> chosen;
  // Worker slots: node 10 at 0, node 12 at 100, node 11 at 200: the second is at t=100.
  EXPECT_DOUBLE_EQ(node_shadow_time(nodes, 2, 4, false, 0, &chosen), 100);
  EXPECT_EQ(chosen, (std::vector<std::pair<NodeId, int>>{{10, 1}, {12, 1}}));
  // 3 workers: counting devices alone would say t=100 (7 free now, 9 at 50, 13 at 100);
  // node by node the third worker fits only at t=200.
  EXPECT_DOUBLE_EQ(node_shadow_time(nodes, 3, 4, false, 0, &chosen), 200);
  EXPECT_EQ(node_shadow_time(nodes, 4, 4, false, 0, &chosen), kNever);
  // Workers of 2 devices: node 10 offers 2 slots at 0, node 13 one at 0.
  EXPECT_DOUBLE_EQ(node_shadow_time(nodes, 3, 2, false, 0, &chosen), 0);
  EXPECT_EQ(chosen, (std::vector<std::pair<NodeId, int>>{{10, 2}, {13, 1}}));
  // Spread: one worker per node.
  EXPECT_DOUBLE_EQ(node_shadow_time(nodes, 3, 2, true, 0, &chosen), 50);
  // Times in the past count from now.
  EXPECT_DOUBLE_EQ(node_shadow_time(nodes, 1, 4, false, 30, &chosen), 30);
}

// Two nodes of 4 A100, each with a 2-device job running until t=5000 and 2 devices free:
// 4 devices are free, yet a 4-device job does not fit (fragmentation). Counting devices
// gave no reservation, so long jobs took the free halves one by one and the big job waited
// for them too. The node-aware reservation picks a node that drains at t=5000 and holds its
// free devices: the first long job goes to the other node, the second is held back, a short
// job may borrow the held devices, and the big job starts when its node drains.
TEST(Backfill, NodeReservationKeepsFragmentsForTheGang) {
  ClusterBuilder b;
  const ModelId m = b.model("A100");
  b.node("n0", m, 4);
  b.node("n1", m, 4);
  const GroupId g = b.group("g");
  const UserId u = b.user("u", g);
  auto timed = [&](int devices, Time expected) {
    JobSpec j = job(u, g, 1, devices);
    j.expected_duration = expected;
    return j;
  };
  Scheduler s(b.cluster, default_throughput(b.cluster), policy_preset("xpool"));
  const JobId a1 = s.submit(timed(2, 5000), 0).job;
  const JobId a2 = s.submit(timed(2, 100), 0).job;
  const JobId b1 = s.submit(timed(2, 5000), 0).job;
  const JobId b2 = s.submit(timed(2, 100), 0).job;
  ASSERT_EQ(s.schedule(0).starts.size(), 4u);
  ASSERT_NE(s.job(a1).placement.workers[0].node, s.job(b1).placement.workers[0].node);
  s.finish(a2, 1);
  s.finish(b2, 1);
  const JobId big = s.submit(timed(4, 1000), 2).job;
  const JobId long1 = s.submit(timed(2, 10000), 3).job;
  const JobId long2 = s.submit(timed(2, 10000), 4).job;
  const JobId short_job = s.submit(timed(2, 100), 5).job;
  Decisions d = s.schedule(10);
  ASSERT_TRUE(d.reservation.active);
  EXPECT_EQ(d.reservation.job, big);
  EXPECT_DOUBLE_EQ(d.reservation.start, 5000);
  ASSERT_EQ(d.reservation.nodes.size(), 1u);
  const NodeId reserved = d.reservation.nodes[0];
  EXPECT_EQ(s.job(long1).state, JobState::kRunning);
  EXPECT_NE(s.job(long1).placement.workers[0].node, reserved);
  EXPECT_EQ(s.job(long2).state, JobState::kWaiting);
  EXPECT_EQ(s.wait_reason(long2),
            "held back by a reservation for a larger job starting at t=5000 s");
  EXPECT_EQ(s.job(short_job).state, JobState::kRunning);  // ends at 110 <= 5000
  EXPECT_EQ(s.job(short_job).placement.workers[0].node, reserved);
  EXPECT_TRUE(s.check_invariants().empty());
  s.finish(short_job, 110);
  EXPECT_TRUE(s.schedule(110).starts.empty());  // the held devices stay free for the big job
  s.finish(a1, 5000);
  s.finish(b1, 5000);
  s.schedule(5000);
  EXPECT_EQ(s.job(big).state, JobState::kRunning);
  EXPECT_EQ(s.job(big).placement.workers[0].node, reserved);
  EXPECT_TRUE(s.check_invariants().empty());
}

}  // namespace
}  // namespace xpool::sched
