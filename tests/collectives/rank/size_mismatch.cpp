// The size-mismatch scenario (2 ranks, every message single-copy: the
// launcher sets XCCL_SHM_SINGLE_COPY_MIN_BYTES=1): rank 0 sends 1000 int32
// to rank 1, which posts a receive of 900. The single-copy descriptor
// carries the sender's size, so rank 1 must fail with xcclInvalidUsage
// naming both sizes (4000 and 3600 bytes) rather than truncate; rank 0,
// whose send completes only when rank 1 has read it, must fail too, with
// an error naming rank 1, instead of waiting for its deadline.
#include <chrono>
#include <thread>

#include "common/types.h"
#include "rank/scenario.h"

namespace xccltest {

int runSizeMismatch(Context &ctx) {
  if (ctx.nranks != 2) {
    fail(ctx, "size-mismatch needs exactly 2 ranks");
    return kExitSetupFailed;
  }
  constexpr size_t kSent = 1000, kPosted = 900;
  void *buffer = nullptr;
  if (!xpOk(ctx, xpMalloc(ctx.device, kSent * 4, &buffer), "xpMalloc") ||
      !xpOk(ctx, xpMemset(buffer, 0, kSent * 4), "xpMemset")) {
    return kExitSetupFailed;
  }
  const xcclResult_t called = ctx.rank == 0
                                  ? xcclSend(buffer, kSent, xcclInt32, 1, ctx.comm, ctx.stream)
                                  : xcclRecv(buffer, kPosted, xcclInt32, 0, ctx.comm, ctx.stream);
  std::string message;
  const xcclResult_t result = awaitOutcome(ctx, called, &message);
  bool ok = true;
  if (ctx.rank == 1) {
    if (result != xcclInvalidUsage || message.find("4000") == std::string::npos ||
        message.find("3600") == std::string::npos) {
      fail(ctx,
           "a receive of 3600 bytes for a send of 4000: expected xcclInvalidUsage naming "
           "both sizes, got " +
               resultName(result) + ": " + message);
      ok = false;
    } else {
      note(ctx, "receiver: " + message);
    }
  } else if (result == xcclSuccess || !namesRank(message, 1)) {
    fail(ctx, "a send of 4000 bytes to a receive of 3600: expected an error naming rank 1, got " +
                  resultName(result) + ": " + message);
    ok = false;
  } else {
    note(ctx, "sender: " + resultName(result) + ": " + message);
  }
  xpStreamSynchronizeTimeout(ctx.stream, kSyncTimeoutMs);
  // Let the peer read this rank's reason before the abort closes it all.
  std::this_thread::sleep_for(std::chrono::seconds(1));
  ok &= xcclOk(ctx, xcclCommAbort(ctx.comm), "xcclCommAbort after the mismatch");
  ctx.comm = nullptr;
  xpFree(buffer);
  return ok ? kExitOk : kExitCheckFailed;
}

}  // namespace xccltest
