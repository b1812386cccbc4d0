// The UCX transport on one machine: XCCL_TRANSPORT=ucx forces it for every
// pair (UCX then picks its own shared-memory or TCP transports underneath),
// and XCCL_HOSTNAME makes ranks of this machine look like separate nodes,
// between which XCCL_TRANSPORT=auto takes UCX (with RDMA devices, or
// XCCL_UCX_AUTO=always) or TCP (without, or when UCX cannot start). Skipped
// with the reason where libucp.so.0 cannot be opened or xccl was built
// without the UCX headers.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "launch/launch_support.h"

namespace xccltest {
namespace {

using std::chrono::seconds;

// "" when UCX can be used here, else why not.
std::string ucxMissing() {
#ifndef XCCL_UCX_BUILT
  return "xccl was built without the UCX headers";
#else
  // Never closed: UCX's constructors allocate what only its destructors
  // free, and what stays behind after dlclose is a leak LeakSanitizer
  // reports and cannot suppress by name (the library is gone).
  static void *const library = dlopen("libucp.so.0", RTLD_LAZY | RTLD_LOCAL);
  if (library == nullptr) {
    const char *reason = dlerror();
    return reason != nullptr ? reason : "libucp.so.0 cannot be opened";
  }
  return "";
#endif
}

#define SKIP_WITHOUT_UCX()                                       \
  do {                                                           \
    const std::string missing = ucxMissing();                    \
    if (!missing.empty()) GTEST_SKIP() << "no UCX: " << missing; \
  } while (0)

Environment ucxEnvironment(int devices) {
  Environment environment = cpuEnvironment(devices);
  environment["XCCL_TRANSPORT"] = "ucx";
  return environment;
}

Environment ownCpuDevice(int rank) {
  return {{"XPOOL_DEVICE", std::to_string(rank)}};
}

// Each rank on its own cpu device and its own "node".
Environment ownNode(int rank) {
  return {{"XPOOL_DEVICE", std::to_string(rank)},
          {"XCCL_HOSTNAME", "node-" + std::to_string(rank)}};
}

// ---------------------------------------------------------------------------
// The matrix over UCX: every collective (send/recv included), a few types
// and ops, sizes 0, 1, 7, 1000, 65537 and a large one of several chunks.

TEST(XcclUcx, TwoRanksMatrix) {
  SKIP_WITHOUT_UCX();
  runRanks(2,
           {"matrix", "--types", "int8,float32,bfloat16,float64", "--ops", "sum,max", "--max-bytes",
            "4M"},
           ucxEnvironment(2), ownCpuDevice, seconds(120));
}

TEST(XcclUcx, ThreeRanksMatrix) {
  SKIP_WITHOUT_UCX();
  runRanks(3,
           {"matrix", "--types", "int32,float32", "--ops", "sum,min", "--max-bytes", "1M",
            "--roots", "ends"},
           ucxEnvironment(3), ownCpuDevice, seconds(120));
}

TEST(XcclUcx, FourRanksMatrix) {
  SKIP_WITHOUT_UCX();
  runRanks(4,
           {"matrix", "--types", "float32,uint8", "--ops", "sum", "--max-bytes", "256K", "--roots",
            "ends"},
           ucxEnvironment(4), ownCpuDevice, seconds(120));
}

// 16 MiB all-reduces: 32 chunks per message, the window and the
// chunk-by-chunk reduction of the receive side.
TEST(XcclUcx, AllReduce16MiBTwoRanks) {
  SKIP_WITHOUT_UCX();
  runRanks(2,
           {"matrix", "--collectives", "allreduce", "--types", "float32", "--ops", "sum", "--sizes",
            "large", "--max-bytes", "16M"},
           ucxEnvironment(2), ownCpuDevice, seconds(120));
}

// ---------------------------------------------------------------------------
// The path chosen between "nodes" (XCCL_TRANSPORT=auto), read from each
// rank's XCCL_DEBUG=INFO log.

// Runs all-reduces and sends between two "nodes" and expects `wanted` in
// the ranks' logs and `unwanted` nowhere.
void expectPathInLogs(const Environment &environment, const std::string &wanted,
                      const std::string &unwanted) {
  Job job(rankSpecs(rankProgram(), 2,
                    {"matrix", "--collectives", "allreduce,sendrecv", "--types", "float32", "--ops",
                     "sum", "--max-bytes", "1M"},
                    environment, ownNode));
  expectExitCodes(job, {0, 0}, seconds(120));
  const std::string logs = job.logs();
  EXPECT_NE(logs.find(wanted), std::string::npos) << "no \"" << wanted << "\" in\n" << logs;
  EXPECT_EQ(logs.find(unwanted), std::string::npos) << "\"" << unwanted << "\" in\n" << logs;
}

// Each pair's label in "path to ..." ends with its channel's name.
TEST(XcclUcx, AutoUsesUcxBetweenNodesWhenAllowed) {
  SKIP_WITHOUT_UCX();
  Environment environment = cpuEnvironment(2);
  environment["XCCL_DEBUG"] = "INFO";
  environment["XCCL_UCX_AUTO"] = "always";
  expectPathInLogs(environment, "device 1, ucx)", "device 1, tcp)");
}

// By default `auto` takes UCX between nodes only where both have an RDMA
// device (UCX over TCP is slower than xccl's TCP).
TEST(XcclUcx, AutoBetweenNodesFollowsRdmaDevices) {
  SKIP_WITHOUT_UCX();
  Environment environment = cpuEnvironment(2);
  environment["XCCL_DEBUG"] = "INFO";
  std::error_code error;
  const bool rdma = std::filesystem::directory_iterator("/sys/class/infiniband", error) !=
                        std::filesystem::directory_iterator() &&
                    !error;
  if (rdma) {
    expectPathInLogs(environment, "device 1, ucx)", "device 1, tcp)");
  } else {
    expectPathInLogs(environment, "TCP to rank 1 instead of UCX: rank 0 has no RDMA device",
                     "device 1, ucx)");
  }
}

// UCX_TLS naming no transport makes ucp_init fail on every rank: between
// nodes, auto falls back to TCP and says why; forced UCX fails naming it.
TEST(XcclUcx, AutoFallsBackToTcpWhenUcxCannotStart) {
  SKIP_WITHOUT_UCX();
  Environment environment = cpuEnvironment(2);
  environment["XCCL_DEBUG"] = "INFO";
  environment["XCCL_UCX_AUTO"] = "always";
  environment["UCX_TLS"] = "no-such-transport";
  expectPathInLogs(environment, "TCP to rank 1 instead of UCX: rank 0: ucp_init", "device 1, ucx)");
}

TEST(XcclUcx, ForcedUcxThatCannotStartFailsWithTheReason) {
  SKIP_WITHOUT_UCX();
  Environment environment = ucxEnvironment(2);
  environment["UCX_TLS"] = "no-such-transport";
  environment["XCCL_TIMEOUT_MS"] = "10000";
  Job job(rankSpecs(rankProgram(), 2, {"matrix", "--collectives", "barrier"}, environment,
                    ownCpuDevice));
  // xccl_rank exits 2 when the communicator cannot be formed.
  expectExitCodes(job, {2, 2}, seconds(60));
  const std::string logs = job.logs();
  EXPECT_NE(logs.find("XCCL_TRANSPORT=ucx between rank 0 and rank 1, but UCX is not available"),
            std::string::npos)
      << logs;
  EXPECT_NE(logs.find("ucp_init"), std::string::npos) << logs;
}

// ---------------------------------------------------------------------------
// Failures over UCX.

// Rank 1 of 3 killed in the middle of 8 MiB all-reduces over UCX: both
// survivors report an error naming it within XCCL_TIMEOUT_MS + 5 s.
TEST(XcclUcx, KilledPeerIsNamedWithinTheTimeout) {
  SKIP_WITHOUT_UCX();
  expectSurvivorsNameTheKilledRank(3, 1, ucxEnvironment(3), ownCpuDevice);
}

TEST(XcclUcx, AbortUnblocksAndPeerSeesIt) {
  SKIP_WITHOUT_UCX();
  runRanks(2, {"abort"}, ucxEnvironment(2), ownCpuDevice, seconds(60));
}

}  // namespace
}  // namespace xccltest
