// Preemption: emergency jobs and guaranteed-quota reclaim preempt preemptible jobs, choosing
// the victims that lose the least work since their last checkpoint.
#include <gtest/gtest.h>

#include "scenario.h"

namespace xpool::sched {
namespace {

using testing::ClusterBuilder;
using testing::job;

struct Pool {
  ClusterBuilder b;
  ModelId m;
  GroupId a, g_b;
  UserId ua, ub, admin;
  explicit Pool(int devices) {
    m = b.model("A100");
    b.node("n0", m, devices);
    a = b.group("a");
    g_b = b.group("b");
    ua = b.user("ua", a);
    ub = b.user("ub", g_b);
    admin = b.user("admin", a, true);
  }
  JobSpec low(UserId u, GroupId g, Time checkpoint, bool preemptible = true) {
    JobSpec j = job(u, g, 1, 1);
    j.priority = PriorityClass::kLow;
    j.checkpoint_interval = checkpoint;
    j.preemptible = preemptible;
    return j;
  }
  JobSpec emergency() {
    JobSpec e = job(admin, a, 1, 1);
    e.priority = PriorityClass::kEmergency;
    return e;
  }
};

TEST(Preemption, EmergencyPreemptsTheVictimThatLosesLeast) {
  // At t=250 the job checkpointing every 100 s lost 50 s, the one every 30 s lost 10 s.
  Pool p(2);
  Scheduler s(p.b.cluster, default_throughput(p.b.cluster), policy_preset("xpool"));
  JobId every100 = s.submit(p.low(p.ub, p.g_b, 100), 0).job;
  JobId every30 = s.submit(p.low(p.ub, p.g_b, 30), 0).job;
  s.schedule(0);
  JobId e = s.submit(p.emergency(), 250).job;
  Decisions d = s.schedule(250);  // started within this one pass
  ASSERT_EQ(d.preemptions.size(), 1u);
  EXPECT_EQ(d.preemptions[0].victim, every30);
  EXPECT_EQ(d.preemptions[0].beneficiary, e);
  EXPECT_EQ(d.preemptions[0].cause, PreemptionCause::kEmergency);
  EXPECT_DOUBLE_EQ(d.preemptions[0].lost_work, 10);
  ASSERT_EQ(d.starts.size(), 1u);
  EXPECT_EQ(d.starts[0].job, e);
  EXPECT_EQ(s.job(every100).state, JobState::kRunning);
  EXPECT_EQ(s.job(every30).state, JobState::kWaiting);
  EXPECT_TRUE(s.job(every30).head);
  EXPECT_EQ(s.job(every30).preemptions, 1);
  EXPECT_TRUE(s.check_invariants().empty());
}

TEST(Preemption, NonPreemptibleJobsAreNeverVictims) {
  Pool p(1);
  Scheduler s(p.b.cluster, default_throughput(p.b.cluster), policy_preset("xpool"));
  s.submit(p.low(p.ub, p.g_b, 100, /*preemptible=*/false), 0);
  s.schedule(0);
  JobId e = s.submit(p.emergency(), 10).job;
  Decisions d = s.schedule(10);
  EXPECT_TRUE(d.preemptions.empty());
  EXPECT_EQ(s.job(e).state, JobState::kWaiting);
}

TEST(Preemption, ReclaimTakesBackGuaranteedCapacityFromBorrowers) {
  // Group a is guaranteed all 4 devices but idle; group b borrows them. When a submits a
  // 2-device job, exactly 2 of b's jobs are preempted: those that lose the least work.
  Pool p(4);
  p.b.group_devices(p.a, p.b.cluster.any_resource(), 4, 4);
  Scheduler s(p.b.cluster, default_throughput(p.b.cluster), policy_preset("xpool"));
  std::vector<JobId> borrowed;
  for (Time ck : {100.0, 30.0, 70.0, 45.0})
    borrowed.push_back(s.submit(p.low(p.ub, p.g_b, ck), 0).job);
  Decisions first = s.schedule(0);
  for (const auto &st : first.starts) EXPECT_TRUE(st.borrowing);
  // At t=200 lost work: ck 100 -> 0, ck 30 -> 20, ck 70 -> 60, ck 45 -> 20.
  JobId mine = s.submit(job(p.ua, p.a, 1, 2), 200).job;
  Decisions d = s.schedule(200);
  ASSERT_EQ(d.preemptions.size(), 2u);
  std::set<JobId> victims{d.preemptions[0].victim, d.preemptions[1].victim};
  EXPECT_EQ(victims, (std::set<JobId>{borrowed[0], borrowed[1]}));
  EXPECT_EQ(d.preemptions[0].cause, PreemptionCause::kQuotaReclaim);
  EXPECT_EQ(s.job(mine).state, JobState::kRunning);
  EXPECT_FALSE(s.job(mine).borrowing);
  EXPECT_TRUE(s.check_invariants().empty());
}

TEST(Preemption, NoReclaimBeyondTheGuarantee) {
  Pool p(4);
  p.b.group_devices(p.a, p.b.cluster.any_resource(), 1, 4);
  Scheduler s(p.b.cluster, default_throughput(p.b.cluster), policy_preset("xpool"));
  for (int i = 0; i < 4; ++i) s.submit(p.low(p.ub, p.g_b, 60), 0);
  s.schedule(0);
  JobId mine = s.submit(job(p.ua, p.a, 1, 2), 200).job;  // 2 > guaranteed 1
  Decisions d = s.schedule(200);
  EXPECT_TRUE(d.preemptions.empty());
  EXPECT_EQ(s.job(mine).state, JobState::kWaiting);
}

TEST(Preemption, PreemptionOffMeansNoVictims) {
  Pool p(1);
  SchedulerConfig c = policy_preset("xpool");
  c.preemption = false;
  Scheduler s(p.b.cluster, default_throughput(p.b.cluster), c);
  s.submit(p.low(p.ub, p.g_b, 100), 0);
  s.schedule(0);
  s.submit(p.emergency(), 10);
  EXPECT_TRUE(s.schedule(10).preemptions.empty());
}

TEST(Preemption, SecondsSinceCheckpoint) {
  EXPECT_DOUBLE_EQ(seconds_since_checkpoint(0, 100, 250), 50);
  EXPECT_DOUBLE_EQ(seconds_since_checkpoint(50, 100, 250), 0);
  EXPECT_DOUBLE_EQ(seconds_since_checkpoint(0, 0, 250), 250);
}

}  // namespace
}  // namespace xpool::sched
