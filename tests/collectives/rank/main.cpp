// xccl_rank: one rank of a multi-process xccl test. It joins a communicator
// from the launcher's environment (XPOOL_RANK/XPOOL_WORLD_SIZE/
// XPOOL_MASTER_ADDR/XPOOL_MASTER_PORT, or Open MPI's OMPI_COMM_WORLD_* under
// mpirun), runs the scenario named on its command line and exits 0 when
// every check passed. Failures are printed on stderr, one line each, naming
// the rank, the collective, type, op, size, first wrong index, expected and
// got values.
//
//   xccl_rank <scenario> [--max-bytes N[K|M]] [--sizes 0,7,large] [--types float32,int8]
//             [--ops sum,max] [--collectives allreduce,broadcast] [--roots all|ends]
//             [--seed N] [--dead-rank R] [--what count|datatype|op|root|collective]
//
// Scenarios: matrix split stream-order async-error check-mismatch size-mismatch killed-peer
// abort.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <sstream>
#include <string>

#include "common/device_select.h"
#include "common/types.h"
#include "rank/scenario.h"

namespace xccltest {
namespace {

std::vector<std::string> splitList(const std::string &text) {
  std::vector<std::string> items;
  std::stringstream stream(text);
  for (std::string item; std::getline(stream, item, ',');) {
    if (!item.empty()) items.push_back(item);
  }
  return items;
}

bool parseBytes(const std::string &text, size_t *out) {
  char *end = nullptr;
  unsigned long long value = std::strtoull(text.c_str(), &end, 10);
  if (end == text.c_str()) return false;
  if (*end == 'K' || *end == 'k') value <<= 10, ++end;
  if (*end == 'M' || *end == 'm') value <<= 20, ++end;
  if (*end == 'G' || *end == 'g') value <<= 30, ++end;
  *out = value;
  return *end == '\0';
}

// Parses argv into `options`; returns an error message, or "" when fine.
std::string parseArguments(int argc, char **argv, Options *options) {
  if (argc < 2) return "usage: xccl_rank <scenario> [options] (see the source's header)";
  options->scenario = argv[1];
  for (int i = 2; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) return flag + " needs a value";
    const std::string value = argv[++i];
    if (flag == "--max-bytes") {
      if (!parseBytes(value, &options->max_bytes)) return "bad --max-bytes " + value;
    } else if (flag == "--sizes") {
      options->sizes = splitList(value);
    } else if (flag == "--types") {
      for (const std::string &name : splitList(value)) {
        const auto type = parseType(name);
        if (!type) return "unknown type " + name;
        options->types.push_back(*type);
      }
    } else if (flag == "--ops") {
      for (const std::string &name : splitList(value)) {
        const auto op = parseOp(name);
        if (!op) return "unknown op " + name;
        options->ops.push_back(*op);
      }
    } else if (flag == "--collectives") {
      options->collectives = splitList(value);
    } else if (flag == "--roots") {
      if (value != "all" && value != "ends") return "--roots takes all or ends";
      options->all_roots = value == "all";
    } else if (flag == "--seed") {
      options->seed = std::strtoull(value.c_str(), nullptr, 10);
    } else if (flag == "--dead-rank") {
      options->dead_rank = std::atoi(value.c_str());
    } else if (flag == "--what") {
      options->what = value;
    } else {
      return "unknown option " + flag;
    }
  }
  return "";
}

// The rank and world size the launcher meant, for messages and checks.
int environmentInt(const char *xpool_name, const char *ompi_name) {
  const char *text = std::getenv(xpool_name);
  if (text == nullptr) text = std::getenv(ompi_name);
  return text != nullptr ? std::atoi(text) : -1;
}

// Checks that the communicator is the one the environment describes.
bool checkIdentity(const Context &ctx, int wanted_device) {
  bool ok = true;
  const int env_rank = environmentInt("XPOOL_RANK", "OMPI_COMM_WORLD_RANK");
  const int env_size = environmentInt("XPOOL_WORLD_SIZE", "OMPI_COMM_WORLD_SIZE");
  if (env_rank >= 0 && env_rank != ctx.rank) {
    fail(ctx, "xcclCommUserRank gave " + std::to_string(ctx.rank) + ", the environment says " +
                  std::to_string(env_rank));
    ok = false;
  }
  if (env_size >= 0 && env_size != ctx.nranks) {
    fail(ctx, "xcclCommCount gave " + std::to_string(ctx.nranks) + ", the environment says " +
                  std::to_string(env_size));
    ok = false;
  }
  int expected_device = wanted_device;
  if (const char *text = std::getenv("XCCL_TEST_EXPECT_DEVICE")) expected_device = std::atoi(text);
  if (expected_device >= 0 && expected_device != ctx.device) {
    fail(ctx, "xcclCommDevice gave " + std::to_string(ctx.device) + ", expected " +
                  std::to_string(expected_device));
    ok = false;
  }
  return ok;
}

int runScenario(Context &ctx) {
  static const std::map<std::string, std::function<int(Context &)>> kScenarios = {
      {"matrix", runMatrix},
      {"split", runSplit},
      {"stream-order", runStreamOrder},
      {"async-error", runAsyncError},
      {"check-mismatch", runCheckMismatch},
      {"size-mismatch", runSizeMismatch},
      {"killed-peer", runKilledPeer},
      {"abort", runAbort}};
  const auto found = kScenarios.find(ctx.options.scenario);
  if (found == kScenarios.end()) {
    fail(ctx, "unknown scenario " + ctx.options.scenario);
    return kExitSetupFailed;
  }
  return found->second(ctx);
}

int run(int argc, char **argv) {
  Context ctx;
  ctx.rank = environmentInt("XPOOL_RANK", "OMPI_COMM_WORLD_RANK");
  if (const std::string error = parseArguments(argc, argv, &ctx.options); !error.empty()) {
    fail(ctx, error);
    return kExitSetupFailed;
  }
  const auto start = Clock::now();
  if (!xpOk(ctx, xpInit(), "xpInit")) return kExitSetupFailed;
  std::string error;
  const int device = deviceFromEnvironment(&error);
  if (device == -2) {
    fail(ctx, error);
    return kExitSetupFailed;
  }
  if (!xcclOk(ctx, xcclCommInitFromEnv(&ctx.comm, device),
              "xcclCommInitFromEnv(device " + std::to_string(device) + ")")) {
    return kExitSetupFailed;
  }
  if (!xcclOk(ctx, xcclCommUserRank(ctx.comm, &ctx.rank), "xcclCommUserRank") ||
      !xcclOk(ctx, xcclCommCount(ctx.comm, &ctx.nranks), "xcclCommCount") ||
      !xcclOk(ctx, xcclCommDevice(ctx.comm, &ctx.device), "xcclCommDevice") ||
      !checkIdentity(ctx, device) ||
      !xpOk(ctx, xpStreamCreate(ctx.device, &ctx.stream), "xpStreamCreate")) {
    return kExitSetupFailed;
  }
  note(ctx, "joined as rank " + std::to_string(ctx.rank) + " of " + std::to_string(ctx.nranks) +
                " on device " + std::to_string(ctx.device) + " in " +
                std::to_string(secondsSince(start)) + " s; running " + ctx.options.scenario);

  int code = runScenario(ctx);
  // Scenarios that end the communicator themselves (abort, killed-peer) set
  // ctx.comm to NULL.
  if (ctx.comm != nullptr && !xcclOk(ctx, xcclCommDestroy(ctx.comm), "xcclCommDestroy")) {
    if (code == kExitOk) code = kExitCheckFailed;
  }
  if (!xpOk(ctx, xpStreamDestroy(ctx.stream), "xpStreamDestroy") && code == kExitOk) {
    code = kExitCheckFailed;
  }
  if (!xpOk(ctx, xpShutdown(), "xpShutdown") && code == kExitOk) code = kExitCheckFailed;
  if (code == kExitOk && failureCount() > 0) code = kExitCheckFailed;
  note(ctx, ctx.options.scenario + (code == kExitOk ? " passed" : " ended") + " with exit code " +
                std::to_string(code) + " after " + std::to_string(secondsSince(start)) + " s (" +
                std::to_string(failureCount()) + " failures)");
  return code;
}

}  // namespace
}  // namespace xccltest

int main(int argc, char **argv) {
  return xccltest::run(argc, argv);
}
