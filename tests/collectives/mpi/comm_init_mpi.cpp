// xccl_mpi_rank: one rank of an mpirun job that forms xccl communicators
// with xcclCommInitMpi (xpool/xccl_mpi.h), over MPI_COMM_WORLD and over a
// split MPI communicator with reversed keys, and checks that each xccl
// communicator has the MPI communicator's size and ranks and works.
// Exits 0 when every check passed.
#include <mpi.h>

#include <string>

#include "rank/allreduce_check.h"
#include "rank/scenario.h"
#include "xpool/xccl_mpi.h"

// Open MPI keeps allocations past MPI_Finalize; under -fsanitize=address
// LeakSanitizer would fail every run for them (the other xccl tests check
// xccl's own leaks).
extern "C" __attribute__((visibility("default"))) const char *__lsan_default_options() {
  return "detect_leaks=0";
}

namespace xccltest {
namespace {

bool checkMatches(const Context &ctx, xcclComm_t comm, MPI_Comm mpi_comm, const std::string &what) {
  int mpi_rank = -1, mpi_size = -1, rank = -1, count = -1;
  MPI_Comm_rank(mpi_comm, &mpi_rank);
  MPI_Comm_size(mpi_comm, &mpi_size);
  if (!xcclOk(ctx, xcclCommUserRank(comm, &rank), what + ": xcclCommUserRank") ||
      !xcclOk(ctx, xcclCommCount(comm, &count), what + ": xcclCommCount")) {
    return false;
  }
  if (rank != mpi_rank || count != mpi_size) {
    fail(ctx, what + ": xccl rank " + std::to_string(rank) + " of " + std::to_string(count) +
                  ", MPI rank " + std::to_string(mpi_rank) + " of " + std::to_string(mpi_size));
    return false;
  }
  return checkedAllReduce(ctx, comm, nullptr, xcclInt32, xcclSum, 10000, 3, what) &&
         checkedAllReduce(ctx, comm, nullptr, xcclFloat32, xcclAvg, 1001, 4, what);
}

int run(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  Context ctx;
  MPI_Comm_rank(MPI_COMM_WORLD, &ctx.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &ctx.nranks);
  if (!xpOk(ctx, xpInit(), "xpInit")) MPI_Abort(MPI_COMM_WORLD, kExitSetupFailed);
  int devices = 0;
  xpDeviceCount(&devices);
  ctx.device = devices > 0 ? ctx.rank % devices : 0;

  bool ok = xcclOk(ctx, xcclCommInitMpi(&ctx.comm, MPI_COMM_WORLD, ctx.device),
                   "xcclCommInitMpi(MPI_COMM_WORLD)") &&
            checkMatches(ctx, ctx.comm, MPI_COMM_WORLD, "MPI_COMM_WORLD");

  // Odd and even ranks, each half in reverse order of world rank.
  MPI_Comm half = MPI_COMM_NULL;
  MPI_Comm_split(MPI_COMM_WORLD, ctx.rank % 2, -ctx.rank, &half);
  xcclComm_t half_comm = nullptr;
  ok = xcclOk(ctx, xcclCommInitMpi(&half_comm, half, ctx.device), "xcclCommInitMpi(split)") &&
       checkMatches(ctx, half_comm, half, "a split MPI communicator") && ok;

  if (half_comm != nullptr) ok &= xcclOk(ctx, xcclCommDestroy(half_comm), "xcclCommDestroy");
  if (ctx.comm != nullptr) ok &= xcclOk(ctx, xcclCommDestroy(ctx.comm), "xcclCommDestroy");
  MPI_Comm_free(&half);
  ok &= xpOk(ctx, xpShutdown(), "xpShutdown");
  note(ctx, ok ? "xcclCommInitMpi checks passed" : "xcclCommInitMpi checks failed");
  MPI_Finalize();
  return ok ? kExitOk : kExitCheckFailed;
}

}  // namespace
}  // namespace xccltest

int main(int argc, char **argv) {
  return xccltest::run(argc, argv);
}
