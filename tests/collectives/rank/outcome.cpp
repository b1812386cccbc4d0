#include <chrono>
#include <thread>

#include "common/types.h"
#include "rank/scenario.h"

namespace xccltest {

xcclResult_t awaitOutcome(const Context &ctx, xcclResult_t called, std::string *message) {
  *message = xcclGetLastError(ctx.comm);
  if (called != xcclSuccess) return called;
  xpStreamSynchronizeTimeout(ctx.stream, kSyncTimeoutMs);
  const auto start = Clock::now();
  xcclResult_t async_error = xcclInProgress;
  while (secondsSince(start) < 30) {
    if (xcclCommGetAsyncError(ctx.comm, &async_error) != xcclSuccess ||
        async_error != xcclInProgress) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  *message = xcclGetLastError(ctx.comm);
  note(ctx,
       "the call returned xcclSuccess; xcclCommGetAsyncError then gave " + resultName(async_error));
  return async_error;
}

}  // namespace xccltest
