// The killed-peer scenario: every rank runs large AllReduces in a loop; the
// launcher kill -9s rank --dead-rank once it is looping (it creates the file
// $XCCL_TEST_MARKER_DIR/rank<r>.looping after its first iteration). The
// survivors must get xcclRemoteError or xcclTimeout, from the call, the
// stream or xcclCommGetAsyncError, with a message naming the dead rank, and
// exit with kExitSawPeerError. The launcher times how long that took.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "common/types.h"
#include "rank/allreduce_check.h"
#include "rank/scenario.h"

namespace xccltest {
namespace {

constexpr size_t kCount = size_t{2} << 20;  // 8 MiB of float32 per operation
constexpr double kLoopSeconds = 90;         // ends the loop if nobody is killed

void announceLooping(const Context &ctx) {
  const char *dir = std::getenv("XCCL_TEST_MARKER_DIR");
  if (dir == nullptr) return;
  std::ofstream(std::string(dir) + "/rank" + std::to_string(ctx.rank) + ".looping") << "looping\n";
}

}  // namespace

int runKilledPeer(Context &ctx) {
  const int dead = ctx.options.dead_rank;
  // One checked operation first: the loop below measures failure, so it
  // must start from a communicator known to work.
  if (!checkedAllReduce(ctx, ctx.comm, ctx.stream, xcclFloat32, xcclSum, 4096, 9,
                        "killed-peer warm-up")) {
    return kExitCheckFailed;
  }
  void *send = nullptr, *recv = nullptr;
  if (!xpOk(ctx, xpMalloc(ctx.device, kCount * 4, &send), "xpMalloc") ||
      !xpOk(ctx, xpMalloc(ctx.device, kCount * 4, &recv), "xpMalloc") ||
      !xpOk(ctx, xpMemset(send, 0, kCount * 4), "xpMemset")) {
    return kExitSetupFailed;
  }
  const auto start = Clock::now();
  xcclResult_t seen = xcclSuccess;
  std::string message;
  long iterations = 0;
  while (secondsSince(start) < kLoopSeconds) {
    const xcclResult_t called =
        xcclAllReduce(send, recv, kCount, xcclFloat32, xcclSum, ctx.comm, ctx.stream);
    if (called != xcclSuccess) {
      seen = called;
      message = "the call returned " + resultName(called) + ": " + xcclGetLastError(ctx.comm);
      break;
    }
    const xpStatus synced = xpStreamSynchronizeTimeout(ctx.stream, kSyncTimeoutMs);
    xcclResult_t async_error = xcclSuccess;
    const xcclResult_t queried = xcclCommGetAsyncError(ctx.comm, &async_error);
    if (queried != xcclSuccess) {
      seen = queried;
      message = "xcclCommGetAsyncError returned " + resultName(queried) + ": " +
                xcclGetLastError(ctx.comm);
      break;
    }
    if (async_error != xcclSuccess && async_error != xcclInProgress) {
      seen = async_error;
      message = "xcclCommGetAsyncError gave " + resultName(async_error) + ": " +
                xcclGetLastError(ctx.comm);
      if (synced != XP_SUCCESS) message += std::string("; the stream: ") + xpGetLastError();
      break;
    }
    if (synced != XP_SUCCESS) {
      // The runtime failed the stream but xccl reports no error: keep the
      // runtime's message, and say so.
      seen = xcclInternalError;
      message = std::string("xpStreamSynchronize returned ") + xpStatusName(synced) + ": " +
                xpGetLastError() + ", but xcclCommGetAsyncError gave " + resultName(async_error);
      break;
    }
    if (++iterations == 1) announceLooping(ctx);
  }
  const double elapsed = secondsSince(start);
  xpFree(send);
  xpFree(recv);
  if (seen == xcclSuccess) {
    fail(ctx, "killed-peer: " + std::to_string(iterations) + " AllReduces in " +
                  std::to_string(elapsed) + " s and no error (was rank " + std::to_string(dead) +
                  " not killed?)");
    return kExitNoError;
  }
  // Whatever happens to the broken communicator afterwards, the verdict is
  // in; free it without waiting for anyone.
  const xcclResult_t aborted = xcclCommAbort(ctx.comm);
  ctx.comm = nullptr;
  if (aborted != xcclSuccess) note(ctx, "xcclCommAbort returned " + resultName(aborted));
  if (seen != xcclRemoteError && seen != xcclTimeout) {
    fail(ctx, "killed-peer: after " + std::to_string(iterations) + " AllReduces: " + message +
                  " (expected xcclRemoteError or xcclTimeout)");
    return kExitCheckFailed;
  }
  if (!namesRank(message, dead)) {
    fail(ctx, "killed-peer: the error does not name rank " + std::to_string(dead) + ": " + message);
    return kExitErrorUnnamed;
  }
  note(ctx, "killed-peer: saw the expected error after " + std::to_string(iterations) +
                " AllReduces: " + message);
  return kExitSawPeerError;
}

}  // namespace xccltest
