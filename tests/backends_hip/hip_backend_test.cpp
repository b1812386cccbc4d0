// The hip plugin, loaded the way the runtime loads it but without the
// runtime: its table, and what init answers on this machine. The test asks
// the HIP runtime itself (dlopen + hipGetDeviceCount) what the machine has,
// and holds the plugin to the matching answer: XP_ERROR_NO_DEVICE with the
// precise reason when there is no AMD GPU, working devices when there is.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "plugin_harness.h"
#include "xpool/backend.h"

namespace {

using xpool::harness::kHost;
using xpool::harness::last_error;
using xpool::harness::last_status;

// ---- the plugin ------------------------------------------------------------

const xpool::harness::LoadedPlugin &plugin() {
  static const xpool::harness::LoadedPlugin loaded = xpool::harness::LoadPlugin(XPOOL_HIP_PLUGIN);
  return loaded;
}

// ---- what this machine has, asked of HIP directly ----------------------------

struct Probe {
  std::string tried = "libamdhip64.so";  // the name the plugin reports when none opens
  bool library = false;                  // some libamdhip64 could be opened
  void *handle = nullptr;                // that library (never closed)
  int error = 0;                         // hipGetDeviceCount's answer
  std::string error_name;
  int count = 0;
  bool hasDevice() const { return library && error == 0 && count > 0; }
};

const Probe &probe() {
  static Probe result = [] {
    Probe p;
    void *hip = nullptr;
    // The plugin's own override, which the missing-library test uses.
    if (const char *env = std::getenv("XPOOL_HIP_LIBRARY"); env != nullptr && env[0] != '\0') {
      p.tried = env;
      hip = dlopen(env, RTLD_NOW | RTLD_LOCAL);
    } else {
      for (const char *name : {"libamdhip64.so", "libamdhip64.so.6", "libamdhip64.so.5"}) {
        if ((hip = dlopen(name, RTLD_NOW | RTLD_LOCAL)) != nullptr) break;
      }
    }
    if (hip == nullptr) return p;
    p.library = true;
    p.handle = hip;
    using CountFn = int (*)(int *);
    using NameFn = const char *(*)(int);
    auto count = reinterpret_cast<CountFn>(dlsym(hip, "hipGetDeviceCount"));
    auto name = reinterpret_cast<NameFn>(dlsym(hip, "hipGetErrorName"));
    if (count == nullptr || name == nullptr) {
      p.error = -1;
      return p;
    }
    p.error = count(&p.count);
    p.error_name = name(p.error);
    return p;  // the library stays loaded, as the plugin keeps it
  }();
  return result;
}

// init and shutdown around a test body.
struct Session : xpool::harness::Session {
  Session() : xpool::harness::Session(plugin().table) {}
};

#define REQUIRE_DEVICE()                                                                   \
  do {                                                                                     \
    if (!probe().hasDevice()) GTEST_SKIP() << "no AMD GPU visible to HIP on this machine"; \
  } while (0)

// ---- the table -------------------------------------------------------------

TEST(HipPlugin, LoadsAndExportsItsTable) {
  ASSERT_TRUE(plugin().error.empty()) << plugin().error;
  const xpbBackend &t = plugin().table;
  EXPECT_EQ(t.struct_size, sizeof(xpbBackend));
  EXPECT_EQ(t.abi_major, XPB_ABI_MAJOR);
  EXPECT_EQ(t.abi_minor, XPB_ABI_MINOR);
  ASSERT_NE(t.name, nullptr);
  EXPECT_STREQ(t.name, "hip");
  // The file name must carry the same name.
  EXPECT_NE(std::string(XPOOL_HIP_PLUGIN).find("libxpool_backend_hip.so"), std::string::npos);
}

TEST(HipPlugin, EveryEntryIsSet) {
  ASSERT_TRUE(plugin().error.empty()) << plugin().error;
  const xpbBackend &t = plugin().table;
  for (const auto &[name, entry] : xpool::harness::RequiredEntries(t)) {
    EXPECT_NE(entry, nullptr) << name;
  }
  // Optional in the ABI, implemented here.
  for (const auto &[name, entry] : xpool::harness::OptionalEntries(t)) {
    EXPECT_NE(entry, nullptr) << name;
  }
  for (const auto &[name, entry] : xpool::harness::InteropEntries(t)) {
    EXPECT_NE(entry, nullptr) << name;
  }
}

TEST(HipPlugin, WritesNoMoreThanAnOlderRuntimeKnows) {
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

TEST(HipPlugin, InitAnswersForThisMachine) {
  ASSERT_TRUE(plugin().error.empty()) << plugin().error;
  Session session;
  if (probe().hasDevice()) {
    ASSERT_EQ(session.status(), XP_SUCCESS) << last_error;
    ASSERT_NE(session.ctx(), nullptr);
    EXPECT_EQ(plugin().table.device_count(session.ctx()), probe().count);
    EXPECT_NE(std::string(plugin().table.vendor_version(session.ctx())).find("HIP"),
              std::string::npos);
    return;
  }
  EXPECT_EQ(session.status(), XP_ERROR_NO_DEVICE);
  EXPECT_EQ(session.ctx(), nullptr);
  EXPECT_EQ(last_status, XP_ERROR_NO_DEVICE);
  std::printf("hip init reason: %s\n", last_error.c_str());
  if (!probe().library) {
    EXPECT_EQ(last_error.rfind(probe().tried + " not found (no ROCm runtime", 0), 0u) << last_error;
  } else if (probe().error == 100) {
    // hipErrorNoDevice: the library is there, no GPU is.
    EXPECT_EQ(last_error.rfind("hipGetDeviceCount: hipErrorNoDevice (100): no ROCm-capable "
                               "device is detected",
                               0),
              0u)
        << last_error;
  } else if (probe().error != 0) {
    const std::string expected =
        "hipGetDeviceCount: " + probe().error_name + " (" + std::to_string(probe().error) + ")";
    EXPECT_EQ(last_error.rfind(expected, 0), 0u) << last_error;
  } else {
    EXPECT_NE(last_error.find("no ROCm-capable device"), std::string::npos) << last_error;
  }
}

TEST(HipPlugin, InitCanBeRepeated) {
  ASSERT_TRUE(plugin().error.empty()) << plugin().error;
  for (int i = 0; i < 3; ++i) {
    Session session;
    EXPECT_EQ(session.status(), probe().hasDevice() ? XP_SUCCESS : XP_ERROR_NO_DEVICE)
        << last_error;
  }
}

// ---- with a device -----------------------------------------------------------

TEST(HipDevice, PropertiesAreSane) {
  REQUIRE_DEVICE();
  Session session;
  ASSERT_EQ(session.status(), XP_SUCCESS) << last_error;
  const xpbBackend &t = plugin().table;
  for (int d = 0; d < t.device_count(session.ctx()); ++d) {
    xpDeviceProps props{};
    props.struct_size = sizeof props;
    ASSERT_EQ(t.device_props(session.ctx(), d, &props), XP_SUCCESS) << last_error;
    EXPECT_STREQ(props.vendor, "AMD");
    EXPECT_GT(std::strlen(props.name), 0u);
    EXPECT_EQ(std::string(props.stable_id).rfind("hip:", 0), 0u) << props.stable_id;
    EXPECT_EQ(std::strlen(props.stable_id), 4u + 32u) << props.stable_id;
    EXPECT_GT(props.memory_total, 0u);
    EXPECT_LE(props.memory_free, props.memory_total);
    EXPECT_GT(props.compute_units, 0);
    EXPECT_GE(props.max_threads_per_block, 64);
    EXPECT_GT(props.shared_mem_per_block, 0u);
    EXPECT_EQ(props.host_addressable, 0);
    uint64_t free_bytes = 0, total_bytes = 0;
    ASSERT_EQ(t.mem_info(session.ctx(), d, &free_bytes, &total_bytes), XP_SUCCESS) << last_error;
    EXPECT_GT(total_bytes, 0u);
    EXPECT_LE(free_bytes, total_bytes);
    // The same device, the same id, on a second look.
    xpDeviceProps again{};
    again.struct_size = sizeof again;
    ASSERT_EQ(t.device_props(session.ctx(), d, &again), XP_SUCCESS) << last_error;
    EXPECT_STREQ(props.stable_id, again.stable_id);
  }
}

TEST(HipDevice, CopyRoundTripWithFillAndHostFunction) {
  REQUIRE_DEVICE();
  Session session;
  ASSERT_EQ(session.status(), XP_SUCCESS) << last_error;
  const xpbBackend &t = plugin().table;
  xpbContext *ctx = session.ctx();
  constexpr size_t kBytes = size_t{4} << 20;
  xpbAllocation a{}, b{};
  ASSERT_EQ(t.mem_alloc(ctx, 0, kBytes, &a), XP_SUCCESS) << last_error;
  ASSERT_EQ(t.mem_alloc(ctx, 0, kBytes, &b), XP_SUCCESS) << last_error;
  EXPECT_EQ(a.address, a.buffer);  // unified addressing: the pointer is the address
  xpbStream *stream = nullptr;
  ASSERT_EQ(t.stream_create(ctx, 0, &stream), XP_SUCCESS) << last_error;

  std::vector<unsigned char> in(kBytes), out(kBytes, 0);
  for (size_t i = 0; i < kBytes; ++i) in[i] = static_cast<unsigned char>(i * 7 + 3);
  ASSERT_EQ(t.host_register(ctx, in.data(), kBytes), XP_SUCCESS) << last_error;

  // upload, device copy, a host function that must see the copy done and
  // hold back what follows, an overwrite of the first 4 KiB, download.
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

// The native stream is the hipStream_t the plugin enqueues on: a fill
// enqueued on it between two copies lands between them. device_make_current
// is hipSetDevice.
TEST(HipDevice, NativeStreamAndCurrentDevice) {
  REQUIRE_DEVICE();
  using GetDevice = int (*)(int *);
  using MemsetAsync = int (*)(void *, int, size_t, void *);
  auto get_device = reinterpret_cast<GetDevice>(dlsym(probe().handle, "hipGetDevice"));
  auto memset_async = reinterpret_cast<MemsetAsync>(dlsym(probe().handle, "hipMemsetAsync"));
  ASSERT_NE(get_device, nullptr);
  ASSERT_NE(memset_async, nullptr);
  Session session;
  ASSERT_EQ(session.status(), XP_SUCCESS) << last_error;
  const xpbBackend &t = plugin().table;
  xpbContext *ctx = session.ctx();
  const int count = t.device_count(ctx);
  int saved = -1;
  ASSERT_EQ(get_device(&saved), 0);
  for (int d = count - 1; d >= 0; --d) {
    ASSERT_EQ(t.device_make_current(ctx, d), XP_SUCCESS) << last_error;
    int current = -1;
    ASSERT_EQ(get_device(&current), 0);
    EXPECT_EQ(current, d);
  }

  xpbStream *stream = nullptr;
  ASSERT_EQ(t.stream_create(ctx, 0, &stream), XP_SUCCESS) << last_error;
  void *native = nullptr, *context = reinterpret_cast<void *>(1);
  int ordinal = -1;
  ASSERT_EQ(t.stream_native(stream, &native, &context, &ordinal), XP_SUCCESS) << last_error;
  ASSERT_NE(native, nullptr);
  EXPECT_EQ(context, nullptr);
  EXPECT_EQ(ordinal, 0);

  constexpr size_t kBytes = size_t{1} << 20;
  xpbAllocation a{};
  ASSERT_EQ(t.mem_alloc(ctx, 0, kBytes, &a), XP_SUCCESS) << last_error;
  std::vector<unsigned char> in(kBytes, 7), out(kBytes, 0);
  ASSERT_EQ(t.host_register(ctx, in.data(), kBytes), XP_SUCCESS) << last_error;
  ASSERT_EQ(t.host_register(ctx, out.data(), kBytes), XP_SUCCESS) << last_error;
  ASSERT_EQ(t.memcpy_async(stream, {a.buffer, 0, nullptr}, {nullptr, 0, in.data()}, kBytes),
            XP_SUCCESS)
      << last_error;
  ASSERT_EQ(memset_async(static_cast<char *>(a.buffer) + 4096, 0xee, kBytes / 2, native), 0);
  ASSERT_EQ(t.memcpy_async(stream, {nullptr, 0, out.data()}, {a.buffer, 0, nullptr}, kBytes),
            XP_SUCCESS)
      << last_error;
  ASSERT_EQ(t.stream_synchronize(stream, 30'000'000'000ull), XP_SUCCESS) << last_error;
  std::vector<unsigned char> expected(kBytes, 7);
  std::memset(expected.data() + 4096, 0xee, kBytes / 2);
  EXPECT_TRUE(out == expected);

  EXPECT_EQ(t.host_unregister(ctx, in.data()), XP_SUCCESS) << last_error;
  EXPECT_EQ(t.host_unregister(ctx, out.data()), XP_SUCCESS) << last_error;
  EXPECT_EQ(t.stream_destroy(stream), XP_SUCCESS) << last_error;
  EXPECT_EQ(t.mem_free(ctx, 0, a.buffer), XP_SUCCESS) << last_error;
  EXPECT_EQ(t.device_make_current(ctx, saved), XP_SUCCESS) << last_error;
}

TEST(HipDevice, EventsOrderStreamsAndTime) {
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

  EXPECT_EQ(t.stream_synchronize(first, 30'000'000'000ull), XP_SUCCESS) << last_error;
  EXPECT_EQ(t.event_destroy(start), XP_SUCCESS);
  EXPECT_EQ(t.event_destroy(end), XP_SUCCESS);
  EXPECT_EQ(t.stream_destroy(first), XP_SUCCESS);
  EXPECT_EQ(t.stream_destroy(second), XP_SUCCESS);
  EXPECT_EQ(t.mem_free(ctx, 0, a.buffer), XP_SUCCESS) << last_error;
}

TEST(HipDevice, AllocationFailureNamesTheError) {
  REQUIRE_DEVICE();
  Session session;
  ASSERT_EQ(session.status(), XP_SUCCESS) << last_error;
  xpbAllocation huge{};
  const size_t bytes = size_t{1} << 50;  // 1 PiB
  EXPECT_EQ(plugin().table.mem_alloc(session.ctx(), 0, bytes, &huge), XP_ERROR_OUT_OF_MEMORY);
  EXPECT_NE(last_error.find("hipMalloc: hipErrorOutOfMemory (2) allocating " +
                            std::to_string(bytes) + " bytes on hip device 0"),
            std::string::npos)
      << last_error;
}

TEST(HipDevice, RejectsWhatIsNotACodeObject) {
  REQUIRE_DEVICE();
  Session session;
  ASSERT_EQ(session.status(), XP_SUCCESS) << last_error;
  const char text[] = "not an ELF file";
  xpbModule *module = nullptr;
  EXPECT_EQ(plugin().table.module_load(session.ctx(), 0, XP_MODULE_HSACO, text, sizeof text,
                                       nullptr, &module),
            XP_ERROR_INVALID_VALUE);
  EXPECT_NE(last_error.find("not an AMD code object"), std::string::npos) << last_error;
  EXPECT_EQ(plugin().table.module_load(session.ctx(), 0, XP_MODULE_SPIRV, text, sizeof text,
                                       nullptr, &module),
            XP_ERROR_NOT_SUPPORTED);
}

// A host function runs after the work before it and holds back the work
// after it: what it reads was written before, what it writes is what later
// copies see.
TEST(HipDevice, HostFunctionsKeepStreamOrder) {
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

// An event recorded behind a host function completes only after it.
TEST(HipDevice, EventsBehindHostFunctions) {
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
  std::atomic<bool> done{false};
  ASSERT_EQ(t.launch_host_func(
                first,
                [](void *data) {
                  std::this_thread::sleep_for(std::chrono::milliseconds(100));
                  static_cast<std::atomic<bool> *>(data)->store(true);
                },
                &done),
            XP_SUCCESS);
  ASSERT_EQ(t.event_record(event, first), XP_SUCCESS) << last_error;
  EXPECT_EQ(t.event_query(event), XP_ERROR_NOT_READY);
  EXPECT_EQ(t.stream_query(first), XP_ERROR_NOT_READY);
  const xpStatus waited = t.stream_wait_event(second, event);
  EXPECT_TRUE(waited == XP_SUCCESS || waited == XPB_FALLBACK) << waited << " " << last_error;
  // A short deadline passes first, with a message.
  EXPECT_EQ(t.event_synchronize(event, 1'000'000), XP_ERROR_TIMEOUT);
  EXPECT_NE(last_error.find("not reached"), std::string::npos) << last_error;
  ASSERT_EQ(t.event_synchronize(event, 30'000'000'000ull), XP_SUCCESS) << last_error;
  EXPECT_TRUE(done.load());
  EXPECT_EQ(t.event_query(event), XP_SUCCESS);
  EXPECT_EQ(t.stream_synchronize(first, 30'000'000'000ull), XP_SUCCESS) << last_error;
  EXPECT_EQ(t.stream_synchronize(second, 30'000'000'000ull), XP_SUCCESS) << last_error;
  EXPECT_EQ(t.event_destroy(event), XP_SUCCESS);
  EXPECT_EQ(t.stream_destroy(first), XP_SUCCESS);
  EXPECT_EQ(t.stream_destroy(second), XP_SUCCESS);
}

// Freeing memory waits for work that uses it, even work still queued
// behind a host function (hipFree's implicit device synchronisation).
TEST(HipDevice, FreeWaitsForQueuedWork) {
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

const char kAddOne[] = R"(
#include <hip/hip_runtime.h>
extern "C" __global__ void add_one(unsigned char *p, size_t n) {
  size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
  if (i < n) p[i] += 1;
}
)";

TEST(HipDevice, KernelsFromHipSource) {
  REQUIRE_DEVICE();
  Session session;
  ASSERT_EQ(session.status(), XP_SUCCESS) << last_error;
  const xpbBackend &t = plugin().table;
  xpbContext *ctx = session.ctx();
  xpbModule *module = nullptr;
  ASSERT_EQ(t.module_load(ctx, 0, XP_MODULE_HIP_CPP, kAddOne, sizeof kAddOne - 1, nullptr, &module),
            XP_SUCCESS)
      << last_error;
  xpbKernel *kernel = nullptr;
  ASSERT_EQ(t.kernel_get(module, "add_one", &kernel), XP_SUCCESS) << last_error;
  xpbKernel *again = nullptr;
  ASSERT_EQ(t.kernel_get(module, "add_one", &again), XP_SUCCESS) << last_error;
  EXPECT_EQ(kernel, again);
  xpbKernel *missing = nullptr;
  EXPECT_EQ(t.kernel_get(module, "no_such_kernel", &missing), XP_ERROR_NOT_FOUND);
  EXPECT_NE(last_error.find("no_such_kernel"), std::string::npos) << last_error;

  constexpr size_t kBytes = 100000;
  xpbAllocation a{};
  ASSERT_EQ(t.mem_alloc(ctx, 0, kBytes, &a), XP_SUCCESS) << last_error;
  xpbStream *stream = nullptr;
  ASSERT_EQ(t.stream_create(ctx, 0, &stream), XP_SUCCESS) << last_error;
  ASSERT_EQ(t.memset_async(stream, {a.buffer, 0, nullptr}, 5, kBytes), XP_SUCCESS);
  for (int i = 0; i < 2; ++i) {
    // The argument storage is reused at once: the launch must have copied it.
    void *pointer = a.address;
    size_t count = kBytes;
    void *args[] = {&pointer, &count};
    const size_t sizes[] = {sizeof pointer, sizeof count};
    ASSERT_EQ(t.kernel_launch(stream, kernel, {(kBytes + 255) / 256, 1, 1}, {256, 1, 1}, 0, args,
                              sizes, 2),
              XP_SUCCESS)
        << last_error;
    pointer = nullptr;
    count = 0;
  }
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

TEST(HipDevice, BuildFailuresCarryTheLog) {
  REQUIRE_DEVICE();
  Session session;
  ASSERT_EQ(session.status(), XP_SUCCESS) << last_error;
  const char source[] = "#error xpool build test\n";
  xpbModule *module = nullptr;
  EXPECT_EQ(plugin().table.module_load(session.ctx(), 0, XP_MODULE_HIP_CPP, source,
                                       sizeof source - 1, nullptr, &module),
            XP_ERROR_BUILD);
  EXPECT_NE(last_error.find("hiprtcCompileProgram: HIPRTC_ERROR_COMPILATION (6)"),
            std::string::npos)
      << last_error;
  EXPECT_NE(last_error.find("xpool build test"), std::string::npos) << last_error;
}

TEST(HipDevice, PeerCopies) {
  REQUIRE_DEVICE();
  Session session;
  ASSERT_EQ(session.status(), XP_SUCCESS) << last_error;
  const xpbBackend &t = plugin().table;
  xpbContext *ctx = session.ctx();
  if (t.device_count(ctx) < 2) GTEST_SKIP() << "one AMD GPU only";
  constexpr size_t kBytes = 1 << 20;
  xpbAllocation on0{}, on1{};
  ASSERT_EQ(t.mem_alloc(ctx, 0, kBytes, &on0), XP_SUCCESS) << last_error;
  ASSERT_EQ(t.mem_alloc(ctx, 1, kBytes, &on1), XP_SUCCESS) << last_error;
  xpbStream *stream = nullptr;
  ASSERT_EQ(t.stream_create(ctx, 1, &stream), XP_SUCCESS) << last_error;
  xpbStream *stream0 = nullptr;
  ASSERT_EQ(t.stream_create(ctx, 0, &stream0), XP_SUCCESS) << last_error;
  ASSERT_EQ(t.memset_async(stream0, {on0.buffer, 0, nullptr}, 0x42, kBytes), XP_SUCCESS);
  ASSERT_EQ(t.stream_synchronize(stream0, 30'000'000'000ull), XP_SUCCESS) << last_error;
  const xpStatus copied =
      t.memcpy_peer_async(stream, 1, {on1.buffer, 0, nullptr}, 0, {on0.buffer, 0, nullptr}, kBytes);
  ASSERT_EQ(copied, XP_SUCCESS) << last_error;
  std::vector<unsigned char> out(kBytes, 0);
  ASSERT_EQ(t.memcpy_async(stream, {nullptr, 0, out.data()}, {on1.buffer, 0, nullptr}, kBytes),
            XP_SUCCESS);
  ASSERT_EQ(t.stream_synchronize(stream, 30'000'000'000ull), XP_SUCCESS) << last_error;
  EXPECT_EQ(out[0], 0x42);
  EXPECT_EQ(out[kBytes - 1], 0x42);
  EXPECT_EQ(t.stream_destroy(stream), XP_SUCCESS);
  EXPECT_EQ(t.stream_destroy(stream0), XP_SUCCESS);
  EXPECT_EQ(t.mem_free(ctx, 0, on0.buffer), XP_SUCCESS);
  EXPECT_EQ(t.mem_free(ctx, 1, on1.buffer), XP_SUCCESS);
}

}  // namespace
