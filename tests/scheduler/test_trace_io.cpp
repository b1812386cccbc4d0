// Trace CSV, cluster JSON and failure CSV: good input parses; bad input is a clear error
// naming the line and the value.
#include <gtest/gtest.h>

#include <cstring>
#include <sstream>

#include "xpool/scheduler/trace_gen.h"
#include "xpool/scheduler/trace_io.h"

namespace xpool::sched {
namespace {

const char *kHeader =
    "submit_time,duration,workers,devices_per_worker,device_constraint,user,group,priority,job_"
    "type\n";

std::string error_of(const std::string &csv) {
  std::istringstream in(csv);
  try {
    parse_trace_csv(in, "t.csv");
  } catch (const InputError &e) {
    return e.what();
  }
  return "";
}

TEST(TraceCsv, ParsesRequiredAndOptionalColumns) {
  std::istringstream in(
      "submit_time,duration,workers,devices_per_worker,device_constraint,user,group,priority,job_"
      "type,"
      "checkpoint_interval,expected_duration,affinity\n"
      "# a comment\n"
      "0,3600,2,8,A100|H100,alice,vision,high,transformer,600,4000,same-node\n"
      "10.5,60,1,0.25,any,bob,nlp,low,cnn,,,\n"
      "11,60,1,1/2,vendor:amd,bob,nlp,normal,rl,,,\n");
  auto jobs = parse_trace_csv(in, "t.csv");
  ASSERT_EQ(jobs.size(), 3u);
  EXPECT_EQ(jobs[0].line, 3);
  EXPECT_EQ(jobs[0].workers, 2);
  EXPECT_EQ(jobs[0].devices_per_worker, 8);
  EXPECT_EQ(jobs[0].constraint, "A100|H100");
  EXPECT_EQ(jobs[0].priority, PriorityClass::kHigh);
  EXPECT_EQ(jobs[0].affinity, Affinity::kSameNode);
  EXPECT_DOUBLE_EQ(*jobs[0].expected_duration, 4000);
  EXPECT_EQ(jobs[1].fraction_denominator, 4);
  EXPECT_FALSE(jobs[1].expected_duration.has_value());
  EXPECT_EQ(jobs[2].fraction_denominator, 2);
}

TEST(TraceCsv, ActivityOfDevelopmentEnvironments) {
  const std::string header = std::string(kHeader).substr(0, std::strlen(kHeader) - 1);
  std::istringstream in(header + ",kind,activity\n" +
                        "0,7200,1,1,any,carol,g,normal,other,devenv,0-600; 1800-2400.5\n" +
                        "5,60,1,1,any,carol,g,normal,other,devenv,\n");
  auto jobs = parse_trace_csv(in, "t.csv");
  ASSERT_EQ(jobs.size(), 2u);
  EXPECT_EQ(jobs[0].activity,
            (std::vector<ActivePeriod>{ActivePeriod{0, 600}, ActivePeriod{1800, 2400.5}}));
  EXPECT_TRUE(jobs[1].activity.empty());  // no activity: idle from its start
  // Written back and read again unchanged.
  std::istringstream again(write_trace_csv(jobs));
  EXPECT_EQ(parse_trace_csv(again, "w.csv")[0].activity, jobs[0].activity);

  const std::string h = header + ",kind,activity\n";
  EXPECT_EQ(error_of(h + "0,60,1,1,any,a,g,normal,cnn,devenv,600\n"),
            "t.csv line 2: activity period '600' is not begin-end (seconds after the start)");
  EXPECT_EQ(error_of(h + "0,60,1,1,any,a,g,normal,cnn,devenv,600-600\n"),
            "t.csv line 2: activity period '600-600' ends before it begins");
  EXPECT_EQ(error_of(h + "0,60,1,1,any,a,g,normal,cnn,devenv,0-600;500-900\n"),
            "t.csv line 2: activity period '500-900' overlaps or precedes the one before it");
  EXPECT_EQ(error_of(h + "0,60,1,1,any,a,g,normal,cnn,devenv,0-x\n"),
            "t.csv line 2: activity end 'x' is not a number");
  EXPECT_EQ(error_of(h + "0,60,1,1,any,a,g,normal,cnn,training,0-60\n"),
            "t.csv line 2: activity '0-60' is only for kind devenv");
}

TEST(TraceCsv, ErrorsNameTheLineAndValue) {
  EXPECT_EQ(error_of(std::string(kHeader) + "0,-5,1,1,any,a,g,normal,cnn\n"),
            "t.csv line 2: negative duration '-5'");
  EXPECT_EQ(
      error_of(std::string(kHeader) + "0,5,1,1,any,a,g,normal,cnn\n0,5,x,1,any,a,g,normal,cnn\n"),
      "t.csv line 3: workers 'x' is not a number");
  EXPECT_EQ(error_of(std::string(kHeader) + "0,5,1,1,any,a,g\n"),
            "t.csv line 2: has 7 fields, the header 9");
  EXPECT_EQ(error_of(std::string(kHeader) + "0,5,1,1,any,a,g,urgent,cnn\n"),
            "t.csv line 2: priority 'urgent' is not emergency, high, normal or low");
  EXPECT_EQ(error_of(std::string(kHeader) + "0,5,1,0.3,any,a,g,normal,cnn\n"),
            "t.csv line 2: devices_per_worker '0.3' must be a whole number or 1/N (0.5, 0.25)");
  EXPECT_EQ(error_of(std::string(kHeader) + "0,5,0,1,any,a,g,normal,cnn\n"),
            "t.csv line 2: workers '0' must be a whole number of at least 1");
  EXPECT_EQ(error_of("submit_time,duration\n"), "t.csv line 1: header lacks the column 'workers'");
  EXPECT_EQ(error_of(""), "t.csv: empty trace (no header line)");
}

ClusterDescription small_cluster() {
  return parse_cluster_json(R"({
    "device_models": [{"name": "A100", "vendor": "nvidia", "memory_gb": 80, "price_per_hour": 3},
                      {"name": "MI250", "vendor": "amd", "memory_gb": 64}],
    "nodes": [{"name": "a{i}", "count": 2, "cpu_cores": 32, "memory_gb": 256,
               "devices": [{"model": "A100", "count": 8, "share_count": 4, "topology_group_size": 4}],
               "datasets": ["imagenet"]},
              {"name": "m", "devices": [{"model": "MI250", "count": 4}]}],
    "groups": [{"name": "vision", "weight": 2,
                "quotas": {"A100": {"guaranteed": 4, "max": 12}, "cpu": {"max": 40}}}],
    "users": [{"name": "root", "group": "vision", "emergency": true,
               "quotas": {"any": {"max": 2.5}}}],
    "throughput": {"transformer": {"A100": 4.0}, "mytype": {"MI250": 0.5}}
  })",
                            "c.json");
}

TEST(ClusterJson, ParsesModelsNodesQuotasAndThroughput) {
  ClusterDescription d = small_cluster();
  const Cluster &c = d.cluster;
  ASSERT_EQ(c.nodes.size(), 3u);
  EXPECT_EQ(c.nodes[1].name, "a1");
  EXPECT_EQ(c.nodes[0].devices.size(), 8u);
  EXPECT_EQ(c.nodes[0].devices[5].topology_group, 1);
  EXPECT_EQ(c.nodes[0].devices[0].share_count, 4);
  EXPECT_EQ(c.nodes[2].cpu_cores, 64);  // default
  EXPECT_EQ(c.groups[0].weight, 2);
  EXPECT_EQ(c.groups[0].quotas.get(0).guaranteed, 4000);
  EXPECT_EQ(c.groups[0].quotas.get(0).max, 12000);
  EXPECT_EQ(c.groups[0].quotas.get(c.cpu_resource()).max, 40);
  EXPECT_EQ(c.users[0].quotas.get(c.any_resource()).max, 2500);
  EXPECT_TRUE(c.users[0].may_use_emergency);
  EXPECT_DOUBLE_EQ(d.throughput.get(d.throughput.find_type("transformer"), 0), 4.0);
  EXPECT_DOUBLE_EQ(d.throughput.get(d.throughput.find_type("mytype"), 1), 0.5);
}

TEST(ClusterJson, ErrorsAreClear) {
  auto error = [](const std::string &text) {
    try {
      parse_cluster_json(text, "c.json");
    } catch (const InputError &e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_EQ(error(R"({"device_models": [{"name": "A100"}],
                     "nodes": [{"name": "n", "devices": [{"model": "B200", "count": 1}]}]})"),
            "c.json: node 'n': device model 'B200' is not in device_models");
  EXPECT_NE(error("{not json").find("c.json: not valid JSON"), std::string::npos);
  EXPECT_EQ(
      error(R"({"device_models": [{"name": "A100"}], "nodes": [{"name": "n", "devices": []}],
                     "groups": [{"name": "g", "quotas": {"B200": {"max": 1}}}]})"),
      "c.json: group g: quota for unknown resource 'B200' (expected a device model, any, cpu or "
      "memory_gb)");
}

TEST(ResolveTrace, UnknownModelNamesTheLine) {
  ClusterDescription d = small_cluster();
  std::istringstream in(std::string(kHeader) + "0,5,1,1,A100,alice,vision,normal,cnn\n" +
                        "0,5,1,1,B200,alice,vision,normal,cnn\n");
  auto jobs = parse_trace_csv(in, "t.csv");
  try {
    resolve_trace(jobs, d.cluster, d.throughput, "t.csv");
    FAIL() << "expected an error";
  } catch (const InputError &e) {
    EXPECT_STREQ(e.what(),
                 "t.csv line 3: unknown device model 'B200' (the cluster has A100, MI250)");
  }
}

TEST(ResolveTrace, AddsUsersGroupsAndTypes) {
  ClusterDescription d = small_cluster();
  std::istringstream in(std::string(kHeader) + "0,5,1,1,vendor:amd,zoe,newgroup,normal,newtype\n");
  auto sim = resolve_trace(parse_trace_csv(in, "t.csv"), d.cluster, d.throughput, "t.csv");
  ASSERT_EQ(sim.size(), 1u);
  EXPECT_EQ(d.cluster.groups[size_t(sim[0].spec.group)].name, "newgroup");
  EXPECT_EQ(d.cluster.users[size_t(sim[0].spec.user)].name, "zoe");
  EXPECT_EQ(d.throughput.type_name(sim[0].spec.workload_type), "newtype");
  EXPECT_EQ(sim[0].spec.constraint.kind, DeviceConstraint::Kind::kVendor);
}

TEST(FailureCsv, ParsesAndRejectsUnknownNodes) {
  ClusterDescription d = small_cluster();
  std::istringstream ok("time,node,repair_after\n100,a1,600\n200,m,\n");
  auto f = parse_failure_csv(ok, "f.csv", d.cluster);
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0].node, 1);
  EXPECT_DOUBLE_EQ(f[1].repair_after, 1800);
  std::istringstream bad("time,node,repair_after\n100,zz,600\n");
  EXPECT_THROW(parse_failure_csv(bad, "f.csv", d.cluster), InputError);
}

TEST(TraceGenerator, ShapesAndRoundTrip) {
  TraceShape shape;
  shape.jobs = 5000;
  shape.models = {"A100", "V100"};
  auto jobs = generate_trace(shape);
  ASSERT_EQ(jobs.size(), 5000u);
  int single = 0, gangs = 0;
  std::vector<double> durations;
  for (const auto &j : jobs) {
    const int devices = j.workers * j.devices_per_worker;
    single += devices == 1 && j.fraction_denominator == 1;
    gangs += devices >= 8 && devices <= 64 && j.workers > 1;
    durations.push_back(j.duration);
  }
  EXPECT_GT(single, 2500);  // mostly single-device jobs
  EXPECT_GT(gangs, 100);    // some multi-node gangs
  std::sort(durations.begin(), durations.end());
  // Heavy tail: the 99th percentile is far above the median.
  EXPECT_GT(durations[4950], 20 * durations[2500]);
  for (size_t i = 1; i < jobs.size(); ++i) ASSERT_GE(jobs[i].submit, jobs[i - 1].submit);
  std::istringstream in(write_trace_csv(jobs));
  auto back = parse_trace_csv(in, "gen.csv");
  ASSERT_EQ(back.size(), jobs.size());
  EXPECT_EQ(back[42].workers, jobs[42].workers);
  EXPECT_EQ(back[42].constraint, jobs[42].constraint);
  EXPECT_DOUBLE_EQ(back[42].duration, jobs[42].duration);
}

TEST(TraceGen, DevelopmentEnvironmentsGetSessionsOfActivity) {
  TraceShape shape;
  shape.jobs = 2000;
  shape.devenv_share = 0.2;
  auto jobs = generate_trace(shape);
  int envs = 0, with_long_break = 0;
  for (const auto &j : jobs) {
    if (j.kind != JobKind::kDevEnvironment) {
      ASSERT_TRUE(j.activity.empty());
      continue;
    }
    ++envs;
    ASSERT_FALSE(j.activity.empty());
    EXPECT_DOUBLE_EQ(j.activity.front().begin, 0);  // its user opened it
    bool long_break = false;
    for (size_t i = 0; i < j.activity.size(); ++i) {
      ASSERT_LT(j.activity[i].begin, j.activity[i].end);
      ASSERT_LE(j.activity[i].end, j.duration);
      if (i > 0) {
        ASSERT_GE(j.activity[i].begin, j.activity[i - 1].end);
        long_break |= j.activity[i].begin - j.activity[i - 1].end >= 7200;
      }
    }
    with_long_break += long_break;
  }
  EXPECT_GT(envs, 200);
  EXPECT_GT(with_long_break, 20);  // some sessions have a break the idle timeout should end
  std::istringstream in(write_trace_csv(jobs));
  auto back = parse_trace_csv(in, "gen.csv");
  for (size_t i = 0; i < jobs.size(); ++i) ASSERT_EQ(back[i].activity, jobs[i].activity);
}

}  // namespace
}  // namespace xpool::sched
