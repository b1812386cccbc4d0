// xccl's NCCL path on a machine without a GPU: one rank on a device of the
// stand-in CUDA driver (tests/backends_cuda/mock_libcuda.cpp, first on
// LD_LIBRARY_PATH), with the stand-in NCCL (mock_libnccl.cpp) that logs
// every call and copies in stream order. These tests check what xccl hands
// NCCL (calls, counts, types, stream, groups), when it keeps to its own
// path, and every way setup can fail. The real NCCL runs in
// scripts/gpu-check.sh on a GPU machine.
#include <gtest/gtest.h>

#include <unistd.h>
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "common/device_select.h"
#include "xpool/runtime.h"
#include "xpool/xccl.h"

namespace {

constexpr size_t kCount = 1000;

// Per process: ctest runs several of these tests at once.
std::string logPath() {
  return std::string(::testing::TempDir()) + "xccl_nccl_mock." + std::to_string(getpid()) + ".log";
}

std::vector<std::string> logLines() {
  std::vector<std::string> lines;
  std::ifstream file(logPath());
  for (std::string line; std::getline(file, line);) lines.push_back(line);
  return lines;
}

bool logHas(const std::string &prefix) {
  for (const std::string &line : logLines()) {
    if (line.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

class NcclPath : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    setenv("XPOOL_BACKENDS", "cuda,cpu", 1);
    setenv("XPOOL_MOCK_NCCL_LOG", logPath().c_str(), 1);
    setenv("XCCL_TIMEOUT_MS", "20000", 0);
  }
  void SetUp() override {
    std::remove(logPath().c_str());
    setenv("XCCL_NCCL", "1", 1);
    setenv("XCCL_NCCL_LIBRARY", XCCL_MOCK_NCCL, 1);
    unsetenv("XPOOL_MOCK_NCCL_INIT");
    unsetenv("XPOOL_MOCK_NCCL_ASYNC");
    unsetenv("XPOOL_MOCK_NCCL_FINALIZE");
    unsetenv("XPOOL_MOCK_NCCL_VERSION");
    ASSERT_EQ(xpInit(), XP_SUCCESS) << xpGetLastError();
    cuda_ = xccltest::findDevice("cuda", 0);
    second_cuda_ = xccltest::findDevice("cuda", 1);
    cpu_ = xccltest::findDevice("cpu", 0);
    ASSERT_GE(cuda_, 0) << "no device of the stand-in CUDA driver (is it on LD_LIBRARY_PATH?)";
    ASSERT_GE(cpu_, 0);
  }
  void TearDown() override {
    // The stand-in NCCL copies on the stream's thread: let it finish before
    // the buffers go.
    if (stream_ != nullptr) {
      EXPECT_EQ(xpStreamSynchronize(stream_), XP_SUCCESS) << xpGetLastError();
    }
    if (comm_ != nullptr) {
      EXPECT_EQ(xcclCommDestroy(comm_), xcclSuccess) << xcclGetLastError(nullptr);
    }
    for (void *buffer : buffers_) xpFree(buffer);
    if (stream_ != nullptr) xpStreamDestroy(stream_);
    EXPECT_EQ(xpShutdown(), XP_SUCCESS) << xpGetLastError();
    std::remove(logPath().c_str());
  }

  xcclResult_t init(int device) {
    xcclUniqueId id;
    EXPECT_EQ(xcclGetUniqueId(&id), xcclSuccess);
    return xcclCommInitRank(&comm_, 1, id, 0, device);
  }
  void initOnCuda() {
    ASSERT_EQ(init(cuda_), xcclSuccess) << xcclGetLastError(nullptr);
    ASSERT_EQ(xpStreamCreate(cuda_, &stream_), XP_SUCCESS) << xpGetLastError();
    xpNativeStream native{};
    native.struct_size = sizeof native;
    ASSERT_EQ(xpStreamGetNative(stream_, &native), XP_SUCCESS) << xpGetLastError();
    char text[32];
    std::snprintf(text, sizeof text, "%p", native.stream);
    native_stream_ = text;
  }
  void *deviceBuffer(size_t bytes) {
    void *buffer = nullptr;
    EXPECT_EQ(xpMalloc(cuda_, bytes, &buffer), XP_SUCCESS) << xpGetLastError();
    buffers_.push_back(buffer);
    return buffer;
  }
  // Input bytes uploaded on the stream (asynchronously: the caller keeps the
  // returned vector alive until the stream has run); the output cleared.
  std::vector<unsigned char> prepare(void *send, void *recv, size_t bytes) {
    std::vector<unsigned char> input(bytes);
    for (size_t i = 0; i < bytes; ++i) input[i] = static_cast<unsigned char>(i * 7 + 3);
    EXPECT_EQ(xpMemsetAsync(recv, 0, bytes, stream_), XP_SUCCESS) << xpGetLastError();
    EXPECT_EQ(xpMemcpyAsync(send, input.data(), bytes, stream_), XP_SUCCESS) << xpGetLastError();
    return input;
  }
  std::vector<unsigned char> result(const void *recv, size_t bytes) {
    std::vector<unsigned char> output(bytes);
    EXPECT_EQ(xpMemcpyAsync(output.data(), recv, bytes, stream_), XP_SUCCESS) << xpGetLastError();
    EXPECT_EQ(xpStreamSynchronize(stream_), XP_SUCCESS) << xpGetLastError();
    return output;
  }
  std::string expectLine(const std::string &call, const std::string &arguments) {
    return call + " " + arguments + " stream=" + native_stream_;
  }

  int cuda_ = -1, second_cuda_ = -1, cpu_ = -1;
  xcclComm_t comm_ = nullptr;
  xpStream stream_ = nullptr;
  std::string native_stream_;
  std::vector<void *> buffers_;
};

TEST_F(NcclPath, SetupCreatesANonblockingCommunicatorOnTheRanksDevice) {
  initOnCuda();
  // blocking=0: xccl polls it against its deadline; context=1: the rank's
  // device was current when NCCL picked its device.
  EXPECT_TRUE(logHas("ncclGetUniqueId"));
  EXPECT_TRUE(
      logHas("ncclCommInitRankConfig nranks=1 rank=0 blocking=0 context=1 id=mock-nccl-id-"))
      << "log: " << ::testing::PrintToString(logLines());
}

TEST_F(NcclPath, EveryCollectiveOnDeviceMemoryGoesToNcclOnTheCallersStream) {
  initOnCuda();
  void *send = deviceBuffer(kCount * 8);
  void *recv = deviceBuffer(kCount * 8);
  struct Case {
    const char *call;
    std::string arguments;
    size_t bytes;
    std::function<xcclResult_t()> run;
  };
  const std::vector<Case> cases = {
      {"ncclAllReduce", "count=1000 type=7 op=0 root=-1", kCount * 4,
       [&] { return xcclAllReduce(send, recv, kCount, xcclFloat32, xcclSum, comm_, stream_); }},
      {"ncclAllReduce", "count=1000 type=9 op=4 root=-1", kCount * 2,
       [&] { return xcclAllReduce(send, recv, kCount, xcclBfloat16, xcclAvg, comm_, stream_); }},
      {"ncclBroadcast", "count=1000 type=2 op=-1 root=0", kCount * 4,
       [&] { return xcclBroadcast(send, recv, kCount, xcclInt32, 0, comm_, stream_); }},
      {"ncclReduce", "count=1000 type=8 op=2 root=0", kCount * 8,
       [&] { return xcclReduce(send, recv, kCount, xcclFloat64, xcclMax, 0, comm_, stream_); }},
      {"ncclAllGather", "count=1000 type=5 op=-1 root=-1", kCount * 8,
       [&] { return xcclAllGather(send, recv, kCount, xcclUint64, comm_, stream_); }},
      {"ncclReduceScatter", "count=1000 type=6 op=1 root=-1", kCount * 2,
       [&] {
         return xcclReduceScatter(send, recv, kCount, xcclFloat16, xcclProd, comm_, stream_);
       }},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.call + (" " + c.arguments));
    std::remove(logPath().c_str());
    const std::vector<unsigned char> input = prepare(send, recv, c.bytes);
    ASSERT_EQ(c.run(), xcclSuccess) << xcclGetLastError(comm_);
    EXPECT_EQ(result(recv, c.bytes), input) << "the copy did not run in stream order";
    EXPECT_TRUE(logHas(expectLine(c.call, c.arguments)))
        << "log: " << ::testing::PrintToString(logLines());
  }
}

TEST_F(NcclPath, AllToAllAndSendRecvBecomeGroupedSendsAndReceives) {
  initOnCuda();
  void *send = deviceBuffer(kCount);
  void *recv = deviceBuffer(kCount);
  std::vector<unsigned char> input = prepare(send, recv, kCount);
  ASSERT_EQ(xcclAllToAll(send, recv, kCount, xcclUint8, comm_, stream_), xcclSuccess)
      << xcclGetLastError(comm_);
  EXPECT_EQ(result(recv, kCount), input);
  EXPECT_TRUE(logHas(expectLine("ncclSend", "count=1000 type=1 peer=0")));
  EXPECT_TRUE(logHas(expectLine("ncclRecv", "count=1000 type=1 peer=0")));

  std::remove(logPath().c_str());
  input = prepare(send, recv, kCount);
  ASSERT_EQ(xcclGroupStart(), xcclSuccess);
  ASSERT_EQ(xcclSend(send, kCount / 4, xcclInt32, 0, comm_, stream_), xcclSuccess);
  ASSERT_EQ(xcclRecv(recv, kCount / 4, xcclInt32, 0, comm_, stream_), xcclSuccess);
  ASSERT_EQ(xcclGroupEnd(), xcclSuccess) << xcclGetLastError(comm_);
  EXPECT_EQ(result(recv, kCount), input);
  const std::vector<std::string> expected = {
      "ncclGroupStart", expectLine("ncclSend", "count=250 type=2 peer=0"),
      expectLine("ncclRecv", "count=250 type=2 peer=0"), "ncclGroupEnd"};
  EXPECT_EQ(logLines(), expected);
}

TEST_F(NcclPath, AGroupOfCollectivesIsOneNcclGroup) {
  initOnCuda();
  void *send = deviceBuffer(kCount * 4);
  void *recv = deviceBuffer(kCount * 4);
  void *gathered = deviceBuffer(kCount * 4);
  const std::vector<unsigned char> input = prepare(send, recv, kCount * 4);
  std::remove(logPath().c_str());
  ASSERT_EQ(xcclGroupStart(), xcclSuccess);
  ASSERT_EQ(xcclAllReduce(send, recv, kCount, xcclInt32, xcclMin, comm_, stream_), xcclSuccess);
  ASSERT_EQ(xcclAllGather(send, gathered, kCount, xcclFloat32, comm_, stream_), xcclSuccess);
  ASSERT_EQ(xcclGroupEnd(), xcclSuccess) << xcclGetLastError(comm_);
  EXPECT_EQ(result(recv, kCount * 4), input);
  EXPECT_EQ(result(gathered, kCount * 4), input);
  const std::vector<std::string> expected = {
      "ncclGroupStart", expectLine("ncclAllReduce", "count=1000 type=2 op=3 root=-1"),
      expectLine("ncclAllGather", "count=1000 type=7 op=-1 root=-1"), "ncclGroupEnd"};
  EXPECT_EQ(logLines(), expected);
}

TEST_F(NcclPath, HostBuffersAreStagedThroughDeviceMemoryForNccl) {
  // Every rank must take the same path whatever its buffers, so host
  // memory goes to NCCL too, through the communicator's device scratch.
  initOnCuda();
  std::remove(logPath().c_str());
  std::vector<float> send(kCount), recv(kCount, 0.0f);
  for (size_t i = 0; i < kCount; ++i) send[i] = static_cast<float>(i) * 0.5f;
  ASSERT_EQ(xcclAllReduce(send.data(), recv.data(), kCount, xcclFloat32, xcclSum, comm_, stream_),
            xcclSuccess)
      << xcclGetLastError(comm_);
  // In place: one staged region holds both.
  std::vector<int32_t> gathered(kCount);
  for (size_t i = 0; i < kCount; ++i) gathered[i] = static_cast<int32_t>(i * 3);
  const std::vector<int32_t> expected = gathered;
  ASSERT_EQ(xcclAllGather(gathered.data(), gathered.data(), kCount, xcclInt32, comm_, stream_),
            xcclSuccess)
      << xcclGetLastError(comm_);
  ASSERT_EQ(xpStreamSynchronize(stream_), XP_SUCCESS) << xpGetLastError();
  EXPECT_EQ(recv, send);
  EXPECT_EQ(gathered, expected);
  EXPECT_TRUE(logHas("ncclAllReduce count=1000 type=7 op=0 root=-1 stream=" + native_stream_))
      << ::testing::PrintToString(logLines());
  EXPECT_TRUE(logHas("ncclAllGather count=1000 type=2 op=-1 root=-1 stream=" + native_stream_))
      << ::testing::PrintToString(logLines());
}

TEST_F(NcclPath, BarrierTakesXcclsOwnPath) {
  initOnCuda();
  std::remove(logPath().c_str());
  ASSERT_EQ(xcclBarrier(comm_, stream_), xcclSuccess) << xcclGetLastError(comm_);
  ASSERT_EQ(xpStreamSynchronize(stream_), XP_SUCCESS) << xpGetLastError();
  EXPECT_TRUE(logLines().empty()) << ::testing::PrintToString(logLines());
}

TEST_F(NcclPath, SeveralCommunicatorsOfOneThreadEnterNcclAsOneGroup) {
  // Two ranks in this process, one per device of the stand-in driver, as
  // xcclCommInitAll makes them. Driven from one thread, their calls must
  // reach NCCL in one group: the stand-in fails a group that lacks a
  // peer's call, where the real NCCL would hang.
  ASSERT_GE(second_cuda_, 0) << "the test needs the stand-in driver's second device";
  int devices[2] = {cuda_, second_cuda_};
  xcclComm_t comms[2] = {nullptr, nullptr};
  ASSERT_EQ(xcclCommInitAll(comms, 2, devices), xcclSuccess) << xcclGetLastError(nullptr);
  xpStream streams[2] = {nullptr, nullptr};
  float *send[2] = {nullptr, nullptr}, *recv[2] = {nullptr, nullptr};
  std::vector<float> inputs[2];  // alive until the uploads have run
  for (int r = 0; r < 2; ++r) {
    ASSERT_EQ(xpStreamCreate(devices[r], &streams[r]), XP_SUCCESS) << xpGetLastError();
    ASSERT_EQ(xpMalloc(devices[r], kCount * 4, reinterpret_cast<void **>(&send[r])), XP_SUCCESS);
    ASSERT_EQ(xpMalloc(devices[r], kCount * 4, reinterpret_cast<void **>(&recv[r])), XP_SUCCESS);
    std::vector<float> &input = inputs[r];
    input.resize(kCount);
    for (size_t i = 0; i < kCount; ++i) input[i] = static_cast<float>(i + 100 * r);
    ASSERT_EQ(xpMemcpyAsync(send[r], input.data(), kCount * 4, streams[r]), XP_SUCCESS);
  }
  ASSERT_EQ(xcclGroupStart(), xcclSuccess);
  for (int r = 0; r < 2; ++r) {
    ASSERT_EQ(xcclAllReduce(send[r], recv[r], kCount, xcclFloat32, xcclSum, comms[r], streams[r]),
              xcclSuccess);
  }
  ASSERT_EQ(xcclGroupEnd(), xcclSuccess) << xcclGetLastError(nullptr);
  for (int r = 0; r < 2; ++r) {
    std::vector<float> output(kCount);
    ASSERT_EQ(xpMemcpyAsync(output.data(), recv[r], kCount * 4, streams[r]), XP_SUCCESS);
    ASSERT_EQ(xpStreamSynchronize(streams[r]), XP_SUCCESS) << xpGetLastError();
    for (size_t i = 0; i < kCount; ++i) {
      ASSERT_EQ(output[i], static_cast<float>(2 * i + 100)) << "rank " << r << " element " << i;
    }
  }
  const std::vector<std::string> lines = logLines();
  EXPECT_EQ(std::count(lines.begin(), lines.end(), "ncclGroupStart"), 1)
      << ::testing::PrintToString(lines);
  for (int r = 0; r < 2; ++r) {
    EXPECT_EQ(xcclCommDestroy(comms[r]), xcclSuccess) << xcclGetLastError(nullptr);
    xpFree(send[r]);
    xpFree(recv[r]);
    xpStreamDestroy(streams[r]);
  }
}

TEST_F(NcclPath, TwoRanksOnOneGpuNeverReachNccl) {
  // NCCL refuses a second rank on a GPU ("Duplicate GPU detected"); xccl
  // declines before calling it, by the devices' UUIDs.
  int devices[2] = {cuda_, cuda_};
  xcclComm_t comms[2] = {nullptr, nullptr};
  EXPECT_EQ(xcclCommInitAll(comms, 2, devices), xcclSystemError);
  const std::string message = xcclGetLastError(nullptr);
  EXPECT_NE(message.find("ranks 0 and 1 share one GPU"), std::string::npos) << message;
  EXPECT_FALSE(logHas("ncclCommInitRankConfig")) << ::testing::PrintToString(logLines());

  setenv("XCCL_NCCL", "auto", 1);
  ASSERT_EQ(xcclCommInitAll(comms, 2, devices), xcclSuccess) << xcclGetLastError(nullptr);
  EXPECT_FALSE(logHas("ncclCommInitRankConfig"));
  for (xcclComm_t comm : comms) EXPECT_EQ(xcclCommDestroy(comm), xcclSuccess);
}

TEST_F(NcclPath, WatchdogAbortsNcclWhenAPeerEndsTheCommunicator) {
  // NCCL's kernels would wait for a dead or aborted peer forever; the
  // watchdog sees the peer's abort on the control connection and aborts
  // this rank's NCCL communicator too.
  ASSERT_GE(second_cuda_, 0) << "the test needs the stand-in driver's second device";
  int devices[2] = {cuda_, second_cuda_};
  xcclComm_t comms[2] = {nullptr, nullptr};
  ASSERT_EQ(xcclCommInitAll(comms, 2, devices), xcclSuccess) << xcclGetLastError(nullptr);
  std::remove(logPath().c_str());
  ASSERT_EQ(xcclCommAbort(comms[1]), xcclSuccess);
  xcclResult_t state = xcclSuccess;
  const auto start = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - start < std::chrono::seconds(10)) {
    ASSERT_EQ(xcclCommGetAsyncError(comms[0], &state), xcclSuccess);
    if (state != xcclSuccess && state != xcclInProgress) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(state, xcclRemoteError);
  const std::string message = xcclGetLastError(comms[0]);
  EXPECT_NE(message.find("rank 1"), std::string::npos) << message;
  // Both NCCL communicators aborted: rank 1's by xcclCommAbort, rank 0's by
  // its watchdog.
  const std::vector<std::string> lines = logLines();
  EXPECT_EQ(std::count(lines.begin(), lines.end(), "ncclCommAbort"), 2)
      << ::testing::PrintToString(lines);
  // Later calls fail at once instead of reaching NCCL.
  float *buffer = nullptr;
  ASSERT_EQ(xpMalloc(devices[0], 64, reinterpret_cast<void **>(&buffer)), XP_SUCCESS);
  EXPECT_EQ(xcclAllReduce(buffer, buffer, 16, xcclFloat32, xcclSum, comms[0], nullptr),
            xcclRemoteError);
  EXPECT_EQ(xcclCommAbort(comms[0]), xcclSuccess);
  xpFree(buffer);
}

TEST_F(NcclPath, DestroyFinalizesAndAbortAborts) {
  initOnCuda();
  ASSERT_EQ(xcclCommDestroy(comm_), xcclSuccess) << xcclGetLastError(nullptr);
  comm_ = nullptr;
  std::vector<std::string> lines = logLines();
  ASSERT_GE(lines.size(), 2u);
  EXPECT_EQ(lines[lines.size() - 2], "ncclCommFinalize");
  EXPECT_EQ(lines.back(), "ncclCommDestroy");

  std::remove(logPath().c_str());
  ASSERT_EQ(init(cuda_), xcclSuccess) << xcclGetLastError(nullptr);
  ASSERT_EQ(xcclCommAbort(comm_), xcclSuccess);
  comm_ = nullptr;
  lines = logLines();
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.back(), "ncclCommAbort");
}

// A finalize that fails ends in an abort, and the destroy says why.
TEST_F(NcclPath, AFailedFinalizeAbortsAndSaysWhy) {
  initOnCuda();
  setenv("XPOOL_MOCK_NCCL_FINALIZE", "fail", 1);
  EXPECT_EQ(xcclCommDestroy(comm_), xcclSystemError);
  comm_ = nullptr;
  const std::string message = xcclGetLastError(nullptr);
  EXPECT_NE(message.find("ncclCommFinalize: unhandled system error (mock NCCL: finalize failure"),
            std::string::npos)
      << message;
  const std::vector<std::string> lines = logLines();
  ASSERT_GE(lines.size(), 2u);
  EXPECT_EQ(lines[lines.size() - 2], "ncclCommFinalize");
  EXPECT_EQ(lines.back(), "ncclCommAbort");
}

TEST_F(NcclPath, AnNcclErrorEndsTheCommunicatorWithNcclsMessage) {
  setenv("XPOOL_MOCK_NCCL_ASYNC", "fail", 1);
  initOnCuda();
  void *send = deviceBuffer(kCount * 4);
  void *recv = deviceBuffer(kCount * 4);
  const std::vector<unsigned char> input =
      prepare(send, recv, kCount * 4);  // alive: uploaded async
  // The stand-in reports a remote error once the operation is enqueued:
  // the call sees it while it waits for NCCL to accept the work.
  EXPECT_EQ(xcclAllReduce(send, recv, kCount, xcclFloat32, xcclSum, comm_, stream_),
            xcclRemoteError);
  EXPECT_NE(std::string(xcclGetLastError(comm_)).find("NCCL: remote process exited"),
            std::string::npos)
      << xcclGetLastError(comm_);
  xcclResult_t state = xcclSuccess;
  ASSERT_EQ(xcclCommGetAsyncError(comm_, &state), xcclSuccess);
  EXPECT_EQ(state, xcclRemoteError);
  // The communicator has ended: later calls fail at once with the reason.
  EXPECT_EQ(xcclAllReduce(send, recv, kCount, xcclFloat32, xcclSum, comm_, stream_),
            xcclRemoteError);
  ASSERT_EQ(xcclCommAbort(comm_), xcclSuccess);
  comm_ = nullptr;
  EXPECT_EQ(logLines().back(), "ncclCommAbort");
}

TEST_F(NcclPath, XcclNccl0NeverLoadsNccl) {
  setenv("XCCL_NCCL", "0", 1);
  initOnCuda();
  void *send = deviceBuffer(kCount * 4);
  void *recv = deviceBuffer(kCount * 4);
  const std::vector<unsigned char> input = prepare(send, recv, kCount * 4);
  ASSERT_EQ(xcclAllReduce(send, recv, kCount, xcclInt32, xcclMax, comm_, stream_), xcclSuccess)
      << xcclGetLastError(comm_);
  EXPECT_EQ(result(recv, kCount * 4), input);
  EXPECT_TRUE(logLines().empty()) << ::testing::PrintToString(logLines());
}

TEST_F(NcclPath, RequiredButMissingLibraryFailsNamingIt) {
  setenv("XCCL_NCCL_LIBRARY", "/nonexistent/libnccl.so.2", 1);
  EXPECT_EQ(init(cuda_), xcclSystemError);
  const std::string message = xcclGetLastError(nullptr);
  EXPECT_NE(message.find("XCCL_NCCL=1"), std::string::npos) << message;
  EXPECT_NE(message.find("/nonexistent/libnccl.so.2"), std::string::npos) << message;
  comm_ = nullptr;
}

TEST_F(NcclPath, RequiredButTooOldLibraryFailsNamingBothVersions) {
  // Another path to the same file: xccl loads each path once per process.
  const std::string mock = XCCL_MOCK_NCCL;
  const std::string other_path =
      mock.substr(0, mock.rfind('/')) + "/./" + mock.substr(mock.rfind('/') + 1);
  setenv("XCCL_NCCL_LIBRARY", other_path.c_str(), 1);
  setenv("XPOOL_MOCK_NCCL_VERSION", "21300", 1);
  EXPECT_EQ(init(cuda_), xcclSystemError);
  const std::string message = xcclGetLastError(nullptr);
  EXPECT_NE(message.find(other_path + " is NCCL version code 21300; xccl needs 21400 (2.14)"),
            std::string::npos)
      << message;
  comm_ = nullptr;
}

TEST_F(NcclPath, AutoWithoutTheLibraryRunsXcclsOwnPath) {
  setenv("XCCL_NCCL", "auto", 1);
  setenv("XCCL_NCCL_LIBRARY", "/nonexistent/libnccl.so.2", 1);
  initOnCuda();
  void *send = deviceBuffer(kCount * 4);
  void *recv = deviceBuffer(kCount * 4);
  const std::vector<unsigned char> input = prepare(send, recv, kCount * 4);
  ASSERT_EQ(xcclAllReduce(send, recv, kCount, xcclUint32, xcclSum, comm_, stream_), xcclSuccess)
      << xcclGetLastError(comm_);
  EXPECT_EQ(result(recv, kCount * 4), input);
}

TEST_F(NcclPath, RequiredOnANonCudaRankFailsNamingTheDevice) {
  EXPECT_EQ(init(cpu_), xcclSystemError);
  const std::string message = xcclGetLastError(nullptr);
  EXPECT_NE(message.find("rank 0 is on a cpu device"), std::string::npos) << message;
  EXPECT_NE(message.find("CUDA"), std::string::npos) << message;
  EXPECT_TRUE(logLines().empty()) << "NCCL was loaded for a cpu rank";
  comm_ = nullptr;
}

TEST_F(NcclPath, AFailedNcclInitFailsWhenRequiredAndFallsBackOtherwise) {
  setenv("XPOOL_MOCK_NCCL_INIT", "fail", 1);
  EXPECT_EQ(init(cuda_), xcclSystemError);
  const std::string message = xcclGetLastError(nullptr);
  EXPECT_NE(message.find("ncclCommInitRankConfig: unhandled system error (mock NCCL: init failure"),
            std::string::npos)
      << message;
  comm_ = nullptr;

  setenv("XCCL_NCCL", "auto", 1);
  initOnCuda();
  void *send = deviceBuffer(kCount);
  void *recv = deviceBuffer(kCount);
  const std::vector<unsigned char> input = prepare(send, recv, kCount);
  ASSERT_EQ(xcclBroadcast(send, recv, kCount, xcclInt8, 0, comm_, stream_), xcclSuccess)
      << xcclGetLastError(comm_);
  EXPECT_EQ(result(recv, kCount), input);
  EXPECT_FALSE(logHas("ncclBroadcast"));
}

}  // namespace
