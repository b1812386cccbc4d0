// Ordering: emergency first, then fair share across groups, then priority, then submit time.
#include <gtest/gtest.h>

#include "scenario.h"

namespace xpool::sched {
namespace {

using testing::ClusterBuilder;
using testing::job;
using testing::started_count;

struct TwoGroups {
  ClusterBuilder b;
  ModelId gpu;
  GroupId a, g_b;
  UserId ua, ub, admin;
  TwoGroups(int devices, double weight_a = 1, double weight_b = 1) {
    gpu = b.model("A100");
    b.node("n0", gpu, devices);
    a = b.group("a", weight_a);
    g_b = b.group("b", weight_b);
    ua = b.user("ua", a);
    ub = b.user("ub", g_b);
    admin = b.user("admin", a, /*emergency=*/true);
  }
};

TEST(Ordering, EmergencyJobsGoFirst) {
  TwoGroups t(1);
  Scheduler s(t.b.cluster, default_throughput(t.b.cluster), policy_preset("xpool"));
  JobId normal = s.submit(job(t.ua, t.a, 1, 1), 0).job;
  JobSpec e = job(t.admin, t.a, 1, 1);
  e.priority = PriorityClass::kEmergency;
  JobId emergency = s.submit(e, 5).job;
  Decisions d = s.schedule(10);
  ASSERT_EQ(d.starts.size(), 1u);
  EXPECT_EQ(d.starts[0].job, emergency);
  EXPECT_EQ(s.job(normal).state, JobState::kWaiting);
}

TEST(Ordering, PriorityThenSubmitTimeInsideAGroup) {
  TwoGroups t(2);
  Scheduler s(t.b.cluster, default_throughput(t.b.cluster), policy_preset("xpool"));
  s.submit(job(t.ua, t.a, 1, 1), 0);  // normal, first
  JobSpec high = job(t.ua, t.a, 1, 1);
  high.priority = PriorityClass::kHigh;
  JobId h = s.submit(high, 3).job;
  JobId second_normal = s.submit(job(t.ua, t.a, 1, 1), 1).job;
  Decisions d = s.schedule(10);
  ASSERT_EQ(d.starts.size(), 2u);
  EXPECT_EQ(d.starts[0].job, h);  // high priority beats the earlier normal jobs
  EXPECT_EQ(d.starts[1].job, 0);  // then the earliest normal job
  EXPECT_EQ(s.job(second_normal).state, JobState::kWaiting);
}

TEST(Ordering, DominantResourceFairnessSplitsEqually) {
  // Group a submits 4 jobs before group b submits 4; 4 devices: each group gets 2.
  TwoGroups t(4);
  Scheduler s(t.b.cluster, default_throughput(t.b.cluster), policy_preset("drf"));
  for (int i = 0; i < 4; ++i) s.submit(job(t.ua, t.a, 1, 1), i);
  for (int i = 0; i < 4; ++i) s.submit(job(t.ub, t.g_b, 1, 1), 10 + i);
  Decisions d = s.schedule(20);
  EXPECT_EQ(started_count(d, t.a, s), 2);
  EXPECT_EQ(started_count(d, t.g_b, s), 2);
}

TEST(Ordering, DominantResourceFairnessHonoursWeights) {
  // Weights 3:1 on 4 devices: shares after each start are a: 1/12, b: 1/4, a: 2/12, a: 3/12
  // (tie with b goes to the lower group id) -> a 3, b 1.
  TwoGroups t(4, 3, 1);
  Scheduler s(t.b.cluster, default_throughput(t.b.cluster), policy_preset("drf"));
  for (int i = 0; i < 4; ++i) s.submit(job(t.ua, t.a, 1, 1), i);
  for (int i = 0; i < 4; ++i) s.submit(job(t.ub, t.g_b, 1, 1), i);
  Decisions d = s.schedule(20);
  EXPECT_EQ(started_count(d, t.a, s), 3);
  EXPECT_EQ(started_count(d, t.g_b, s), 1);
}

TEST(Ordering, DominantResourceFairnessCountsTheDominantResource) {
  // Group a's job holds 1 of 4 devices but 48 of 64 CPU cores: its dominant share is 0.75,
  // so group b's next two jobs (1 device, 4 cores each) go before a's second job.
  TwoGroups t(4);
  Scheduler s(t.b.cluster, default_throughput(t.b.cluster), policy_preset("drf"));
  JobSpec heavy = job(t.ua, t.a, 1, 1);
  heavy.cpu_per_worker = 48;
  s.submit(heavy, 0);
  s.schedule(1);
  EXPECT_DOUBLE_EQ(s.dominant_share(t.a), 0.75);
  JobSpec small = job(t.ua, t.a, 1, 1);
  small.cpu_per_worker = 4;
  JobId a2 = s.submit(small, 2).job;
  JobSpec sb = job(t.ub, t.g_b, 1, 1);
  sb.cpu_per_worker = 4;
  JobId b1 = s.submit(sb, 3).job;
  JobId b2 = s.submit(sb, 4).job;
  Decisions d = s.schedule(5);
  ASSERT_EQ(d.starts.size(), 3u);
  EXPECT_EQ(d.starts[0].job, b1);
  EXPECT_EQ(d.starts[1].job, b2);
  EXPECT_EQ(d.starts[2].job, a2);
}

TEST(Ordering, WeightedRoundRobinTurns) {
  // Weights 2:1, 6 devices: turns a, b, a, a (tie at 1.0 goes to a), b, a -> a 4, b 2.
  TwoGroups t(6, 2, 1);
  Scheduler s(t.b.cluster, default_throughput(t.b.cluster), policy_preset("wrr"));
  for (int i = 0; i < 6; ++i) s.submit(job(t.ua, t.a, 1, 1), i);
  for (int i = 0; i < 6; ++i) s.submit(job(t.ub, t.g_b, 1, 1), i);
  Decisions d = s.schedule(20);
  EXPECT_EQ(started_count(d, t.a, s), 4);
  EXPECT_EQ(started_count(d, t.g_b, s), 2);
}

TEST(Ordering, FifoIgnoresGroupsAndPriorities) {
  TwoGroups t(2);
  Scheduler s(t.b.cluster, default_throughput(t.b.cluster), policy_preset("fifo"));
  JobId a0 = s.submit(job(t.ua, t.a, 1, 1), 0).job;
  JobId a1 = s.submit(job(t.ua, t.a, 1, 1), 1).job;
  JobSpec high = job(t.ub, t.g_b, 1, 1);
  high.priority = PriorityClass::kHigh;
  s.submit(high, 2);
  Decisions d = s.schedule(3);
  ASSERT_EQ(d.starts.size(), 2u);
  EXPECT_EQ(d.starts[0].job, a0);
  EXPECT_EQ(d.starts[1].job, a1);
}

TEST(Ordering, FifoBlocksBehindTheFirstJobThatDoesNotFit) {
  // 4 devices: a0 takes 2; the wide job needs all 4, so it waits; the 1-device job behind it
  // waits too under strict FIFO, and starts in the hole under greedy.
  TwoGroups t(4);
  for (const char *policy : {"fifo", "greedy"}) {
    Scheduler s(t.b.cluster, default_throughput(t.b.cluster), policy_preset(policy));
    JobId a0 = s.submit(job(t.ua, t.a, 1, 2), 0).job;
    JobId wide = s.submit(job(t.ua, t.a, 1, 4), 1).job;
    JobId small = s.submit(job(t.ub, t.g_b, 1, 1), 2).job;
    Decisions d = s.schedule(3);
    ASSERT_GE(d.starts.size(), 1u) << policy;
    EXPECT_EQ(d.starts[0].job, a0) << policy;
    EXPECT_EQ(s.job(wide).state, JobState::kWaiting) << policy;
    const bool strict = std::string(policy) == "fifo";
    EXPECT_EQ(s.job(small).state, strict ? JobState::kWaiting : JobState::kRunning) << policy;
    EXPECT_EQ(d.starts.size(), strict ? 1u : 2u) << policy;
    // When a0 ends, the wide job goes first under FIFO; under greedy the small job holds a
    // device, so the wide job still does not fit.
    s.finish(a0, 10);
    d = s.schedule(10);
    EXPECT_EQ(s.job(wide).state, strict ? JobState::kRunning : JobState::kWaiting) << policy;
  }
}

TEST(Ordering, FifoDoesNotBlockBehindAJobHeldByItsQuota) {
  // Group a may use at most 1 device; its second job waits for its quota, not for capacity,
  // so group b's job behind it starts.
  TwoGroups t(4);
  t.b.group_devices(t.a, t.b.cluster.any_resource(), 0, 1);
  Scheduler s(t.b.cluster, default_throughput(t.b.cluster), policy_preset("fifo"));
  s.submit(job(t.ua, t.a, 1, 1), 0);
  JobId held = s.submit(job(t.ua, t.a, 1, 1), 1).job;
  JobId other = s.submit(job(t.ub, t.g_b, 1, 1), 2).job;
  s.schedule(3);
  EXPECT_EQ(s.job(held).state, JobState::kWaiting);
  EXPECT_NE(s.wait_reason(held).find("group a: 1 of 1 accelerators in use"), std::string::npos)
      << s.wait_reason(held);
  EXPECT_EQ(s.job(other).state, JobState::kRunning);
}

TEST(Ordering, JainIndex) {
  EXPECT_DOUBLE_EQ(jain_index({1, 1, 1, 1}), 1.0);
  EXPECT_DOUBLE_EQ(jain_index({1, 0, 0, 0}), 0.25);
  EXPECT_DOUBLE_EQ(jain_index({1, 2}), 0.9);  // 3^2 / (2 * 5)
}

}  // namespace
}  // namespace xpool::sched

namespace xpool::sched {
namespace {

QueueKey key(uint8_t priority, Time submit, JobId job) {
  QueueKey k{};
  k.priority = priority;
  k.submit = submit;
  k.job = job;
  return k;
}

TEST(JobQueue, KeepsOrderAcrossInsertsAndRemovals) {
  JobQueue q;
  q.insert(key(1, 30, 3));
  q.insert(key(2, 50, 5));  // higher priority first
  q.insert(key(1, 10, 1));
  q.prepare();
  ASSERT_EQ(q.size(), 3u);
  EXPECT_EQ(q.entries()[0].job, 5);
  EXPECT_EQ(q.entries()[1].job, 1);
  EXPECT_EQ(q.entries()[2].job, 3);
  EXPECT_TRUE(q.erase(key(1, 10, 1)));
  EXPECT_FALSE(q.erase(key(1, 10, 1)));  // already gone
  q.insert(key(1, 20, 2));
  EXPECT_TRUE(q.erase(key(1, 20, 2)));  // still pending
  q.insert(key(1, 5, 0));
  q.remove_at(0);
  q.prepare();
  ASSERT_EQ(q.size(), 2u);
  ASSERT_EQ(q.entries().size(), 2u);
  EXPECT_EQ(q.entries()[0].job, 0);
  EXPECT_EQ(q.entries()[1].job, 3);
  int seen = 0;
  q.for_each([&](const QueueKey &) { ++seen; });
  EXPECT_EQ(seen, 2);
}

}  // namespace
}  // namespace xpool::sched
