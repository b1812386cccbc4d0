// The level_zero plugin, loaded the way the runtime loads it but without the
// runtime: its table, and what init answers on this machine. The test asks
// the Level Zero loader itself (dlopen + zeInit + zeDriverGet + zeDeviceGet)
// what the machine has, and holds the plugin to the matching answer:
// XP_ERROR_NO_DEVICE with the precise reason when there is no Level Zero GPU,
// working devices when there is.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "add_one_spv.h"
#include "plugin_harness.h"
#include "xpool/backend.h"

namespace {

using xpool::harness::kHost;
using xpool::harness::last_error;
using xpool::harness::last_status;

// ---- the plugin ------------------------------------------------------------

const xpool::harness::LoadedPlugin &plugin() {
  static const xpool::harness::LoadedPlugin loaded =
      xpool::harness::LoadPlugin(XPOOL_LEVEL_ZERO_PLUGIN);
  return loaded;
}

// ---- what this machine has, asked of Level Zero directly ---------------------

struct Probe {
  std::string tried = "libze_loader.so.1";  // the loader the plugin opens
  bool library = false;
  uint32_t init_result = 0;  // zeInit(ZE_INIT_FLAG_GPU_ONLY)
  uint32_t drivers = 0;
  uint32_t devices = 0;
  bool hasDevice() const { return library && init_result == 0 && devices > 0; }
};

const Probe &probe() {
  static Probe result = [] {
    Probe p;
    if (const char *env = std::getenv("XPOOL_LEVEL_ZERO_LIBRARY");
        env != nullptr && env[0] != '\0') {
      p.tried = env;
    }
    void *ze = dlopen(p.tried.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (ze == nullptr) return p;
    p.library = true;
    using InitFn = uint32_t (*)(uint32_t);
    using DriverGetFn = uint32_t (*)(uint32_t *, void **);
    using DeviceGetFn = uint32_t (*)(void *, uint32_t *, void **);
    auto init = reinterpret_cast<InitFn>(dlsym(ze, "zeInit"));
    auto driver_get = reinterpret_cast<DriverGetFn>(dlsym(ze, "zeDriverGet"));
    auto device_get = reinterpret_cast<DeviceGetFn>(dlsym(ze, "zeDeviceGet"));
    if (init == nullptr || driver_get == nullptr || device_get == nullptr) {
      p.init_result = ~0u;
      return p;
    }
    p.init_result = init(1u /* ZE_INIT_FLAG_GPU_ONLY */);
    if (p.init_result != 0) return p;
    if (driver_get(&p.drivers, nullptr) != 0) return p;
    std::vector<void *> drivers(p.drivers);
    if (p.drivers == 0 || driver_get(&p.drivers, drivers.data()) != 0) return p;
    for (void *driver : drivers) {
      uint32_t count = 0;
      if (device_get(driver, &count, nullptr) == 0) p.devices += count;
    }
    return p;  // the loader stays loaded, as the plugin keeps it
  }();
  return result;
}

// init and shutdown around a test body.
struct Session : xpool::harness::Session {
  Session() : xpool::harness::Session(plugin().table) {}
};

#define REQUIRE_DEVICE()                                                           \
  do {                                                                             \
    if (!probe().hasDevice()) GTEST_SKIP() << "no Level Zero GPU on this machine"; \
  } while (0)

// ---- the table -------------------------------------------------------------

TEST(LevelZeroPlugin, LoadsAndExportsItsTable) {
  ASSERT_TRUE(plugin().error.empty()) << plugin().error;
  const xpbBackend &t = plugin().table;
  EXPECT_EQ(t.struct_size, sizeof(xpbBackend));
  EXPECT_EQ(t.abi_major, XPB_ABI_MAJOR);
  EXPECT_EQ(t.abi_minor, XPB_ABI_MINOR);
  ASSERT_NE(t.name, nullptr);
  EXPECT_STREQ(t.name, "level_zero");
  // The file name must carry the same name.
  EXPECT_NE(std::string(XPOOL_LEVEL_ZERO_PLUGIN).find("libxpool_backend_level_zero.so"),
            std::string::npos);
}

TEST(LevelZeroPlugin, EveryEntryIsSet) {
  ASSERT_TRUE(plugin().error.empty()) << plugin().error;
  const xpbBackend &t = plugin().table;
  for (const auto &[name, entry] : xpool::harness::RequiredEntries(t)) {
    EXPECT_NE(entry, nullptr) << name;
  }
  // Optional in the ABI, implemented here.
  for (const auto &[name, entry] : xpool::harness::OptionalEntries(t)) {
    EXPECT_NE(entry, nullptr) << name;
  }
}

TEST(LevelZeroPlugin, WritesNoMoreThanAnOlderRuntimeKnows) {
  ASSERT_TRUE(plugin().error.empty()) << plugin().error;
  // A runtime whose table ends before the optional entries.
  const size_t known = offsetof(xpbBackend, host_register);
  const xpool::harness::ShorterTable shorter =
      xpool::harness::FetchShorterTable(plugin().get_table, known);
  ASSERT_EQ(shorter.status, XP_SUCCESS);
  EXPECT_EQ(shorter.table.struct_size, known);
  EXPECT_NE(shorter.table.kernel_launch, nullptr);
  ASSERT_EQ(shorter.overrun, xpool::harness::ShorterTable::kNone) << "byte " << shorter.overrun;
}

// ---- init on this machine ---------------------------------------------------

TEST(LevelZeroPlugin, InitAnswersForThisMachine) {
  ASSERT_TRUE(plugin().error.empty()) << plugin().error;
  Session session;
  if (probe().hasDevice()) {
    ASSERT_EQ(session.status(), XP_SUCCESS) << last_error;
    ASSERT_NE(session.ctx(), nullptr);
    EXPECT_GE(plugin().table.device_count(session.ctx()), 1);
    EXPECT_NE(std::string(plugin().table.vendor_version(session.ctx())).find("Level Zero"),
              std::string::npos);
    return;
  }
  EXPECT_EQ(session.status(), XP_ERROR_NO_DEVICE);
  EXPECT_EQ(session.ctx(), nullptr);
  EXPECT_EQ(last_status, XP_ERROR_NO_DEVICE);
  std::printf("level_zero init reason: %s\n", last_error.c_str());
  if (!probe().library) {
    EXPECT_EQ(last_error.rfind(probe().tried + " not found (no Level Zero loader", 0), 0u)
        << last_error;
  } else if (probe().init_result == 0x78000001u) {
    // ZE_RESULT_ERROR_UNINITIALIZED: a loader without any driver.
    EXPECT_EQ(last_error,
              "zeInit: ZE_RESULT_ERROR_UNINITIALIZED (0x78000001): no Level Zero "
              "driver is installed (no Intel GPU driver)");
  } else if (probe().init_result != 0) {
    char number[16];
    std::snprintf(number, sizeof number, "(0x%x)", probe().init_result);
    EXPECT_EQ(last_error.rfind("zeInit: ", 0), 0u) << last_error;
    EXPECT_NE(last_error.find(number), std::string::npos) << last_error;
  } else if (probe().drivers == 0) {
    EXPECT_NE(last_error.find("no Level Zero GPU driver"), std::string::npos) << last_error;
  } else {
    EXPECT_NE(last_error.find("no usable GPU device"), std::string::npos) << last_error;
  }
}

TEST(LevelZeroPlugin, InitCanBeRepeated) {
  ASSERT_TRUE(plugin().error.empty()) << plugin().error;
  for (int i = 0; i < 3; ++i) {
    Session session;
    EXPECT_EQ(session.status(), probe().hasDevice() ? XP_SUCCESS : XP_ERROR_NO_DEVICE)
        << last_error;
  }
}

// ---- with a device -----------------------------------------------------------

TEST(LevelZeroDevice, PropertiesAreSane) {
  REQUIRE_DEVICE();
  Session session;
  ASSERT_EQ(session.status(), XP_SUCCESS) << last_error;
  const xpbBackend &t = plugin().table;
  for (int d = 0; d < t.device_count(session.ctx()); ++d) {
    xpDeviceProps props{};
    props.struct_size = sizeof props;
    ASSERT_EQ(t.device_props(session.ctx(), d, &props), XP_SUCCESS) << last_error;
    EXPECT_GT(std::strlen(props.vendor), 0u);
    EXPECT_GT(std::strlen(props.name), 0u);
    EXPECT_EQ(std::string(props.stable_id).rfind("level_zero:", 0), 0u) << props.stable_id;
    EXPECT_EQ(std::strlen(props.stable_id), 11u + 32u) << props.stable_id;
    EXPECT_GT(props.memory_total, 0u);
    EXPECT_LE(props.memory_free, props.memory_total);
    EXPECT_GT(props.compute_units, 0);
    EXPECT_GE(props.max_threads_per_block, 64);
    EXPECT_GT(props.shared_mem_per_block, 0u);
    EXPECT_EQ(props.host_addressable, 0);
    uint64_t free_bytes = 0, total_bytes = 0;
    ASSERT_EQ(t.mem_info(session.ctx(), d, &free_bytes, &total_bytes), XP_SUCCESS) << last_error;
    EXPECT_EQ(total_bytes, props.memory_total);
  }
}

TEST(LevelZeroDevice, CopyRoundTripWithFillAndHostFunction) {
  REQUIRE_DEVICE();
  Session session;
  ASSERT_EQ(session.status(), XP_SUCCESS) << last_error;
  const xpbBackend &t = plugin().table;
  xpbContext *ctx = session.ctx();
  constexpr size_t kBytes = size_t{4} << 20;
  xpbAllocation a{}, b{};
  ASSERT_EQ(t.mem_alloc(ctx, 0, kBytes, &a), XP_SUCCESS) << last_error;
  ASSERT_EQ(t.mem_alloc(ctx, 0, kBytes, &b), XP_SUCCESS) << last_error;
  EXPECT_EQ(a.address, a.buffer);  // USM: the pointer is the address
  uint64_t free_after = 0, total = 0;
  ASSERT_EQ(t.mem_info(ctx, 0, &free_after, &total), XP_SUCCESS) << last_error;
  EXPECT_LE(free_after, total - 2 * kBytes);
  xpbStream *stream = nullptr;
  ASSERT_EQ(t.stream_create(ctx, 0, &stream), XP_SUCCESS) << last_error;

  std::vector<unsigned char> in(kBytes), out(kBytes, 0);
  for (size_t i = 0; i < kBytes; ++i) in[i] = static_cast<unsigned char>(i * 7 + 3);
  ASSERT_EQ(t.host_register(ctx, in.data(), kBytes), XP_SUCCESS) << last_error;

  struct Gate {
    std::atomic<int> ran{0};
  } gate;
  ASSERT_EQ(t.memcpy_async(stream, {a.buffer, 0, nullptr}, {nullptr, 0, in.data()}, kBytes),
            XP_SUCCESS)
      << last_error;
  ASSERT_EQ(t.memcpy_async(stream, {b.buffer, 0, nullptr}, {a.buffer, 0, nullptr}, kBytes),
            XP_SUCCESS)
      << last_error;
  ASSERT_EQ(t.launch_host_func(
                stream,
                [](void *data) {
                  std::this_thread::sleep_for(std::chrono::milliseconds(20));
                  static_cast<Gate *>(data)->ran = 1;
                },
                &gate),
            XP_SUCCESS)
      << last_error;
  ASSERT_EQ(t.memset_async(stream, {b.buffer, 0, nullptr}, 0x5A, 4096), XP_SUCCESS) << last_error;
  ASSERT_EQ(t.memcpy_async(stream, {nullptr, 0, out.data()}, {b.buffer, 0, nullptr}, kBytes),
            XP_SUCCESS)
      << last_error;
  ASSERT_EQ(t.stream_synchronize(stream, 30'000'000'000ull), XP_SUCCESS) << last_error;
  EXPECT_EQ(gate.ran.load(), 1);
  EXPECT_EQ(t.stream_query(stream), XP_SUCCESS) << last_error;
  for (size_t i = 0; i < 4096; ++i) ASSERT_EQ(out[i], 0x5A) << i;
  EXPECT_EQ(std::memcmp(out.data() + 4096, in.data() + 4096, kBytes - 4096), 0);

  EXPECT_EQ(t.host_unregister(ctx, in.data()), XP_SUCCESS) << last_error;
  EXPECT_EQ(t.stream_destroy(stream), XP_SUCCESS) << last_error;
  EXPECT_EQ(t.mem_free(ctx, 0, a.buffer), XP_SUCCESS) << last_error;
  EXPECT_EQ(t.mem_free(ctx, 0, b.buffer), XP_SUCCESS) << last_error;
}

TEST(LevelZeroDevice, EventsOrderStreamsAndTime) {
  REQUIRE_DEVICE();
  Session session;
  ASSERT_EQ(session.status(), XP_SUCCESS) << last_error;
  const xpbBackend &t = plugin().table;
  xpbContext *ctx = session.ctx();
  xpbStream *first = nullptr, *second = nullptr;
  ASSERT_EQ(t.stream_create(ctx, 0, &first), XP_SUCCESS) << last_error;
  ASSERT_EQ(t.stream_create(ctx, 0, &second), XP_SUCCESS) << last_error;
  xpbEvent *start = nullptr, *end = nullptr;
  ASSERT_EQ(t.event_create(ctx, 0, XP_EVENT_DEFAULT, &start), XP_SUCCESS) << last_error;
  ASSERT_EQ(t.event_create(ctx, 0, XP_EVENT_DEFAULT, &end), XP_SUCCESS) << last_error;
  EXPECT_EQ(t.event_query(end), XP_SUCCESS);  // never recorded counts as complete

  constexpr size_t kBytes = size_t{64} << 20;
  xpbAllocation a{};
  ASSERT_EQ(t.mem_alloc(ctx, 0, kBytes, &a), XP_SUCCESS) << last_error;
  ASSERT_EQ(t.event_record(start, first), XP_SUCCESS) << last_error;
  ASSERT_EQ(t.memset_async(first, {a.buffer, 0, nullptr}, 1, kBytes), XP_SUCCESS) << last_error;
  ASSERT_EQ(t.event_record(end, first), XP_SUCCESS) << last_error;
  ASSERT_EQ(t.stream_wait_event(second, end), XP_SUCCESS) << last_error;
  unsigned char byte = 0;
  ASSERT_EQ(t.memcpy_async(second, {nullptr, 0, &byte}, {a.buffer, kBytes - 1, nullptr}, 1),
            XP_SUCCESS)
      << last_error;
  ASSERT_EQ(t.stream_synchronize(second, 30'000'000'000ull), XP_SUCCESS) << last_error;
  EXPECT_EQ(byte, 1);
  ASSERT_EQ(t.event_synchronize(end, 30'000'000'000ull), XP_SUCCESS) << last_error;
  float ms = -1.0f;
  ASSERT_EQ(t.event_elapsed(start, end, &ms), XP_SUCCESS) << last_error;
  EXPECT_GE(ms, 0.0f);
  EXPECT_LT(ms, 30000.0f);

  EXPECT_EQ(t.stream_synchronize(first, 30'000'000'000ull), XP_SUCCESS) << last_error;
  EXPECT_EQ(t.event_destroy(start), XP_SUCCESS);
  EXPECT_EQ(t.event_destroy(end), XP_SUCCESS);
  EXPECT_EQ(t.stream_destroy(first), XP_SUCCESS);
  EXPECT_EQ(t.stream_destroy(second), XP_SUCCESS);
  EXPECT_EQ(t.mem_free(ctx, 0, a.buffer), XP_SUCCESS) << last_error;
}

TEST(LevelZeroDevice, RejectsWhatIsNotSpirv) {
  REQUIRE_DEVICE();
  Session session;
  ASSERT_EQ(session.status(), XP_SUCCESS) << last_error;
  const char text[] = "__kernel void k(void) {}";
  xpbModule *module = nullptr;
  EXPECT_EQ(plugin().table.module_load(session.ctx(), 0, XP_MODULE_SPIRV, text, sizeof text,
                                       nullptr, &module),
            XP_ERROR_INVALID_VALUE);
  EXPECT_NE(last_error.find("not SPIR-V"), std::string::npos) << last_error;
  EXPECT_EQ(plugin().table.module_load(session.ctx(), 0, XP_MODULE_OPENCL_C, text, sizeof text,
                                       nullptr, &module),
            XP_ERROR_NOT_SUPPORTED);
}

// A host function runs after the work before it and holds back the work
// after it: what it reads was written before, what it writes is what later
// copies see.
TEST(LevelZeroDevice, HostFunctionsKeepStreamOrder) {
  REQUIRE_DEVICE();
  Session session;
  ASSERT_EQ(session.status(), XP_SUCCESS) << last_error;
  const xpbBackend &t = plugin().table;
  xpbContext *ctx = session.ctx();
  constexpr size_t kBytes = 1 << 20;
  xpbAllocation a{};
  ASSERT_EQ(t.mem_alloc(ctx, 0, kBytes, &a), XP_SUCCESS) << last_error;
  xpbStream *stream = nullptr;
  ASSERT_EQ(t.stream_create(ctx, 0, &stream), XP_SUCCESS) << last_error;
  struct Shared {
    std::vector<unsigned char> seen = std::vector<unsigned char>(kBytes, 0);
    std::vector<unsigned char> source = std::vector<unsigned char>(kBytes, 0x11);
    std::atomic<bool> saw_fill{false};
  } shared;
  std::vector<unsigned char> out(kBytes, 0);
  for (int round = 0; round < 3; ++round) {
    const int fill = 0x30 + round;
    ASSERT_EQ(t.memset_async(stream, {a.buffer, 0, nullptr}, fill, kBytes), XP_SUCCESS);
    ASSERT_EQ(
        t.memcpy_async(stream, {nullptr, 0, shared.seen.data()}, {a.buffer, 0, nullptr}, kBytes),
        XP_SUCCESS);
    ASSERT_EQ(t.launch_host_func(
                  stream,
                  [](void *data) {
                    auto *s = static_cast<Shared *>(data);
                    std::this_thread::sleep_for(std::chrono::milliseconds(30));
                    s->saw_fill = s->seen[0] == s->seen[kBytes - 1] && s->seen[0] >= 0x30;
                    std::memset(s->source.data(), s->seen[0] + 0x40, kBytes);
                  },
                  &shared),
              XP_SUCCESS)
        << last_error;
    ASSERT_EQ(
        t.memcpy_async(stream, {a.buffer, 0, nullptr}, {nullptr, 0, shared.source.data()}, kBytes),
        XP_SUCCESS);
    ASSERT_EQ(t.memcpy_async(stream, {nullptr, 0, out.data()}, {a.buffer, 0, nullptr}, kBytes),
              XP_SUCCESS);
    ASSERT_EQ(t.stream_synchronize(stream, 30'000'000'000ull), XP_SUCCESS) << last_error;
    EXPECT_TRUE(shared.saw_fill.load()) << "round " << round;
    EXPECT_EQ(out[0], fill + 0x40) << "round " << round;
    EXPECT_EQ(out[kBytes - 1], fill + 0x40) << "round " << round;
  }
  EXPECT_EQ(t.stream_destroy(stream), XP_SUCCESS) << last_error;
  EXPECT_EQ(t.mem_free(ctx, 0, a.buffer), XP_SUCCESS) << last_error;
}

// An event recorded behind a host function completes only after it, and
// another stream can wait for it on the device.
TEST(LevelZeroDevice, EventsBehindHostFunctions) {
  REQUIRE_DEVICE();
  Session session;
  ASSERT_EQ(session.status(), XP_SUCCESS) << last_error;
  const xpbBackend &t = plugin().table;
  xpbContext *ctx = session.ctx();
  xpbStream *first = nullptr, *second = nullptr;
  ASSERT_EQ(t.stream_create(ctx, 0, &first), XP_SUCCESS) << last_error;
  ASSERT_EQ(t.stream_create(ctx, 0, &second), XP_SUCCESS) << last_error;
  xpbEvent *event = nullptr;
  ASSERT_EQ(t.event_create(ctx, 0, XP_EVENT_DISABLE_TIMING, &event), XP_SUCCESS) << last_error;
  xpbAllocation a{};
  ASSERT_EQ(t.mem_alloc(ctx, 0, 4096, &a), XP_SUCCESS) << last_error;
  struct Shared {
    std::atomic<bool> done{false};
    unsigned char value = 0;
  } shared;
  ASSERT_EQ(t.launch_host_func(
                first,
                [](void *data) {
                  auto *s = static_cast<Shared *>(data);
                  std::this_thread::sleep_for(std::chrono::milliseconds(100));
                  s->value = 0x66;
                  s->done = true;
                },
                &shared),
            XP_SUCCESS);
  ASSERT_EQ(t.memcpy_async(first, {a.buffer, 0, nullptr}, {nullptr, 0, &shared.value}, 1),
            XP_SUCCESS);
  ASSERT_EQ(t.event_record(event, first), XP_SUCCESS) << last_error;
  EXPECT_EQ(t.event_query(event), XP_ERROR_NOT_READY);
  EXPECT_EQ(t.stream_query(first), XP_ERROR_NOT_READY);
  const xpStatus waited = t.stream_wait_event(second, event);
  ASSERT_TRUE(waited == XP_SUCCESS || waited == XPB_FALLBACK) << waited << " " << last_error;
  unsigned char seen = 0;
  if (waited == XP_SUCCESS) {
    ASSERT_EQ(t.memcpy_async(second, {nullptr, 0, &seen}, {a.buffer, 0, nullptr}, 1), XP_SUCCESS);
  }
  EXPECT_EQ(t.event_synchronize(event, 1'000'000), XP_ERROR_TIMEOUT);
  EXPECT_NE(last_error.find("not reached"), std::string::npos) << last_error;
  ASSERT_EQ(t.stream_synchronize(second, 30'000'000'000ull), XP_SUCCESS) << last_error;
  if (waited == XP_SUCCESS) {
    EXPECT_EQ(seen, 0x66);
  }
  ASSERT_EQ(t.event_synchronize(event, 30'000'000'000ull), XP_SUCCESS) << last_error;
  EXPECT_TRUE(shared.done.load());
  EXPECT_EQ(t.event_query(event), XP_SUCCESS);
  EXPECT_EQ(t.stream_synchronize(first, 30'000'000'000ull), XP_SUCCESS) << last_error;
  EXPECT_EQ(t.event_destroy(event), XP_SUCCESS);
  EXPECT_EQ(t.stream_destroy(first), XP_SUCCESS);
  EXPECT_EQ(t.stream_destroy(second), XP_SUCCESS);
  EXPECT_EQ(t.mem_free(ctx, 0, a.buffer), XP_SUCCESS);
}

TEST(LevelZeroDevice, ElapsedTimeCoversAHostFunction) {
  REQUIRE_DEVICE();
  Session session;
  ASSERT_EQ(session.status(), XP_SUCCESS) << last_error;
  const xpbBackend &t = plugin().table;
  xpbContext *ctx = session.ctx();
  xpbStream *stream = nullptr;
  ASSERT_EQ(t.stream_create(ctx, 0, &stream), XP_SUCCESS) << last_error;
  xpbEvent *start = nullptr, *end = nullptr, *plain = nullptr;
  ASSERT_EQ(t.event_create(ctx, 0, XP_EVENT_DEFAULT, &start), XP_SUCCESS);
  ASSERT_EQ(t.event_create(ctx, 0, XP_EVENT_DEFAULT, &end), XP_SUCCESS);
  ASSERT_EQ(t.event_create(ctx, 0, XP_EVENT_DISABLE_TIMING, &plain), XP_SUCCESS);
  float ms = 0;
  EXPECT_EQ(t.event_elapsed(start, end, &ms), XP_ERROR_INVALID_VALUE);  // never recorded
  ASSERT_EQ(t.event_record(start, stream), XP_SUCCESS) << last_error;
  ASSERT_EQ(t.launch_host_func(
                stream, [](void *) { std::this_thread::sleep_for(std::chrono::milliseconds(40)); },
                nullptr),
            XP_SUCCESS);
  ASSERT_EQ(t.event_record(end, stream), XP_SUCCESS) << last_error;
  ASSERT_EQ(t.event_record(plain, stream), XP_SUCCESS) << last_error;
  ASSERT_EQ(t.stream_synchronize(stream, 30'000'000'000ull), XP_SUCCESS) << last_error;
  ASSERT_EQ(t.event_elapsed(start, end, &ms), XP_SUCCESS) << last_error;
  EXPECT_GE(ms, 30.0f);
  EXPECT_LT(ms, 5000.0f);
  float back = 0;
  ASSERT_EQ(t.event_elapsed(end, start, &back), XP_SUCCESS) << last_error;
  EXPECT_LT(back, 0.0f);
  EXPECT_EQ(t.event_elapsed(start, plain, &ms), XP_ERROR_INVALID_VALUE);
  EXPECT_NE(last_error.find("XP_EVENT_DISABLE_TIMING"), std::string::npos) << last_error;
  // Recording again while streams may still reference the old record.
  for (int i = 0; i < 600; ++i) ASSERT_EQ(t.event_record(start, stream), XP_SUCCESS);
  ASSERT_EQ(t.stream_synchronize(stream, 30'000'000'000ull), XP_SUCCESS) << last_error;
  for (xpbEvent *event : {start, end, plain}) EXPECT_EQ(t.event_destroy(event), XP_SUCCESS);
  EXPECT_EQ(t.stream_destroy(stream), XP_SUCCESS);
}

// Freeing memory waits for work that uses it (zeMemFree requires it).
TEST(LevelZeroDevice, FreeWaitsForQueuedWork) {
  REQUIRE_DEVICE();
  Session session;
  ASSERT_EQ(session.status(), XP_SUCCESS) << last_error;
  const xpbBackend &t = plugin().table;
  xpbContext *ctx = session.ctx();
  xpbAllocation a{};
  ASSERT_EQ(t.mem_alloc(ctx, 0, 1 << 20, &a), XP_SUCCESS) << last_error;
  xpbStream *stream = nullptr;
  ASSERT_EQ(t.stream_create(ctx, 0, &stream), XP_SUCCESS) << last_error;
  ASSERT_EQ(t.launch_host_func(
                stream, [](void *) { std::this_thread::sleep_for(std::chrono::milliseconds(50)); },
                nullptr),
            XP_SUCCESS);
  ASSERT_EQ(t.memset_async(stream, {a.buffer, 0, nullptr}, 7, 1 << 20), XP_SUCCESS);
  EXPECT_EQ(t.mem_free(ctx, 0, a.buffer), XP_SUCCESS) << last_error;
  EXPECT_EQ(t.stream_query(stream), XP_SUCCESS);
  EXPECT_EQ(t.stream_synchronize(stream, 30'000'000'000ull), XP_SUCCESS) << last_error;
  EXPECT_EQ(t.stream_destroy(stream), XP_SUCCESS);
}

TEST(LevelZeroDevice, KernelsFromSpirv) {
  REQUIRE_DEVICE();
  Session session;
  ASSERT_EQ(session.status(), XP_SUCCESS) << last_error;
  const xpbBackend &t = plugin().table;
  xpbContext *ctx = session.ctx();
  xpbModule *module = nullptr;
  ASSERT_EQ(
      t.module_load(ctx, 0, XP_MODULE_SPIRV, kAddOneSpirv, sizeof kAddOneSpirv, nullptr, &module),
      XP_SUCCESS)
      << last_error;
  xpbKernel *add_one = nullptr, *add_one_local = nullptr, *missing = nullptr;
  ASSERT_EQ(t.kernel_get(module, "add_one", &add_one), XP_SUCCESS) << last_error;
  ASSERT_EQ(t.kernel_get(module, "add_one_local", &add_one_local), XP_SUCCESS) << last_error;
  EXPECT_EQ(t.kernel_get(module, "add_two", &missing), XP_ERROR_NOT_FOUND);
  EXPECT_NE(last_error.find("add_one_local"), std::string::npos) << last_error;

  constexpr size_t kBytes = 100000;
  xpbAllocation a{};
  ASSERT_EQ(t.mem_alloc(ctx, 0, kBytes, &a), XP_SUCCESS) << last_error;
  xpbStream *stream = nullptr;
  ASSERT_EQ(t.stream_create(ctx, 0, &stream), XP_SUCCESS) << last_error;
  ASSERT_EQ(t.memset_async(stream, {a.buffer, 0, nullptr}, 5, kBytes), XP_SUCCESS);
  void *pointer = a.address;
  uint64_t count = kBytes;
  void *args[] = {&pointer, &count};
  const size_t sizes[] = {sizeof pointer, sizeof count};
  const xpDim3 grid{(kBytes + 255) / 256, 1, 1}, block{256, 1, 1};
  ASSERT_EQ(t.kernel_launch(stream, add_one, grid, block, 0, args, sizes, 2), XP_SUCCESS)
      << last_error;
  // Dynamic local memory is the trailing argument.
  ASSERT_EQ(t.kernel_launch(stream, add_one_local, grid, block, 256, args, sizes, 2), XP_SUCCESS)
      << last_error;
  // Wrong argument counts are refused before anything is set.
  EXPECT_EQ(t.kernel_launch(stream, add_one_local, grid, block, 0, args, sizes, 2),
            XP_ERROR_INVALID_VALUE);
  EXPECT_NE(last_error.find("takes 3 argument(s); 2 given"), std::string::npos) << last_error;
  EXPECT_EQ(t.kernel_launch(stream, add_one, grid, block, 0, args, sizes, 1),
            XP_ERROR_INVALID_VALUE);
  std::vector<unsigned char> out(kBytes, 0);
  ASSERT_EQ(t.memcpy_async(stream, {nullptr, 0, out.data()}, {a.buffer, 0, nullptr}, kBytes),
            XP_SUCCESS);
  ASSERT_EQ(t.stream_synchronize(stream, 30'000'000'000ull), XP_SUCCESS) << last_error;
  EXPECT_EQ(out[0], 7);
  EXPECT_EQ(out[kBytes - 1], 7);
  EXPECT_EQ(t.stream_destroy(stream), XP_SUCCESS);
  EXPECT_EQ(t.module_unload(module), XP_SUCCESS) << last_error;
  EXPECT_EQ(t.mem_free(ctx, 0, a.buffer), XP_SUCCESS) << last_error;
}

TEST(LevelZeroDevice, BuildFailuresCarryTheLog) {
  REQUIRE_DEVICE();
  Session session;
  ASSERT_EQ(session.status(), XP_SUCCESS) << last_error;
  const xpbBackend &t = plugin().table;
  // A SPIR-V header followed by an instruction of length zero.
  const uint32_t broken[] = {0x07230203, 0x00010000, 0, 8, 0, 0x00000000};
  xpbModule *module = nullptr;
  const xpStatus status =
      t.module_load(session.ctx(), 0, XP_MODULE_SPIRV, broken, sizeof broken, nullptr, &module);
  EXPECT_TRUE(status == XP_ERROR_BUILD || status == XP_ERROR_INVALID_VALUE) << status;
  EXPECT_EQ(last_error.rfind("zeModuleCreate: ", 0), 0u) << last_error;
  const char *library = std::getenv("XPOOL_LEVEL_ZERO_LIBRARY");
  if (library != nullptr && std::strstr(library, "fake") != nullptr) {
    EXPECT_EQ(t.module_load(session.ctx(), 0, XP_MODULE_SPIRV, kAddOneSpirv, sizeof kAddOneSpirv,
                            "-fake-build-error", &module),
              XP_ERROR_BUILD);
    EXPECT_NE(last_error.find("ZE_RESULT_ERROR_MODULE_BUILD_FAILURE (0x70000004)"),
              std::string::npos)
        << last_error;
    EXPECT_NE(last_error.find("fake build failure requested"), std::string::npos) << last_error;
  }
}

TEST(LevelZeroDevice, PeerCopies) {
  REQUIRE_DEVICE();
  Session session;
  ASSERT_EQ(session.status(), XP_SUCCESS) << last_error;
  const xpbBackend &t = plugin().table;
  xpbContext *ctx = session.ctx();
  if (t.device_count(ctx) < 2) GTEST_SKIP() << "one Level Zero GPU only";
  constexpr size_t kBytes = 1 << 20;
  xpbAllocation on0{}, on1{};
  ASSERT_EQ(t.mem_alloc(ctx, 0, kBytes, &on0), XP_SUCCESS) << last_error;
  ASSERT_EQ(t.mem_alloc(ctx, 1, kBytes, &on1), XP_SUCCESS) << last_error;
  xpbStream *stream0 = nullptr, *stream1 = nullptr;
  ASSERT_EQ(t.stream_create(ctx, 0, &stream0), XP_SUCCESS) << last_error;
  ASSERT_EQ(t.stream_create(ctx, 1, &stream1), XP_SUCCESS) << last_error;
  ASSERT_EQ(t.memset_async(stream0, {on0.buffer, 0, nullptr}, 0x42, kBytes), XP_SUCCESS);
  xpbEvent *filled = nullptr;
  ASSERT_EQ(t.event_create(ctx, 0, XP_EVENT_DISABLE_TIMING, &filled), XP_SUCCESS);
  ASSERT_EQ(t.event_record(filled, stream0), XP_SUCCESS) << last_error;
  // A stream of device 1 waits for an event of device 0, then copies.
  const xpStatus waited = t.stream_wait_event(stream1, filled);
  if (waited == XPB_FALLBACK) {
    ASSERT_EQ(t.event_synchronize(filled, 30'000'000'000ull), XP_SUCCESS) << last_error;
  } else {
    ASSERT_EQ(waited, XP_SUCCESS) << last_error;
  }
  const xpStatus copied = t.memcpy_peer_async(stream1, 1, {on1.buffer, 0, nullptr}, 0,
                                              {on0.buffer, 0, nullptr}, kBytes);
  if (copied == XPB_FALLBACK) GTEST_SKIP() << "no peer access between the two devices";
  ASSERT_EQ(copied, XP_SUCCESS) << last_error;
  std::vector<unsigned char> out(kBytes, 0);
  ASSERT_EQ(t.memcpy_async(stream1, {nullptr, 0, out.data()}, {on1.buffer, 0, nullptr}, kBytes),
            XP_SUCCESS);
  ASSERT_EQ(t.stream_synchronize(stream1, 30'000'000'000ull), XP_SUCCESS) << last_error;
  EXPECT_EQ(out[0], 0x42);
  EXPECT_EQ(out[kBytes - 1], 0x42);
  EXPECT_EQ(t.stream_synchronize(stream0, 30'000'000'000ull), XP_SUCCESS) << last_error;
  EXPECT_EQ(t.event_destroy(filled), XP_SUCCESS);
  EXPECT_EQ(t.stream_destroy(stream0), XP_SUCCESS);
  EXPECT_EQ(t.stream_destroy(stream1), XP_SUCCESS);
  EXPECT_EQ(t.mem_free(ctx, 0, on0.buffer), XP_SUCCESS);
  EXPECT_EQ(t.mem_free(ctx, 1, on1.buffer), XP_SUCCESS);
}

TEST(LevelZeroDevice, LargeAllocationsNameTheLimit) {
  REQUIRE_DEVICE();
  Session session;
  ASSERT_EQ(session.status(), XP_SUCCESS) << last_error;
  xpbAllocation huge{};
  const size_t bytes = size_t{1} << 50;  // 1 PiB
  EXPECT_EQ(plugin().table.mem_alloc(session.ctx(), 0, bytes, &huge), XP_ERROR_OUT_OF_MEMORY);
  EXPECT_NE(last_error.find(std::to_string(bytes)), std::string::npos) << last_error;
  EXPECT_NE(last_error.find("level_zero device 0"), std::string::npos) << last_error;
}

}  // namespace
