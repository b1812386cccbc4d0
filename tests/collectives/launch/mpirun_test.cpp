// The same rank program under mpirun: Open MPI starts the ranks and sets
// OMPI_COMM_WORLD_RANK/SIZE/LOCAL_RANK, xcclCommInitFromEnv reads them, and
// rank 0 serves the bootstrap on XPOOL_MASTER_PORT. The mpirun process is
// watched like any rank: a deadline, then SIGKILL to its process group.
#include <gtest/gtest.h>

#include "launch/launch_support.h"

namespace xccltest {
namespace {

// mpirun for 3 local ranks, forwarding `forwarded` to them with -x.
ProcessSpec mpirun(const std::vector<std::string> &program, const Environment &forwarded) {
  ProcessSpec spec;
  spec.label = "mpirun";
  spec.argv = {XCCL_MPIRUN, "--allow-run-as-root", "--oversubscribe", "--bind-to", "none", "-np",
               "3"};
  for (const auto &[name, value] : forwarded) {
    spec.argv.push_back("-x");
    spec.argv.push_back(name + "=" + value);
  }
  spec.argv.insert(spec.argv.end(), program.begin(), program.end());
  spec.environment = forwarded;
  // In containers, Open MPI's shared-memory transport cannot use
  // cross-memory attach; without this it warns or fails its own messages.
  spec.environment["OMPI_MCA_btl_vader_single_copy_mechanism"] = "none";
  return spec;
}

TEST(XcclMpirun, MatrixThreeRanks) {
  Environment forwarded = cpuEnvironment(3);
  forwarded["XPOOL_MASTER_ADDR"] = "127.0.0.1";
  forwarded["XPOOL_MASTER_PORT"] = std::to_string(freeTcpPort());
  Job job({mpirun({rankProgram(), "matrix", "--max-bytes", "65536"}, forwarded)});
  expectExitCodes(job, {0}, std::chrono::seconds(240));
}

#ifdef XCCL_MPI_RANK_PROGRAM
TEST(XcclMpirun, CommInitMpiOverWorldAndSplitCommunicators) {
  Job job({mpirun({XCCL_MPI_RANK_PROGRAM}, cpuEnvironment(3))});
  expectExitCodes(job, {0}, std::chrono::seconds(120));
}
#endif

}  // namespace
}  // namespace xccltest
