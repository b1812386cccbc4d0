// xccl-perf: bandwidth and latency of every xccl collective over a range of
// sizes, printed as nccl-tests prints them (plus a memcpy ceiling column),
// so that the numbers read like NCCL's own.
//
// Ranks: one per process under mpirun or any launcher that sets XPOOL_RANK
// etc. (xcclCommInitFromEnv); --np N to launch N processes itself; -t K for
// K ranks as threads of this process (xcclCommInitAll); neither: one rank.
//
// Exit codes: 0 measured, 1 some result was wrong, 2 a call or a rank failed.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include "launcher.h"
#include "options.h"
#include "xccl_calls.h"
#include "xccl_rank.h"

namespace {

using namespace xccl_bench;

int exitCode(const std::vector<RankResult> &results) {
  int code = 0;
  for (const RankResult &result : results) {
    if (!result.error.empty()) {
      std::fprintf(stderr, "xccl-perf: rank %d: %s\n", result.rank, result.error.c_str());
      code = 2;
    } else if (result.wrong > 0 && code == 0) {
      code = 1;
    }
  }
  return code;
}

// -t K (or no launcher at all, K = 1): K ranks in this process, rank i on
// --device, else on device i modulo the device count (as xcclCommInitFromEnv
// picks by local rank).
int runThreads(const Options &options, int device, int threads) {
  int count = 0;
  xpCheck(xpDeviceCount(&count), "xpDeviceCount");
  if (count == 0) throw CallError("no xpool devices (see `xpool smi`)");
  std::vector<int> devices(static_cast<size_t>(threads));
  for (int i = 0; i < threads; ++i)
    devices[static_cast<size_t>(i)] = device >= 0 ? device : i % count;
  std::vector<xcclComm_t> comms(static_cast<size_t>(threads));
  xcclCheck(xcclCommInitAll(comms.data(), threads, devices.data()), "xcclCommInitAll", nullptr);
  std::vector<RankResult> results(static_cast<size_t>(threads));
  std::vector<std::thread> workers;
  for (size_t i = 1; i < comms.size(); ++i) {
    workers.emplace_back([&, i] { results[i] = runRank(options, comms[i], threads); });
  }
  results[0] = runRank(options, comms[0], threads);
  for (std::thread &worker : workers) worker.join();
  return exitCode(results);
}

// One rank of a launched job: mpirun's or --np's environment.
int runLaunched(const Options &options, int device) {
  xcclComm_t comm = nullptr;
  xcclCheck(xcclCommInitFromEnv(&comm, device), "xcclCommInitFromEnv", nullptr);
  return exitCode({runRank(options, comm, 1)});
}

// --np N: N copies of this program, each told its rank, bootstrapping on a
// free port of 127.0.0.1; only rank 0 prints.
int launch(const Options &options, int nodes, int argc, char **argv) {
  LaunchPlan plan;
  plan.tool = "xccl-perf";
  plan.argv.push_back(selfPath());
  // Neither --np nor --nodes: the copies are ranks, not launchers.
  const std::vector<std::string> args = argsWithout(argc, argv, "--np");
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--nodes") {
      ++i;
    } else if (args[i].rfind("--nodes=", 0) != 0) {
      plan.argv.push_back(args[i]);
    }
  }
  plan.nranks = options.np;
  plan.nodes = nodes;
  plan.env = {{"XPOOL_MASTER_ADDR", "127.0.0.1"},
              {"XPOOL_MASTER_PORT", std::to_string(freePort())}};
  plan.timeout_s = options.timeout_s;
  return launchRanks(plan);
}

bool underLauncher() {
  return std::getenv("XPOOL_RANK") != nullptr || std::getenv("OMPI_COMM_WORLD_RANK") != nullptr;
}

}  // namespace

int main(int argc, char **argv) {
  setvbuf(stdout, nullptr, _IOLBF, 0);  // each row shows as soon as it is measured
  CLI::App app{"xccl-perf: xccl collectives' bandwidth and latency, in nccl-tests' format"};
  Options options;
  int device = -1;
  int threads = 1;
  std::vector<DataType> types;
  for (const std::string &name : typeNames()) types.push_back(*parseType(name));
  addCommonOptions(app, options,
                   Choices{allColls(),
                           types,
                           {RedOp::kSum, RedOp::kProd, RedOp::kMax, RedOp::kMin, RedOp::kAvg},
                           true});
  app.add_option("--device", device,
                 "xpool device of this process's ranks (-1: the launcher's choice)")
      ->check(CLI::Range(-1, 1 << 20))
      ->capture_default_str();
  app.add_option("-t,--threads-ranks", threads, "Run this many ranks as threads of one process")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  int nodes = 0;
  app.add_option("--nodes", nodes,
                 "With --np: the ranks pose as this many nodes (XCCL_HOSTNAME per rank, "
                 "consecutive ranks together): TCP between them, hierarchical algorithms")
      ->check(CLI::Range(1, 1024));
  try {
    app.parse(argc, argv);
    finishOptions(options, argc, argv);
    if (options.np > 0 && threads > 1) {
      throw CLI::ValidationError("--np", "cannot be combined with -t (one or the other)");
    }
    if (nodes > 0 && (options.np == 0 || nodes > options.np)) {
      throw CLI::ValidationError("--nodes", "needs --np with at least as many ranks as nodes");
    }
    if (threads > 1 && underLauncher()) {
      throw CLI::ValidationError("-t", "runs all ranks in one process; not under a launcher");
    }
  } catch (const CLI::ParseError &error) {
    return app.exit(error) == 0 ? 0 : 2;  // --help is not an error
  }
  try {
    if (options.np > 0) return launch(options, nodes, argc, argv);
    xpCheck(xpInit(), "xpInit");
    const int code =
        underLauncher() ? runLaunched(options, device) : runThreads(options, device, threads);
    xpShutdown();
    return code;
  } catch (const std::exception &error) {
    std::fprintf(stderr, "xccl-perf: %s\n", error.what());
    return 2;
  }
}
