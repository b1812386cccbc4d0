// Property tests: random clusters and random event sequences (seeded); after every event no
// quota maximum is exceeded, no device is oversubscribed, every index and usage book agrees
// with the running jobs, and gangs always run whole.
#include <gtest/gtest.h>

#include <random>

#include "scenario.h"

namespace xpool::sched {
namespace {

using testing::ClusterBuilder;

struct RandomWorld {
  ClusterBuilder b;
  std::vector<ModelId> models;
  std::vector<GroupId> groups;
  std::vector<UserId> users;

  explicit RandomWorld(std::mt19937_64 &rng) {
    models = {b.model("V100", "nvidia", 32000), b.model("A100", "nvidia", 80000),
              b.model("MI250", "amd", 64000)};
    std::uniform_int_distribution<int> nodes(3, 10), per(1, 8), model(0, 2), share(0, 2);
    const int n = nodes(rng);
    for (int i = 0; i < n; ++i) {
      const int s = share(rng) == 0 ? 4 : 1;
      b.node("n" + std::to_string(i), models[size_t(model(rng))], per(rng), s, 4, {}, 32, 256000);
    }
    for (int g = 0; g < 3; ++g) {
      groups.push_back(b.group("g" + std::to_string(g), 1.0 + g));
      for (int u = 0; u < 2; ++u)
        users.push_back(b.user("u" + std::to_string(g) + std::to_string(u), groups.back(), u == 0));
    }
    std::uniform_int_distribution<int> q(0, 12);
    for (GroupId g : groups) {
      const int64_t guaranteed = q(rng), max = guaranteed + q(rng);
      b.group_devices(g, b.cluster.any_resource(), guaranteed, max);
      b.group_devices(g, size_t(models[size_t(model(rng))]), q(rng) / 2, q(rng) + 2);
    }
    b.user_devices(users[1], b.cluster.any_resource(), 6);
  }

  JobSpec random_job(std::mt19937_64 &rng) {
    std::uniform_int_distribution<int> pick(0, 99);
    JobSpec j;
    const size_t u = size_t(pick(rng)) % users.size();
    j.user = users[u];
    j.group = b.cluster.users[size_t(j.user)].group;
    const int shape = pick(rng);
    if (shape < 20) {
      j.workers = 1;
      j.devices_per_worker = 1;
      j.fraction_denominator = pick(rng) < 50 ? 4 : 2;
      j.memory_cap_mb = pick(rng) < 50 ? 8000 : 0;
    } else if (shape < 70) {
      j.workers = 1;
      j.devices_per_worker = 1 + pick(rng) % 2;
    } else {
      j.workers = 1 + pick(rng) % 3;
      j.devices_per_worker = 1 + pick(rng) % 4;
    }
    const int c = pick(rng);
    if (c < 40) {
      j.constraint.kind = DeviceConstraint::Kind::kAny;
    } else if (c < 60) {
      j.constraint.kind = DeviceConstraint::Kind::kVendor;
      j.constraint.vendor = "nvidia";
    } else {
      j.constraint.kind = DeviceConstraint::Kind::kModels;
      j.constraint.models = {models[size_t(pick(rng) % 3)]};
    }
    j.priority = PriorityClass(pick(rng) % 4);
    j.preemptible = pick(rng) < 70;
    j.checkpoint_interval = pick(rng) < 50 ? 60.0 * (1 + pick(rng) % 5) : 0;
    if (pick(rng) < 70) j.expected_duration = 10.0 + pick(rng) * 10;
    j.cpu_per_worker = pick(rng) % 8;
    j.memory_mb_per_worker = 1000 * (pick(rng) % 16);
    j.workload_type = pick(rng) % 5;
    if (pick(rng) < 10) j.kind = JobKind::kDevEnvironment;
    j.affinity = Affinity(pick(rng) % 4);
    return j;
  }
};

void run_random_trace(const std::string &policy, uint64_t seed, int events) {
  std::mt19937_64 rng(seed);
  RandomWorld w(rng);
  SchedulerConfig config = policy_preset(policy);
  config.devenv.idle_warn = 300;
  config.devenv.idle_stop = 900;
  Scheduler s(w.b.cluster, default_throughput(w.b.cluster), config);
  std::uniform_int_distribution<int> pick(0, 99);
  Time now = 0;
  std::vector<NodeId> down;
  for (int e = 0; e < events; ++e) {
    now += pick(rng);
    const int what = pick(rng);
    std::string event;
    if (what < 40) {
      s.submit(w.random_job(rng), now);
      event = "submit";
    } else if (what < 60 && s.running_count() > 0) {
      s.finish(s.running_jobs()[size_t(pick(rng)) % s.running_count()], now);
      event = "finish";
    } else if (what < 63) {
      NodeId n = NodeId(size_t(pick(rng)) % w.b.cluster.nodes.size());
      s.fail_node(n, now);
      down.push_back(n);
      event = "fail node";
    } else if (what < 65) {
      s.fail_device(DeviceId(size_t(pick(rng)) % s.state().devices().size()), now);
      event = "fail device";
    } else if (what < 70 && !down.empty()) {
      s.repair_node(down.back());
      down.pop_back();
      event = "repair";
    } else if (what < 72 && s.job_count() > 0) {
      s.cancel(JobId(size_t(pick(rng)) % s.job_count()), now);
      event = "cancel";
    } else {
      Decisions d = s.schedule(now);
      event = "schedule";
      for (const auto &st : d.starts) {
        const JobRecord &rec = s.job(st.job);
        ASSERT_EQ(int(rec.placement.workers.size()), rec.spec.workers);
        for (const auto &wk : rec.placement.workers)
          for (auto [dev, milli] : wk.devices) {
            ASSERT_TRUE(s.state().device(dev).healthy);
            ASSERT_EQ(s.state().device(dev).model, rec.placement.model);
          }
      }
    }
    std::vector<std::string> errors = s.check_invariants();
    ASSERT_TRUE(errors.empty()) << policy << " seed " << seed << " event " << e << " (" << event
                                << "): " << errors.front();
  }
}

class RandomTraces : public ::testing::TestWithParam<std::string> {};

TEST_P(RandomTraces, NoQuotaExceededNoDeviceOversubscribed) {
  for (uint64_t seed = 1; seed <= 40; ++seed) run_random_trace(GetParam(), seed, 1500);
}

INSTANTIATE_TEST_SUITE_P(Policies, RandomTraces,
                         ::testing::Values("xpool", "wrr", "fifo", "greedy", "fastest"));

}  // namespace
}  // namespace xpool::sched
