// Streams: in-order execution, query, synchronize with timeout, host
// functions (order, and their place between copies), destroy and device
// synchronize waiting for work.
#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "conformance.h"

namespace conformance {
namespace {

class StreamTest : public DeviceTest {};

TEST_P(StreamTest, CreateQueryDestroy) {
  std::vector<Stream> streams(8);
  for (auto &s : streams) {
    ASSERT_XP(xpStreamCreate(dev(), s.out()));
    ASSERT_NE(s.get(), nullptr);
    int owner = -1;
    ASSERT_XP(xpStreamGetDevice(s, &owner));
    EXPECT_EQ(owner, dev());
    EXPECT_EQ(xpStreamQuery(s), XP_SUCCESS) << "a new stream is idle";
    EXPECT_XP(xpStreamSynchronize(s));
  }
  for (auto &s : streams) EXPECT_XP(xpStreamDestroy(s.release()));
}

// memset, H2D, memset of a patch, D2D, overwrite of the source, D2H: only the
// issue order gives the expected bytes.
TEST_P(StreamTest, OrderedChain) {
  constexpr size_t n = (size_t{1} << 20) + 7;
  HostBuffer src(n), out(n), expected(n);
  src.Fill(1);
  out.Set(0);
  std::memcpy(expected.data(), src.data(), n);
  std::memset(expected.data() + 5, 0xee, 1000);
  DevicePtr a, b;
  ASSERT_XP(xpMalloc(dev(), n, a.out()));
  ASSERT_XP(xpMalloc(dev(), n, b.out()));
  Stream s;
  ASSERT_XP(xpStreamCreate(dev(), s.out()));
  ASSERT_XP(xpMemsetAsync(a, 0x00, n, s));
  ASSERT_XP(xpMemcpyAsync(a, src.data(), n, s));
  ASSERT_XP(xpMemsetAsync(U8(a) + 5, 0xee, 1000, s));
  ASSERT_XP(xpMemcpyAsync(b, a, n, s));
  ASSERT_XP(xpMemsetAsync(a, 0x11, n, s));  // must not reach b
  ASSERT_XP(xpMemcpyAsync(out.data(), b, n, s));
  ASSERT_XP(xpStreamSynchronize(s));
  EXPECT_TRUE(BytesEqual(expected.data(), out.data(), n));
  ASSERT_XP(xpMemcpy(out.data(), a, n));
  EXPECT_TRUE(BytesAre(out.data(), n, 0x11));
}

// One staging buffer reused 32 times: chunk k of the result holds k only if
// every fill ran after the previous copy out of the buffer and before the next.
TEST_P(StreamTest, ReusedBufferManyOps) {
  constexpr size_t chunk = 65536 + 3;
  constexpr int rounds = 32;
  DevicePtr stage, result;
  ASSERT_XP(xpMalloc(dev(), chunk, stage.out()));
  ASSERT_XP(xpMalloc(dev(), chunk * rounds, result.out()));
  Stream s;
  ASSERT_XP(xpStreamCreate(dev(), s.out()));
  for (int k = 0; k < rounds; ++k) {
    ASSERT_XP(xpMemsetAsync(stage, k + 1, chunk, s));
    ASSERT_XP(xpMemcpyAsync(U8(result) + k * chunk, stage, chunk, s));
  }
  HostBuffer out(chunk * rounds);
  ASSERT_XP(xpMemcpyAsync(out.data(), result, chunk * rounds, s));
  ASSERT_XP(xpStreamSynchronize(s));
  for (int k = 0; k < rounds; ++k)
    EXPECT_TRUE(BytesAre(out.data() + k * chunk, chunk, static_cast<uint8_t>(k + 1)))
        << "chunk " << k;
}

TEST_P(StreamTest, Query) {
  Stream s;
  ASSERT_XP(xpStreamCreate(dev(), s.out()));
  ASSERT_XP(xpLaunchHostFunc(s, SleepHostFn, Ms(150)));
  EXPECT_EQ(xpStreamQuery(s), XP_ERROR_NOT_READY);
  ASSERT_XP(xpStreamSynchronize(s));
  EXPECT_EQ(xpStreamQuery(s), XP_SUCCESS);
}

TEST_P(StreamTest, SynchronizeTimeout) {
  Stream s;
  ASSERT_XP(xpStreamCreate(dev(), s.out()));
  ASSERT_XP(xpLaunchHostFunc(s, SleepHostFn, Ms(300)));
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(xpStreamSynchronizeTimeout(s, 20), XP_ERROR_TIMEOUT);
  const double waited = MsSince(start);
  EXPECT_GE(waited, 15.0);
  EXPECT_LT(waited, 250.0) << "the timeout was not honoured";
  EXPECT_XP(xpStreamSynchronizeTimeout(s, 10000));
  EXPECT_EQ(xpStreamQuery(s), XP_SUCCESS);
}

struct Recorder {
  std::mutex mutex;
  std::vector<int> order;
};
struct Call {
  Recorder *recorder;
  int index;
};
void RecordCall(void *user_data) {
  auto *call = static_cast<Call *>(user_data);
  std::lock_guard<std::mutex> lock(call->recorder->mutex);
  call->recorder->order.push_back(call->index);
}

TEST_P(StreamTest, HostFunctionsRunInOrder) {
  constexpr int kCalls = 32;
  Recorder recorder;
  std::vector<Call> calls;
  for (int i = 0; i < kCalls; ++i) calls.push_back({&recorder, i});
  DevicePtr d;
  ASSERT_XP(xpMalloc(dev(), 4096, d.out()));
  Stream s;
  ASSERT_XP(xpStreamCreate(dev(), s.out()));
  for (int i = 0; i < kCalls; ++i) {
    if (i % 4 == 1) {
      ASSERT_XP(xpLaunchHostFunc(s, SleepHostFn, Ms(2)));
    }
    if (i % 4 == 2) {
      ASSERT_XP(xpMemsetAsync(d, i, 4096, s));
    }
    ASSERT_XP(xpLaunchHostFunc(s, RecordCall, &calls[i]));
  }
  ASSERT_XP(xpStreamSynchronize(s));
  std::vector<int> expected(kCalls);
  for (int i = 0; i < kCalls; ++i) expected[i] = i;
  EXPECT_EQ(recorder.order, expected);
}

struct CopyCheck {
  const uint8_t *expected;
  const uint8_t *actual;
  size_t bytes;
  std::atomic<int> result{-1};  // 1: equal when the host function ran
};
void CompareHostFn(void *user_data) {
  auto *check = static_cast<CopyCheck *>(user_data);
  check->result = std::memcmp(check->expected, check->actual, check->bytes) == 0 ? 1 : 0;
}

// A host function sees the result of the copies enqueued before it.
TEST_P(StreamTest, HostFunctionRunsAfterPrecedingCopies) {
  constexpr size_t n = (size_t{8} << 20) + 1;
  HostBuffer src(n), dst(n);
  src.Fill(8);
  dst.Set(0);
  DevicePtr d;
  ASSERT_XP(xpMalloc(dev(), n, d.out()));
  Stream s;
  ASSERT_XP(xpStreamCreate(dev(), s.out()));
  CopyCheck check{src.data(), dst.data(), n};
  ASSERT_XP(xpMemcpyAsync(d, src.data(), n, s));
  ASSERT_XP(xpMemcpyAsync(dst.data(), d, n, s));
  ASSERT_XP(xpLaunchHostFunc(s, CompareHostFn, &check));
  ASSERT_XP(xpStreamSynchronize(s));
  EXPECT_EQ(check.result.load(), 1) << "the host function ran before the copies had finished";
}

struct Rewrite {
  uint8_t *host;
  size_t bytes;
};
void RewriteHostFn(void *user_data) {
  auto *r = static_cast<Rewrite *>(user_data);
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  FillPattern(r->host, r->bytes, 777);
}

// Work after a host function waits for it: a pinned buffer the function
// rewrites is copied to the device only afterwards.
TEST_P(StreamTest, LaterWorkWaitsForHostFunction) {
  constexpr size_t n = (size_t{1} << 20) + 5;
  void *in_raw = nullptr, *out_raw = nullptr;
  ASSERT_XP(xpMallocHost(n, &in_raw));
  PinnedPtr in(in_raw);
  ASSERT_XP(xpMallocHost(n, &out_raw));
  PinnedPtr out(out_raw);
  std::memset(in, 0x01, n);
  std::memset(out, 0x00, n);
  DevicePtr d;
  ASSERT_XP(xpMalloc(dev(), n, d.out()));
  Stream s;
  ASSERT_XP(xpStreamCreate(dev(), s.out()));
  Rewrite rewrite{U8(in), n};
  ASSERT_XP(xpLaunchHostFunc(s, RewriteHostFn, &rewrite));
  ASSERT_XP(xpMemcpyAsync(d, in, n, s));
  ASSERT_XP(xpMemcpyAsync(out, d, n, s));
  ASSERT_XP(xpStreamSynchronize(s));
  HostBuffer expected(n);
  expected.Fill(777);
  EXPECT_TRUE(BytesEqual(expected.data(), U8(out), n));
}

void SetFlagAfterSleep(void *user_data) {
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  static_cast<std::atomic<bool> *>(user_data)->store(true);
}

TEST_P(StreamTest, DestroyWaitsForWork) {
  std::atomic<bool> done{false};
  xpStream s = nullptr;
  ASSERT_XP(xpStreamCreate(dev(), &s));
  ASSERT_XP(xpLaunchHostFunc(s, SetFlagAfterSleep, &done));
  ASSERT_XP(xpStreamDestroy(s));
  EXPECT_TRUE(done.load()) << "xpStreamDestroy returned before the stream's work ran";
}

TEST_P(StreamTest, DeviceSynchronizeWaitsForEveryStream) {
  std::atomic<bool> first{false}, second{false};
  Stream a, b;
  ASSERT_XP(xpStreamCreate(dev(), a.out()));
  ASSERT_XP(xpStreamCreate(dev(), b.out()));
  ASSERT_XP(xpLaunchHostFunc(a, SetFlagAfterSleep, &first));
  ASSERT_XP(xpLaunchHostFunc(b, SetFlagAfterSleep, &second));
  ASSERT_XP(xpDeviceSynchronize(dev()));
  EXPECT_TRUE(first.load());
  EXPECT_TRUE(second.load());
}

// The NULL stream of a copy is the default stream of the destination device
// (or of the source when the destination is host memory): a fill and a copy
// out of the same allocation on NULL streams are ordered.
TEST_P(StreamTest, DefaultStreamIsInOrder) {
  constexpr size_t n = 1000003;
  DevicePtr d;
  ASSERT_XP(xpMalloc(dev(), n, d.out()));
  HostBuffer out(n);
  out.Set(0);
  ASSERT_XP(xpMemsetAsync(d, 0x42, n, nullptr));
  ASSERT_XP(xpMemcpyAsync(out.data(), d, n, nullptr));
  ASSERT_XP(xpDeviceSynchronize(dev()));
  EXPECT_TRUE(BytesAre(out.data(), n, 0x42));
}

void SetFlagHostFn(void *flag) {
  static_cast<std::atomic<bool> *>(flag)->store(true);
}

// Several threads enqueue on one stream and synchronize it at once: each
// synchronize returns only after the work its thread queued before it, and
// none misses its wake-up (some work sleeps, so synchronizers also go to
// sleep rather than only spin).
TEST_P(StreamTest, SynchronizeFromManyThreads) {
  constexpr int kThreads = 4;
  constexpr int kRounds = 60;
  constexpr uint32_t kDeadlineMs = 5000;
  // Declared before the stream, whose destruction waits for its work: every
  // flag outlives the host function that sets it.
  std::vector<std::atomic<bool>> ran(kThreads * kRounds);
  Stream s;
  ASSERT_XP(xpStreamCreate(dev(), s.out()));
  std::atomic<int> failures{0};
  std::mutex first_mutex;
  std::string first;  // the first failure, with the thread's error message
  auto failed = [&](const char *what) {
    ++failures;
    std::lock_guard<std::mutex> lock(first_mutex);
    if (first.empty()) first = std::string(what) + ": " + xpGetLastError();
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < kRounds; ++round) {
        std::atomic<bool> &flag = ran[static_cast<size_t>(t * kRounds + round)];
        if ((round + t) % 10 == 0 && xpLaunchHostFunc(s, SleepHostFn, Ms(20)) != XP_SUCCESS) {
          failed("xpLaunchHostFunc (sleep)");
        }
        if (xpLaunchHostFunc(s, SetFlagHostFn, &flag) != XP_SUCCESS) {
          failed("xpLaunchHostFunc");
          continue;
        }
        const auto start = std::chrono::steady_clock::now();
        if (xpStreamSynchronizeTimeout(s, kDeadlineMs) != XP_SUCCESS) {
          failed("xpStreamSynchronizeTimeout");
        } else if (!flag.load()) {
          failed("xpStreamSynchronizeTimeout returned before the thread's host function ran");
        } else if (std::chrono::steady_clock::now() - start >=
                   std::chrono::milliseconds(kDeadlineMs)) {
          // The queued work takes at most ~100 ms: sitting out the whole
          // deadline means the wake-up was lost (the wait then sees the work
          // done and succeeds, so only the time tells).
          failed("xpStreamSynchronizeTimeout woke only at its deadline");
        }
      }
    });
  }
  for (auto &thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0) << "first: " << first;
}

CONFORMANCE_INSTANTIATE_DEVICES(StreamTest);

}  // namespace
}  // namespace conformance
