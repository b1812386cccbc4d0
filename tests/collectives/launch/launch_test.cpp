// Multi-process xccl tests: each case starts N copies of xccl_rank (one per
// rank, its own process, as a real job would) and checks their exit codes;
// the ranks check the data themselves. A rank that hangs is killed at the
// case's deadline and named in the failure, with every rank's log.
#include <gtest/gtest.h>

#include <string>

#include "launch/launch_support.h"

namespace xccltest {
namespace {

using std::chrono::seconds;

// Rank r on cpu device r (XPOOL_CPU_DEVICES gives each rank its own).
Environment ownCpuDevice(int rank) {
  return {{"XPOOL_DEVICE", std::to_string(rank)}};
}

// ---------------------------------------------------------------------------
// The matrix: every collective, type, op, size and placement.

// A job of one rank: every collective degenerates to a local copy or
// reduction, and xcclCommInitFromEnv must not wait for peers.
TEST(XcclMatrix, OneRank) {
  Environment environment = cpuEnvironment(1);
  environment["XCCL_TIMEOUT_MS"] = "10000";  // a wait for absent peers fails soon
  runRanks(1, {"matrix", "--max-bytes", "1M"}, environment, ownCpuDevice, seconds(120));
}

TEST(XcclMatrix, TwoRanksOnCpuDevices) {
  runRanks(2, {"matrix"}, cpuEnvironment(2), ownCpuDevice, seconds(240));
}

TEST(XcclMatrix, ThreeRanksOnCpuDevices) {
  runRanks(3, {"matrix", "--max-bytes", "1M"}, cpuEnvironment(3), ownCpuDevice, seconds(240));
}

TEST(XcclMatrix, FourRanksOnCpuDevices) {
  runRanks(4, {"matrix", "--max-bytes", "256K"}, cpuEnvironment(4), ownCpuDevice, seconds(240));
}

// Eight processes on a 2-core machine: small sizes only, so the case tests
// the algorithms at 8 ranks rather than the scheduler.
TEST(XcclMatrix, EightRanksOnCpuDevices) {
  runRanks(8, {"matrix", "--sizes", "0,1,7,1000,large", "--max-bytes", "64K", "--roots", "ends"},
           cpuEnvironment(8), ownCpuDevice, seconds(240));
}

// Ranks alternate between a cpu device (host-addressable) and the opencl
// device (PoCL: not host-addressable, so xccl stages through host memory).
// XPOOL_DEVICE names a backend; xccl_rank maps it to a pool ordinal.
Environment mixedEnvironment() {
  Environment environment = cpuEnvironment(2);
  environment["XPOOL_BACKENDS"] = "cpu,opencl";
  return environment;
}

Environment alternateCpuOpencl(int rank) {
  if (rank % 2 == 1) return {{"XPOOL_DEVICE", "opencl"}};
  return {{"XPOOL_DEVICE", "cpu:" + std::to_string(rank / 2)}};
}

TEST(XcclMatrix, TwoRanksCpuAndOpencl) {
  if (!openclAvailable()) GTEST_SKIP() << "no opencl device";
  runRanks(2, {"matrix", "--max-bytes", "1M"}, mixedEnvironment(), alternateCpuOpencl,
           seconds(240));
}

// Staging chunks of 64 KiB: the larger buffers take several, so the
// copy-in / network / copy-out pipeline has chunks in flight at once.
TEST(XcclMatrix, ThreeRanksCpuOpenclCpu) {
  if (!openclAvailable()) GTEST_SKIP() << "no opencl device";
  Environment environment = mixedEnvironment();
  environment["XCCL_STAGE_CHUNK_BYTES"] = "65536";
  runRanks(3, {"matrix", "--max-bytes", "256K", "--roots", "ends"}, environment, alternateCpuOpencl,
           seconds(240));
}

// XCCL_TRANSPORT=tcp: sockets between ranks of one host instead of shared
// memory. These ranks also leave XPOOL_DEVICE unset, so xccl picks the
// device from XPOOL_LOCAL_RANK; xccl_rank checks it got that one.
Environment tcpEnvironment(int devices) {
  Environment environment = cpuEnvironment(devices);
  environment["XCCL_TRANSPORT"] = "tcp";
  return environment;
}

Environment localRank(int rank) {
  return {{"XPOOL_LOCAL_RANK", std::to_string(rank)},
          {"XCCL_TEST_EXPECT_DEVICE", std::to_string(rank)}};
}

TEST(XcclMatrix, TwoRanksOverTcp) {
  runRanks(2, {"matrix", "--max-bytes", "1M"}, tcpEnvironment(2), localRank, seconds(240));
}

// Three sockets per peer: messages of 256 KiB and more are striped.
TEST(XcclMatrix, ThreeRanksOverTcp) {
  Environment environment = tcpEnvironment(3);
  environment["XCCL_SOCKETS_PER_PEER"] = "3";
  runRanks(3, {"matrix", "--max-bytes", "1M", "--roots", "ends"}, environment, localRank,
           seconds(240));
}

// Above 8 ranks, small all-reduces use recursive doubling; 9 is not a power
// of two, the case such algorithms get wrong.
TEST(XcclMatrix, NineRanksAllReduce) {
  runRanks(9,
           {"matrix", "--collectives", "allreduce,barrier", "--sizes", "0,1,7,1000,large",
            "--max-bytes", "256K"},
           cpuEnvironment(9), ownCpuDevice, seconds(240));
}

// Each algorithm forced for every size (auto picks by size, so some paths
// would otherwise only run at sizes the matrix does not reach).
class XcclAlgorithm : public ::testing::TestWithParam<const char *> {};

TEST_P(XcclAlgorithm, ThreeRanks) {
  Environment environment = cpuEnvironment(3);
  environment["XCCL_ALGO"] = GetParam();
  runRanks(3,
           {"matrix", "--collectives", "allreduce,broadcast,reduce,allgather,reducescatter",
            "--max-bytes", "256K", "--roots", "ends"},
           environment, ownCpuDevice, seconds(240));
}

INSTANTIATE_TEST_SUITE_P(Forced, XcclAlgorithm, ::testing::Values("ring", "direct", "tree"));

// The smallest FIFO and pipeline chunk, and no direct algorithm: every
// message wraps the FIFO many times and waits for the reader.
TEST(XcclMatrix, ThreeRanksTinyFifosAndChunks) {
  Environment environment = cpuEnvironment(3);
  environment["XCCL_SHM_FIFO_BYTES"] = "4096";
  environment["XCCL_CHUNK_BYTES"] = "4096";
  environment["XCCL_DIRECT_MAX_BYTES"] = "0";
  // Each 4 KiB hand-over waits for the reader to be scheduled: on 2 busy
  // cores that is slow, so the sizes stay small (64 KiB is still 16 FIFOs).
  runRanks(3, {"matrix", "--sizes", "0,1,7,1000,large", "--max-bytes", "64K", "--roots", "ends"},
           environment, ownCpuDevice, seconds(240));
}

// Three ranks run the matrix up to 1 MiB with XCCL_SHM_SINGLE_COPY_MIN_BYTES
// = `single_copy_min`; returns their XCCL_DEBUG=INFO logs.
std::string threeRankMatrixLogs(const std::string &single_copy_min) {
  Environment environment = cpuEnvironment(3);
  environment["XCCL_SHM_SINGLE_COPY_MIN_BYTES"] = single_copy_min;
  environment["XCCL_DEBUG"] = "INFO";
  Job job(rankSpecs(rankProgram(), 3, {"matrix", "--max-bytes", "1M", "--roots", "ends"},
                    environment, ownCpuDevice));
  expectExitCodes(job, {0, 0, 0}, seconds(240));
  return job.logs();
}

// Single copy off (the default, named here): large messages go through the
// FIFO too, and the log says why.
TEST(XcclMatrix, ThreeRanksFifoOnly) {
  const std::string logs = threeRankMatrixLogs("0");
  EXPECT_NE(logs.find("go through the FIFO only (XCCL_SHM_SINGLE_COPY_MIN_BYTES=0)"),
            std::string::npos)
      << logs;
}

// Every non-empty message read from the sender's buffer: odd sizes, every
// reduction (read in steps into a buffer, then reduced), all collectives.
// The ranks must have proved they may read each other (no "FIFO only").
TEST(XcclMatrix, ThreeRanksSingleCopyFromOneByte) {
  const std::string logs = threeRankMatrixLogs("1");
  EXPECT_EQ(logs.find("FIFO only"), std::string::npos) << logs;
}

// XCCL_INLINE=0: every operation through its stream's host function, never
// on the calling thread.
TEST(XcclMatrix, TwoRanksThroughTheStreamOnly) {
  Environment environment = cpuEnvironment(2);
  environment["XCCL_INLINE"] = "0";
  runRanks(2, {"matrix", "--max-bytes", "256K"}, environment, ownCpuDevice, seconds(240));
}

// 64 MiB buffers: 16M float32 and 32M bfloat16 elements, many chunks of
// every pipeline.
TEST(XcclMatrix, AllReduce64MiBTwoRanks) {
  runRanks(2,
           {"matrix", "--collectives", "allreduce", "--types", "float32,bfloat16", "--ops", "sum",
            "--sizes", "large", "--max-bytes", "64M"},
           cpuEnvironment(2), ownCpuDevice, seconds(240));
}

// ---------------------------------------------------------------------------
// Communicator management and stream semantics.

// 3 ranks: the parity split gives a 2-rank and a 1-rank communicator.
TEST(XcclSplit, ThreeRanks) {
  runRanks(3, {"split"}, cpuEnvironment(3), ownCpuDevice, seconds(120));
}

TEST(XcclSplit, FourRanks) {
  runRanks(4, {"split"}, cpuEnvironment(4), ownCpuDevice, seconds(120));
}

TEST(XcclStreamOrder, TwoRanksOnCpuDevices) {
  runRanks(2, {"stream-order"}, cpuEnvironment(2), ownCpuDevice, seconds(120));
}

TEST(XcclStreamOrder, CpuAndOpencl) {
  if (!openclAvailable()) GTEST_SKIP() << "no opencl device";
  runRanks(2, {"stream-order"}, mixedEnvironment(), alternateCpuOpencl, seconds(120));
}

TEST(XcclAsyncError, TwoRanks) {
  runRanks(2, {"async-error"}, cpuEnvironment(2), ownCpuDevice, seconds(120));
}

// ---------------------------------------------------------------------------
// Failures: mismatched calls, a killed rank, an aborted communicator.

class XcclCheckMismatch : public ::testing::TestWithParam<const char *> {};

TEST_P(XcclCheckMismatch, EveryRankGetsInvalidUsage) {
  Environment environment = cpuEnvironment(3);
  environment["XCCL_CHECK"] = "1";
  runRanks(3, {"check-mismatch", "--what", GetParam()}, environment, ownCpuDevice, seconds(120));
}

INSTANTIATE_TEST_SUITE_P(Arguments, XcclCheckMismatch,
                         ::testing::Values("count", "datatype", "op", "root", "collective"));

// Rank 1 of 3 is killed with SIGKILL while the ranks loop over large
// AllReduces; the other two must report an error naming rank 1 within
// XCCL_TIMEOUT_MS (3 s) + 5 s of the kill.
TEST(XcclKilledPeer, SurvivorsReportTheDeadRankWithinTheTimeout) {
  expectSurvivorsNameTheKilledRank(3, 1, cpuEnvironment(3), ownCpuDevice);
}

// The same with every same-node message single-copy: the survivors' reads
// of the dead rank's memory (process_vm_readv) fail, and the error must
// still name rank 1.
TEST(XcclKilledPeer, SingleCopySurvivorsReportTheDeadRank) {
  Environment environment = cpuEnvironment(3);
  environment["XCCL_SHM_SINGLE_COPY_MIN_BYTES"] = "1";
  expectSurvivorsNameTheKilledRank(3, 1, environment, ownCpuDevice);
}

// A receive posted for fewer bytes than its peer sends, every message
// single-copy: the receiver names both sizes, the sender names the receiver.
TEST(XcclSizeMismatch, SingleCopyReceiverNamesBothSizesAndSenderFails) {
  Environment environment = cpuEnvironment(2);
  environment["XCCL_SHM_SINGLE_COPY_MIN_BYTES"] = "1";
  runRanks(2, {"size-mismatch"}, environment, ownCpuDevice, seconds(60));
}

// XCCL_NCCL=1 on one rank and 0 on the other: every rank sees both in the
// bootstrap table, so both refuse the communicator (exit 2: setup failed)
// and say why, rather than one going on alone to wait for a peer that left.
TEST(XcclNcclChoice, RanksThatDisagreeAllFailNamingBoth) {
  const auto choice = [](int rank) {
    Environment environment = ownCpuDevice(rank);
    environment["XCCL_NCCL"] = rank == 0 ? "1" : "0";
    return environment;
  };
  Job job(rankSpecs(rankProgram(), 2, {"matrix"}, cpuEnvironment(2), choice));
  expectExitCodes(job, {2, 2}, seconds(60));
  const std::string logs = job.logs();
  for (const char *rank : {"rank 0:", "rank 1:"}) {
    EXPECT_NE(logs.find(std::string(rank) +
                        " XCCL_NCCL=1 on rank 0 but XCCL_NCCL=0 on rank 1: the ranks of a "
                        "communicator must agree"),
              std::string::npos)
        << logs;
  }
}

TEST(XcclAbort, BlockedCallReturnsAndPeerSeesTheAbort) {
  runRanks(2, {"abort"}, cpuEnvironment(2), ownCpuDevice, seconds(60));
}

}  // namespace
}  // namespace xccltest
