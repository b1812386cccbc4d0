// Failures: a node or device failure ends its jobs' placements; checkpointing jobs are
// requeued at the head of their class and re-placed in the next pass; a gang that survived on
// some of its nodes takes the reservation there until it restarts.
#include <gtest/gtest.h>

#include <algorithm>

#include "scenario.h"

namespace xpool::sched {
namespace {

using testing::ClusterBuilder;
using testing::job;

struct Pool {
  ClusterBuilder b;
  ModelId m;
  GroupId g;
  UserId u;
  explicit Pool(int nodes, int per_node = 4) {
    m = b.model("A100");
    for (int i = 0; i < nodes; ++i) b.node("n" + std::to_string(i), m, per_node);
    g = b.group("g");
    u = b.user("u", g);
  }
};

TEST(Failures, NodeFailureRequeuesAndReplacesInOnePass) {
  Pool p(2);
  Scheduler s(p.b.cluster, default_throughput(p.b.cluster), policy_preset("xpool"));
  JobSpec j = job(p.u, p.g, 1, 4);
  j.checkpoint_interval = 60;
  JobId id = s.submit(j, 0).job;
  s.schedule(0);
  const NodeId first = s.job(id).placement.workers[0].node;
  FailureResult f = s.fail_node(first, 100);
  ASSERT_EQ(f.requeued, std::vector<JobId>{id});
  EXPECT_EQ(s.job(id).state, JobState::kWaiting);
  EXPECT_TRUE(s.job(id).head);
  EXPECT_TRUE(s.check_invariants().empty());
  Decisions d = s.schedule(100);  // the very next pass
  ASSERT_EQ(d.starts.size(), 1u);
  EXPECT_EQ(d.starts[0].job, id);
  EXPECT_NE(s.job(id).placement.workers[0].node, first);
  EXPECT_EQ(s.job(id).failures, 1);
  EXPECT_EQ(s.job(id).runs, 2);
  // The failed node's devices are not offered again until it is repaired.
  EXPECT_EQ(s.state().free_whole(p.m), 0);
  s.repair_node(first);
  EXPECT_EQ(s.state().free_whole(p.m), 4);
  EXPECT_TRUE(s.check_invariants().empty());
}

TEST(Failures, CheckpointingJobGoesToTheHeadOfItsClass) {
  Pool p(2, 1);
  Scheduler s(p.b.cluster, default_throughput(p.b.cluster), policy_preset("xpool"));
  JobSpec ck = job(p.u, p.g, 1, 1);
  ck.checkpoint_interval = 60;
  JobId running = s.submit(ck, 10).job;
  JobId other = s.submit(job(p.u, p.g, 1, 1), 20).job;
  s.schedule(20);                                        // both run
  JobId waiting = s.submit(job(p.u, p.g, 1, 1), 5).job;  // earlier submit time, waits
  s.fail_node(s.job(running).placement.workers[0].node, 30);
  s.finish(other, 40);
  Decisions d = s.schedule(40);  // one device free: the requeued job goes first
  ASSERT_EQ(d.starts.size(), 1u);
  EXPECT_EQ(d.starts[0].job, running);
  EXPECT_EQ(s.job(waiting).state, JobState::kWaiting);
}

TEST(Failures, JobWithoutCheckpointsKeepsItsPlace) {
  Pool p(2, 1);
  Scheduler s(p.b.cluster, default_throughput(p.b.cluster), policy_preset("xpool"));
  JobId running = s.submit(job(p.u, p.g, 1, 1), 10).job;
  JobId other = s.submit(job(p.u, p.g, 1, 1), 20).job;
  s.schedule(20);
  JobId waiting = s.submit(job(p.u, p.g, 1, 1), 5).job;
  s.fail_node(s.job(running).placement.workers[0].node, 30);
  EXPECT_FALSE(s.job(running).head);
  s.finish(other, 40);
  Decisions d = s.schedule(40);
  ASSERT_EQ(d.starts.size(), 1u);
  EXPECT_EQ(d.starts[0].job, waiting);  // submitted at 5, before the failed job's 10
}

TEST(Failures, DeviceFailureEndsOnlyTheJobsUsingIt) {
  Pool p(1, 4);
  Scheduler s(p.b.cluster, default_throughput(p.b.cluster), policy_preset("xpool"));
  JobId a = s.submit(job(p.u, p.g, 1, 2), 0).job;
  JobId c = s.submit(job(p.u, p.g, 1, 2), 0).job;
  s.schedule(0);
  DeviceId broken = s.job(a).placement.workers[0].devices[0].first;
  FailureResult f = s.fail_device(broken, 10);
  EXPECT_EQ(f.requeued, std::vector<JobId>{a});
  EXPECT_EQ(s.job(c).state, JobState::kRunning);
  // One healthy device left: the 2-device job waits.
  EXPECT_EQ(s.state().free_whole(p.m), 1);
  EXPECT_TRUE(s.schedule(10).starts.empty());
  EXPECT_TRUE(s.check_invariants().empty());
}

TEST(Failures, GangOnSeveralNodesIsEndedEverywhere) {
  Pool p(3, 4);
  Scheduler s(p.b.cluster, default_throughput(p.b.cluster), policy_preset("xpool"));
  JobId gang = s.submit(job(p.u, p.g, 2, 4), 0).job;
  s.schedule(0);
  ASSERT_EQ(s.job(gang).placement.node_count(), 2);
  s.fail_node(s.job(gang).placement.workers[0].node, 5);
  EXPECT_EQ(s.state().free_whole(p.m), 8);  // the surviving node's devices are free again
  EXPECT_TRUE(s.check_invariants().empty());
}

// Four nodes of 4 A100. Gang G (2 x 4, expected 20000 s) runs on two nodes, X (expected end
// 1000) and Y (expected end 5000) on the other two; gang H (2 x 4) waits and holds the
// reservation (X's node drains at 1000, Y's at 5000: shadow 5000). A 1-device job L without
// an expected duration waits too. G's first node fails at t=100.
struct GangFailure {
  Pool p{4, 4};
  JobId g = -1, x = -1, y = -1, h = -1, l = -1;
  NodeId survivor = -1, lost = -1, x_node = -1;
  Decisions first_pass;
  explicit GangFailure(Scheduler &s) {
    JobSpec gang = job(p.u, p.g, 2, 4);
    gang.expected_duration = 20000;
    gang.checkpoint_interval = 600;
    g = s.submit(gang, 0).job;
    JobSpec one = job(p.u, p.g, 1, 4);
    one.expected_duration = 1000;
    x = s.submit(one, 0).job;
    one.expected_duration = 5000;
    y = s.submit(one, 0).job;
    s.schedule(0);
    lost = s.job(g).placement.workers[0].node;
    survivor = s.job(g).placement.workers[1].node;
    x_node = s.job(x).placement.workers[0].node;
    JobSpec waiting_gang = job(p.u, p.g, 2, 4);
    waiting_gang.expected_duration = 3000;
    h = s.submit(waiting_gang, 10).job;
    first_pass = s.schedule(10);
    l = s.submit(job(p.u, p.g, 1, 1), 20).job;
    s.schedule(20);
    s.fail_node(lost, 100);
  }
};

TEST(Failures, FailedGangTakesTheReservationOnTheNodesItSurvivedOn) {
  SchedulerConfig c = policy_preset("xpool");
  Pool shape(4, 4);
  Scheduler s(shape.b.cluster, default_throughput(shape.b.cluster), c);
  GangFailure f(s);
  // Before the failure H held the reservation: X's node at 1000, Y's at 5000.
  ASSERT_TRUE(f.first_pass.reservation.active);
  EXPECT_EQ(f.first_pass.reservation.job, f.h);
  EXPECT_DOUBLE_EQ(f.first_pass.reservation.start, 5000);
  // After it G is planned first: its surviving node is free now and X's frees at 1000, so it
  // takes the reservation (shadow 1000) and the survivor's 4 devices are held for it: L, which
  // may outlast the shadow time, does not break into them.
  Decisions d = s.schedule(100);
  EXPECT_TRUE(d.starts.empty());
  ASSERT_TRUE(d.reservation.active);
  EXPECT_EQ(d.reservation.job, f.g);
  EXPECT_DOUBLE_EQ(d.reservation.start, 1000);
  EXPECT_EQ(s.job(f.l).state, JobState::kWaiting);
  EXPECT_EQ(s.state().free_whole(f.p.m), 4);  // the survivor's, free again after the pass
  // X ends: G restarts on the node it survived on and X's node, 900 s after the failure.
  s.finish(f.x, 1000);
  d = s.schedule(1000);
  ASSERT_EQ(d.starts.size(), 1u);
  EXPECT_EQ(d.starts[0].job, f.g);
  std::vector<NodeId> nodes;
  for (const WorkerSlot &w : s.job(f.g).placement.workers) nodes.push_back(w.node);
  std::sort(nodes.begin(), nodes.end());
  std::vector<NodeId> want{f.survivor, f.x_node};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(nodes, want);
  // H gets the reservation back: Y's node at 5000, then G's nodes at 1000 + 20000.
  ASSERT_TRUE(d.reservation.active);
  EXPECT_EQ(d.reservation.job, f.h);
  EXPECT_DOUBLE_EQ(d.reservation.start, 21000);
  EXPECT_TRUE(s.check_invariants().empty());
}

TEST(Failures, WithoutTheClaimTheHolderTakesTheSurvivingNode) {
  SchedulerConfig c = policy_preset("xpool");
  c.failed_gangs_first = false;
  Pool shape(4, 4);
  Scheduler s(shape.b.cluster, default_throughput(shape.b.cluster), c);
  GangFailure f(s);
  // H keeps the reservation and now drains the survivor (free) and X's node (1000).
  Decisions d = s.schedule(100);
  ASSERT_TRUE(d.reservation.active);
  EXPECT_EQ(d.reservation.job, f.h);
  EXPECT_DOUBLE_EQ(d.reservation.start, 1000);
  s.finish(f.x, 1000);
  d = s.schedule(1000);
  ASSERT_EQ(d.starts.size(), 1u);
  EXPECT_EQ(d.starts[0].job, f.h);
  EXPECT_EQ(s.job(f.g).state, JobState::kWaiting);
}

TEST(Failures, SingleNodeJobGetsNoClaim) {
  Pool p(2, 4);
  Scheduler s(p.b.cluster, default_throughput(p.b.cluster), policy_preset("xpool"));
  JobId a = s.submit(job(p.u, p.g, 1, 4), 0).job;
  s.schedule(0);
  s.fail_node(s.job(a).placement.workers[0].node, 10);
  EXPECT_FALSE(s.job(a).restart_claim);  // nothing of it survived: it keeps its queue place
}

}  // namespace
}  // namespace xpool::sched
