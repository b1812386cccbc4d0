// Events: record, query, synchronize (with and without a timeout), waits
// between two streams of one device, elapsed time.
#include <atomic>
#include <cstring>
#include <thread>

#include "conformance.h"

namespace conformance {
namespace {

class EventTest : public DeviceTest {};

void SetFlagAfter100Ms(void *user_data) {
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  static_cast<std::atomic<bool> *>(user_data)->store(true);
}

TEST_P(EventTest, NeverRecordedIsComplete) {
  for (unsigned flags : {XP_EVENT_DEFAULT, XP_EVENT_DISABLE_TIMING}) {
    Event e;
    ASSERT_XP(xpEventCreate(dev(), flags, e.out()));
    ASSERT_NE(e.get(), nullptr);
    EXPECT_EQ(xpEventQuery(e), XP_SUCCESS);
    EXPECT_XP(xpEventSynchronize(e));
    EXPECT_XP(xpEventSynchronizeTimeout(e, 0));
  }
}

TEST_P(EventTest, RecordQuerySynchronize) {
  Stream s;
  ASSERT_XP(xpStreamCreate(dev(), s.out()));
  Event e;
  ASSERT_XP(xpEventCreate(dev(), XP_EVENT_DEFAULT, e.out()));
  std::atomic<bool> done{false};
  ASSERT_XP(xpLaunchHostFunc(s, SetFlagAfter100Ms, &done));
  ASSERT_XP(xpEventRecord(e, s));
  EXPECT_EQ(xpEventQuery(e), XP_ERROR_NOT_READY);
  ASSERT_XP(xpEventSynchronize(e));
  EXPECT_TRUE(done.load()) << "xpEventSynchronize returned before the work it follows";
  EXPECT_EQ(xpEventQuery(e), XP_SUCCESS);

  // Recording again moves the event to the new point of the stream.
  ASSERT_XP(xpLaunchHostFunc(s, SleepHostFn, Ms(150)));
  ASSERT_XP(xpEventRecord(e, s));
  EXPECT_EQ(xpEventQuery(e), XP_ERROR_NOT_READY);
  ASSERT_XP(xpEventSynchronize(e));
  EXPECT_EQ(xpEventQuery(e), XP_SUCCESS);
  EXPECT_EQ(xpStreamQuery(s), XP_SUCCESS);
}

// Stream A sleeps, then writes the buffer and records an event; stream B waits
// for the event and copies the buffer out. Without the wait B would read the
// zeros the buffer held before.
TEST_P(EventTest, WaitAcrossStreamsOfOneDevice) {
  constexpr size_t n = (size_t{1} << 20) + 3;
  HostBuffer src(n), out(n);
  src.Fill(5);
  out.Set(0xcd);
  DevicePtr buf;
  ASSERT_XP(xpMalloc(dev(), n, buf.out()));
  ASSERT_XP(xpMemset(buf, 0, n));
  Stream a, b;
  ASSERT_XP(xpStreamCreate(dev(), a.out()));
  ASSERT_XP(xpStreamCreate(dev(), b.out()));
  Event written;
  ASSERT_XP(xpEventCreate(dev(), XP_EVENT_DISABLE_TIMING, written.out()));

  ASSERT_XP(xpLaunchHostFunc(a, SleepHostFn, Ms(60)));
  ASSERT_XP(xpMemcpyAsync(buf, src.data(), n, a));
  ASSERT_XP(xpEventRecord(written, a));
  ASSERT_XP(xpStreamWaitEvent(b, written));
  ASSERT_XP(xpMemcpyAsync(out.data(), buf, n, b));
  EXPECT_EQ(xpStreamQuery(b), XP_ERROR_NOT_READY) << "stream B did not wait for stream A";
  ASSERT_XP(xpStreamSynchronize(b));
  EXPECT_TRUE(BytesEqual(src.data(), out.data(), n));
  ASSERT_XP(xpStreamSynchronize(a));
}

TEST_P(EventTest, ElapsedTime) {
  Stream s;
  ASSERT_XP(xpStreamCreate(dev(), s.out()));
  Event e1, e2, e3;
  ASSERT_XP(xpEventCreate(dev(), XP_EVENT_DEFAULT, e1.out()));
  ASSERT_XP(xpEventCreate(dev(), XP_EVENT_DEFAULT, e2.out()));
  ASSERT_XP(xpEventCreate(dev(), XP_EVENT_DEFAULT, e3.out()));
  constexpr size_t n = size_t{8} << 20;
  DevicePtr d;
  ASSERT_XP(xpMalloc(dev(), n, d.out()));

  ASSERT_XP(xpEventRecord(e1, s));
  ASSERT_XP(xpLaunchHostFunc(s, SleepHostFn, Ms(20)));
  ASSERT_XP(xpMemsetAsync(d, 0x12, n, s));
  ASSERT_XP(xpEventRecord(e2, s));
  ASSERT_XP(xpLaunchHostFunc(s, SleepHostFn, Ms(20)));
  ASSERT_XP(xpMemsetAsync(d, 0x34, n, s));
  ASSERT_XP(xpEventRecord(e3, s));
  ASSERT_XP(xpEventSynchronize(e3));
  ASSERT_EQ(xpEventQuery(e1), XP_SUCCESS);
  ASSERT_EQ(xpEventQuery(e2), XP_SUCCESS);

  float t12 = -1, t13 = -1, t23 = -1;
  ASSERT_XP(xpEventElapsedTime(&t12, e1, e2));
  ASSERT_XP(xpEventElapsedTime(&t13, e1, e3));
  ASSERT_XP(xpEventElapsedTime(&t23, e2, e3));
  EXPECT_GT(t12, 0.0f);
  EXPECT_GT(t23, 0.0f);
  EXPECT_GE(t13, t12);
  EXPECT_GE(t13, t23);
  // Milliseconds: two 20 ms sleeps lie between e1 and e3.
  EXPECT_GE(t13, 30.0f) << "t(e1,e2)=" << t12 << " t(e2,e3)=" << t23;
  EXPECT_LT(t13, 10000.0f);
}

TEST_P(EventTest, ElapsedTimeOfPendingEvent) {
  Stream s;
  ASSERT_XP(xpStreamCreate(dev(), s.out()));
  Event e1, e2;
  ASSERT_XP(xpEventCreate(dev(), XP_EVENT_DEFAULT, e1.out()));
  ASSERT_XP(xpEventCreate(dev(), XP_EVENT_DEFAULT, e2.out()));
  ASSERT_XP(xpEventRecord(e1, s));
  ASSERT_XP(xpLaunchHostFunc(s, SleepHostFn, Ms(300)));
  ASSERT_XP(xpEventRecord(e2, s));
  float ms = 0;
  const xpStatus status = xpEventElapsedTime(&ms, e1, e2);
  const std::string message = xpGetLastError();
  EXPECT_TRUE(status == XP_ERROR_NOT_READY || status == XP_ERROR_INVALID_VALUE)
      << "elapsed time of an event that has not completed: " << xpStatusName(status) << " "
      << message;
  ASSERT_XP(xpStreamSynchronize(s));
  EXPECT_XP(xpEventElapsedTime(&ms, e1, e2));
}

TEST_P(EventTest, ElapsedTimeNeedsTiming) {
  Stream s;
  ASSERT_XP(xpStreamCreate(dev(), s.out()));
  Event untimed1, untimed2, timed;
  ASSERT_XP(xpEventCreate(dev(), XP_EVENT_DISABLE_TIMING, untimed1.out()));
  ASSERT_XP(xpEventCreate(dev(), XP_EVENT_DISABLE_TIMING, untimed2.out()));
  ASSERT_XP(xpEventCreate(dev(), XP_EVENT_DEFAULT, timed.out()));
  ASSERT_XP(xpEventRecord(untimed1, s));
  ASSERT_XP(xpEventRecord(timed, s));
  ASSERT_XP(xpEventRecord(untimed2, s));
  ASSERT_XP(xpStreamSynchronize(s));
  float ms = 0;
  const Expected kNoTiming{
      {XP_ERROR_INVALID_VALUE, XP_ERROR_INVALID_HANDLE, XP_ERROR_NOT_SUPPORTED},
      {{"xpEventElapsedTime"}, {"timing"}}};
  EXPECT_TRUE(FailedAs("untimed, untimed", xpEventElapsedTime(&ms, untimed1, untimed2), kNoTiming));
  EXPECT_TRUE(FailedAs("timed, untimed", xpEventElapsedTime(&ms, timed, untimed2), kNoTiming));
  EXPECT_TRUE(FailedAs("untimed, timed", xpEventElapsedTime(&ms, untimed1, timed), kNoTiming));
  ExpectStillWorks(dev());
}

TEST_P(EventTest, SynchronizeTimeout) {
  Stream s;
  ASSERT_XP(xpStreamCreate(dev(), s.out()));
  Event e;
  ASSERT_XP(xpEventCreate(dev(), XP_EVENT_DEFAULT, e.out()));
  ASSERT_XP(xpLaunchHostFunc(s, SleepHostFn, Ms(300)));
  ASSERT_XP(xpEventRecord(e, s));
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(xpEventSynchronizeTimeout(e, 20), XP_ERROR_TIMEOUT);
  const double waited = MsSince(start);
  EXPECT_GE(waited, 15.0);
  EXPECT_LT(waited, 250.0) << "the timeout was not honoured";
  EXPECT_EQ(xpEventQuery(e), XP_ERROR_NOT_READY);
  EXPECT_XP(xpEventSynchronizeTimeout(e, 10000));
  EXPECT_EQ(xpEventQuery(e), XP_SUCCESS);
  EXPECT_XP(xpStreamSynchronize(s)) << "the timeout must not leave an error on the stream";
}

CONFORMANCE_INSTANTIATE_DEVICES(EventTest);

}  // namespace
}  // namespace conformance
