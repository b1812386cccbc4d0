// Failures: a node or device failure ends its jobs' placements; checkpointing jobs are
// requeued at the head of their class and re-placed in the next pass.
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace xpool::sched
