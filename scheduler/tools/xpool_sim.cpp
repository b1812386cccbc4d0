// xpool-sim: replays a job trace on a cluster description through the scheduler and writes
// the summary table, per-job results, the utilization timeline and an SVG plot.
//
//   xpool-sim --cluster C.json --trace T.csv --policy xpool [--compare fifo,fastest] --out DIR
//   xpool-sim generate --jobs 10000 --out T.csv [--models A100,V100] [--rate 60]
//   xpool-sim cluster --models V100,A100,H100 --nodes 16 --out C.json
#include <CLI/CLI.hpp>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "xpool/scheduler/report.h"
#include "xpool/scheduler/simulator.h"
#include "xpool/scheduler/svg_plot.h"
#include "xpool/scheduler/trace_gen.h"
#include "xpool/scheduler/trace_io.h"

namespace fs = std::filesystem;
using namespace xpool::sched;

namespace {

std::string read_file(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot open for reading");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const fs::path &path, const std::string &text) {
  std::ofstream out(path, std::ios::binary);
  if (!out) throw InputError(path.string() + ": cannot open for writing");
  out << text;
  if (!out) throw InputError(path.string() + ": write failed");
}

std::vector<std::string> split(const std::string &s, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, sep))
    if (!item.empty()) out.push_back(item);
  return out;
}

// "xpool-firstfit": xpool with first-fit fractional placement, for the fragmentation
// comparison.
struct Tuning {
  double hetero_min_speed = -1;
  double hetero_max_wait = -1;
  double hetero_min_advantage = -1;
  double idle_warn = -1;
  double idle_stop = -1;
};

SchedulerConfig config_for(const std::string &name, const Tuning &t) {
  SchedulerConfig c;
  if (name == "xpool-firstfit") {
    c = policy_preset("xpool");
    c.placement.fractional = FractionalFit::kFirstFit;
  } else {
    c = policy_preset(name);
  }
  if (t.hetero_min_speed >= 0) c.hetero.min_relative_speed = t.hetero_min_speed;
  if (t.hetero_max_wait >= 0) c.hetero.max_wait = t.hetero_max_wait;
  if (t.hetero_min_advantage >= 0) c.hetero.min_advantage = t.hetero_min_advantage;
  if (t.idle_warn >= 0) c.devenv.idle_warn = t.idle_warn;
  if (t.idle_stop >= 0) c.devenv.idle_stop = t.idle_stop;
  return c;
}

std::string cluster_json(const std::vector<std::string> &models, int nodes, int per_node,
                         int share) {
  using nlohmann::json;
  static const std::map<std::string, std::pair<std::string, double>> kKnown = {
      {"V100", {"nvidia", 32}},   {"A100", {"nvidia", 80}}, {"H100", {"nvidia", 80}},
      {"T4", {"nvidia", 16}},     {"L4", {"nvidia", 24}},   {"MI250", {"amd", 64}},
      {"MAX1550", {"intel", 128}}};
  static const std::map<std::string, double> kPrice = {
      {"V100", 1.5}, {"A100", 3.0},  {"H100", 6.0},   {"T4", 0.4},
      {"L4", 0.7},   {"MI250", 2.5}, {"MAX1550", 2.5}};
  json j;
  for (const auto &m : models) {
    auto it = kKnown.find(m);
    j["device_models"].push_back({{"name", m},
                                  {"vendor", it == kKnown.end() ? "unknown" : it->second.first},
                                  {"memory_gb", it == kKnown.end() ? 32.0 : it->second.second},
                                  {"price_per_hour", kPrice.count(m) ? kPrice.at(m) : 1.0}});
    j["nodes"].push_back(
        {{"name", "node-" + m + "-{i}"},
         {"count", nodes},
         {"cpu_cores", 96},
         {"memory_gb", 1024},
         {"devices", json::array({{{"model", m},
                                   {"count", per_node},
                                   {"share_count", share},
                                   {"topology_group_size", std::max(1, per_node / 2)}}})}});
  }
  // Four groups, each guaranteed an eighth of the accelerators and allowed up to 60%, and
  // each with an on-call user holding the emergency right.
  const double total = double(models.size()) * nodes * per_node;
  j["groups"] = json::array();
  j["users"] = json::array();
  for (int g = 0; g < 4; ++g) {
    const std::string name = "group" + std::to_string(g);
    j["groups"].push_back(
        {{"name", name},
         {"weight", 1.0},
         {"quotas", {{"any", {{"guaranteed", total / 8}, {"max", total * 0.6}}}}}});
    j["users"].push_back({{"name", name + "-oncall"}, {"group", name}, {"emergency", true}});
  }
  return j.dump(2) + "\n";
}

}  // namespace

int main(int argc, char **argv) {
  CLI::App app{"xpool-sim: replay a job trace on a cluster through the xpool scheduler"};
  app.require_subcommand(0, 1);
  std::string cluster_path, trace_path, policy = "xpool", compare, out_dir, failure_trace;
  SimOptions opt;
  app.add_option("--cluster", cluster_path, "cluster description (JSON)");
  app.add_option("--trace", trace_path, "job trace (CSV)");
  app.add_option("--policy", policy, "xpool, drf, wrr, fifo, greedy, fastest or xpool-firstfit");
  app.add_option("--compare", compare, "more policies to run on the same trace, comma-separated");
  app.add_option("--out", out_dir,
                 "folder for jobs.csv, timeline.csv/json, summary.json, utilization.svg");
  app.add_option("--failure-trace", failure_trace, "node failures (CSV: time,node,repair_after)");
  app.add_option("--failure-rate", opt.failures_per_node_day,
                 "random node failures per node per day");
  app.add_option("--repair-time", opt.repair_time, "seconds until a randomly failed node is back");
  app.add_option("--pass-interval", opt.min_pass_interval,
                 "minimum seconds between scheduling passes");
  app.add_option("--timeline-step", opt.timeline_step, "seconds between timeline samples");
  app.add_option("--seed", opt.seed, "seed for random failures");
  Tuning tuning;
  app.add_option("--hetero-min-speed", tuning.hetero_min_speed,
                 "heterogeneity-aware: decline models slower than this fraction of the best");
  app.add_option("--hetero-min-advantage", tuning.hetero_min_advantage,
                 "heterogeneity-aware: decline models where the job's speed relative to the others "
                 "waiting is below this");
  app.add_option("--hetero-max-wait", tuning.hetero_max_wait,
                 "heterogeneity-aware: seconds after which a job takes any model");
  app.add_option("--idle-warn", tuning.idle_warn,
                 "development environments: seconds idle before a warning (0: never)");
  app.add_option("--idle-stop", tuning.idle_stop,
                 "development environments: seconds idle before a stop (0: never)");
  app.add_flag("--check", opt.check_invariants, "check every invariant after every pass (slow)");

  auto *gen = app.add_subcommand("generate", "write a synthetic trace");
  TraceShape shape;
  std::string gen_out, gen_models;
  gen->add_option("--jobs", shape.jobs, "number of jobs");
  gen->add_option("--seed", shape.seed, "random seed");
  gen->add_option("--rate", shape.jobs_per_hour, "mean arrivals per hour");
  gen->add_option("--groups", shape.groups, "number of groups");
  gen->add_option("--median-duration", shape.median_duration,
                  "median run time (s, reference device)");
  gen->add_option("--models", gen_models,
                  "device models for model-specific constraints, comma-separated");
  gen->add_option("--any-share", shape.any_share, "share of jobs accepting any accelerator");
  gen->add_option("--fraction-share", shape.fractional_share, "share of fractional-GPU jobs");
  gen->add_option("--gang-share", shape.gang_share, "share of 8-64 device gangs");
  gen->add_option("--emergency-share", shape.emergency_share, "share of emergency jobs");
  gen->add_option("--devenv-share", shape.devenv_share,
                  "share of single-worker jobs that are development environments (with activity)");
  gen->add_option("--out", gen_out, "output CSV")->required();

  auto *cl = app.add_subcommand("cluster", "write a cluster description");
  std::string cl_models = "V100,A100,H100", cl_out;
  int cl_nodes = 16, cl_per_node = 8, cl_share = 1;
  cl->add_option("--models", cl_models, "device models, comma-separated");
  cl->add_option("--nodes", cl_nodes, "nodes per model");
  cl->add_option("--devices", cl_per_node, "devices per node");
  cl->add_option("--share-count", cl_share, "fractional tenants per card");
  cl->add_option("--out", cl_out, "output JSON")->required();

  CLI11_PARSE(app, argc, argv);
  try {
    if (gen->parsed()) {
      shape.models = split(gen_models, ',');
      auto jobs = generate_trace(shape);
      write_file(gen_out, write_trace_csv(jobs));
      std::cout << "wrote " << jobs.size() << " jobs to " << gen_out << "\n";
      return 0;
    }
    if (cl->parsed()) {
      write_file(cl_out, cluster_json(split(cl_models, ','), cl_nodes, cl_per_node, cl_share));
      std::cout << "wrote " << cl_out << "\n";
      return 0;
    }
    if (cluster_path.empty() || trace_path.empty()) {
      std::cerr << "xpool-sim: --cluster and --trace are required (see --help)\n";
      return 2;
    }
    ClusterDescription desc = parse_cluster_json(read_file(cluster_path), cluster_path);
    std::ifstream trace_in(trace_path);
    if (!trace_in) throw InputError(trace_path + ": cannot open for reading");
    std::vector<TraceJob> trace = parse_trace_csv(trace_in, trace_path);
    std::vector<SimJob> jobs = resolve_trace(trace, desc.cluster, desc.throughput, trace_path);
    std::vector<NodeFailure> failures;
    if (!failure_trace.empty()) {
      std::ifstream fin(failure_trace);
      if (!fin) throw InputError(failure_trace + ": cannot open for reading");
      failures = parse_failure_csv(fin, failure_trace, desc.cluster);
    }
    std::vector<std::string> policies{policy};
    for (const auto &p : split(compare, ',')) policies.push_back(p);
    std::vector<Summary> summaries;
    for (const std::string &p : policies) {
      SchedulerConfig config = config_for(p, tuning);
      SimResult result = simulate(desc.cluster, desc.throughput, config, jobs, failures, opt, p);
      Summary s = summarize(result, desc.cluster);
      std::cout << format_summary(s) << "\n";
      if (!result.invariant_errors.empty()) {
        std::cerr << "invariant violated: " << result.invariant_errors.front() << "\n";
        return 3;
      }
      if (!out_dir.empty()) {
        fs::path dir = policies.size() > 1 ? fs::path(out_dir) / p : fs::path(out_dir);
        fs::create_directories(dir);
        write_file(dir / "jobs.csv", jobs_csv(result, desc.cluster));
        write_file(dir / "timeline.csv", timeline_csv(result));
        write_file(dir / "timeline.json", timeline_json(result));
        write_file(dir / "summary.json", summary_json(s));
        write_file(dir / "utilization.svg",
                   utilization_svg(result, "xpool-sim: " + p + " on " +
                                               fs::path(trace_path).filename().string()));
        std::cout << "  wrote " << dir.string()
                  << "/{jobs.csv,timeline.csv,timeline.json,summary.json,utilization.svg}\n\n";
      }
      summaries.push_back(std::move(s));
    }
    if (summaries.size() > 1) std::cout << format_comparison(summaries);
  } catch (const std::exception &e) {
    std::cerr << "xpool-sim: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
