// The stream-order scenario: a collective runs in its stream's order, after
// the work enqueued before it and before the work enqueued after it. A host
// function that sleeps holds the stream, so a collective that ran at once
// (inline, ignoring what is queued) would read the send buffer before the
// copy into it and fail the check. Nothing but xpStreamSynchronize waits.
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "common/types.h"
#include "common/values.h"
#include "rank/scenario.h"

namespace xccltest {
namespace {

void holdStream(void *) {
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
}

constexpr size_t kCount = size_t{1} << 18;  // 1 MiB of int32
constexpr size_t kBytes = kCount * sizeof(int32_t);

bool checkSum(const Context &ctx, const int32_t *got, uint64_t seed, const std::string &what) {
  for (size_t i = 0; i < kCount; ++i) {
    const Expected<Int32> want = reduceAt<Int32>(xcclSum, ctx.nranks, i, seed);
    if (!matches<Int32>(want, got[i])) {
      fail(ctx, what + ": first wrong index " + std::to_string(i) + ": expected " +
                    format<Int32>(want) + ", got " + format<Int32>(got[i]));
      return false;
    }
  }
  return true;
}

}  // namespace

int runStreamOrder(Context &ctx) {
  // Pinned host sources for the asynchronous copies, filled now: two
  // different inputs, so the second AllReduce's result differs from the first.
  void *source_a = nullptr, *source_b = nullptr, *result_b = nullptr;
  void *send = nullptr, *recv = nullptr, *saved_a = nullptr;
  bool ok = xpOk(ctx, xpMallocHost(kBytes, &source_a), "xpMallocHost") &&
            xpOk(ctx, xpMallocHost(kBytes, &source_b), "xpMallocHost") &&
            xpOk(ctx, xpMallocHost(kBytes, &result_b), "xpMallocHost") &&
            xpOk(ctx, xpMalloc(ctx.device, kBytes, &send), "xpMalloc") &&
            xpOk(ctx, xpMalloc(ctx.device, kBytes, &recv), "xpMalloc") &&
            xpOk(ctx, xpMalloc(ctx.device, kBytes, &saved_a), "xpMalloc");
  if (!ok) return kExitSetupFailed;
  for (size_t i = 0; i < kCount; ++i) {
    static_cast<int32_t *>(source_a)[i] = input<Int32>(ctx.rank, i, 101, xcclSum, ctx.nranks);
    static_cast<int32_t *>(source_b)[i] = input<Int32>(ctx.rank, i, 202, xcclSum, ctx.nranks);
  }
  // Stale contents that must never show in a result.
  ok = xpOk(ctx, xpMemset(send, 0x7f, kBytes), "xpMemset") &&
       xpOk(ctx, xpMemset(recv, 0x7f, kBytes), "xpMemset");

  // hold -> copy A in -> AllReduce -> save result A -> copy B in -> AllReduce
  // -> copy result B out; all on one stream, all enqueued before any waits.
  xpStream s = ctx.stream;
  const auto start = Clock::now();
  ok = ok && xpOk(ctx, xpLaunchHostFunc(s, holdStream, nullptr), "xpLaunchHostFunc") &&
       xpOk(ctx, xpMemcpyAsync(send, source_a, kBytes, s), "xpMemcpyAsync of input A") &&
       xcclOk(ctx, xcclAllReduce(send, recv, kCount, xcclInt32, xcclSum, ctx.comm, s),
              "xcclAllReduce A (behind a held stream)") &&
       xpOk(ctx, xpMemcpyAsync(saved_a, recv, kBytes, s), "xpMemcpyAsync of result A") &&
       xpOk(ctx, xpMemcpyAsync(send, source_b, kBytes, s), "xpMemcpyAsync of input B") &&
       xcclOk(ctx, xcclAllReduce(send, recv, kCount, xcclInt32, xcclSum, ctx.comm, s),
              "xcclAllReduce B") &&
       xpOk(ctx, xpMemcpyAsync(result_b, recv, kBytes, s), "xpMemcpyAsync of result B");
  const double enqueue_s = secondsSince(start);
  ok = ok && xpOk(ctx, xpStreamSynchronizeTimeout(s, kSyncTimeoutMs), "xpStreamSynchronize");
  note(ctx, "stream-order: enqueueing took " + std::to_string(enqueue_s * 1000) +
                " ms, the whole sequence " + std::to_string(secondsSince(start) * 1000) + " ms");

  if (ok) {
    std::vector<int32_t> got_a(kCount);
    ok = xpOk(ctx, xpMemcpy(got_a.data(), saved_a, kBytes), "xpMemcpy of result A");
    ok = ok && checkSum(ctx, got_a.data(), 101,
                        "AllReduce A (input copied in on the stream behind a 300 ms host "
                        "function; result copied out on the stream before AllReduce B)");
    ok = checkSum(ctx, static_cast<const int32_t *>(result_b), 202,
                  "AllReduce B (result read after xpStreamSynchronize)") &&
         ok;
  }
  xcclResult_t async_error = xcclInternalError;
  if (xcclOk(ctx, xcclCommGetAsyncError(ctx.comm, &async_error), "xcclCommGetAsyncError") &&
      async_error != xcclSuccess) {
    fail(ctx, "xcclCommGetAsyncError gave " + resultName(async_error) +
                  " after a successful synchronize");
    ok = false;
  }
  xpFreeHost(source_a);
  xpFreeHost(source_b);
  xpFreeHost(result_b);
  xpFree(send);
  xpFree(recv);
  xpFree(saved_a);
  return ok ? kExitOk : kExitCheckFailed;
}

}  // namespace xccltest
