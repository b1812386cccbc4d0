// The async-error scenario (2 ranks): xcclCommGetAsyncError reports
// xcclInProgress while an operation is queued or running, xcclSuccess once it
// completed, and the peer's failure once it happened in asynchronous work.
//
// Phase 1: rank 0 enqueues an AllReduce behind a held stream while rank 1
// joins 500 ms late: rank 0 must see xcclInProgress, then xcclSuccess after
// synchronizing. Phase 2: rank 1 aborts its communicator; rank 0's next
// AllReduce (queued behind a held stream, so it fails asynchronously) must
// be reported by xcclCommGetAsyncError as xcclRemoteError naming rank 1,
// long before XCCL_TIMEOUT_MS (the launcher sets 60 s).
#include <chrono>
#include <thread>

#include "common/types.h"
#include "rank/allreduce_check.h"
#include "rank/scenario.h"

namespace xccltest {
namespace {

void holdStream(void *) {
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
}

constexpr size_t kCount = 4096;

// Polls xcclCommGetAsyncError until it is no longer xcclInProgress or 10 s
// passed; returns the last answer.
xcclResult_t settle(const Context &ctx, std::string *message) {
  const auto start = Clock::now();
  xcclResult_t async_error = xcclInProgress;
  while (secondsSince(start) < 10) {
    const xcclResult_t result = xcclCommGetAsyncError(ctx.comm, &async_error);
    if (result != xcclSuccess) {
      *message = "xcclCommGetAsyncError itself returned " + resultName(result) + ": " +
                 xcclGetLastError(ctx.comm);
      return result;
    }
    if (async_error != xcclInProgress) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  *message = xcclGetLastError(ctx.comm);
  return async_error;
}

}  // namespace

int runAsyncError(Context &ctx) {
  if (ctx.nranks != 2) {
    fail(ctx, "async-error needs exactly 2 ranks");
    return kExitSetupFailed;
  }
  void *send = nullptr, *recv = nullptr;
  if (!xpOk(ctx, xpMalloc(ctx.device, kCount * 4, &send), "xpMalloc") ||
      !xpOk(ctx, xpMalloc(ctx.device, kCount * 4, &recv), "xpMalloc") ||
      !xpOk(ctx, xpMemset(send, 1, kCount * 4), "xpMemset")) {
    return kExitSetupFailed;
  }
  bool ok = true;

  // Phase 1.
  if (ctx.rank == 1) std::this_thread::sleep_for(std::chrono::milliseconds(500));
  if (ctx.rank == 0 &&
      !xpOk(ctx, xpLaunchHostFunc(ctx.stream, holdStream, nullptr), "xpLaunchHostFunc")) {
    return kExitCheckFailed;
  }
  if (!xcclOk(ctx, xcclAllReduce(send, recv, kCount, xcclInt32, xcclSum, ctx.comm, ctx.stream),
              "phase 1 xcclAllReduce")) {
    return kExitCheckFailed;
  }
  xcclResult_t async_error = xcclInternalError;
  if (ctx.rank == 0) {
    if (!xcclOk(ctx, xcclCommGetAsyncError(ctx.comm, &async_error), "xcclCommGetAsyncError")) {
      return kExitCheckFailed;
    }
    if (async_error != xcclInProgress) {
      fail(ctx, "xcclCommGetAsyncError gave " + resultName(async_error) +
                    " while an AllReduce was queued behind a 100 ms host function and its peer "
                    "joins 500 ms late; expected xcclInProgress");
      ok = false;
    }
  }
  if (!xpOk(ctx, xpStreamSynchronizeTimeout(ctx.stream, kSyncTimeoutMs), "phase 1 synchronize") ||
      !xcclOk(ctx, xcclCommGetAsyncError(ctx.comm, &async_error), "xcclCommGetAsyncError")) {
    return kExitCheckFailed;
  }
  if (async_error != xcclSuccess) {
    fail(ctx, "after the phase 1 AllReduce completed, xcclCommGetAsyncError gave " +
                  resultName(async_error) + ": " + xcclGetLastError(ctx.comm));
    ok = false;
  }
  ok &= checkedAllReduce(ctx, ctx.comm, ctx.stream, xcclInt32, xcclSum, 100, 5, "phase 1 check");

  // Phase 2. Rank 1 waits a moment so that rank 0 surely finished phase 1
  // (the last bytes of an AllReduce may still be in flight to it).
  if (ctx.rank == 1) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    ok &= xcclOk(ctx, xcclCommAbort(ctx.comm), "xcclCommAbort");
    ctx.comm = nullptr;
  } else {
    const auto start = Clock::now();
    ok &= xpOk(ctx, xpLaunchHostFunc(ctx.stream, holdStream, nullptr), "xpLaunchHostFunc");
    const xcclResult_t called =
        xcclAllReduce(send, recv, kCount, xcclInt32, xcclSum, ctx.comm, ctx.stream);
    std::string message = xcclGetLastError(ctx.comm);
    if (called == xcclSuccess) {
      async_error = settle(ctx, &message);
    } else {
      // Already known broken at the call: acceptable, it is the same error.
      async_error = called;
      note(ctx, "phase 2: the call itself returned " + resultName(called));
    }
    const double waited = secondsSince(start);
    if (async_error != xcclRemoteError) {
      fail(ctx, "phase 2: after rank 1 aborted, the AllReduce's error was " +
                    resultName(async_error) + " (expected xcclRemoteError) after " +
                    std::to_string(waited) + " s: " + message);
      ok = false;
    } else if (!namesRank(message, 1)) {
      fail(ctx, "phase 2: the error does not name rank 1: " + message);
      ok = false;
    } else {
      note(ctx, "phase 2: saw " + resultName(async_error) + " after " + std::to_string(waited) +
                    " s: " + message);
    }
    // The stream must drain (the failed work must not hold it), and the
    // broken communicator must still be freed without waiting for rank 1.
    const xpStatus synced = xpStreamSynchronizeTimeout(ctx.stream, 10000);
    if (synced == XP_ERROR_TIMEOUT) {
      fail(ctx, "phase 2: the stream did not drain within 10 s after the failure");
      ok = false;
    }
    const auto destroy_start = Clock::now();
    const xcclResult_t destroyed = xcclCommDestroy(ctx.comm);
    ctx.comm = nullptr;
    note(ctx, "phase 2: xcclCommDestroy of the broken communicator returned " +
                  resultName(destroyed) + " after " + std::to_string(secondsSince(destroy_start)) +
                  " s");
    if (secondsSince(destroy_start) > 5) {
      fail(ctx, "xcclCommDestroy of a broken communicator took more than 5 s");
      ok = false;
    }
  }
  xpFree(send);
  xpFree(recv);
  return ok ? kExitOk : kExitCheckFailed;
}

}  // namespace xccltest
