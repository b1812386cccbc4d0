// Accounting: device-seconds per user, group and model, priced per device-hour.
#include <gtest/gtest.h>

#include "scenario.h"

namespace xpool::sched {
namespace {

using testing::ClusterBuilder;
using testing::job;

TEST(Accounting, DeviceSecondsAndCost) {
  ClusterBuilder b;
  ModelId a100 = b.model("A100", "nvidia", 80000, /*price=*/3.0);
  ModelId t4 = b.model("T4", "nvidia", 16000, /*price=*/0.5);
  b.node("a", a100, 4);
  b.node("t", t4, 4, 4);
  GroupId g = b.group("vision");
  UserId alice = b.user("alice", g);
  UserId bob = b.user("bob", g);
  Scheduler s(b.cluster, default_throughput(b.cluster), policy_preset("xpool"));
  JobId big = s.submit(job(alice, g, 1, 2, {a100}), 0).job;
  JobSpec quarter = job(bob, g, 1, 1, {t4});
  quarter.fraction_denominator = 4;
  JobId small = s.submit(quarter, 0).job;
  s.schedule(0);
  s.finish(big, 1800);    // 2 devices x 1800 s = 1 device-hour of A100 = 3.0
  s.finish(small, 7200);  // 1/4 device x 7200 s = 0.5 device-hour of T4 = 0.25
  const Accounting &acc = s.accounting();
  EXPECT_DOUBLE_EQ(acc.user_device_seconds(alice), 3600);
  EXPECT_DOUBLE_EQ(acc.user_device_seconds(bob), 1800);
  EXPECT_DOUBLE_EQ(acc.group_device_seconds(g), 5400);
  EXPECT_DOUBLE_EQ(acc.model_device_seconds(a100), 3600);
  EXPECT_DOUBLE_EQ(acc.user_cost(alice), 3.0);
  EXPECT_DOUBLE_EQ(acc.user_cost(bob), 0.25);
  EXPECT_DOUBLE_EQ(acc.group_cost(g), 3.25);
  EXPECT_DOUBLE_EQ(acc.total_cost(), 3.25);
  EXPECT_EQ(acc.lines().size(), 5u);  // 1 group, 2 users, 2 models
}

TEST(Accounting, PreemptedAndFailedRunsAreBilledUpToTheirEnd) {
  ClusterBuilder b;
  ModelId m = b.model("A100");
  b.node("a", m, 1);
  b.node("b", m, 1);
  GroupId g = b.group("g");
  UserId u = b.user("u", g);
  Scheduler s(b.cluster, default_throughput(b.cluster), policy_preset("xpool"));
  JobId id = s.submit(job(u, g, 1, 1), 0).job;
  s.schedule(0);
  s.fail_node(s.job(id).placement.workers[0].node, 600);
  s.schedule(600);
  s.finish(id, 1000);
  EXPECT_DOUBLE_EQ(s.accounting().user_device_seconds(u), 1000);  // 600 + 400
}

}  // namespace
}  // namespace xpool::sched
