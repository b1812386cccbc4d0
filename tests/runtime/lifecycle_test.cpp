// Initialisation and shutdown, in an executable of its own: every test starts
// and ends with the runtime not initialised.
#include <cstring>
#include <string>

#include "conformance.h"

namespace conformance {
namespace {

const Expected kNotInitialized{{XP_ERROR_NOT_INITIALIZED}, {{"xpInit", "initiali"}}};

void ExpectNotInitialized() {
  int count = -1;
  EXPECT_TRUE(FailedAs("xpDeviceCount", xpDeviceCount(&count), kNotInitialized));
  EXPECT_TRUE(FailedAs("xpBackendCount", xpBackendCount(&count), kNotInitialized));
  void *p = nullptr;
  EXPECT_TRUE(FailedAs("xpMalloc", xpMalloc(0, 64, &p), kNotInitialized));
  EXPECT_EQ(p, nullptr);
  EXPECT_TRUE(FailedAs("xpMallocHost", xpMallocHost(64, &p), kNotInitialized));
  char a[16] = {}, b[16] = {};
  EXPECT_TRUE(FailedAs("xpMemcpy", xpMemcpy(a, b, sizeof a), kNotInitialized));
  xpStream s = nullptr;
  EXPECT_TRUE(FailedAs("xpStreamCreate", xpStreamCreate(0, &s), kNotInitialized));
  xpEvent e = nullptr;
  EXPECT_TRUE(FailedAs("xpEventCreate", xpEventCreate(0, XP_EVENT_DEFAULT, &e), kNotInitialized));
  xpPointerAttributes attr{};
  attr.struct_size = sizeof attr;
  EXPECT_TRUE(
      FailedAs("xpPointerGetAttributes", xpPointerGetAttributes(a, &attr), kNotInitialized));
}

TEST(Lifecycle, CallsBeforeInitFail) {
  ExpectNotInitialized();
  // These need no runtime.
  EXPECT_STREQ(xpStatusName(XP_ERROR_NOT_INITIALIZED), "XP_ERROR_NOT_INITIALIZED");
  xpClearLastError();
  EXPECT_STREQ(xpGetLastError(), "");
}

TEST(Lifecycle, InitIsReferenceCounted) {
  ASSERT_XP(xpInit());
  ASSERT_XP(xpInit());
  int first = -1, second = -1;
  ASSERT_XP(xpDeviceCount(&first));
  ASSERT_XP(xpShutdown());
  EXPECT_XP(xpDeviceCount(&second)) << "one xpShutdown for two xpInit ended the runtime";
  EXPECT_EQ(first, second);
  ASSERT_XP(xpShutdown());
  ExpectNotInitialized();
  EXPECT_NE(xpShutdown(), XP_SUCCESS) << "xpShutdown without a matching xpInit succeeded";
}

TEST(Lifecycle, ShutdownReleasesLiveObjectsAndInitAgainWorks) {
  ASSERT_XP(xpInit());
  int count = 0;
  ASSERT_XP(xpDeviceCount(&count));
  if (count == 0) {
    EXPECT_XP(xpShutdown());
    GTEST_SKIP() << "no device";
  }
  // Left alive on purpose: xpShutdown frees them.
  void *d = nullptr, *h = nullptr;
  xpStream s = nullptr;
  xpEvent e = nullptr;
  ASSERT_XP(xpMalloc(0, 1 << 20, &d));
  ASSERT_XP(xpMallocHost(1 << 20, &h));
  ASSERT_XP(xpStreamCreate(0, &s));
  ASSERT_XP(xpEventCreate(0, XP_EVENT_DEFAULT, &e));
  ASSERT_XP(xpMemsetAsync(d, 1, 1 << 20, s));
  ASSERT_XP(xpEventRecord(e, s));
  ASSERT_XP(xpShutdown());
  ExpectNotInitialized();

  ASSERT_XP(xpInit());
  int again = 0;
  ASSERT_XP(xpDeviceCount(&again));
  EXPECT_EQ(again, count);
  for (int dev = 0; dev < again; ++dev) {
    SCOPED_TRACE(dev);
    ExpectStillWorks(dev);
  }
  ASSERT_XP(xpShutdown());
}

}  // namespace
}  // namespace conformance
