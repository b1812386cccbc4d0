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

}  // namespace
}  // namespace xpool::sched
