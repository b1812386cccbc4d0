// The plugin loader: every way a plugin can be wrong leaves a reason a
// person can act on, and never stops the other backends from working.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

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

// Fixtures with two devices each: "native" fills the ABI 1.1 entries,
// "abi10" is a plugin built against ABI 1.0 (its table ends before them),
// "sloppy" writes them but claims the 1.0 size.
class NativeEntries : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("XPOOL_BACKEND_PATH", XPOOL_FIXTURE_DIR, 1);
    setenv("XPOOL_BACKENDS", "native,abi10,sloppy", 1);
    ASSERT_EQ(xpInit(), XP_SUCCESS) << xpGetLastError();
  }
  void TearDown() override {
    EXPECT_EQ(xpShutdown(), XP_SUCCESS) << xpGetLastError();
    unsetenv("XPOOL_BACKENDS");
    unsetenv("XPOOL_BACKEND_PATH");
  }
  // The pool ordinal of a fixture's device.
  static int device(const char *backend, int local) {
    int count = 0;
    EXPECT_EQ(xpDeviceCount(&count), XP_SUCCESS);
    for (int i = 0; i < count; ++i) {
      xpDeviceProps props{};
      props.struct_size = sizeof props;
      EXPECT_EQ(xpDeviceGetProperties(i, &props), XP_SUCCESS) << xpGetLastError();
      if (std::string(props.backend) == backend && props.backend_device == local) return i;
    }
    ADD_FAILURE() << "no device " << local << " of " << backend;
    return -1;
  }
};

TEST_F(NativeEntries, PluginsWithoutThemLoadAndAnswerNotSupported) {
  auto backends = backendsByName();
  for (const char *name : {"abi10", "sloppy"}) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(backends[name].available) << backends[name].reason;
    EXPECT_EQ(backends[name].device_count, 2);
    const int ordinal = device(name, 0);
    ASSERT_GE(ordinal, 0);
    xpStream stream = nullptr;
    ASSERT_EQ(xpStreamCreate(ordinal, &stream), XP_SUCCESS) << xpGetLastError();
    xpNativeStream native{};
    native.struct_size = sizeof native;
    EXPECT_EQ(xpStreamGetNative(stream, &native), XP_ERROR_NOT_SUPPORTED);
    EXPECT_EQ(std::string(xpGetLastError()), std::string("xpStreamGetNative: the ") + name +
                                                 " backend's streams have no native handle");
    EXPECT_STREQ(native.backend, name);
    EXPECT_EQ(native.stream, nullptr);
    EXPECT_EQ(native.device_ordinal, -1);
    // No per-thread device to make current: nothing to do.
    EXPECT_EQ(xpDeviceMakeCurrent(ordinal), XP_SUCCESS) << xpGetLastError();
    EXPECT_EQ(xpStreamDestroy(stream), XP_SUCCESS) << xpGetLastError();
  }
  EXPECT_EQ(backends["abi10"].abi_minor, 0u);
}

TEST_F(NativeEntries, EntriesAreCalledAndTheirAnswersPassedOn) {
  const int first = device("native", 0);
  const int second = device("native", 1);
  ASSERT_GE(first, 0);
  ASSERT_GE(second, 0);
  xpStream stream = nullptr;
  ASSERT_EQ(xpStreamCreate(first, &stream), XP_SUCCESS) << xpGetLastError();
  xpNativeStream native{};
  native.struct_size = sizeof native;
  ASSERT_EQ(xpStreamGetNative(stream, &native), XP_SUCCESS) << xpGetLastError();
  EXPECT_EQ(native.struct_size, sizeof native);
  EXPECT_STREQ(native.backend, "native");
  EXPECT_EQ(native.stream, reinterpret_cast<void *>(uintptr_t{0x5100}));
  EXPECT_EQ(native.context, reinterpret_cast<void *>(uintptr_t{0xc0}));
  EXPECT_EQ(native.device_ordinal, 40);
  EXPECT_EQ(xpStreamDestroy(stream), XP_SUCCESS);

  // The backend's NOT_SUPPORTED keeps its reason.
  ASSERT_EQ(xpStreamCreate(second, &stream), XP_SUCCESS) << xpGetLastError();
  EXPECT_EQ(xpStreamGetNative(stream, &native), XP_ERROR_NOT_SUPPORTED);
  EXPECT_EQ(std::string(xpGetLastError()),
            "xpStreamGetNative: the native backend's streams have no native handle: fixture "
            "device 1 streams are emulated");
  EXPECT_EQ(native.stream, nullptr);
  EXPECT_EQ(xpStreamDestroy(stream), XP_SUCCESS);

  EXPECT_EQ(xpDeviceMakeCurrent(first), XP_SUCCESS) << xpGetLastError();
  EXPECT_EQ(xpDeviceMakeCurrent(second), XP_ERROR_BACKEND);
  EXPECT_EQ(std::string(xpGetLastError()), "xpDeviceMakeCurrent: device " + std::to_string(second) +
                                               " (native): fixture device 1 has no context");
}

// A synchronous copy of more than 256 KiB between host-addressable memory
// goes to the backend's host_copy; its failure comes back with the copy's
// size, its device and the backend's reason.
TEST_F(NativeEntries, HostCopyIsCalledAndItsFailureNamesTheCopy) {
  constexpr size_t kBytes = size_t{1} << 20;
  std::vector<unsigned char> in(kBytes), out(kBytes, 0);
  for (size_t i = 0; i < kBytes; ++i) in[i] = static_cast<unsigned char>(i * 7);
  const int first = device("native", 0);
  const int second = device("native", 1);
  ASSERT_GE(first, 0);
  ASSERT_GE(second, 0);
  void *memory = nullptr;
  ASSERT_EQ(xpMalloc(first, kBytes, &memory), XP_SUCCESS) << xpGetLastError();
  ASSERT_EQ(xpMemcpy(memory, in.data(), kBytes), XP_SUCCESS) << xpGetLastError();
  ASSERT_EQ(xpMemcpy(out.data(), memory, kBytes), XP_SUCCESS) << xpGetLastError();
  EXPECT_EQ(in, out);
  EXPECT_EQ(xpFree(memory), XP_SUCCESS);

  ASSERT_EQ(xpMalloc(second, kBytes, &memory), XP_SUCCESS) << xpGetLastError();
  EXPECT_EQ(xpMemcpy(memory, in.data(), kBytes), XP_ERROR_BACKEND);
  const std::string message = xpGetLastError();
  EXPECT_NE(message.find("xpMemcpy: 1048576 bytes from "), std::string::npos) << message;
  EXPECT_NE(message.find("on device " + std::to_string(second) +
                         ": fixture device 1 cannot copy 1048576 bytes"),
            std::string::npos)
      << message;
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
