// Admission against quotas: never-fitting jobs are rejected at once with the reason; jobs
// that fit later wait with the reason shown.
#include <gtest/gtest.h>

#include "scenario.h"

namespace xpool::sched {
namespace {

using testing::ClusterBuilder;
using testing::job;

struct Vision {
  ClusterBuilder b;
  ModelId v100, a100;
  GroupId vision, nlp;
  UserId alice, bob;
  Vision() {
    v100 = b.model("V100");
    a100 = b.model("A100");
    for (int i = 0; i < 4; ++i) b.node("v" + std::to_string(i), v100, 8);
    b.node("a0", a100, 8);
    vision = b.group("vision");
    nlp = b.group("nlp");
    alice = b.user("alice", vision);
    bob = b.user("bob", nlp);
    b.group_devices(vision, size_t(v100), 8, 16);      // 16 V100 at most
    b.user_devices(bob, b.cluster.any_resource(), 4);  // bob: 4 accelerators at most
  }
  Scheduler make() {
    return Scheduler(b.cluster, default_throughput(b.cluster), policy_preset("xpool"));
  }
};

TEST(Admission, RejectsWorkerLargerThanAnyNode) {
  Vision v;
  Scheduler s = v.make();
  SubmitResult r = s.submit(job(v.alice, v.vision, 1, 16, {v.v100}), 0);
  EXPECT_FALSE(r.accepted);
  EXPECT_EQ(r.reason, "needs 16 devices on one node; the largest node has 8");
  EXPECT_EQ(s.job(r.job).state, JobState::kRejected);
}

TEST(Admission, RejectsJobAboveGroupMaximum) {
  Vision v;
  Scheduler s = v.make();
  // 3 workers x 8 V100 = 24 > the group's maximum of 16: it can never run.
  SubmitResult r = s.submit(job(v.alice, v.vision, 3, 8, {v.v100}), 0);
  EXPECT_FALSE(r.accepted);
  EXPECT_EQ(r.reason, "exceeds the maximum quota: group vision: 0 of 16 V100 in use, job needs 24");
}

TEST(Admission, JobThatFitsLaterWaitsWithReason) {
  Vision v;
  Scheduler s = v.make();
  ASSERT_TRUE(s.submit(job(v.alice, v.vision, 1, 8, {v.v100}), 0).accepted);
  ASSERT_TRUE(s.submit(job(v.alice, v.vision, 1, 6, {v.v100}), 1).accepted);
  SubmitResult third = s.submit(job(v.alice, v.vision, 1, 4, {v.v100}), 2);
  ASSERT_TRUE(third.accepted);
  Decisions d = s.schedule(10);
  EXPECT_EQ(d.starts.size(), 2u);  // 14 V100 in use, 16 free in the cluster
  EXPECT_EQ(s.job(third.job).state, JobState::kWaiting);
  EXPECT_EQ(s.wait_reason(third.job), "group vision: 14 of 16 V100 in use, job needs 4");
  EXPECT_TRUE(s.check_invariants().empty());
}

TEST(Admission, UserMaximumOnAnyAccelerator) {
  Vision v;
  Scheduler s = v.make();
  EXPECT_FALSE(s.submit(job(v.bob, v.nlp, 1, 5), 0).accepted);  // 5 > 4, never
  ASSERT_TRUE(s.submit(job(v.bob, v.nlp, 1, 3), 0).accepted);
  JobId second = s.submit(job(v.bob, v.nlp, 1, 2), 0).job;
  s.schedule(1);
  EXPECT_EQ(s.wait_reason(second), "user bob: 3 of 4 accelerators in use, job needs 2");
}

TEST(Admission, EmergencyNeedsTheRight) {
  Vision v;
  Scheduler s = v.make();
  JobSpec j = job(v.alice, v.vision, 1, 1);
  j.priority = PriorityClass::kEmergency;
  SubmitResult r = s.submit(j, 0);
  EXPECT_FALSE(r.accepted);
  EXPECT_EQ(r.reason, "user alice has not been granted the right to submit emergency jobs");
}

TEST(Admission, UnmatchedVendorIsRejected) {
  Vision v;
  Scheduler s = v.make();
  JobSpec j = job(v.alice, v.vision, 1, 1);
  j.constraint.kind = DeviceConstraint::Kind::kVendor;
  j.constraint.vendor = "amd";
  SubmitResult r = s.submit(j, 0);
  EXPECT_FALSE(r.accepted);
  EXPECT_EQ(r.reason, "no device model in the cluster matches the job's device constraint");
}

TEST(Admission, CpuPerWorkerAboveLargestNode) {
  Vision v;
  Scheduler s = v.make();
  JobSpec j = job(v.alice, v.vision, 1, 1);
  j.cpu_per_worker = 128;
  EXPECT_EQ(s.submit(j, 0).reason, "needs 128 CPU cores per worker; the largest node has 64");
}

TEST(Admission, QuotasOffOnlyCapacityCounts) {
  Vision v;
  SchedulerConfig c = policy_preset("xpool");
  c.quotas = false;
  Scheduler s(v.b.cluster, default_throughput(v.b.cluster), c);
  EXPECT_TRUE(s.submit(job(v.alice, v.vision, 3, 8, {v.v100}), 0).accepted);
  EXPECT_EQ(s.schedule(0).starts.size(), 1u);
}

}  // namespace
}  // namespace xpool::sched
