// Deadlines that the runtime enforces on work it runs itself: a stream that
// waits for another backend's event longer than XPOOL_TIMEOUT_MS fails with
// a message naming what it waited for, instead of hanging, and keeps working.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "xpool/runtime.h"

namespace {

void sleepOneSecond(void *) {
  std::this_thread::sleep_for(std::chrono::seconds(1));
}

class Deadlines : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(xpInit(), XP_SUCCESS) << xpGetLastError();
    int count = 0;
    ASSERT_EQ(xpDeviceCount(&count), XP_SUCCESS);
    for (int d = 0; d < count; ++d) {
      xpDeviceProps props{};
      props.struct_size = sizeof props;
      ASSERT_EQ(xpDeviceGetProperties(d, &props), XP_SUCCESS);
      if (std::string(props.backend) == "cpu" && cpu_ < 0) cpu_ = d;
      if (std::string(props.backend) == "opencl" && opencl_ < 0) opencl_ = d;
    }
  }
  void TearDown() override { EXPECT_EQ(xpShutdown(), XP_SUCCESS); }
  int cpu_ = -1;
  int opencl_ = -1;
};

TEST_F(Deadlines, CrossBackendWaitFailsAfterTheTimeoutAndNamesTheEvent) {
  if (cpu_ < 0 || opencl_ < 0) GTEST_SKIP() << "needs a cpu and an opencl device";
  xpStream producer = nullptr, consumer = nullptr;
  xpEvent done = nullptr;
  ASSERT_EQ(xpStreamCreate(cpu_, &producer), XP_SUCCESS);
  ASSERT_EQ(xpStreamCreate(opencl_, &consumer), XP_SUCCESS);
  ASSERT_EQ(xpEventCreate(cpu_, XP_EVENT_DEFAULT, &done), XP_SUCCESS);
  ASSERT_EQ(xpLaunchHostFunc(producer, sleepOneSecond, nullptr), XP_SUCCESS);
  ASSERT_EQ(xpEventRecord(done, producer), XP_SUCCESS);
  ASSERT_EQ(xpStreamWaitEvent(consumer, done), XP_SUCCESS);

  // XPOOL_TIMEOUT_MS is 200 for this test: the wait gives up long before the
  // producer's second is over. Whether the synchronize's own deadline or the
  // wait's comes first, the message says what the consumer waited for.
  const auto start = std::chrono::steady_clock::now();
  const xpStatus status = xpStreamSynchronize(consumer);
  const double waited_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(status, XP_ERROR_TIMEOUT) << xpGetLastError();
  const std::string message = xpGetLastError();
  EXPECT_NE(message.find("wait for event"), std::string::npos) << message;
  EXPECT_NE(message.find("(cpu)"), std::string::npos) << message;
  EXPECT_LT(waited_s, 0.9) << "the consumer waited for the producer instead of its deadline";

  // Each failure is reported once (the wait's own may follow the
  // synchronize's); then the stream works again.
  xpStatus again = xpStreamSynchronize(consumer);
  if (again != XP_SUCCESS) {
    EXPECT_EQ(again, XP_ERROR_TIMEOUT) << xpGetLastError();
    again = xpStreamSynchronize(consumer);
  }
  EXPECT_EQ(again, XP_SUCCESS) << xpGetLastError();
  void *memory = nullptr;
  ASSERT_EQ(xpMalloc(opencl_, 4096, &memory), XP_SUCCESS);
  EXPECT_EQ(xpMemsetAsync(memory, 7, 4096, consumer), XP_SUCCESS);
  EXPECT_EQ(xpStreamSynchronize(consumer), XP_SUCCESS) << xpGetLastError();
  EXPECT_EQ(xpFree(memory), XP_SUCCESS);

  // The producer itself finishes normally, and a synchronize with an explicit
  // longer deadline waits for it.
  EXPECT_EQ(xpStreamSynchronizeTimeout(producer, 5000), XP_SUCCESS) << xpGetLastError();
  EXPECT_EQ(xpEventDestroy(done), XP_SUCCESS);
  EXPECT_EQ(xpStreamDestroy(consumer), XP_SUCCESS);
  EXPECT_EQ(xpStreamDestroy(producer), XP_SUCCESS);
}

TEST_F(Deadlines, SynchronousCopyBehindABlockedStreamTimesOut) {
  if (cpu_ < 0) GTEST_SKIP() << "needs a cpu device";
  // The default stream of the cpu device is held by a host function longer
  // than the deadline: a synchronous copy through it must give up.
  xpStream blocker = nullptr;
  ASSERT_EQ(xpStreamCreate(cpu_, &blocker), XP_SUCCESS);
  void *memory = nullptr;
  ASSERT_EQ(xpMalloc(cpu_, 1 << 20, &memory), XP_SUCCESS);
  ASSERT_EQ(xpLaunchHostFunc(blocker, sleepOneSecond, nullptr), XP_SUCCESS);
  const xpStatus status = xpStreamSynchronize(blocker);
  EXPECT_EQ(status, XP_ERROR_TIMEOUT);
  const std::string message = xpGetLastError();
  EXPECT_NE(message.find("xpStreamSynchronize"), std::string::npos) << message;
  EXPECT_NE(message.find("pending"), std::string::npos) << message;
  EXPECT_EQ(xpStreamSynchronizeTimeout(blocker, 5000), XP_SUCCESS) << xpGetLastError();
  EXPECT_EQ(xpFree(memory), XP_SUCCESS);
  EXPECT_EQ(xpStreamDestroy(blocker), XP_SUCCESS);
}

}  // namespace
