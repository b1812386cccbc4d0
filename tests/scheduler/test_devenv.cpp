// Development environments: idle timeout (warn, then stop) and a limit per user.
#include <gtest/gtest.h>

#include "scenario.h"

namespace xpool::sched {
namespace {

using testing::ClusterBuilder;
using testing::job;

struct Lab {
  ClusterBuilder b;
  ModelId m;
  GroupId g;
  UserId u;
  Lab() {
    m = b.model("A100");
    b.node("n0", m, 4);
    g = b.group("g");
    u = b.user("carol", g);
  }
  JobSpec env() {
    JobSpec j = job(u, g, 1, 1);
    j.kind = JobKind::kDevEnvironment;
    return j;
  }
};

TEST(DevEnv, LimitPerUser) {
  Lab l;
  SchedulerConfig c = policy_preset("xpool");
  c.devenv.max_per_user = 1;
  Scheduler s(l.b.cluster, default_throughput(l.b.cluster), c);
  JobId first = s.submit(l.env(), 0).job;
  SubmitResult second = s.submit(l.env(), 1);
  EXPECT_FALSE(second.accepted);
  EXPECT_EQ(second.reason, "user carol already has 1 development environments (limit 1)");
  s.schedule(2);
  s.finish(first, 3);
  EXPECT_TRUE(s.submit(l.env(), 4).accepted);  // the slot is free again
}

TEST(DevEnv, IdleWarnThenStop) {
  Lab l;
  SchedulerConfig c = policy_preset("xpool");
  c.devenv.idle_warn = 1800;
  c.devenv.idle_stop = 3600;
  Scheduler s(l.b.cluster, default_throughput(l.b.cluster), c);
  JobId env = s.submit(l.env(), 0).job;
  s.schedule(0);
  EXPECT_TRUE(s.schedule(1000).devenv.empty());
  Decisions warn = s.schedule(1800);
  ASSERT_EQ(warn.devenv.size(), 1u);
  EXPECT_EQ(warn.devenv[0].action, DevEnvAction::kWarn);
  EXPECT_EQ(warn.devenv[0].message, "idle for 1800 s; stops after 3600 s idle");
  EXPECT_TRUE(s.schedule(1900).devenv.empty());   // warned once
  s.record_activity(env, 2000);                   // the user came back
  EXPECT_TRUE(s.schedule(3700).devenv.empty());   // idle 1700 s only
  EXPECT_EQ(s.schedule(3800).devenv.size(), 1u);  // idle 1800 s: warned again
  Decisions stop = s.schedule(5600);              // idle 3600 s
  ASSERT_EQ(stop.devenv.size(), 1u);
  EXPECT_EQ(stop.devenv[0].action, DevEnvAction::kStop);
  EXPECT_EQ(s.job(env).state, JobState::kStopped);
  EXPECT_EQ(s.state().free_whole(l.m), 4);
}

TEST(DevEnv, ActionFunction) {
  DevEnvPolicy p{100, 200, 2};
  EXPECT_EQ(devenv_action(p, 0, false, 50), DevEnvAction::kNone);
  EXPECT_EQ(devenv_action(p, 0, false, 100), DevEnvAction::kWarn);
  EXPECT_EQ(devenv_action(p, 0, true, 150), DevEnvAction::kNone);
  EXPECT_EQ(devenv_action(p, 0, true, 200), DevEnvAction::kStop);
}

}  // namespace
}  // namespace xpool::sched
