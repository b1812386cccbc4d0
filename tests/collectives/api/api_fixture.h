// Single-process xccl tests: one process holds every rank (xcclCommInitAll)
// on the cpu devices of XPOOL_CPU_DEVICES=3. The fixture sets that
// environment itself, so the binary also runs by hand.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "xpool/runtime.h"
#include "xpool/xccl.h"

namespace xccltest {

class XcclApi : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    setenv("XPOOL_BACKENDS", "cpu", 1);
    setenv("XPOOL_CPU_DEVICES", "3", 1);
    // A hung call fails the test after 20 s instead of 5 minutes.
    setenv("XCCL_TIMEOUT_MS", "20000", 0);
  }
  void SetUp() override {
    ASSERT_EQ(xpInit(), XP_SUCCESS) << xpGetLastError();
    int count = 0;
    ASSERT_EQ(xpDeviceCount(&count), XP_SUCCESS);
    ASSERT_GE(count, 3) << "XPOOL_CPU_DEVICES=3 should give 3 cpu devices";
  }
  void TearDown() override {
    for (xcclComm_t comm : comms_) {
      if (comm != nullptr) {
        EXPECT_EQ(xcclCommDestroy(comm), xcclSuccess) << xcclGetLastError(nullptr);
      }
    }
    for (void *buffer : buffers_) xpFree(buffer);
    for (xpStream stream : streams_) xpStreamDestroy(stream);
    EXPECT_EQ(xpShutdown(), XP_SUCCESS) << xpGetLastError();
  }

  // xcclCommInitAll of n ranks; the fixture destroys them.
  void initAll(int n, const int *devices = nullptr) {
    comms_.assign(static_cast<size_t>(n), nullptr);
    ASSERT_EQ(xcclCommInitAll(comms_.data(), n, devices), xcclSuccess) << xcclGetLastError(nullptr);
  }
  // Device memory the fixture frees.
  void *deviceBuffer(int device, size_t bytes) {
    void *buffer = nullptr;
    EXPECT_EQ(xpMalloc(device, bytes, &buffer), XP_SUCCESS) << xpGetLastError();
    buffers_.push_back(buffer);
    return buffer;
  }
  xpStream stream(int device) {
    xpStream made = nullptr;
    EXPECT_EQ(xpStreamCreate(device, &made), XP_SUCCESS) << xpGetLastError();
    streams_.push_back(made);
    return made;
  }

  std::vector<xcclComm_t> comms_;
  std::vector<void *> buffers_;
  std::vector<xpStream> streams_;
};

// Expects `call` to return `want` promptly (argument errors are found
// before any communication), with a message containing every `needle`.
inline void expectRejected(const std::function<xcclResult_t()> &call, xcclResult_t want,
                           const std::vector<std::string> &needles, const std::string &what) {
  const auto start = std::chrono::steady_clock::now();
  const xcclResult_t got = call();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const std::string message = xcclGetLastError(nullptr);
  EXPECT_EQ(got, want) << what << ": " << xcclGetErrorString(got) << ": " << message;
  EXPECT_LT(seconds, 2.0) << what << " took " << seconds << " s to reject its arguments";
  for (const std::string &needle : needles) {
    EXPECT_NE(message.find(needle), std::string::npos)
        << what << ": the message does not name \"" << needle << "\": " << message;
  }
}

}  // namespace xccltest
