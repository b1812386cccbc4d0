// The abort scenario (2 ranks; the launcher sets XCCL_TIMEOUT_MS=60000 so a
// deadline cannot pass for a prompt return):
// - rank 0: one thread calls an AllReduce that rank 1 never joins and waits
//   for it; the main thread calls xcclCommAbort after 200 ms. The blocked
//   thread must come back within 3 s of the abort, with xcclRemoteError when
//   the call itself was the one blocking.
// - rank 1: never joins; after 1.5 s (rank 0 has aborted by then) it calls
//   AllReduces, which must fail with xcclRemoteError naming rank 0 within
//   3 s, because peers see an aborted rank disconnect.
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "common/types.h"
#include "rank/scenario.h"

namespace xccltest {
namespace {

constexpr size_t kCount = 1024;
constexpr double kPromptSeconds = 3;

struct Blocked {
  std::mutex mutex;
  std::condition_variable done_cv;
  bool done = false;
  xcclResult_t called = xcclSuccess;
  std::string message;
  xpStatus synced = XP_SUCCESS;
  Clock::time_point finished;
};

int abortingRank(Context &ctx, void *send, void *recv) {
  Blocked blocked;
  // The thread's own copy: the main thread clears ctx.comm when it aborts.
  xcclComm_t comm = ctx.comm;
  std::thread waiter([&blocked, comm, send, recv, stream = ctx.stream] {
    const xcclResult_t called =
        xcclAllReduce(send, recv, kCount, xcclFloat32, xcclSum, comm, stream);
    // NULL: the message is per thread, and comm may be freed by now.
    const std::string message = xcclGetLastError(nullptr);
    // The call may have only enqueued the work: then the stream is what
    // blocks, and it must drain once the communicator is aborted.
    const xpStatus synced =
        called == xcclSuccess ? xpStreamSynchronizeTimeout(stream, 30000) : XP_SUCCESS;
    std::lock_guard<std::mutex> lock(blocked.mutex);
    blocked.called = called;
    blocked.message = message;
    blocked.synced = synced;
    blocked.finished = Clock::now();
    blocked.done = true;
    blocked.done_cv.notify_all();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const auto abort_start = Clock::now();
  const xcclResult_t aborted = xcclCommAbort(ctx.comm);
  const double abort_call_s = secondsSince(abort_start);
  ctx.comm = nullptr;

  std::unique_lock<std::mutex> lock(blocked.mutex);
  if (!blocked.done_cv.wait_for(lock, std::chrono::seconds(20), [&] { return blocked.done; })) {
    fail(ctx,
         "abort: the thread blocked in xcclAllReduce did not return within 20 s of "
         "xcclCommAbort");
    std::fflush(stderr);
    std::_Exit(kExitCheckFailed);  // the thread is stuck: joining would hang
  }
  lock.unlock();
  waiter.join();
  bool ok = xcclOk(ctx, aborted, "xcclCommAbort");
  const double after_abort = std::chrono::duration<double>(blocked.finished - abort_start).count();
  note(ctx, "abort: xcclCommAbort took " + std::to_string(abort_call_s) +
                " s; the blocked thread returned " + std::to_string(after_abort) +
                " s after the abort began; the call gave " + resultName(blocked.called) + " (" +
                blocked.message + "), the stream " + xpStatusName(blocked.synced));
  if (after_abort > kPromptSeconds) {
    fail(ctx, "abort: the blocked AllReduce returned " + std::to_string(after_abort) +
                  " s after xcclCommAbort (expected within " + std::to_string(kPromptSeconds) +
                  " s)");
    ok = false;
  }
  if (blocked.called != xcclSuccess && blocked.called != xcclRemoteError) {
    fail(ctx, "abort: the blocked AllReduce returned " + resultName(blocked.called) +
                  " (expected xcclRemoteError): " + blocked.message);
    ok = false;
  }
  if (blocked.called == xcclSuccess && blocked.synced == XP_ERROR_TIMEOUT) {
    fail(ctx, "abort: the stream of the aborted AllReduce never drained");
    ok = false;
  }
  return ok ? kExitOk : kExitCheckFailed;
}

int peerRank(Context &ctx, void *send, void *recv) {
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  const auto start = Clock::now();
  // Up to two AllReduces: the first could still complete if it matched the
  // one rank 0 began before its abort (whose data may already sit in a
  // FIFO); the second cannot, rank 0 is gone.
  xcclResult_t result = xcclSuccess;
  std::string message;
  for (int attempt = 0; attempt < 2 && result == xcclSuccess; ++attempt) {
    result = xcclAllReduce(send, recv, kCount, xcclFloat32, xcclSum, ctx.comm, ctx.stream);
    message = xcclGetLastError(ctx.comm);
    if (result == xcclSuccess) {
      xpStreamSynchronizeTimeout(ctx.stream, 30000);
      xcclResult_t async_error = xcclSuccess;
      result = xcclCommGetAsyncError(ctx.comm, &async_error);
      if (result == xcclSuccess) result = async_error;
      message = xcclGetLastError(ctx.comm);
    }
  }
  const double waited = secondsSince(start);
  bool ok = true;
  if (result != xcclRemoteError) {
    fail(ctx, "abort: an AllReduce with a peer that aborted gave " + resultName(result) +
                  " after " + std::to_string(waited) + " s (expected xcclRemoteError): " + message);
    ok = false;
  } else if (waited > kPromptSeconds) {
    fail(ctx, "abort: the AllReduce with an aborted peer failed only after " +
                  std::to_string(waited) + " s: " + message);
    ok = false;
  } else if (!namesRank(message, 0)) {
    fail(ctx, "abort: the error does not name rank 0 (the one that aborted): " + message);
    ok = false;
  } else {
    note(ctx, "abort: the peer saw " + resultName(result) + " after " + std::to_string(waited) +
                  " s: " + message);
  }
  ok &= xcclOk(ctx, xcclCommAbort(ctx.comm), "xcclCommAbort of the broken communicator");
  ctx.comm = nullptr;
  return ok ? kExitOk : kExitCheckFailed;
}

}  // namespace

int runAbort(Context &ctx) {
  if (ctx.nranks != 2) {
    fail(ctx, "abort needs exactly 2 ranks");
    return kExitSetupFailed;
  }
  void *send = nullptr, *recv = nullptr;
  if (!xpOk(ctx, xpMalloc(ctx.device, kCount * 4, &send), "xpMalloc") ||
      !xpOk(ctx, xpMalloc(ctx.device, kCount * 4, &recv), "xpMalloc") ||
      !xpOk(ctx, xpMemset(send, 0, kCount * 4), "xpMemset")) {
    return kExitSetupFailed;
  }
  const int code = ctx.rank == 0 ? abortingRank(ctx, send, recv) : peerRank(ctx, send, recv);
  xpFree(send);
  xpFree(recv);
  return code;
}

}  // namespace xccltest
