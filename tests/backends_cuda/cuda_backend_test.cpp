// Load test of the cuda backend plugin, driven through its table the way
// the runtime drives it, with a fake xpbHostApi.
//
// Without libcuda.so.1 (development machines) init must fail with
// XP_ERROR_NO_DEVICE and a reason naming the library; every test that needs
// a driver is skipped. With a driver (a GPU machine, or the mock driver of
// this folder put first on LD_LIBRARY_PATH) the whole device half runs:
// properties, copies, host functions, events, NVRTC and PTX modules.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <memory>
#include <numeric>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "common/cuda_driver_calls.h"
#include "plugin_harness.h"
#include "xpool/backend.h"

#ifndef XPOOL_CUDA_PLUGIN
#error "XPOOL_CUDA_PLUGIN must name the built plugin"
#endif

namespace {

using xpool::harness::kHost;
using xpool::harness::last_error;
using xpool::harness::last_status;

// ---- the plugin and the driver ------------------------------------------------

const xpool::harness::LoadedPlugin &LoadPlugin() {
  static const xpool::harness::LoadedPlugin plugin = xpool::harness::LoadPlugin(XPOOL_CUDA_PLUGIN);
  return plugin;
}

xpbBackend Table() {
  return LoadPlugin().table;
}

// libcuda.so.1 as this process would find it, or nullptr.
void *Driver() {
  static void *driver = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  return driver;
}

bool IsMockDriver() {
  return Driver() != nullptr && dlsym(Driver(), "xpoolMockCudaViolations") != nullptr;
}

// The mock's violations (0 with a real driver).
int MockViolations(std::string *first) {
  if (!IsMockDriver()) return 0;
  using Fn = int (*)(char *, size_t);
  auto fn = reinterpret_cast<Fn>(dlsym(Driver(), "xpoolMockCudaViolations"));
  char text[512] = {};
  const int count = fn(text, sizeof text);
  *first = text;
  return count;
}

void *DriverEntry(const char *name) {
  return xpooltest::CudaDriverEntry(Driver(), name);
}
void *CurrentContext() {
  return xpooltest::CudaCurrentContext(Driver());
}

// The mock's device of a stream it created, -1 for anything else; -2 with a
// real driver, which cannot tell.
int MockStreamDevice(void *stream) {
  if (!IsMockDriver()) return -2;
  using Fn = int (*)(void *);
  auto fn = reinterpret_cast<Fn>(dlsym(Driver(), "xpoolMockCudaStreamDevice"));
  return fn != nullptr ? fn(stream) : -3;
}

#define ASSERT_XP(call)                                                   \
  do {                                                                    \
    const xpStatus status_ = (call);                                      \
    ASSERT_EQ(status_, XP_SUCCESS) << #call << " failed: " << last_error; \
  } while (0)
#define EXPECT_XP(call)                                                   \
  do {                                                                    \
    const xpStatus status_ = (call);                                      \
    EXPECT_EQ(status_, XP_SUCCESS) << #call << " failed: " << last_error; \
  } while (0)

#if defined(XPOOL_CUDA_EXPECT_MOCK)
TEST(CudaPluginMock, RunsAgainstTheMockDriver) {
  ASSERT_TRUE(IsMockDriver()) << "libcuda.so.1 is not the mock: is LD_LIBRARY_PATH set?";
}
#endif

// ---- the table -----------------------------------------------------------------

TEST(CudaPluginTable, DescribesItself) {
  const xpool::harness::LoadedPlugin &plugin = LoadPlugin();
  ASSERT_NE(plugin.get_table, nullptr) << XPOOL_CUDA_PLUGIN << ": " << plugin.error;
  xpbBackend table = Table();
  EXPECT_EQ(table.struct_size, sizeof(xpbBackend));
  EXPECT_EQ(table.abi_major, XPB_ABI_MAJOR);
  EXPECT_EQ(table.abi_minor, XPB_ABI_MINOR);
  ASSERT_NE(table.name, nullptr);
  EXPECT_STREQ(table.name, "cuda");
  EXPECT_NE(std::string(XPOOL_CUDA_PLUGIN).find("libxpool_backend_cuda.so"), std::string::npos);
}

TEST(CudaPluginTable, FillsEveryEntry) {
  const xpbBackend t = Table();
  for (const auto &[name, entry] : xpool::harness::RequiredEntries(t)) {
    EXPECT_NE(entry, nullptr) << name;
  }
  // optional, but this backend has them all
  for (const auto &[name, entry] : xpool::harness::OptionalEntries(t)) {
    EXPECT_NE(entry, nullptr) << name;
  }
  for (const auto &[name, entry] : xpool::harness::InteropEntries(t)) {
    EXPECT_NE(entry, nullptr) << name;
  }
}

TEST(CudaPluginTable, WritesNoMoreThanTheRuntimeKnows) {
  const xpool::harness::LoadedPlugin &plugin = LoadPlugin();
  ASSERT_NE(plugin.get_table, nullptr) << plugin.error;
  // An older runtime knows only the required part of the table.
  const xpool::harness::ShorterTable shorter =
      xpool::harness::FetchShorterTable(plugin.get_table, offsetof(xpbBackend, host_register));
  ASSERT_EQ(shorter.status, XP_SUCCESS);
  EXPECT_EQ(shorter.table.struct_size, offsetof(xpbBackend, host_register));
  ASSERT_EQ(shorter.overrun, xpool::harness::ShorterTable::kNone)
      << "byte " << shorter.overrun << " written past the runtime's table";
}

// ---- init without and with a driver ------------------------------------------------

TEST(CudaPluginInit, WithoutDriverReportsNoDevice) {
  if (Driver() != nullptr) GTEST_SKIP() << "libcuda.so.1 is present on this machine";
  const xpbBackend table = Table();
  ASSERT_NE(table.init, nullptr);
  xpbContext *ctx = nullptr;
  last_error.clear();
  EXPECT_EQ(table.init(&kHost, &ctx), XP_ERROR_NO_DEVICE);
  EXPECT_EQ(ctx, nullptr);
  EXPECT_EQ(last_status, XP_ERROR_NO_DEVICE);
  EXPECT_NE(last_error.find("libcuda.so.1 not found (no NVIDIA driver)"), std::string::npos)
      << last_error;
  // The reason carries dlerror's text, which names the library again.
  EXPECT_GT(last_error.size(), std::strlen("libcuda.so.1 not found (no NVIDIA driver): "));
}

TEST(CudaPluginInit, WithDriverFindsDevices) {
  if (Driver() == nullptr) GTEST_SKIP() << "no libcuda.so.1 on this machine";
  const xpbBackend table = Table();
  for (int cycle = 0; cycle < 2; ++cycle) {  // init and shutdown twice
    xpbContext *ctx = nullptr;
    ASSERT_XP(table.init(&kHost, &ctx));
    ASSERT_NE(ctx, nullptr);
    EXPECT_GE(table.device_count(ctx), 1);
    const char *version = table.vendor_version(ctx);
    ASSERT_NE(version, nullptr);
    EXPECT_NE(std::string(version).find("CUDA "), std::string::npos) << version;
    table.shutdown(ctx);
  }
}

// ---- the device half ------------------------------------------------------------------

class CudaDevice : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (Driver() == nullptr) return;
    table_ = Table();
    if (table_.init == nullptr || table_.init(&kHost, &ctx_) != XP_SUCCESS) {
      init_error_ = last_error;
      ctx_ = nullptr;
    }
  }
  static void TearDownTestSuite() {
    if (ctx_ != nullptr) table_.shutdown(ctx_);
    ctx_ = nullptr;
  }
  void SetUp() override {
    if (Driver() == nullptr) GTEST_SKIP() << "no libcuda.so.1 on this machine";
    ASSERT_NE(ctx_, nullptr) << "init failed: " << init_error_;
    ASSERT_XP(table_.stream_create(ctx_, 0, &stream_));
  }
  void TearDown() override {
    if (stream_ != nullptr) {
      EXPECT_XP(table_.stream_synchronize(stream_, kTimeout));
      EXPECT_XP(table_.stream_destroy(stream_));
    }
    std::string first;
    EXPECT_EQ(MockViolations(&first), 0) << "the mock driver saw misuse; first: " << first;
  }

  // A device allocation freed at the end of the test.
  void *Alloc(size_t bytes, int device = 0) {
    xpbAllocation allocation{};
    EXPECT_XP(table_.mem_alloc(ctx_, device, bytes, &allocation));
    EXPECT_NE(allocation.buffer, nullptr);
    EXPECT_EQ(allocation.buffer, allocation.address) << "CUDA memory has unified addresses";
    allocations_.push_back({allocation.buffer, device});
    return allocation.buffer;
  }
  void FreeAll() {
    for (auto [buffer, device] : allocations_) EXPECT_XP(table_.mem_free(ctx_, device, buffer));
    allocations_.clear();
  }
  ~CudaDevice() override { FreeAll(); }

  static xpbMemRef Dev(void *buffer, size_t offset = 0) { return {buffer, offset, nullptr}; }
  static xpbMemRef Host(void *p) { return {nullptr, 0, p}; }

  static constexpr uint64_t kTimeout = uint64_t{60} * 1000000000;
  static inline xpbBackend table_{};
  static inline xpbContext *ctx_ = nullptr;
  static inline std::string init_error_;
  xpbStream *stream_ = nullptr;
  std::vector<std::pair<void *, int>> allocations_;
};

void SleepMs(void *ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(reinterpret_cast<intptr_t>(ms)));
}
void *Ms(intptr_t ms) {
  return reinterpret_cast<void *>(ms);
}

TEST_F(CudaDevice, PropertiesAreSane) {
  const int count = table_.device_count(ctx_);
  ASSERT_GE(count, 1);
  for (int i = 0; i < count; ++i) {
    xpDeviceProps props{};
    props.struct_size = sizeof props;
    ASSERT_XP(table_.device_props(ctx_, i, &props));
    SCOPED_TRACE("cuda device " + std::to_string(i) + " " + props.name);
    EXPECT_STREQ(props.vendor, "NVIDIA");
    EXPECT_GT(std::strlen(props.name), 0u);
    EXPECT_GT(props.memory_total, 0u);
    EXPECT_LE(props.memory_free, props.memory_total);
    EXPECT_GE(props.compute_major, 7);
    EXPECT_GT(props.compute_units, 0);
    EXPECT_GE(props.max_threads_per_block, 64);
    EXPECT_GE(props.shared_mem_per_block, 48u * 1024);
    EXPECT_TRUE(
        std::regex_match(props.pci_bus_id, std::regex("[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\\.0")))
        << props.pci_bus_id;
    EXPECT_TRUE(std::regex_match(props.stable_id, std::regex("cuda:[0-9a-f]{32}")))
        << props.stable_id;
    EXPECT_EQ(props.numa_node, -1);
    EXPECT_EQ(props.host_addressable, 0);
    uint64_t free_bytes = 0, total_bytes = 0;
    ASSERT_XP(table_.mem_info(ctx_, i, &free_bytes, &total_bytes));
    EXPECT_GT(total_bytes, 0u);
    EXPECT_LE(free_bytes, total_bytes);
  }
  xpDeviceProps props{};
  EXPECT_EQ(table_.device_props(ctx_, count, &props), XP_ERROR_INVALID_VALUE);
}

TEST_F(CudaDevice, CopyRoundTrip) {
  constexpr size_t kBytes = size_t{4} << 20;
  void *a = Alloc(kBytes);
  void *b = Alloc(kBytes);
  std::vector<uint8_t> source(kBytes), result(kBytes, 0);
  for (size_t i = 0; i < kBytes; ++i) source[i] = static_cast<uint8_t>(i * 7 + 3);
  // host -> a, fill the middle of a, a -> b (at an offset), b -> host
  ASSERT_XP(table_.memcpy_async(stream_, Dev(a), Host(source.data()), kBytes));
  ASSERT_XP(table_.memset_async(stream_, Dev(a, 1000), 0x5a, 5000));
  ASSERT_XP(table_.memcpy_async(stream_, Dev(b, 64), Dev(a), kBytes - 64));
  ASSERT_XP(table_.memcpy_async(stream_, Host(result.data()), Dev(b, 64), kBytes - 64));
  ASSERT_XP(table_.stream_synchronize(stream_, kTimeout));
  EXPECT_EQ(table_.stream_query(stream_), XP_SUCCESS);
  std::vector<uint8_t> expected(source.begin(), source.end() - 64);
  std::fill(expected.begin() + 1000, expected.begin() + 6000, 0x5a);
  EXPECT_TRUE(std::equal(expected.begin(), expected.end(), result.begin()));
}

TEST_F(CudaDevice, PinnedHostMemory) {
  constexpr size_t kBytes = size_t{1} << 20;
  std::vector<uint8_t> pinned(kBytes, 0x11), back(kBytes, 0);
  ASSERT_XP(table_.host_register(ctx_, pinned.data(), kBytes));
  void *a = Alloc(kBytes);
  ASSERT_XP(table_.memcpy_async(stream_, Dev(a), Host(pinned.data()), kBytes));
  ASSERT_XP(table_.memcpy_async(stream_, Host(back.data()), Dev(a), kBytes));
  ASSERT_XP(table_.stream_synchronize(stream_, kTimeout));
  EXPECT_EQ(back, pinned);
  ASSERT_XP(table_.host_unregister(ctx_, pinned.data()));
  EXPECT_XP(table_.host_unregister(ctx_, pinned.data()));  // not pinned any more: a no-op
}

TEST_F(CudaDevice, OutOfMemoryNamesTheCallAndTheSize) {
  xpbAllocation allocation{};
  const size_t huge = size_t{1} << 50;  // 1 PiB
  EXPECT_EQ(table_.mem_alloc(ctx_, 0, huge, &allocation), XP_ERROR_OUT_OF_MEMORY);
  const std::string message = last_error;
  EXPECT_NE(message.find("cuMemAlloc: CUDA_ERROR_OUT_OF_MEMORY"), std::string::npos) << message;
  EXPECT_NE(message.find(std::to_string(huge) + " bytes on cuda device 0"), std::string::npos)
      << message;
}

struct Ordered {
  std::vector<uint8_t> *buffer;
  uint8_t value;
  std::atomic<int> *ran;
};

void FillAfterSleep(void *data) {
  auto *work = static_cast<Ordered *>(data);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  std::fill(work->buffer->begin(), work->buffer->end(), work->value);
  work->ran->fetch_add(1);
}

// Later work waits for a host function: a copy enqueued after it reads what
// it wrote, for pinned and for pageable memory.
TEST_F(CudaDevice, HostFunctionHoldsLaterWork) {
  constexpr size_t kBytes = 256 * 1024;
  for (bool pinned : {true, false}) {
    SCOPED_TRACE(pinned ? "pinned" : "pageable");
    std::vector<uint8_t> input(kBytes, 1), output(kBytes, 0);
    if (pinned) ASSERT_XP(table_.host_register(ctx_, input.data(), kBytes));
    void *a = Alloc(kBytes);
    std::atomic<int> ran{0};
    Ordered work{&input, static_cast<uint8_t>(pinned ? 0x77 : 0x66), &ran};
    const auto start = std::chrono::steady_clock::now();
    ASSERT_XP(table_.launch_host_func(stream_, FillAfterSleep, &work));
    ASSERT_XP(table_.memcpy_async(stream_, Dev(a), Host(input.data()), kBytes));
    ASSERT_XP(table_.memcpy_async(stream_, Host(output.data()), Dev(a), kBytes));
    const auto enqueued = std::chrono::steady_clock::now() - start;
    EXPECT_LT(enqueued, std::chrono::milliseconds(80)) << "enqueueing waited for the host function";
    EXPECT_EQ(table_.stream_query(stream_), XP_ERROR_NOT_READY);
    ASSERT_XP(table_.stream_synchronize(stream_, kTimeout));
    EXPECT_EQ(ran.load(), 1);
    EXPECT_TRUE(
        std::all_of(output.begin(), output.end(), [&](uint8_t v) { return v == work.value; }))
        << "first byte " << int(output[0]);
    if (pinned) ASSERT_XP(table_.host_unregister(ctx_, input.data()));
  }
}

struct Counter {
  std::atomic<int> next{0};
  std::atomic<int> out_of_order{0};
};
struct Step {
  Counter *counter;
  int index;
};
void CountStep(void *data) {
  auto *step = static_cast<Step *>(data);
  if (step->counter->next.fetch_add(1) != step->index) step->counter->out_of_order.fetch_add(1);
}

TEST_F(CudaDevice, ManyHostFunctionsRunInOrder) {
  constexpr int kSteps = 2000;
  Counter counter;
  std::vector<Step> steps(kSteps);
  void *a = Alloc(4096);
  for (int i = 0; i < kSteps; ++i) {
    steps[static_cast<size_t>(i)] = {&counter, i};
    ASSERT_XP(table_.launch_host_func(stream_, CountStep, &steps[static_cast<size_t>(i)]));
    if (i % 100 == 0) ASSERT_XP(table_.memset_async(stream_, Dev(a), i & 0xff, 4096));
  }
  ASSERT_XP(table_.stream_synchronize(stream_, kTimeout));
  EXPECT_EQ(counter.next.load(), kSteps);
  EXPECT_EQ(counter.out_of_order.load(), 0);
}

// The runtime's host functions call back into the backend (staged copies):
// that must work from the backend's worker thread.
struct Nested {
  xpbBackend *table;
  xpbContext *ctx;
  void *device_buffer;
  std::vector<uint8_t> *host;
  xpStatus status = XP_ERROR_INTERNAL;
};
void CopyFromInside(void *data) {
  auto *nested = static_cast<Nested *>(data);
  xpbStream *inner = nullptr;
  nested->status = nested->table->stream_create(nested->ctx, 0, &inner);
  if (nested->status != XP_SUCCESS) return;
  nested->status =
      nested->table->memcpy_async(inner, {nullptr, 0, nested->host->data()},
                                  {nested->device_buffer, 0, nullptr}, nested->host->size());
  if (nested->status == XP_SUCCESS) {
    nested->status = nested->table->stream_synchronize(inner, uint64_t{10} * 1000000000);
  }
  nested->table->stream_destroy(inner);
}

TEST_F(CudaDevice, HostFunctionMayCallTheBackend) {
  constexpr size_t kBytes = 64 * 1024;
  void *a = Alloc(kBytes);
  std::vector<uint8_t> host(kBytes, 0);
  ASSERT_XP(table_.memset_async(stream_, Dev(a), 0x42, kBytes));
  Nested nested{&table_, ctx_, a, &host};
  ASSERT_XP(table_.launch_host_func(stream_, CopyFromInside, &nested));
  ASSERT_XP(table_.stream_synchronize(stream_, kTimeout));
  EXPECT_EQ(nested.status, XP_SUCCESS);
  EXPECT_TRUE(std::all_of(host.begin(), host.end(), [](uint8_t v) { return v == 0x42; }));
}

TEST_F(CudaDevice, SynchronizeTimesOut) {
  ASSERT_XP(table_.launch_host_func(stream_, SleepMs, Ms(500)));
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(table_.stream_synchronize(stream_, 50 * 1000000ull), XP_ERROR_TIMEOUT);
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_GE(waited, std::chrono::milliseconds(45));
  EXPECT_LT(waited, std::chrono::milliseconds(400));
  EXPECT_NE(last_error.find("still busy"), std::string::npos) << last_error;
  EXPECT_XP(table_.stream_synchronize(stream_, kTimeout));
}

TEST_F(CudaDevice, Events) {
  xpbEvent *e1 = nullptr, *e2 = nullptr, *untimed = nullptr;
  ASSERT_XP(table_.event_create(ctx_, 0, XP_EVENT_DEFAULT, &e1));
  ASSERT_XP(table_.event_create(ctx_, 0, XP_EVENT_DEFAULT, &e2));
  ASSERT_XP(table_.event_create(ctx_, 0, XP_EVENT_DISABLE_TIMING, &untimed));
  EXPECT_XP(table_.event_query(e1));  // never recorded: complete
  float ms = 0;
  EXPECT_EQ(table_.event_elapsed(e1, e2, &ms), XP_ERROR_INVALID_VALUE);
  ASSERT_XP(table_.event_record(e1, stream_));
  ASSERT_XP(table_.launch_host_func(stream_, SleepMs, Ms(40)));
  ASSERT_XP(table_.event_record(e2, stream_));
  ASSERT_XP(table_.event_record(untimed, stream_));
  EXPECT_EQ(table_.event_query(e2), XP_ERROR_NOT_READY);
  EXPECT_EQ(table_.event_synchronize(e2, 1000000), XP_ERROR_TIMEOUT);
  const xpStatus pending = table_.event_elapsed(e1, e2, &ms);
  EXPECT_TRUE(pending == XP_ERROR_NOT_READY || pending == XP_SUCCESS) << last_error;
  ASSERT_XP(table_.event_synchronize(e2, kTimeout));
  ASSERT_XP(table_.event_synchronize(untimed, kTimeout));
  EXPECT_XP(table_.event_query(e2));
  ASSERT_XP(table_.event_elapsed(e1, e2, &ms));
  EXPECT_GE(ms, 35.0f);
  EXPECT_LT(ms, 5000.0f);
  EXPECT_EQ(table_.event_elapsed(e1, untimed, &ms), XP_ERROR_INVALID_VALUE);
  EXPECT_NE(last_error.find("timing"), std::string::npos) << last_error;
  for (xpbEvent *e : {e1, e2, untimed}) EXPECT_XP(table_.event_destroy(e));
}

TEST_F(CudaDevice, StreamWaitsForEventOfAnotherStream) {
  constexpr size_t kBytes = 64 * 1024;
  void *a = Alloc(kBytes);
  xpbStream *other = nullptr;
  ASSERT_XP(table_.stream_create(ctx_, 0, &other));
  xpbEvent *done = nullptr;
  ASSERT_XP(table_.event_create(ctx_, 0, XP_EVENT_DISABLE_TIMING, &done));
  ASSERT_XP(table_.memset_async(stream_, Dev(a), 0, kBytes));
  ASSERT_XP(table_.stream_synchronize(stream_, kTimeout));
  ASSERT_XP(table_.launch_host_func(other, SleepMs, Ms(100)));
  ASSERT_XP(table_.memset_async(other, Dev(a), 7, kBytes));
  ASSERT_XP(table_.event_record(done, other));
  ASSERT_XP(table_.stream_wait_event(stream_, done));
  std::vector<uint8_t> host(kBytes, 0);
  ASSERT_XP(table_.memcpy_async(stream_, Host(host.data()), Dev(a), kBytes));
  ASSERT_XP(table_.stream_synchronize(stream_, kTimeout));
  EXPECT_TRUE(std::all_of(host.begin(), host.end(), [](uint8_t v) { return v == 7; }));
  EXPECT_XP(table_.event_destroy(done));
  EXPECT_XP(table_.stream_synchronize(other, kTimeout));
  EXPECT_XP(table_.stream_destroy(other));
}

TEST_F(CudaDevice, HostToHostAndHostFillsAreOrdered) {
  std::vector<uint8_t> a(1000, 1), b(1000, 0);
  ASSERT_XP(table_.launch_host_func(stream_, SleepMs, Ms(30)));
  ASSERT_XP(table_.memset_async(stream_, Host(a.data()), 9, a.size()));
  ASSERT_XP(table_.memcpy_async(stream_, Host(b.data()), Host(a.data()), a.size()));
  ASSERT_XP(table_.stream_synchronize(stream_, kTimeout));
  EXPECT_TRUE(std::all_of(b.begin(), b.end(), [](uint8_t v) { return v == 9; }));
}

TEST_F(CudaDevice, LeavesTheCallersContextAlone) {
  void *before = CurrentContext();
  void *a = Alloc(4096);
  ASSERT_XP(table_.memset_async(stream_, Dev(a), 1, 4096));
  ASSERT_XP(table_.stream_synchronize(stream_, kTimeout));
  uint64_t free_bytes = 0, total_bytes = 0;
  ASSERT_XP(table_.mem_info(ctx_, 0, &free_bytes, &total_bytes));
  EXPECT_EQ(CurrentContext(), before);
}

// ---- native handles --------------------------------------------------------------------

// Puts back the context that was current on this thread when it was made,
// and checks that the driver took it.
class RestoreContext {
 public:
  RestoreContext() : saved_(CurrentContext()) {}
  ~RestoreContext() {
    xpooltest::CudaSetCurrentContext(Driver(), saved_);
    EXPECT_EQ(CurrentContext(), saved_);
  }
  RestoreContext(const RestoreContext &) = delete;
  RestoreContext &operator=(const RestoreContext &) = delete;

 private:
  void *saved_;
};

TEST_F(CudaDevice, NativeHandlesAreTheCuStreamAndThePrimaryContext) {
  RestoreContext restore;
  void *native = nullptr, *context = nullptr;
  int ordinal = -1;
  ASSERT_XP(table_.stream_native(stream_, &native, &context, &ordinal));
  ASSERT_NE(native, nullptr);
  ASSERT_NE(context, nullptr);
  EXPECT_EQ(ordinal, 0);
  if (IsMockDriver()) {
    EXPECT_EQ(MockStreamDevice(native), 0) << "not a CUstream of the driver's";
  }
  // A live CUstream: the driver answers a query on it.
  using StreamQuery = int (*)(void *);
  auto stream_query = reinterpret_cast<StreamQuery>(DriverEntry("cuStreamQuery"));
  ASSERT_NE(stream_query, nullptr);
  ASSERT_XP(table_.device_make_current(ctx_, 0));
  EXPECT_EQ(CurrentContext(), context) << "device_make_current did not make the primary context "
                                          "(the stream's) current";
  EXPECT_EQ(stream_query(native), 0);
  // The backend's own calls leave it current.
  uint64_t free_bytes = 0, total_bytes = 0;
  ASSERT_XP(table_.mem_info(ctx_, 0, &free_bytes, &total_bytes));
  EXPECT_EQ(CurrentContext(), context);
  void *again = nullptr, *again_context = nullptr;
  int again_ordinal = -1;
  ASSERT_XP(table_.stream_native(stream_, &again, &again_context, &again_ordinal));
  EXPECT_EQ(again, native);
  EXPECT_EQ(again_context, context);

  if (table_.device_count(ctx_) >= 2) {
    xpbStream *other = nullptr;
    ASSERT_XP(table_.stream_create(ctx_, 1, &other));
    ASSERT_XP(table_.stream_native(other, &again, &again_context, &again_ordinal));
    EXPECT_NE(again, native);
    EXPECT_NE(again_context, context);
    EXPECT_EQ(again_ordinal, 1);
    if (IsMockDriver()) {
      EXPECT_EQ(MockStreamDevice(again), 1);
    }
    ASSERT_XP(table_.device_make_current(ctx_, 1));
    EXPECT_EQ(CurrentContext(), again_context);
    EXPECT_XP(table_.stream_synchronize(other, kTimeout));
    EXPECT_XP(table_.stream_destroy(other));
  }
}

// A fill enqueued on the native CUstream between two of the stream's copies
// lands between them: directly, behind a host function, and with the copies
// staged by host tasks (pageable memory behind a host function).
TEST_F(CudaDevice, NativeWorkIsOrderedWithTheStream) {
  RestoreContext restore;
  using MemsetD8Async = int (*)(unsigned long long, unsigned char, size_t, void *);
  auto memset_d8 = reinterpret_cast<MemsetD8Async>(DriverEntry("cuMemsetD8Async"));
  ASSERT_NE(memset_d8, nullptr);
  void *native = nullptr, *context = nullptr;
  int ordinal = -1;
  ASSERT_XP(table_.stream_native(stream_, &native, &context, &ordinal));
  // What a vendor library (NCCL) needs before it enqueues on this thread.
  ASSERT_XP(table_.device_make_current(ctx_, 0));
  constexpr size_t kBytes = size_t{1} << 20;
  constexpr size_t kAt = 4096, kLength = kBytes / 2;
  void *a = Alloc(kBytes);
  const char *const kModes[] = {"direct", "behind a host function",
                                "staged, behind a host function"};
  for (int mode = 0; mode < 3; ++mode) {
    SCOPED_TRACE(kModes[mode]);
    const bool pinned = mode != 2;
    std::vector<uint8_t> input(kBytes, 1), output(kBytes, 0);
    if (pinned) {
      ASSERT_XP(table_.host_register(ctx_, input.data(), kBytes));
      ASSERT_XP(table_.host_register(ctx_, output.data(), kBytes));
    }
    std::atomic<int> ran{0};
    Ordered work{&input, static_cast<uint8_t>(0x30 + mode), &ran};
    if (mode > 0) ASSERT_XP(table_.launch_host_func(stream_, FillAfterSleep, &work));
    ASSERT_XP(table_.memcpy_async(stream_, Dev(a), Host(input.data()), kBytes));
    ASSERT_EQ(memset_d8(reinterpret_cast<uintptr_t>(a) + kAt, 0xee, kLength, native), 0);
    ASSERT_XP(table_.memcpy_async(stream_, Host(output.data()), Dev(a), kBytes));
    ASSERT_XP(table_.stream_synchronize(stream_, kTimeout));
    EXPECT_EQ(ran.load(), mode > 0 ? 1 : 0);
    std::vector<uint8_t> expected(kBytes, mode > 0 ? work.value : 1);
    std::fill(expected.begin() + kAt, expected.begin() + kAt + kLength, 0xee);
    EXPECT_TRUE(expected == output) << "first bytes " << int(output[0]) << " " << int(output[kAt]);
    if (pinned) {
      ASSERT_XP(table_.host_unregister(ctx_, input.data()));
      ASSERT_XP(table_.host_unregister(ctx_, output.data()));
    }
  }
}

// ---- modules and kernels --------------------------------------------------------------

constexpr char kVectorAdd[] = R"(
extern "C" __global__ void vector_add(const float *a, const float *b, float *c, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) c[i] = a[i] + b[i];
}
)";

void RunVectorAdd(xpbBackend &table, xpbContext *ctx, xpbStream *stream, xpbModule *module,
                  CudaDevice *test) {
  (void)test;
  xpbKernel *kernel = nullptr;
  ASSERT_XP(table.kernel_get(module, "vector_add", &kernel));
  xpbKernel *again = nullptr;
  ASSERT_XP(table.kernel_get(module, "vector_add", &again));
  EXPECT_EQ(kernel, again);
  constexpr int kN = 100000;
  constexpr size_t kBytes = kN * sizeof(float);
  std::vector<float> x(kN), y(kN), z(kN, 0.0f);
  for (int i = 0; i < kN; ++i) {
    x[static_cast<size_t>(i)] = static_cast<float>(i);
    y[static_cast<size_t>(i)] = 0.5f * static_cast<float>(i) + 1.0f;
  }
  xpbAllocation a{}, b{}, c{};
  ASSERT_XP(table.mem_alloc(ctx, 0, kBytes, &a));
  ASSERT_XP(table.mem_alloc(ctx, 0, kBytes, &b));
  ASSERT_XP(table.mem_alloc(ctx, 0, kBytes, &c));
  ASSERT_XP(table.memcpy_async(stream, {a.buffer, 0, nullptr}, {nullptr, 0, x.data()}, kBytes));
  ASSERT_XP(table.memcpy_async(stream, {b.buffer, 0, nullptr}, {nullptr, 0, y.data()}, kBytes));
  {
    // The argument storage dies before the launch runs: the backend (the
    // driver) must have taken the values.
    void *pa = a.address, *pb = b.address, *pc = c.address;
    int n = kN;
    void *args[] = {&pa, &pb, &pc, &n};
    const size_t sizes[] = {sizeof pa, sizeof pb, sizeof pc, sizeof n};
    ASSERT_XP(table.kernel_launch(stream, kernel, {(kN + 255) / 256, 1, 1}, {256, 1, 1}, 0, args,
                                  sizes, 4));
    pa = pb = pc = nullptr;
    n = 0;
    // Wrong argument count, and a block larger than the kernel allows.
    EXPECT_EQ(table.kernel_launch(stream, kernel, {1, 1, 1}, {256, 1, 1}, 0, args, sizes, 3),
              XP_ERROR_INVALID_VALUE);
    EXPECT_NE(last_error.find("argument"), std::string::npos) << last_error;
    EXPECT_EQ(table.kernel_launch(stream, kernel, {1, 1, 1}, {2048, 1, 1}, 0, args, sizes, 4),
              XP_ERROR_INVALID_VALUE);
    EXPECT_NE(last_error.find("2048"), std::string::npos) << last_error;
  }
  ASSERT_XP(table.memcpy_async(stream, {nullptr, 0, z.data()}, {c.buffer, 0, nullptr}, kBytes));
  ASSERT_XP(table.stream_synchronize(stream, uint64_t{60} * 1000000000));
  int wrong = 0;
  for (int i = 0; i < kN; ++i) {
    const size_t k = static_cast<size_t>(i);
    if (z[k] != x[k] + y[k]) ++wrong;
  }
  EXPECT_EQ(wrong, 0) << "z[1] = " << z[1];
  for (auto *allocation : {&a, &b, &c}) EXPECT_XP(table.mem_free(ctx, 0, allocation->buffer));
}

TEST_F(CudaDevice, NvrtcVectorAdd) {
  xpbModule *module = nullptr;
  ASSERT_XP(table_.module_load(ctx_, 0, XP_MODULE_CUDA_CPP, kVectorAdd, std::strlen(kVectorAdd),
                               "-default-device", &module));
  RunVectorAdd(table_, ctx_, stream_, module, this);
  xpbKernel *kernel = nullptr;
  EXPECT_EQ(table_.kernel_get(module, "no_such_kernel", &kernel), XP_ERROR_NOT_FOUND);
  EXPECT_NE(last_error.find("no_such_kernel"), std::string::npos) << last_error;
  EXPECT_XP(table_.module_unload(module));
}

// NATIVE CUDA C++ (starting with a comment, like a .cu file) goes to NVRTC.
TEST_F(CudaDevice, NativeCudaCppIsSniffed) {
  const std::string source = std::string("// vector_add.cu\n") + kVectorAdd;
  xpbModule *module = nullptr;
  ASSERT_XP(table_.module_load(ctx_, 0, XP_MODULE_NATIVE, source.data(), source.size(), nullptr,
                               &module));
  xpbKernel *kernel = nullptr;
  EXPECT_XP(table_.kernel_get(module, "vector_add", &kernel));
  EXPECT_XP(table_.module_unload(module));
}

// NVRTC to PTX (a virtual architecture), then the driver's JIT.
TEST_F(CudaDevice, NvrtcToPtxVectorAdd) {
  xpbModule *module = nullptr;
  ASSERT_XP(table_.module_load(ctx_, 0, XP_MODULE_CUDA_CPP, kVectorAdd, std::strlen(kVectorAdd),
                               "--gpu-architecture=compute_75", &module));
  RunVectorAdd(table_, ctx_, stream_, module, this);
  EXPECT_XP(table_.module_unload(module));
}

TEST_F(CudaDevice, CudaCppErrorsComeWithTheLog) {
  const char source[] = "extern \"C\" __global__ void broken(int *x) { x[0] = not_declared_here; }";
  xpbModule *module = nullptr;
  EXPECT_EQ(
      table_.module_load(ctx_, 0, XP_MODULE_CUDA_CPP, source, sizeof source - 1, nullptr, &module),
      XP_ERROR_BUILD);
  EXPECT_NE(last_error.find("not_declared_here"), std::string::npos) << last_error;
  EXPECT_NE(last_error.find("nvrtcCompileProgram"), std::string::npos) << last_error;
}

constexpr char kEmptyPtx[] = R"(//
// a kernel that does nothing, written by hand
.version 7.8
.target sm_75
.address_size 64

.visible .entry empty_kernel()
{
  ret;
}
)";

TEST_F(CudaDevice, NativePtxIsSniffedAndRuns) {
  xpbModule *module = nullptr;
  // Not NUL-terminated on purpose: the backend copies and terminates it.
  ASSERT_XP(table_.module_load(ctx_, 0, XP_MODULE_NATIVE, kEmptyPtx, sizeof kEmptyPtx - 1, nullptr,
                               &module));
  xpbKernel *kernel = nullptr;
  ASSERT_XP(table_.kernel_get(module, "empty_kernel", &kernel));
  ASSERT_XP(table_.kernel_launch(stream_, kernel, {4, 1, 1}, {128, 1, 1}, 0, nullptr, nullptr, 0));
  // Dynamic shared memory above 48 KiB needs the opt-in, which the backend
  // sets; the device allows more than 64 KiB on every supported GPU.
  ASSERT_XP(
      table_.kernel_launch(stream_, kernel, {1, 1, 1}, {32, 1, 1}, 64 * 1024, nullptr, nullptr, 0));
  ASSERT_XP(table_.stream_synchronize(stream_, kTimeout));
  EXPECT_XP(table_.module_unload(module));
}

constexpr char kBrokenPtx[] = R"(.version 7.8
.target sm_75
.address_size 64
.visible .entry broken()
{
  this_is_not_an_instruction
}
)";

TEST_F(CudaDevice, PtxSyntaxErrorIsBuildErrorWithLog) {
  xpbModule *module = nullptr;
  EXPECT_EQ(table_.module_load(ctx_, 0, XP_MODULE_PTX, kBrokenPtx, sizeof kBrokenPtx - 1, nullptr,
                               &module),
            XP_ERROR_BUILD);
  const std::string message = last_error;
  EXPECT_NE(message.find("cuModuleLoadDataEx: CUDA_ERROR_INVALID_PTX"), std::string::npos)
      << message;
  // ptxas's own words follow ("ptxas application ptx input, line 7; fatal :
  // Parsing error near ...: syntax error").
  const size_t log = message.find("JIT error log:\n");
  ASSERT_NE(log, std::string::npos) << message;
  EXPECT_NE(message.find("error", log + 15), std::string::npos) << message;
}

TEST_F(CudaDevice, RejectsOtherFormats) {
  const char data[] = "__kernel void k() {}";
  xpbModule *module = nullptr;
  EXPECT_EQ(table_.module_load(ctx_, 0, XP_MODULE_OPENCL_C, data, sizeof data, nullptr, &module),
            XP_ERROR_NOT_SUPPORTED);
  EXPECT_NE(last_error.find("OPENCL_C"), std::string::npos) << last_error;
  const char garbage[] = "\x01\x02\x03 not a module";
  EXPECT_EQ(
      table_.module_load(ctx_, 0, XP_MODULE_NATIVE, garbage, sizeof garbage, nullptr, &module),
      XP_ERROR_INVALID_VALUE);
}

TEST_F(CudaDevice, PeerCopy) {
  if (table_.device_count(ctx_) < 2) GTEST_SKIP() << "one cuda device";
  constexpr size_t kBytes = 1 << 20;
  void *on0 = Alloc(kBytes, 0);
  void *on1 = Alloc(kBytes, 1);
  std::vector<uint8_t> source(kBytes), result(kBytes, 0);
  std::iota(source.begin(), source.end(), uint8_t{0});
  ASSERT_XP(table_.memcpy_async(stream_, Dev(on0), Host(source.data()), kBytes));
  ASSERT_XP(table_.memcpy_peer_async(stream_, 1, Dev(on1), 0, Dev(on0), kBytes));
  ASSERT_XP(table_.stream_synchronize(stream_, kTimeout));
  xpbStream *stream1 = nullptr;
  ASSERT_XP(table_.stream_create(ctx_, 1, &stream1));
  ASSERT_XP(table_.memcpy_async(stream1, Host(result.data()), Dev(on1), kBytes));
  ASSERT_XP(table_.stream_synchronize(stream1, kTimeout));
  EXPECT_EQ(result, source);
  // A second peer copy reuses the enabled access.
  ASSERT_XP(table_.memcpy_peer_async(stream1, 0, Dev(on0), 1, Dev(on1), kBytes));
  ASSERT_XP(table_.stream_synchronize(stream1, kTimeout));
  EXPECT_XP(table_.stream_destroy(stream1));
}

TEST_F(CudaDevice, ManyThreadsShareTheBackend) {
  constexpr int kThreads = 4;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  const int devices = table_.device_count(ctx_);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const int device = t % devices;
      xpbStream *stream = nullptr;
      if (table_.stream_create(ctx_, device, &stream) != XP_SUCCESS) {
        failures.fetch_add(1);
        return;
      }
      xpbAllocation a{};
      std::vector<uint8_t> host(65536, 0);
      for (int round = 0; round < 20; ++round) {
        bool ok = table_.mem_alloc(ctx_, device, host.size(), &a) == XP_SUCCESS;
        ok = ok &&
             table_.memset_async(stream, {a.buffer, 0, nullptr}, round, host.size()) == XP_SUCCESS;
        ok = ok && table_.launch_host_func(stream, SleepMs, Ms(1)) == XP_SUCCESS;
        ok = ok && table_.memcpy_async(stream, {nullptr, 0, host.data()}, {a.buffer, 0, nullptr},
                                       host.size()) == XP_SUCCESS;
        ok = ok && table_.stream_synchronize(stream, kTimeout) == XP_SUCCESS;
        ok = ok && host[100] == round;
        ok = ok && table_.mem_free(ctx_, device, a.buffer) == XP_SUCCESS;
        if (!ok) failures.fetch_add(1);
      }
      table_.stream_destroy(stream);
    });
  }
  for (auto &thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace
