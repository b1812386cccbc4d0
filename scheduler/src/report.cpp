#include "xpool/scheduler/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

namespace xpool::sched {

Stats stats_of(std::vector<double> v) {
  Stats s;
  s.count = int64_t(v.size());
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  double sum = 0;
  for (double x : v) sum += x;
  s.mean = sum / double(v.size());
  auto pct = [&](double p) {
    // Nearest rank.
    size_t i = size_t(std::ceil(p * double(v.size())));
    return v[std::min(v.size() - 1, i == 0 ? 0 : i - 1)];
  };
  s.p50 = pct(0.50);
  s.p95 = pct(0.95);
  s.p99 = pct(0.99);
  s.max = v.back();
  return s;
}

Summary summarize(const SimResult &r, const Cluster &cluster) {
  Summary s;
  s.policy = r.policy;
  std::vector<double> jct, queueing;
  std::map<std::string, std::vector<double>> jc, qc, jg, qg;
  s.devenv_warnings = r.devenv_warnings;
  for (const JobOutcome &o : r.jobs) {
    s.jobs++;
    if (o.rejected) {
      s.rejected++;
      continue;
    }
    if (o.stopped) s.stopped++;
    if (o.first_start >= 0) {
      const double q = o.first_start - o.submit;
      queueing.push_back(q);
      qc[to_string(o.priority)].push_back(q);
      qg[cluster.groups[size_t(o.group)].name].push_back(q);
    }
    if (!o.completed) {
      if (!o.stopped) s.unfinished++;
      continue;
    }
    s.completed++;
    const double j = o.end - o.submit;
    jct.push_back(j);
    jc[to_string(o.priority)].push_back(j);
    jg[cluster.groups[size_t(o.group)].name].push_back(j);
  }
  s.jct = stats_of(jct);
  s.queueing = stats_of(queueing);
  for (auto &[k, v] : jc) s.jct_by_class[k] = stats_of(v);
  for (auto &[k, v] : qc) s.queueing_by_class[k] = stats_of(v);
  for (auto &[k, v] : jg) s.jct_by_group[k] = stats_of(v);
  for (auto &[k, v] : qg) s.queueing_by_group[k] = stats_of(v);
  s.makespan = std::max(0.0, r.last_end - r.first_submit);
  if (s.makespan > 0 && r.capacity_devices > 0)
    s.utilization = r.busy_device_seconds / (r.capacity_devices * s.makespan);
  s.normalized_work = r.normalized_work;
  s.normalized_per_busy = r.busy_device_seconds > 0 ? r.normalized_work / r.busy_device_seconds : 0;
  s.fairness = r.fairness_samples > 0 ? r.fairness_sum / double(r.fairness_samples) : 1.0;
  s.preemptions = r.preemptions;
  s.node_failures = r.node_failures;
  s.restarts = r.restarts;
  s.restart_latency = stats_of(r.restart_latency);
  s.passes = r.passes;
  s.decisions = r.starts + r.preemptions;
  s.decisions_per_second =
      r.schedule_wall_seconds > 0 ? double(s.decisions) / r.schedule_wall_seconds : 0;
  std::vector<double> ms;
  ms.reserve(r.pass_seconds.size());
  for (double p : r.pass_seconds) ms.push_back(p * 1e3);
  s.pass_ms = stats_of(ms);
  s.quota_violations = r.quota_violations;
  s.fragmentation =
      r.fragmentation_samples > 0 ? r.fragmentation_sum / double(r.fragmentation_samples) : 0;
  s.emergency_jobs = r.emergency_jobs;
  s.emergency_first_pass = r.emergency_started_in_first_pass;
  for (const auto &l : r.accounting)
    if (l.kind == "model") s.total_cost += l.cost;
  s.wall_seconds = r.total_wall_seconds;
  return s;
}

namespace {

std::string fmt(const char *f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::string hours(double seconds) {
  return fmt("%.2f h", seconds / 3600);
}

std::string stats_row(const Stats &st) {
  return std::to_string(st.count) + " jobs, mean " + hours(st.mean) + ", p50 " + hours(st.p50) +
         ", p95 " + hours(st.p95) + ", p99 " + hours(st.p99);
}

}  // namespace

std::string format_summary(const Summary &s) {
  std::ostringstream o;
  o << "policy " << s.policy << "\n";
  o << "  jobs                 " << s.jobs << " (" << s.completed << " completed, " << s.rejected
    << " rejected, " << s.stopped << " stopped idle (" << s.devenv_warnings << " idle warnings), "
    << s.unfinished << " unfinished)\n";
  o << "  job completion time  " << stats_row(s.jct) << "\n";
  o << "  queueing delay       " << stats_row(s.queueing) << "\n";
  for (const auto &[k, v] : s.jct_by_class)
    o << "    JCT class " << k << ": " << stats_row(v) << "\n";
  for (const auto &[k, v] : s.queueing_by_class)
    o << "    wait class " << k << ": " << stats_row(v) << "\n";
  for (const auto &[k, v] : s.jct_by_group)
    o << "    JCT group " << k << ": " << stats_row(v) << "\n";
  for (const auto &[k, v] : s.queueing_by_group)
    o << "    wait group " << k << ": " << stats_row(v) << "\n";
  o << "  makespan             " << hours(s.makespan) << "\n";
  o << "  utilization          " << fmt("%.1f%%", s.utilization * 100) << " busy; normalized work "
    << fmt("%.0f", s.normalized_work / 3600) << " reference-device-hours ("
    << fmt("%.2f", s.normalized_per_busy) << " per busy device)\n";
  o << "  fairness (Jain)      " << fmt("%.3f", s.fairness) << "\n";
  o << "  preemptions          " << s.preemptions << "\n";
  o << "  node failures        " << s.node_failures << ", restarts " << s.restarts
    << ", failure to restart mean " << fmt("%.1f s", s.restart_latency.mean) << ", max "
    << fmt("%.1f s", s.restart_latency.max) << "\n";
  o << "  emergency jobs       " << s.emergency_jobs << " (" << s.emergency_first_pass
    << " started in their first pass)\n";
  o << "  quota violations     " << s.quota_violations << "\n";
  o << "  free capacity while jobs wait " << fmt("%.1f%%", s.fragmentation * 100) << "\n";
  o << "  cost                 " << fmt("%.2f", s.total_cost) << "\n";
  o << "  scheduling           " << s.passes << " passes, " << s.decisions << " decisions, "
    << fmt("%.0f", s.decisions_per_second) << " decisions/s, pass p50 "
    << fmt("%.3f ms", s.pass_ms.p50) << ", p99 " << fmt("%.3f ms", s.pass_ms.p99) << ", max "
    << fmt("%.3f ms", s.pass_ms.max) << "\n";
  o << "  wall time            " << fmt("%.2f s", s.wall_seconds) << "\n";
  return o.str();
}

std::string format_comparison(const std::vector<Summary> &runs) {
  std::ostringstream o;
  char buf[256];
  std::snprintf(buf, sizeof buf, "%-34s", "");
  o << buf;
  for (const auto &r : runs) {
    std::snprintf(buf, sizeof buf, "%16s", r.policy.c_str());
    o << buf;
  }
  o << "\n";
  auto row = [&](const char *name, auto get, const char *f) {
    std::snprintf(buf, sizeof buf, "%-34s", name);
    o << buf;
    for (const auto &r : runs) {
      std::snprintf(buf, sizeof buf, f, double(get(r)));
      o << buf;
    }
    o << "\n";
  };
  row(
      "avg JCT (h)", [](const Summary &s) { return s.jct.mean / 3600; }, "%16.2f");
  row(
      "p50 JCT (h)", [](const Summary &s) { return s.jct.p50 / 3600; }, "%16.2f");
  row(
      "p99 JCT (h)", [](const Summary &s) { return s.jct.p99 / 3600; }, "%16.2f");
  row(
      "avg queueing (h)", [](const Summary &s) { return s.queueing.mean / 3600; }, "%16.2f");
  row(
      "makespan (h)", [](const Summary &s) { return s.makespan / 3600; }, "%16.2f");
  row(
      "busy utilization (%)", [](const Summary &s) { return s.utilization * 100; }, "%16.1f");
  row(
      "normalized work (ref-dev-h)", [](const Summary &s) { return s.normalized_work / 3600; },
      "%16.0f");
  row(
      "normalized per busy device", [](const Summary &s) { return s.normalized_per_busy; },
      "%16.2f");
  row(
      "fairness (Jain)", [](const Summary &s) { return s.fairness; }, "%16.3f");
  row(
      "preemptions", [](const Summary &s) { return double(s.preemptions); }, "%16.0f");
  row(
      "quota violations", [](const Summary &s) { return double(s.quota_violations); }, "%16.0f");
  row(
      "free capacity while waiting (%)", [](const Summary &s) { return s.fragmentation * 100; },
      "%16.1f");
  row(
      "unfinished jobs", [](const Summary &s) { return double(s.unfinished); }, "%16.0f");
  row(
      "decisions/s", [](const Summary &s) { return s.decisions_per_second; }, "%16.0f");
  if (!runs.empty() && runs[0].jct.mean > 0) {
    std::snprintf(buf, sizeof buf, "%-34s", "avg JCT vs first column");
    o << buf;
    for (const auto &r : runs) {
      std::snprintf(buf, sizeof buf, "%15.2fx", r.jct.mean / runs[0].jct.mean);
      o << buf;
    }
    o << "\n";
  }
  return o.str();
}

std::string summary_json(const Summary &s) {
  using nlohmann::json;
  auto st = [](const Stats &x) {
    return json{{"count", x.count}, {"mean", x.mean}, {"p50", x.p50},
                {"p95", x.p95},     {"p99", x.p99},   {"max", x.max}};
  };
  json j;
  j["policy"] = s.policy;
  j["jobs"] = {{"total", s.jobs},
               {"completed", s.completed},
               {"rejected", s.rejected},
               {"stopped", s.stopped},
               {"devenv_warnings", s.devenv_warnings},
               {"unfinished", s.unfinished}};
  j["jct_seconds"] = st(s.jct);
  j["queueing_seconds"] = st(s.queueing);
  for (const auto &[k, v] : s.jct_by_class) j["jct_by_class"][k] = st(v);
  for (const auto &[k, v] : s.queueing_by_class) j["queueing_by_class"][k] = st(v);
  for (const auto &[k, v] : s.jct_by_group) j["jct_by_group"][k] = st(v);
  for (const auto &[k, v] : s.queueing_by_group) j["queueing_by_group"][k] = st(v);
  j["makespan_seconds"] = s.makespan;
  j["utilization_busy"] = s.utilization;
  j["normalized_work_device_seconds"] = s.normalized_work;
  j["normalized_work_per_busy_device_second"] = s.normalized_per_busy;
  j["fairness_jain"] = s.fairness;
  j["preemptions"] = s.preemptions;
  j["node_failures"] = s.node_failures;
  j["restarts"] = s.restarts;
  j["restart_latency_seconds"] = st(s.restart_latency);
  j["passes"] = s.passes;
  j["decisions"] = s.decisions;
  j["decisions_per_second"] = s.decisions_per_second;
  j["pass_ms"] = st(s.pass_ms);
  j["quota_violations"] = s.quota_violations;
  j["free_capacity_while_waiting"] = s.fragmentation;
  j["emergency_jobs"] = s.emergency_jobs;
  j["emergency_started_first_pass"] = s.emergency_first_pass;
  j["cost"] = s.total_cost;
  j["wall_seconds"] = s.wall_seconds;
  return j.dump(2) + "\n";
}

std::string jobs_csv(const SimResult &r, const Cluster &cluster) {
  std::ostringstream o;
  o.precision(10);
  o << "name,group,user,priority,kind,devices,model,submit,first_start,end,jct,queueing,status,"
       "preemptions,failures,runs,restart_wait,reason\n";
  for (const JobOutcome &j : r.jobs) {
    const std::string status = j.rejected    ? "rejected"
                               : j.completed ? "completed"
                               : j.stopped   ? "stopped"
                                             : "unfinished";
    std::string reason = j.reason;
    std::replace(reason.begin(), reason.end(), ',', ';');
    o << j.name << ',' << cluster.groups[size_t(j.group)].name << ','
      << cluster.users[size_t(j.user)].name << ',' << to_string(j.priority) << ','
      << to_string(j.kind) << ',' << format_devices(j.devices_milli) << ','
      << (j.model >= 0 ? cluster.models[size_t(j.model)].name : "") << ',' << j.submit << ',';
    if (j.first_start >= 0) o << j.first_start;
    o << ',';
    if (j.end >= 0) o << j.end;
    o << ',';
    if (j.completed) o << j.end - j.submit;
    o << ',';
    if (j.first_start >= 0) o << j.first_start - j.submit;
    o << ',' << status << ',' << j.preemptions << ',' << j.failures << ',' << j.runs << ','
      << j.restart_wait << ',' << reason << '\n';
  }
  return o.str();
}

std::string timeline_csv(const SimResult &r) {
  std::ostringstream o;
  o.precision(10);
  o << "time,busy_devices,normalized_rate,capacity_devices,waiting_jobs,running_jobs\n";
  for (const TimelinePoint &p : r.timeline)
    o << p.t << ',' << p.busy_devices << ',' << p.normalized_rate << ',' << r.capacity_devices
      << ',' << p.queue_length << ',' << p.running << '\n';
  return o.str();
}

std::string timeline_json(const SimResult &r) {
  nlohmann::json j = nlohmann::json::array();
  for (const TimelinePoint &p : r.timeline)
    j.push_back({{"time", p.t},
                 {"busy_devices", p.busy_devices},
                 {"normalized_rate", p.normalized_rate},
                 {"waiting_jobs", p.queue_length},
                 {"running_jobs", p.running}});
  return j.dump() + "\n";
}

}  // namespace xpool::sched
