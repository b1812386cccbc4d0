// xcclCommAbort from another thread: a thread blocked in an operation that
// its peer (another communicator of this process) never joins must come
// back promptly with an error once the communicator is aborted, long before
// XCCL_TIMEOUT_MS (20 s here).
#include <future>
#include <thread>

#include "api/api_fixture.h"

namespace xccltest {
namespace {

TEST_F(XcclApi, AbortReleasesAThreadBlockedInAnOperation) {
  initAll(2);
  void *send = deviceBuffer(0, 4096);
  void *recv = deviceBuffer(0, 4096);
  xpStream s = stream(0);
  xcclComm_t comm = comms_[0];
  struct Outcome {
    xcclResult_t called;
    std::string message;
    xpStatus synced;
  };
  // Rank 1 (comms_[1]) never calls: the AllReduce on rank 0 cannot finish.
  auto blocked = std::async(std::launch::async, [&]() -> Outcome {
    const xcclResult_t called = xcclAllReduce(send, recv, 1024, xcclFloat, xcclSum, comm, s);
    const std::string message = xcclGetLastError(nullptr);
    // If the call only enqueued, the stream is what waits; it must drain.
    const xpStatus synced =
        called == xcclSuccess ? xpStreamSynchronizeTimeout(s, 15000) : XP_SUCCESS;
    return {called, message, synced};
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const auto aborted_at = std::chrono::steady_clock::now();
  EXPECT_EQ(xcclCommAbort(comm), xcclSuccess) << xcclGetLastError(nullptr);
  comms_[0] = nullptr;

  ASSERT_EQ(blocked.wait_for(std::chrono::seconds(18)), std::future_status::ready)
      << "the blocked AllReduce did not return within 18 s of xcclCommAbort";
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - aborted_at).count();
  const Outcome outcome = blocked.get();
  EXPECT_LT(seconds, 3.0) << "the blocked AllReduce returned " << seconds << " s after the abort";
  if (outcome.called != xcclSuccess) {
    EXPECT_EQ(outcome.called, xcclRemoteError) << outcome.message;
    EXPECT_NE(outcome.message.find("abort"), std::string::npos) << outcome.message;
  } else {
    EXPECT_EQ(outcome.synced, XP_SUCCESS) << "the aborted operation's stream did not drain";
  }

  // The other rank sees its peer gone. Its first AllReduce may still
  // complete: it matches the one rank 0 started before the abort, whose data
  // may already sit in the shared-memory FIFO. One more cannot: rank 0 is gone.
  const auto start = std::chrono::steady_clock::now();
  void *send1 = deviceBuffer(1, 4096);
  void *recv1 = deviceBuffer(1, 4096);
  xcclResult_t result = xcclSuccess;
  std::string message;
  for (int attempt = 0; attempt < 2 && result == xcclSuccess; ++attempt) {
    result = xcclAllReduce(send1, recv1, 1024, xcclFloat, xcclSum, comms_[1], nullptr);
    message = xcclGetLastError(nullptr);
    if (result == xcclSuccess) {
      EXPECT_EQ(xpDeviceSynchronize(1), XP_SUCCESS) << xpGetLastError();
      xcclResult_t async_error = xcclSuccess;
      ASSERT_EQ(xcclCommGetAsyncError(comms_[1], &async_error), xcclSuccess);
      result = async_error;
      message = xcclGetLastError(nullptr);
    }
  }
  EXPECT_EQ(result, xcclRemoteError) << message;
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 3.0)
      << message;
  EXPECT_EQ(xcclCommAbort(comms_[1]), xcclSuccess) << xcclGetLastError(nullptr);
  comms_[1] = nullptr;
}

}  // namespace
}  // namespace xccltest
