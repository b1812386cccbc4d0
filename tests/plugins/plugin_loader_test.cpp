// The plugin loader: every way a plugin can be wrong leaves a reason a
// person can act on, and never stops the other backends from working.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <string>

#include "xpool/runtime.h"

namespace {

std::map<std::string, xpBackendInfo> backendsByName() {
  std::map<std::string, xpBackendInfo> out;
  int count = 0;
  EXPECT_EQ(xpBackendCount(&count), XP_SUCCESS);
  for (int i = 0; i < count; ++i) {
    xpBackendInfo info{};
    info.struct_size = sizeof info;
    EXPECT_EQ(xpBackendGetInfo(i, &info), XP_SUCCESS);
    out[info.name] = info;
  }
  return out;
}

class PluginLoader : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("XPOOL_BACKEND_PATH", XPOOL_FIXTURE_DIR, 1);
    setenv("XPOOL_BACKENDS",
           "cpu,good,newabi,incomplete,failinit,older,wrongname,noentry,corrupt,missing", 1);
    ASSERT_EQ(xpInit(), XP_SUCCESS) << xpGetLastError();
  }
  void TearDown() override {
    EXPECT_EQ(xpShutdown(), XP_SUCCESS) << xpGetLastError();
    unsetenv("XPOOL_BACKENDS");
    unsetenv("XPOOL_BACKEND_PATH");
  }
};

TEST_F(PluginLoader, EveryRequestedBackendIsListedInOrder) {
  int count = 0;
  ASSERT_EQ(xpBackendCount(&count), XP_SUCCESS);
  ASSERT_EQ(count, 10);
  xpBackendInfo first{};
  first.struct_size = sizeof first;
  ASSERT_EQ(xpBackendGetInfo(0, &first), XP_SUCCESS);
  EXPECT_STREQ(first.name, "cpu");
  xpBackendInfo bad{};
  bad.struct_size = sizeof bad;
  EXPECT_EQ(xpBackendGetInfo(10, &bad), XP_ERROR_INVALID_VALUE);
  EXPECT_NE(std::string(xpGetLastError()).find("10"), std::string::npos) << xpGetLastError();
}

TEST_F(PluginLoader, GoodAndOlderPluginsLoad) {
  auto backends = backendsByName();
  EXPECT_TRUE(backends["good"].available) << backends["good"].reason;
  EXPECT_STREQ(backends["good"].vendor_version, "fixture 1.0");
  // A table that ends before the optional entries is an older plugin: fine.
  EXPECT_TRUE(backends["older"].available) << backends["older"].reason;
  EXPECT_TRUE(backends["cpu"].available) << backends["cpu"].reason;
}

TEST_F(PluginLoader, RefusalsSayWhy) {
  auto backends = backendsByName();
  auto reason = [&](const char *name) {
    EXPECT_FALSE(backends[name].available) << name;
    EXPECT_EQ(backends[name].device_count, 0) << name;
    return std::string(backends[name].reason);
  };
  EXPECT_NE(reason("newabi").find("ABI 2.0"), std::string::npos) << reason("newabi");
  EXPECT_NE(reason("newabi").find("this runtime speaks 1."), std::string::npos);
  EXPECT_NE(reason("incomplete").find("event_elapsed"), std::string::npos) << reason("incomplete");
  EXPECT_NE(reason("failinit").find("libfixture-vendor.so.1 not found"), std::string::npos)
      << reason("failinit");
  EXPECT_NE(reason("wrongname").find("somethingelse"), std::string::npos) << reason("wrongname");
  EXPECT_NE(reason("noentry").find("xpoolBackendGetTable"), std::string::npos) << reason("noentry");
  EXPECT_NE(reason("corrupt").find("cannot load plugin"), std::string::npos) << reason("corrupt");
  EXPECT_NE(reason("missing").find("libxpool_backend_missing.so not found"), std::string::npos)
      << reason("missing");
  EXPECT_NE(reason("missing").find(XPOOL_FIXTURE_DIR), std::string::npos) << reason("missing");
}

TEST_F(PluginLoader, WorkingBackendsStillServe) {
  int count = 0;
  ASSERT_EQ(xpDeviceCount(&count), XP_SUCCESS);
  ASSERT_GE(count, 1);
  void *memory = nullptr;
  ASSERT_EQ(xpMalloc(0, 4096, &memory), XP_SUCCESS) << xpGetLastError();
  char pattern[4096];
  for (int i = 0; i < 4096; ++i) pattern[i] = static_cast<char>(i * 31);
  char back[4096] = {};
  ASSERT_EQ(xpMemcpy(memory, pattern, sizeof pattern), XP_SUCCESS) << xpGetLastError();
  ASSERT_EQ(xpMemcpy(back, memory, sizeof back), XP_SUCCESS) << xpGetLastError();
  EXPECT_EQ(0, memcmp(pattern, back, sizeof back));
  EXPECT_EQ(xpFree(memory), XP_SUCCESS);
}

TEST(PluginDiscovery, WithoutSelectionEveryPluginInThePathIsTried) {
  setenv("XPOOL_BACKEND_PATH", XPOOL_FIXTURE_DIR, 1);
  unsetenv("XPOOL_BACKENDS");
  ASSERT_EQ(xpInit(), XP_SUCCESS);
  auto backends = backendsByName();
  // The fixtures (from the path) and the build's own cpu plugin.
  for (const char *name : {"good", "newabi", "corrupt", "noentry", "older", "cpu"}) {
    EXPECT_EQ(backends.count(name), 1u) << name;
  }
  EXPECT_EQ(xpShutdown(), XP_SUCCESS);
  unsetenv("XPOOL_BACKEND_PATH");
}

TEST(RuntimeLifecycle, CallsBeforeInitFailCleanly) {
  int count = -1;
  EXPECT_EQ(xpDeviceCount(&count), XP_ERROR_NOT_INITIALIZED);
  EXPECT_NE(std::string(xpGetLastError()).find("xpDeviceCount"), std::string::npos);
  void *memory = nullptr;
  EXPECT_EQ(xpMalloc(0, 16, &memory), XP_ERROR_NOT_INITIALIZED);
  EXPECT_EQ(xpShutdown(), XP_ERROR_NOT_INITIALIZED);
}

TEST(RuntimeLifecycle, InitIsReferenceCounted) {
  setenv("XPOOL_BACKENDS", "cpu", 1);
  ASSERT_EQ(xpInit(), XP_SUCCESS);
  ASSERT_EQ(xpInit(), XP_SUCCESS);
  EXPECT_EQ(xpShutdown(), XP_SUCCESS);
  int count = 0;
  EXPECT_EQ(xpDeviceCount(&count), XP_SUCCESS) << "one xpInit is still outstanding";
  EXPECT_EQ(xpShutdown(), XP_SUCCESS);
  EXPECT_EQ(xpDeviceCount(&count), XP_ERROR_NOT_INITIALIZED);
  // And the runtime comes back after a full shutdown, leaked handles and all.
  ASSERT_EQ(xpInit(), XP_SUCCESS);
  void *leaked = nullptr;
  xpStream stream = nullptr;
  EXPECT_EQ(xpMalloc(0, 1 << 20, &leaked), XP_SUCCESS);
  EXPECT_EQ(xpStreamCreate(0, &stream), XP_SUCCESS);
  EXPECT_EQ(xpShutdown(), XP_SUCCESS);
  unsetenv("XPOOL_BACKENDS");
}

}  // namespace
