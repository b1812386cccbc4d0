#include "xpool/scheduler/trace_io.h"

#include <charconv>
#include <cmath>
#include <map>
#include <sstream>

namespace xpool::sched {
namespace {

std::string trim(std::string s) {
  const char *ws = " \t\r\n";
  s.erase(0, s.find_first_not_of(ws));
  s.erase(s.find_last_not_of(ws) + 1);
  return s;
}

std::vector<std::string> split_csv(const std::string &line) {
  // Plain CSV: fields never contain commas (names, numbers, "A100|H100").
  std::vector<std::string> out;
  std::string field;
  std::istringstream ss(line);
  while (std::getline(ss, field, ',')) out.push_back(trim(field));
  if (!line.empty() && line.back() == ',') out.push_back("");
  return out;
}

struct LineContext {
  const std::string &source;
  int line;
  [[noreturn]] void fail(const std::string &what) const {
    throw InputError(source + " line " + std::to_string(line) + ": " + what);
  }
};

double parse_number(const LineContext &ctx, const std::string &column, const std::string &v) {
  double d = 0;
  auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), d);
  if (v.empty() || ec != std::errc() || ptr != v.data() + v.size() || !std::isfinite(d))
    ctx.fail(column + " '" + v + "' is not a number");
  return d;
}

double parse_non_negative(const LineContext &ctx, const std::string &column, const std::string &v) {
  double d = parse_number(ctx, column, v);
  if (d < 0) ctx.fail("negative " + column + " '" + v + "'");
  return d;
}

int parse_count(const LineContext &ctx, const std::string &column, const std::string &v, int min) {
  double d = parse_number(ctx, column, v);
  if (d != std::floor(d) || d < min || d > 1e6)
    ctx.fail(column + " '" + v + "' must be a whole number of at least " + std::to_string(min));
  return int(d);
}

bool parse_bool(const LineContext &ctx, const std::string &column, const std::string &v) {
  if (v == "1" || v == "true" || v == "yes") return true;
  if (v == "0" || v == "false" || v == "no") return false;
  ctx.fail(column + " '" + v + "' must be true or false");
}

// "0-3600;5400-9000": periods begin-end, in seconds after the environment first starts.
std::vector<ActivePeriod> parse_activity(const LineContext &ctx, const std::string &v) {
  std::vector<ActivePeriod> out;
  if (v.empty()) return out;
  std::istringstream ss(v);
  std::string period;
  while (std::getline(ss, period, ';')) {
    period = trim(period);
    const size_t dash = period.find('-', 1);
    if (dash == std::string::npos)
      ctx.fail("activity period '" + period + "' is not begin-end (seconds after the start)");
    ActivePeriod a{parse_non_negative(ctx, "activity begin", trim(period.substr(0, dash))),
                   parse_non_negative(ctx, "activity end", trim(period.substr(dash + 1)))};
    if (a.end <= a.begin) ctx.fail("activity period '" + period + "' ends before it begins");
    if (!out.empty() && a.begin < out.back().end)
      ctx.fail("activity period '" + period + "' overlaps or precedes the one before it");
    out.push_back(a);
  }
  return out;
}

const char *kRequired[] = {"submit_time",       "duration", "workers", "devices_per_worker",
                           "device_constraint", "user",     "group",   "priority",
                           "job_type"};

}  // namespace

std::vector<TraceJob> parse_trace_csv(std::istream &in, const std::string &source) {
  std::vector<TraceJob> jobs;
  std::string line;
  int number = 0;
  std::map<std::string, size_t> col;
  size_t columns = 0;
  while (std::getline(in, line)) {
    ++number;
    std::string t = trim(line);
    if (t.empty() || t[0] == '#') continue;
    std::vector<std::string> f = split_csv(t);
    LineContext ctx{source, number};
    if (col.empty()) {
      for (size_t i = 0; i < f.size(); ++i) col[f[i]] = i;
      for (const char *r : kRequired)
        if (!col.count(r)) ctx.fail(std::string("header lacks the column '") + r + "'");
      columns = f.size();
      continue;
    }
    if (f.size() != columns)
      ctx.fail("has " + std::to_string(f.size()) + " fields, the header " +
               std::to_string(columns));
    auto get = [&](const char *name) -> std::string {
      auto it = col.find(name);
      return it == col.end() ? std::string() : f[it->second];
    };
    TraceJob j;
    j.line = number;
    j.name = get("name");
    if (j.name.empty()) j.name = "job" + std::to_string(jobs.size());
    j.submit = parse_non_negative(ctx, "submit_time", get("submit_time"));
    j.duration = parse_non_negative(ctx, "duration", get("duration"));
    j.workers = parse_count(ctx, "workers", get("workers"), 1);
    const std::string dev = get("devices_per_worker");
    if (auto slash = dev.find('/'); slash != std::string::npos) {
      if (dev.substr(0, slash) != "1") ctx.fail("devices_per_worker '" + dev + "' must be 1/N");
      j.devices_per_worker = 1;
      j.fraction_denominator = parse_count(ctx, "devices_per_worker", dev.substr(slash + 1), 1);
    } else {
      double d = parse_non_negative(ctx, "devices_per_worker", dev);
      if (d > 0 && d < 1) {
        const double inv = 1.0 / d;
        if (std::fabs(inv - std::round(inv)) > 1e-6)
          ctx.fail("devices_per_worker '" + dev + "' must be a whole number or 1/N (0.5, 0.25)");
        j.devices_per_worker = 1;
        j.fraction_denominator = int(std::round(inv));
      } else {
        if (d != std::floor(d))
          ctx.fail("devices_per_worker '" + dev + "' must be a whole number or 1/N");
        j.devices_per_worker = int(d);
      }
    }
    j.constraint = get("device_constraint");
    if (j.constraint.empty()) j.constraint = "any";
    j.user = get("user");
    j.group = get("group");
    if (j.user.empty()) ctx.fail("user is empty");
    if (j.group.empty()) ctx.fail("group is empty");
    auto pr = parse_priority(get("priority"));
    if (!pr) ctx.fail("priority '" + get("priority") + "' is not emergency, high, normal or low");
    j.priority = *pr;
    j.job_type = get("job_type").empty() ? "other" : get("job_type");
    auto kind = parse_kind(get("kind"));
    if (!kind) ctx.fail("kind '" + get("kind") + "' is not training, devenv, inference or batch");
    j.kind = *kind;
    if (!get("cpu_per_worker").empty())
      j.cpu_per_worker = parse_count(ctx, "cpu_per_worker", get("cpu_per_worker"), 0);
    if (!get("memory_gb_per_worker").empty())
      j.memory_gb_per_worker =
          parse_non_negative(ctx, "memory_gb_per_worker", get("memory_gb_per_worker"));
    if (!get("memory_cap_gb").empty())
      j.memory_cap_gb = parse_non_negative(ctx, "memory_cap_gb", get("memory_cap_gb"));
    if (!get("preemptible").empty())
      j.preemptible = parse_bool(ctx, "preemptible", get("preemptible"));
    if (!get("checkpoint_interval").empty())
      j.checkpoint_interval =
          parse_non_negative(ctx, "checkpoint_interval", get("checkpoint_interval"));
    if (!get("expected_duration").empty())
      j.expected_duration = parse_non_negative(ctx, "expected_duration", get("expected_duration"));
    j.dataset = get("dataset");
    auto aff = parse_affinity(get("affinity"));
    if (!aff)
      ctx.fail("affinity '" + get("affinity") +
               "' is not none, same-node, same-topology or spread");
    j.affinity = *aff;
    j.activity = parse_activity(ctx, get("activity"));
    if (!j.activity.empty() && j.kind != JobKind::kDevEnvironment)
      ctx.fail("activity '" + get("activity") + "' is only for kind devenv");
    jobs.push_back(std::move(j));
  }
  if (col.empty()) throw InputError(source + ": empty trace (no header line)");
  return jobs;
}

std::string write_trace_csv(const std::vector<TraceJob> &jobs) {
  std::ostringstream o;
  o << "name,submit_time,duration,workers,devices_per_worker,device_constraint,user,group,"
       "priority,job_type,kind,cpu_per_worker,memory_gb_per_worker,memory_cap_gb,preemptible,"
       "checkpoint_interval,expected_duration,dataset,affinity,activity\n";
  o.precision(12);
  for (const TraceJob &j : jobs) {
    o << j.name << ',' << j.submit << ',' << j.duration << ',' << j.workers << ',';
    if (j.fraction_denominator > 1)
      o << "1/" << j.fraction_denominator;
    else
      o << j.devices_per_worker;
    o << ',' << j.constraint << ',' << j.user << ',' << j.group << ',' << to_string(j.priority)
      << ',' << j.job_type << ',' << to_string(j.kind) << ',' << j.cpu_per_worker << ','
      << j.memory_gb_per_worker << ',' << j.memory_cap_gb << ','
      << (j.preemptible ? "true" : "false") << ',' << j.checkpoint_interval << ',';
    if (j.expected_duration) o << *j.expected_duration;
    o << ',' << j.dataset << ',' << to_string(j.affinity) << ',';
    for (size_t i = 0; i < j.activity.size(); ++i)
      o << (i ? ";" : "") << j.activity[i].begin << '-' << j.activity[i].end;
    o << '\n';
  }
  return o.str();
}

std::vector<SimJob> resolve_trace(const std::vector<TraceJob> &jobs, Cluster &cluster,
                                  ThroughputMatrix &throughput, const std::string &source) {
  std::vector<SimJob> out;
  out.reserve(jobs.size());
  std::map<std::string, DeviceConstraint> constraints;  // resolved once per distinct text
  for (const TraceJob &t : jobs) {
    LineContext ctx{source, t.line};
    SimJob s;
    s.submit = t.submit;
    s.work = t.duration;
    s.activity = t.activity;
    JobSpec &j = s.spec;
    j.name = t.name;
    j.kind = t.kind;
    j.workload_type = throughput.find_or_add_type(t.job_type);
    j.group = cluster.add_group(t.group);
    j.user = cluster.add_user(t.user, j.group);
    if (cluster.users[size_t(j.user)].group != j.group)
      ctx.fail("user '" + t.user + "' belongs to group '" +
               cluster.groups[size_t(cluster.users[size_t(j.user)].group)].name + "', not '" +
               t.group + "'");
    j.priority = t.priority;
    j.workers = t.workers;
    j.devices_per_worker = t.devices_per_worker;
    j.fraction_denominator = t.fraction_denominator;
    j.memory_cap_mb = int64_t(t.memory_cap_gb * 1024);
    j.cpu_per_worker = t.cpu_per_worker;
    j.memory_mb_per_worker = int64_t(t.memory_gb_per_worker * 1024);
    j.preemptible = t.preemptible;
    j.checkpoint_interval = t.checkpoint_interval;
    j.expected_duration = t.expected_duration;
    j.dataset = t.dataset;
    j.affinity = t.affinity;
    auto it = constraints.find(t.constraint);
    if (it == constraints.end()) {
      DeviceConstraint c;
      if (t.constraint == "any") {
        c.kind = DeviceConstraint::Kind::kAny;
      } else if (t.constraint.rfind("vendor:", 0) == 0) {
        c.kind = DeviceConstraint::Kind::kVendor;
        c.vendor = t.constraint.substr(7);
        bool known = false;
        for (const auto &m : cluster.models) known |= m.vendor == c.vendor;
        if (!known) ctx.fail("no device model of vendor '" + c.vendor + "' in the cluster");
      } else {
        c.kind = DeviceConstraint::Kind::kModels;
        std::istringstream ss(t.constraint);
        std::string name;
        while (std::getline(ss, name, '|')) {
          auto m = cluster.find_model(trim(name));
          if (!m) {
            std::string known;
            for (const auto &dm : cluster.models) known += (known.empty() ? "" : ", ") + dm.name;
            ctx.fail("unknown device model '" + name + "' (the cluster has " + known + ")");
          }
          c.models.push_back(*m);
        }
      }
      it = constraints.emplace(t.constraint, c).first;
    }
    j.constraint = it->second;
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<NodeFailure> parse_failure_csv(std::istream &in, const std::string &source,
                                           const Cluster &cluster) {
  std::map<std::string, NodeId> by_name;
  for (size_t n = 0; n < cluster.nodes.size(); ++n) by_name[cluster.nodes[n].name] = NodeId(n);
  std::vector<NodeFailure> out;
  std::string line;
  int number = 0;
  bool header = false;
  while (std::getline(in, line)) {
    ++number;
    std::string t = trim(line);
    if (t.empty() || t[0] == '#') continue;
    auto f = split_csv(t);
    LineContext ctx{source, number};
    if (!header) {
      if (f.size() < 2 || f[0] != "time" || f[1] != "node")
        ctx.fail("header must be 'time,node,repair_after'");
      header = true;
      continue;
    }
    if (f.size() < 2) ctx.fail("needs time and node");
    auto it = by_name.find(f[1]);
    if (it == by_name.end()) ctx.fail("unknown node '" + f[1] + "'");
    NodeFailure nf{
        parse_non_negative(ctx, "time", f[0]), it->second,
        f.size() > 2 && !f[2].empty() ? parse_non_negative(ctx, "repair_after", f[2]) : 1800.0};
    out.push_back(nf);
  }
  return out;
}

}  // namespace xpool::sched
