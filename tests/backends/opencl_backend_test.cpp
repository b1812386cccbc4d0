// Unit test of the OpenCL backend plugin, driven through its xpbBackend table
// with a fake runtime (the xpbHostApi of tests/backend_harness), without the xpool runtime.
//
// Every test skips, naming the plugin's reason, when no OpenCL device is
// present. CMake runs the suite twice: on the default PoCL device and with
// POCL_DEVICES="basic basic" (two devices in one context), plus two runs that
// check the "no library" and "no platforms" reasons.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>

#include "plugin_harness.h"
#include "xpool/backend.h"

#ifndef XPOOL_OPENCL_PLUGIN
#error "XPOOL_OPENCL_PLUGIN must name the built plugin"
#endif

// Read by LeakSanitizer when the test is built with -fsanitize=address.
#ifdef XPOOL_LSAN_SUPPRESSIONS
extern "C" const char *__lsan_default_options() {
  return "suppressions=" XPOOL_LSAN_SUPPRESSIONS ":print_suppressions=0";
}
#endif

namespace {

using namespace std::chrono_literals;

constexpr uint64_t kSecond = 1000000000ull;
constexpr uint64_t kWait = 30 * kSecond;  // generous deadline for waits that must succeed

using xpool::harness::kHost;
using xpool::harness::last_error;

// ---- the plugin ------------------------------------------------------------

// Never dlclosed: the OpenCL stack it opened stays loaded anyway.
const xpool::harness::LoadedPlugin &plugin() {
  static const auto *p =
      new xpool::harness::LoadedPlugin(xpool::harness::LoadPlugin(XPOOL_OPENCL_PLUGIN));
  return *p;
}

const xpbBackend &B() {
  return plugin().table;
}

// One backend context for the whole run (init is slow: it lists devices).
struct Shared {
  xpbContext *ctx = nullptr;
  xpStatus status = XP_ERROR_NOT_INITIALIZED;
  std::string reason;
};

Shared &shared() {
  static Shared *s = [] {
    auto *state = new Shared;
    if (!plugin().error.empty()) {
      state->reason = plugin().error;
      return state;
    }
    state->status = B().init(&kHost, &state->ctx);
    state->reason = last_error;
    return state;
  }();
  return *s;
}

// ---- helpers ---------------------------------------------------------------

// XPB_FALLBACK (1000) lies outside the range of the xpStatus enumeration:
// holding it in an xpStatus object is undefined in C++ (UBSan's enum check
// aborts on the load). Results that may be XPB_FALLBACK are read as int.
constexpr int raw(xpStatus status) {
  return static_cast<int>(status);
}

// A latch a host function can block on; its waits end after 20 s at most.
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  void release() {
    std::lock_guard<std::mutex> lock(mu);
    open = true;
    cv.notify_all();
  }
  static void wait(void *self) {
    auto *gate = static_cast<Gate *>(self);
    std::unique_lock<std::mutex> lock(gate->mu);
    gate->cv.wait_for(lock, 20s, [&] { return gate->open; });
  }
};

const char *kKernels = R"CLC(
__kernel void vector_add(__global const float *a, __global const float *b,
                         __global float *c, float scale, int n) {
  int i = get_global_id(0);
  if (i < n) c[i] = scale * (a[i] + b[i]);
}

// Sums each work-group's part of `in` through dynamic shared memory (the
// trailing __local argument).
__kernel void block_sum(__global const float *in, __global float *partial, int n,
                        __local float *scratch) {
  int gid = get_global_id(0), lid = get_local_id(0), size = get_local_size(0);
  scratch[lid] = gid < n ? in[gid] : 0.0f;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int stride = size / 2; stride > 0; stride /= 2) {
    if (lid < stride) scratch[lid] += scratch[lid + stride];
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  if (lid == 0) partial[get_group_id(0)] = scratch[0];
}

// The same with the __local buffer as an explicit argument.
__kernel void block_sum_arg(__global const float *in, __local float *scratch,
                            __global float *partial, int n) {
  int gid = get_global_id(0), lid = get_local_id(0), size = get_local_size(0);
  scratch[lid] = gid < n ? in[gid] : 0.0f;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int stride = size / 2; stride > 0; stride /= 2) {
    if (lid < stride) scratch[lid] += scratch[lid + stride];
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  if (lid == 0) partial[get_group_id(0)] = scratch[0];
}

__kernel void iota(__global int *out, int n) {
  int i = get_global_id(0);
  if (i < n) out[i] = i;
}
)CLC";

class OpenCL : public ::testing::Test {
 protected:
  void SetUp() override {
    if (shared().status != XP_SUCCESS) {
      GTEST_SKIP() << "opencl backend unavailable: " << shared().reason;
    }
    ctx_ = shared().ctx;
    count_ = B().device_count(ctx_);
  }

  void TearDown() override {
    for (xpbModule *m : modules_) B().module_unload(m);
    for (xpbEvent *e : events_) B().event_destroy(e);
    for (xpbStream *s : streams_) {
      EXPECT_EQ(B().stream_synchronize(s, kWait), XP_SUCCESS) << last_error;
      B().stream_destroy(s);
    }
    for (auto &[address, device] : allocations_) {
      void *buffer = xpool::harness::RemoveFromPool(address);
      EXPECT_EQ(B().mem_free(ctx_, device, buffer), XP_SUCCESS) << last_error;
    }
  }

  // Allocates on `device` and returns the fake pool address.
  char *alloc(int device, size_t bytes) {
    xpbAllocation a{};
    xpStatus status = B().mem_alloc(ctx_, device, bytes, &a);
    EXPECT_EQ(status, XP_SUCCESS) << last_error;
    if (status != XP_SUCCESS) return nullptr;
    EXPECT_EQ(a.address, nullptr);
    uintptr_t address = xpool::harness::AddToPool(a.buffer, bytes);
    allocations_[address] = device;
    return reinterpret_cast<char *>(address);
  }

  // The device side of a copy at pool address `p`.
  static xpbMemRef dev(const void *p) {
    xpbMemRef ref{};
    size_t bytes = 0;
    EXPECT_EQ(xpool::harness::Resolve(p, &ref.buffer, &ref.offset, &bytes), 0);
    return ref;
  }
  static xpbMemRef host(const void *p) { return xpbMemRef{nullptr, 0, const_cast<void *>(p)}; }

  xpbStream *stream(int device = 0) {
    xpbStream *s = nullptr;
    EXPECT_EQ(B().stream_create(ctx_, device, &s), XP_SUCCESS) << last_error;
    if (s != nullptr) streams_.push_back(s);
    return s;
  }

  xpbEvent *event(int device = 0, unsigned flags = XP_EVENT_DEFAULT) {
    xpbEvent *e = nullptr;
    EXPECT_EQ(B().event_create(ctx_, device, flags, &e), XP_SUCCESS) << last_error;
    if (e != nullptr) events_.push_back(e);
    return e;
  }

  xpbModule *module(int device = 0, const char *source = kKernels) {
    xpbModule *m = nullptr;
    EXPECT_EQ(
        B().module_load(ctx_, device, XP_MODULE_OPENCL_C, source, std::strlen(source), nullptr, &m),
        XP_SUCCESS)
        << last_error;
    if (m != nullptr) modules_.push_back(m);
    return m;
  }

  xpbKernel *kernel(xpbModule *m, const char *name) {
    xpbKernel *k = nullptr;
    EXPECT_EQ(B().kernel_get(m, name, &k), XP_SUCCESS) << last_error;
    return k;
  }

  void sync(xpbStream *s) { ASSERT_EQ(B().stream_synchronize(s, kWait), XP_SUCCESS) << last_error; }

  // What the runtime does: a native wait, or a host function that waits.
  void waitEvent(xpbStream *s, xpbEvent *e) {
    int status = raw(B().stream_wait_event(s, e));
    if (status == raw(XPB_FALLBACK)) {
      ++fallbacks_;
      auto fn = [](void *p) {
        auto *waited = static_cast<xpbEvent *>(p);
        EXPECT_EQ(B().event_synchronize(waited, kWait), XP_SUCCESS) << last_error;
      };
      status = raw(B().launch_host_func(s, fn, e));
    }
    ASSERT_EQ(status, XP_SUCCESS) << last_error;
  }

  xpDeviceProps props(int device) {
    xpDeviceProps p{};
    p.struct_size = sizeof p;
    EXPECT_EQ(B().device_props(ctx_, device, &p), XP_SUCCESS) << last_error;
    return p;
  }

  xpbContext *ctx_ = nullptr;
  int count_ = 0;
  int fallbacks_ = 0;
  std::map<uintptr_t, int> allocations_;
  std::vector<xpbStream *> streams_;
  std::vector<xpbEvent *> events_;
  std::vector<xpbModule *> modules_;
};

std::vector<unsigned char> pattern(size_t bytes, unsigned seed) {
  std::vector<unsigned char> v(bytes);
  uint32_t x = seed * 2654435761u + 1;
  for (auto &b : v) {
    x = x * 1664525u + 1013904223u;
    b = static_cast<unsigned char>(x >> 24);
  }
  return v;
}

// ---- table and lifecycle ---------------------------------------------------

TEST(OpenCLTable, ExportsOneVersionedTable) {
  ASSERT_EQ(plugin().error, "");
  const xpbBackend &t = B();
  EXPECT_EQ(t.struct_size, sizeof(xpbBackend));
  EXPECT_EQ(t.abi_major, XPB_ABI_MAJOR);
  EXPECT_STREQ(t.name, "opencl");
  for (const auto &[name, entry] : xpool::harness::RequiredEntries(t)) {
    EXPECT_NE(entry, nullptr) << name;
  }
  EXPECT_NE(t.memcpy_peer_async, nullptr) << "memcpy_peer_async";
  EXPECT_EQ(t.abi_minor, XPB_ABI_MINOR);
  EXPECT_NE(t.stream_native, nullptr) << "stream_native";
  EXPECT_EQ(t.device_make_current, nullptr) << "OpenCL has no per-thread current device";
}

TEST(OpenCLTable, OlderRuntimeGetsAShorterTable) {
  ASSERT_EQ(plugin().error, "");
  auto get = reinterpret_cast<xpbGetTableFn>(dlsym(plugin().handle, XPB_ENTRY_POINT));
  const xpool::harness::ShorterTable shorter =
      xpool::harness::FetchShorterTable(get, offsetof(xpbBackend, host_register));
  ASSERT_EQ(shorter.status, XP_SUCCESS);
  const xpbBackend &t = shorter.table;
  EXPECT_EQ(t.struct_size, offsetof(xpbBackend, host_register));
  EXPECT_NE(t.kernel_launch, nullptr);
  EXPECT_EQ(t.memcpy_peer_async, nullptr);  // beyond what that runtime knows
}

TEST(OpenCLTable, OnlyTheEntryPointIsExported) {
  ASSERT_EQ(plugin().error, "");
  EXPECT_NE(dlsym(plugin().handle, "xpoolBackendGetTable"), nullptr);
  // Internal functions are hidden (e.g. the error-name helper).
  EXPECT_EQ(dlsym(plugin().handle, "_ZN5xpool6opencl11clErrorNameEi"), nullptr);
}

// Runs only where CMake sets XPOOL_TEST_EXPECT (see CMakeLists.txt).
TEST(OpenCLUnavailable, ReasonNamesTheCause) {
  const char *expect = std::getenv("XPOOL_TEST_EXPECT");
  if (expect == nullptr) GTEST_SKIP() << "only with XPOOL_TEST_EXPECT";
  ASSERT_EQ(plugin().error, "");
  xpbContext *ctx = nullptr;
  EXPECT_EQ(B().init(&kHost, &ctx), XP_ERROR_NO_DEVICE);
  EXPECT_EQ(ctx, nullptr);
  if (std::strcmp(expect, "no_library") == 0) {
    EXPECT_NE(last_error.find(std::getenv("XPOOL_OPENCL_LIBRARY")), std::string::npos)
        << last_error;
    EXPECT_NE(last_error.find("not found"), std::string::npos) << last_error;
  } else {
    EXPECT_NE(last_error.find("no OpenCL platforms"), std::string::npos) << last_error;
  }
}

TEST_F(OpenCL, DevicePropertiesAreFilledAndStable) {
  ASSERT_GE(count_, 1);
  EXPECT_NE(std::string(B().vendor_version(ctx_)).find("OpenCL"), std::string::npos);
  const std::regex stable("opencl:[0-9a-f]{32}");
  for (int d = 0; d < count_; ++d) {
    xpDeviceProps p = props(d);
    EXPECT_STREQ(p.backend, "opencl");
    EXPECT_EQ(p.backend_device, d);
    EXPECT_GT(std::strlen(p.name), 0u);
    EXPECT_TRUE(std::regex_match(p.stable_id, stable)) << p.stable_id;
    EXPECT_GT(p.memory_total, 0u);
    EXPECT_LE(p.memory_free, p.memory_total);
    EXPECT_GT(p.compute_units, 0);
    EXPECT_GT(p.max_threads_per_block, 0);
    EXPECT_GT(p.shared_mem_per_block, 0u);
    EXPECT_EQ(p.numa_node, -1);
    EXPECT_EQ(p.host_addressable, 0);
    // Devices of one run differ; the same device keeps its id in a new context.
    for (int other = 0; other < d; ++other) EXPECT_STRNE(props(other).stable_id, p.stable_id);
    xpbContext *again = nullptr;
    ASSERT_EQ(B().init(&kHost, &again), XP_SUCCESS) << last_error;
    xpDeviceProps q{};
    q.struct_size = sizeof q;
    ASSERT_EQ(B().device_props(again, d, &q), XP_SUCCESS);
    EXPECT_STREQ(q.stable_id, p.stable_id);
    EXPECT_EQ(std::memcmp(q.uuid, p.uuid, sizeof p.uuid), 0);
    B().shutdown(again);
  }
  xpDeviceProps p{};
  p.struct_size = sizeof p;
  EXPECT_EQ(B().device_props(ctx_, count_, &p), XP_ERROR_INVALID_VALUE);
  EXPECT_NE(last_error.find("does not exist"), std::string::npos) << last_error;
  EXPECT_EQ(B().device_props(ctx_, -1, &p), XP_ERROR_INVALID_VALUE);
}

TEST_F(OpenCL, DevicePropertiesHonourAShorterStruct) {
  xpDeviceProps p;
  std::memset(&p, 0x5a, sizeof p);
  p.struct_size = offsetof(xpDeviceProps, compute_major);
  ASSERT_EQ(B().device_props(ctx_, 0, &p), XP_SUCCESS);
  EXPECT_STREQ(p.backend, "opencl");
  int untouched;
  std::memset(&untouched, 0x5a, sizeof untouched);
  EXPECT_EQ(p.compute_major, untouched);
  EXPECT_EQ(p.compute_minor, untouched);
}

// ---- memory ----------------------------------------------------------------

TEST_F(OpenCL, AllocationsAreCountedInFreeMemory) {
  uint64_t free0 = 0, total = 0, free1 = 0, free2 = 0;
  ASSERT_EQ(B().mem_info(ctx_, 0, &free0, &total), XP_SUCCESS);
  EXPECT_LE(free0, total);
  xpbAllocation a{};
  ASSERT_EQ(B().mem_alloc(ctx_, 0, 3u << 20, &a), XP_SUCCESS) << last_error;
  EXPECT_NE(a.buffer, nullptr);
  EXPECT_EQ(a.address, nullptr);
  ASSERT_EQ(B().mem_info(ctx_, 0, &free1, nullptr), XP_SUCCESS);
  EXPECT_EQ(free0 - free1, 3u << 20);
  EXPECT_EQ(props(0).memory_free, free1);
  ASSERT_EQ(B().mem_free(ctx_, 0, a.buffer), XP_SUCCESS) << last_error;
  ASSERT_EQ(B().mem_info(ctx_, 0, &free2, nullptr), XP_SUCCESS);
  EXPECT_EQ(free2, free0);

  EXPECT_EQ(B().mem_free(ctx_, 0, a.buffer), XP_ERROR_INVALID_VALUE);  // twice
  EXPECT_NE(last_error.find("not a live opencl buffer"), std::string::npos) << last_error;
  EXPECT_EQ(B().mem_alloc(ctx_, 0, 0, &a), XP_ERROR_INVALID_VALUE);
  EXPECT_EQ(B().mem_alloc(ctx_, count_, 16, &a), XP_ERROR_INVALID_VALUE);
}

TEST_F(OpenCL, OversizedAllocationNamesBothSizes) {
  uint64_t total = props(0).memory_total;
  size_t bytes = static_cast<size_t>(total) + 1;  // above CL_DEVICE_MAX_MEM_ALLOC_SIZE
  xpbAllocation a{};
  ASSERT_EQ(B().mem_alloc(ctx_, 0, bytes, &a), XP_ERROR_OUT_OF_MEMORY);
  EXPECT_NE(last_error.find(std::to_string(bytes)), std::string::npos) << last_error;
  EXPECT_NE(last_error.find("CL_DEVICE_MAX_MEM_ALLOC_SIZE"), std::string::npos) << last_error;
  EXPECT_TRUE(std::regex_search(last_error, std::regex("of [0-9]+ bytes"))) << last_error;
}

// ---- copies and fills ------------------------------------------------------

TEST_F(OpenCL, CopiesAreByteExactAtAnySizeAndOffset) {
  xpbStream *s = stream();
  const size_t kRoom = (2u << 20) + 4096;
  char *a = alloc(0, kRoom);
  char *b = alloc(0, kRoom);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  unsigned seed = 1;
  for (size_t bytes : {size_t{1}, size_t{3}, size_t{4097}, size_t{(1u << 20) + 13}}) {
    for (size_t offset : {size_t{0}, size_t{1}, size_t{129}}) {
      SCOPED_TRACE("bytes " + std::to_string(bytes) + " offset " + std::to_string(offset));
      std::vector<unsigned char> in = pattern(bytes, seed++);
      std::vector<unsigned char> out(bytes + 2, 0xee);
      ASSERT_EQ(B().memset_async(s, dev(b), 0x11, kRoom), XP_SUCCESS) << last_error;
      ASSERT_EQ(B().memcpy_async(s, dev(a + offset), host(in.data()), bytes), XP_SUCCESS)
          << last_error;
      size_t b_offset = offset * 3 + 7;
      ASSERT_EQ(B().memcpy_async(s, dev(b + b_offset), dev(a + offset), bytes), XP_SUCCESS)
          << last_error;
      ASSERT_EQ(B().memcpy_async(s, host(out.data()), dev(b + b_offset - 1), bytes + 2), XP_SUCCESS)
          << last_error;
      sync(s);
      EXPECT_EQ(out.front(), 0x11);  // the byte before was not written
      EXPECT_EQ(out.back(), 0x11);   // nor the byte after
      EXPECT_EQ(std::memcmp(out.data() + 1, in.data(), bytes), 0);
    }
  }
}

TEST_F(OpenCL, HostToHostCopyAndFillAreStreamOrdered) {
  xpbStream *s = stream();
  std::vector<unsigned char> src = pattern(10007, 9), dst(10007, 0), filled(333, 0);
  ASSERT_EQ(B().memcpy_async(s, host(dst.data()), host(src.data()), src.size()), XP_SUCCESS);
  ASSERT_EQ(B().memset_async(s, host(filled.data()), 0x1c7, filled.size()), XP_SUCCESS);
  sync(s);
  EXPECT_EQ(dst, src);
  EXPECT_EQ(filled, std::vector<unsigned char>(333, 0xc7));
}

TEST_F(OpenCL, MemsetFillsOnlyItsRange) {
  xpbStream *s = stream();
  char *a = alloc(0, 4096);
  ASSERT_NE(a, nullptr);
  ASSERT_EQ(B().memset_async(s, dev(a), 0x11, 4096), XP_SUCCESS);
  ASSERT_EQ(B().memset_async(s, dev(a + 5), 0x2ab, 1000), XP_SUCCESS);  // value is a byte
  ASSERT_EQ(B().memset_async(s, dev(a + 4095), 0x7f, 1), XP_SUCCESS);
  std::vector<unsigned char> out(4096);
  ASSERT_EQ(B().memcpy_async(s, host(out.data()), dev(a), 4096), XP_SUCCESS);
  sync(s);
  for (size_t i = 0; i < out.size(); ++i) {
    unsigned char want = i == 4095 ? 0x7f : (i >= 5 && i < 1005) ? 0xab : 0x11;
    ASSERT_EQ(out[i], want) << "byte " << i;
  }
}

TEST_F(OpenCL, CopyOutsideTheAllocationIsRefused) {
  xpbStream *s = stream();
  char *a = alloc(0, 100);
  ASSERT_NE(a, nullptr);
  std::vector<unsigned char> buf(200);
  EXPECT_EQ(B().memcpy_async(s, host(buf.data()), dev(a + 50), 51), XP_ERROR_INVALID_VALUE);
  EXPECT_NE(last_error.find("100-byte allocation"), std::string::npos) << last_error;
  xpbMemRef bogus{reinterpret_cast<void *>(0x1234), 0, nullptr};
  EXPECT_EQ(B().memset_async(s, bogus, 0, 1), XP_ERROR_INVALID_VALUE);
  EXPECT_NE(last_error.find("not a live opencl buffer"), std::string::npos) << last_error;
}

// ---- streams and host functions ----------------------------------------------

TEST_F(OpenCL, StreamKeepsOrder) {
  xpbStream *s = stream();
  char *a = alloc(0, 1024);
  char *b = alloc(0, 1024);
  ASSERT_NE(a, nullptr);
  std::vector<unsigned char> expect(1024, 0);
  std::vector<std::vector<unsigned char>> inputs;
  for (int round = 0; round < 20; ++round) inputs.push_back(pattern(1024, 100 + round));
  for (int round = 0; round < 20; ++round) {
    size_t at = static_cast<size_t>(round) * 37 % 900;
    ASSERT_EQ(B().memcpy_async(s, dev(a), host(inputs[round].data()), 1024), XP_SUCCESS);
    ASSERT_EQ(B().memset_async(s, dev(a + at), round, 64), XP_SUCCESS);
    ASSERT_EQ(B().memcpy_async(s, dev(b), dev(a), 1024), XP_SUCCESS);
    expect = inputs[round];
    std::memset(expect.data() + at, round, 64);
  }
  std::vector<unsigned char> out(1024);
  ASSERT_EQ(B().memcpy_async(s, host(out.data()), dev(b), 1024), XP_SUCCESS);
  sync(s);
  EXPECT_EQ(out, expect);
  EXPECT_EQ(B().stream_query(s), XP_SUCCESS);
}

// ---- native handles ----------------------------------------------------------

// The OpenCL entry points the native-handle tests call themselves, from the
// library the plugin opened (the test does not link OpenCL).
struct NativeCl {
  decltype(&::clGetCommandQueueInfo) clGetCommandQueueInfo = nullptr;
  decltype(&::clEnqueueFillBuffer) clEnqueueFillBuffer = nullptr;
  decltype(&::clEnqueueReadBuffer) clEnqueueReadBuffer = nullptr;
  std::string error;

  static const NativeCl &get() {
    static const NativeCl *cl = [] {
      auto *api = new NativeCl;
      const char *env = std::getenv("XPOOL_OPENCL_LIBRARY");
      const char *name = env != nullptr && env[0] != '\0' ? env : "libOpenCL.so.1";
      void *library = dlopen(name, RTLD_NOW | RTLD_LOCAL);  // never closed
      if (library == nullptr) {
        api->error = std::string("dlopen ") + name + " failed";
        return api;
      }
#define XPOOL_TEST_RESOLVE(fn)                                        \
  api->fn = reinterpret_cast<decltype(api->fn)>(dlsym(library, #fn)); \
  if (api->fn == nullptr) api->error += " " #fn;
      XPOOL_TEST_RESOLVE(clGetCommandQueueInfo)
      XPOOL_TEST_RESOLVE(clEnqueueFillBuffer)
      XPOOL_TEST_RESOLVE(clEnqueueReadBuffer)
#undef XPOOL_TEST_RESOLVE
      return api;
    }();
    return *cl;
  }
};

TEST_F(OpenCL, NativeHandlesAreTheStreamsQueueAndContext) {
  const NativeCl &cl = NativeCl::get();
  ASSERT_EQ(cl.error, "");
  for (int device = 0; device < count_; ++device) {
    SCOPED_TRACE("opencl device " + std::to_string(device));
    xpbStream *s = stream(device);
    void *queue = nullptr, *context = nullptr;
    int ordinal = -1;
    ASSERT_EQ(B().stream_native(s, &queue, &context, &ordinal), XP_SUCCESS) << last_error;
    ASSERT_NE(queue, nullptr);
    ASSERT_NE(context, nullptr);
    EXPECT_EQ(ordinal, device);
    // The queue belongs to that context and is a live command queue.
    cl_context owner = nullptr;
    ASSERT_EQ(cl.clGetCommandQueueInfo(static_cast<cl_command_queue>(queue), CL_QUEUE_CONTEXT,
                                       sizeof owner, &owner, nullptr),
              CL_SUCCESS);
    EXPECT_EQ(owner, static_cast<cl_context>(context));
    // Asking again hands out the same queue; another stream has its own.
    void *again = nullptr, *again_context = nullptr;
    int again_ordinal = -1;
    ASSERT_EQ(B().stream_native(s, &again, &again_context, &again_ordinal), XP_SUCCESS);
    EXPECT_EQ(again, queue);
    xpbStream *other = stream(device);
    ASSERT_EQ(B().stream_native(other, &again, &again_context, &again_ordinal), XP_SUCCESS);
    EXPECT_NE(again, queue);
    EXPECT_EQ(again_context, context);
  }
}

// A fill enqueued through the native queue between two of the stream's
// copies lands between them; synchronize and query cover native work that
// comes last.
TEST_F(OpenCL, NativeWorkIsOrderedWithTheStream) {
  const NativeCl &cl = NativeCl::get();
  ASSERT_EQ(cl.error, "");
  constexpr size_t kBytes = size_t{4} << 20;
  xpbStream *s = stream();
  char *a = alloc(0, kBytes);
  ASSERT_NE(a, nullptr);
  void *queue_handle = nullptr, *context = nullptr;
  int ordinal = -1;
  ASSERT_EQ(B().stream_native(s, &queue_handle, &context, &ordinal), XP_SUCCESS) << last_error;
  auto *queue = static_cast<cl_command_queue>(queue_handle);
  auto *buffer = static_cast<cl_mem>(dev(a).buffer);
  for (int round = 0; round < 4; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    const std::vector<unsigned char> in = pattern(kBytes, 40 + round);
    std::vector<unsigned char> out(kBytes, 0);
    std::vector<std::vector<unsigned char>> tail(8, std::vector<unsigned char>(kBytes, 0));
    const size_t at = 4096 + static_cast<size_t>(round) * 1000, len = kBytes / 2;
    const unsigned char value = static_cast<unsigned char>(0xa0 + round);
    ASSERT_EQ(B().memcpy_async(s, dev(a), host(in.data()), kBytes), XP_SUCCESS) << last_error;
    ASSERT_EQ(cl.clEnqueueFillBuffer(queue, buffer, &value, 1, at, len, 0, nullptr, nullptr),
              CL_SUCCESS);
    ASSERT_EQ(B().memcpy_async(s, host(out.data()), dev(a), kBytes), XP_SUCCESS) << last_error;
    // Native work last (enough of it to take a while): the stream's
    // synchronize must wait for it as well.
    for (auto &read : tail) {
      ASSERT_EQ(cl.clEnqueueReadBuffer(queue, buffer, CL_FALSE, 0, kBytes, read.data(), 0, nullptr,
                                       nullptr),
                CL_SUCCESS);
    }
    sync(s);
    std::vector<unsigned char> expect = in;
    std::memset(expect.data() + at, value, len);
    EXPECT_TRUE(out == expect) << "the native fill did not land between the two copies";
    for (const auto &read : tail) {
      EXPECT_TRUE(read == expect) << "synchronize returned before the native reads";
    }
    // A handed-out queue is queried through a marker behind whatever the
    // caller enqueued; the query gives it 1 ms to pass, which a loaded
    // machine can exceed, so an idle queue may read "not ready" once. A query
    // never blocks for long: ask again until the deadline.
    xpStatus queried = B().stream_query(s);
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (queried == XP_ERROR_NOT_READY && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      queried = B().stream_query(s);
    }
    EXPECT_EQ(queried, XP_SUCCESS) << last_error;
  }
}

struct Trace {
  std::mutex mu;
  std::vector<int> order;
  std::vector<std::thread::id> threads;
  unsigned char *watched = nullptr;
  std::vector<unsigned char> seen;
};

struct TraceStep {
  Trace *trace;
  int id;
};

void traceFn(void *p) {
  auto *step = static_cast<TraceStep *>(p);
  std::lock_guard<std::mutex> lock(step->trace->mu);
  step->trace->order.push_back(step->id);
  step->trace->threads.push_back(std::this_thread::get_id());
  if (step->trace->watched != nullptr) step->trace->seen.push_back(*step->trace->watched);
}

TEST_F(OpenCL, HostFunctionsRunInOrderOffTheCallerThread) {
  xpbStream *s = stream();
  char *a = alloc(0, 64);
  ASSERT_NE(a, nullptr);
  Trace trace;
  unsigned char landing = 0;
  trace.watched = &landing;
  std::vector<TraceStep> steps;
  for (int i = 0; i < 16; ++i) steps.push_back(TraceStep{&trace, i});
  for (int i = 0; i < 16; ++i) {
    // Each host function must see the read-back enqueued before it.
    ASSERT_EQ(B().memset_async(s, dev(a), i + 1, 64), XP_SUCCESS);
    ASSERT_EQ(B().memcpy_async(s, host(&landing), dev(a + 7), 1), XP_SUCCESS);
    ASSERT_EQ(B().launch_host_func(s, traceFn, &steps[i]), XP_SUCCESS) << last_error;
  }
  sync(s);
  ASSERT_EQ(trace.order.size(), 16u);
  for (int i = 0; i < 16; ++i) {
    EXPECT_EQ(trace.order[i], i);
    EXPECT_EQ(trace.seen[i], i + 1);
    EXPECT_NE(trace.threads[i], std::this_thread::get_id());
  }
  EXPECT_EQ(B().launch_host_func(s, nullptr, nullptr), XP_ERROR_INVALID_VALUE);
}

struct Producer {
  Gate gate;
  int value = 0;
};

TEST_F(OpenCL, WorkAfterAHostFunctionWaitsForIt) {
  xpbStream *s = stream();
  char *a = alloc(0, sizeof(int));
  ASSERT_NE(a, nullptr);
  Producer producer;
  auto produce = [](void *p) {
    auto *self = static_cast<Producer *>(p);
    Gate::wait(&self->gate);
    self->value = 4242;
  };
  int out = 0;
  ASSERT_EQ(B().launch_host_func(s, produce, &producer), XP_SUCCESS) << last_error;
  // Enqueued while the host function blocks: must copy what it produced.
  ASSERT_EQ(B().memcpy_async(s, dev(a), host(&producer.value), sizeof(int)), XP_SUCCESS);
  ASSERT_EQ(B().memcpy_async(s, host(&out), dev(a), sizeof(int)), XP_SUCCESS);
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(B().stream_query(s), XP_ERROR_NOT_READY);
  auto before = std::chrono::steady_clock::now();
  EXPECT_EQ(B().stream_synchronize(s, 30'000'000), XP_ERROR_TIMEOUT);  // 30 ms
  EXPECT_GE(std::chrono::steady_clock::now() - before, 25ms);
  EXPECT_NE(last_error.find("stream_synchronize"), std::string::npos) << last_error;
  EXPECT_EQ(out, 0);
  producer.gate.release();
  sync(s);
  EXPECT_EQ(out, 4242);
  EXPECT_EQ(B().stream_query(s), XP_SUCCESS);
}

TEST_F(OpenCL, StreamDestroyJoinsItsWorker) {
  for (int round = 0; round < 5; ++round) {
    xpbStream *s = nullptr;
    ASSERT_EQ(B().stream_create(ctx_, 0, &s), XP_SUCCESS);
    std::atomic<int> ran{0};
    auto bump = [](void *p) { ++*static_cast<std::atomic<int> *>(p); };
    for (int i = 0; i < 3; ++i) ASSERT_EQ(B().launch_host_func(s, bump, &ran), XP_SUCCESS);
    ASSERT_EQ(B().stream_synchronize(s, kWait), XP_SUCCESS) << last_error;
    ASSERT_EQ(B().stream_destroy(s), XP_SUCCESS);
    EXPECT_EQ(ran.load(), 3);
  }
}

// ---- events ------------------------------------------------------------------

TEST_F(OpenCL, EventsQuerySynchronizeAndTime) {
  xpbStream *s = stream();
  xpbEvent *start = event(), *end = event(), *untimed = event(0, XP_EVENT_DISABLE_TIMING);
  float ms = -1;
  EXPECT_EQ(B().event_query(start), XP_SUCCESS);  // never recorded
  EXPECT_EQ(B().event_synchronize(start, 0), XP_SUCCESS);
  EXPECT_EQ(B().event_elapsed(start, end, &ms), XP_ERROR_INVALID_VALUE);
  EXPECT_NE(last_error.find("never recorded"), std::string::npos) << last_error;

  char *a = alloc(0, 8u << 20);
  ASSERT_NE(a, nullptr);
  ASSERT_EQ(B().event_record(start, s), XP_SUCCESS) << last_error;
  for (int i = 0; i < 4; ++i) ASSERT_EQ(B().memset_async(s, dev(a), i, 8u << 20), XP_SUCCESS);
  ASSERT_EQ(B().event_record(end, s), XP_SUCCESS);
  ASSERT_EQ(B().event_record(untimed, s), XP_SUCCESS);
  ASSERT_EQ(B().event_synchronize(end, kWait), XP_SUCCESS) << last_error;
  EXPECT_EQ(B().event_query(start), XP_SUCCESS);
  EXPECT_EQ(B().event_query(end), XP_SUCCESS);
  ASSERT_EQ(B().event_elapsed(start, end, &ms), XP_SUCCESS) << last_error;
  EXPECT_GE(ms, 0.0f);
  EXPECT_LT(ms, 60000.0f);
  EXPECT_EQ(B().event_elapsed(start, untimed, &ms), XP_ERROR_INVALID_VALUE);
  EXPECT_NE(last_error.find("XP_EVENT_DISABLE_TIMING"), std::string::npos) << last_error;
  EXPECT_EQ(B().event_create(ctx_, 0, 0x80, &start), XP_ERROR_INVALID_VALUE);
}

TEST_F(OpenCL, PendingEventsAreNotReadyAndTimeOut) {
  xpbStream *s = stream();
  xpbEvent *start = event(), *end = event();
  Gate gate;
  ASSERT_EQ(B().event_record(start, s), XP_SUCCESS);
  ASSERT_EQ(B().launch_host_func(s, Gate::wait, &gate), XP_SUCCESS);
  ASSERT_EQ(B().event_record(end, s), XP_SUCCESS);
  std::this_thread::sleep_for(10ms);
  EXPECT_EQ(B().event_query(end), XP_ERROR_NOT_READY);
  float ms = 0;
  EXPECT_EQ(B().event_elapsed(start, end, &ms), XP_ERROR_NOT_READY);
  EXPECT_EQ(B().event_synchronize(end, 20'000'000), XP_ERROR_TIMEOUT);
  EXPECT_NE(last_error.find("event_synchronize"), std::string::npos) << last_error;
  gate.release();
  ASSERT_EQ(B().event_synchronize(end, kWait), XP_SUCCESS) << last_error;
  ASSERT_EQ(B().event_elapsed(start, end, &ms), XP_SUCCESS) << last_error;
  EXPECT_GE(ms, 5.0f);  // the host function held the stream at least 10 ms
  // Re-recording replaces the marker.
  ASSERT_EQ(B().event_record(end, s), XP_SUCCESS);
  ASSERT_EQ(B().event_synchronize(end, kWait), XP_SUCCESS);
}

TEST_F(OpenCL, StreamWaitsForAnEventOfAnotherStream) {
  xpbStream *producer = stream(), *consumer = stream();
  xpbEvent *ready = event();
  const size_t kBytes = 64u << 20;
  char *a = alloc(0, kBytes);
  ASSERT_NE(a, nullptr);
  unsigned char last = 0;
  // Native path: a long fill, then a marker the other stream waits on.
  ASSERT_EQ(B().memset_async(producer, dev(a), 0, kBytes), XP_SUCCESS);
  ASSERT_EQ(B().memset_async(producer, dev(a), 0x5e, kBytes), XP_SUCCESS);
  ASSERT_EQ(B().event_record(ready, producer), XP_SUCCESS);
  waitEvent(consumer, ready);
  ASSERT_EQ(B().memcpy_async(consumer, host(&last), dev(a + kBytes - 1), 1), XP_SUCCESS);
  sync(consumer);
  EXPECT_EQ(last, 0x5e);

  // Deferred path: the event is recorded behind a blocked host function.
  Gate gate;
  ASSERT_EQ(B().launch_host_func(producer, Gate::wait, &gate), XP_SUCCESS);
  ASSERT_EQ(B().memset_async(producer, dev(a + kBytes - 1), 0x77, 1), XP_SUCCESS);
  ASSERT_EQ(B().event_record(ready, producer), XP_SUCCESS);
  waitEvent(consumer, ready);
  ASSERT_EQ(B().memcpy_async(consumer, host(&last), dev(a + kBytes - 1), 1), XP_SUCCESS);
  std::this_thread::sleep_for(10ms);
  EXPECT_EQ(B().stream_query(consumer), XP_ERROR_NOT_READY);
  gate.release();
  sync(consumer);
  EXPECT_EQ(last, 0x77);
  EXPECT_GE(fallbacks_, 1);  // a deferred marker cannot be waited on natively
}

// ---- modules and kernels -------------------------------------------------------

TEST_F(OpenCL, VectorAddWithAPartialLastBlock) {
  const int n = 1000;
  xpbModule *m = module();
  ASSERT_NE(m, nullptr);
  xpbKernel *k = kernel(m, "vector_add");
  ASSERT_NE(k, nullptr);
  xpbKernel *again = nullptr;
  ASSERT_EQ(B().kernel_get(m, "vector_add", &again), XP_SUCCESS);
  EXPECT_EQ(again, k);
  xpbStream *s = stream();
  char *a = alloc(0, n * sizeof(float));
  char *b = alloc(0, n * sizeof(float));
  char *c = alloc(0, (n + 64) * sizeof(float));
  ASSERT_NE(c, nullptr);
  std::vector<float> ha(n), hb(n), hc(n + 64, -1.0f);
  for (int i = 0; i < n; ++i) {
    ha[i] = static_cast<float>(i);
    hb[i] = static_cast<float>(2 * i);
  }
  ASSERT_EQ(B().memcpy_async(s, dev(a), host(ha.data()), n * sizeof(float)), XP_SUCCESS);
  ASSERT_EQ(B().memcpy_async(s, dev(b), host(hb.data()), n * sizeof(float)), XP_SUCCESS);
  ASSERT_EQ(B().memcpy_async(s, dev(c), host(hc.data()), hc.size() * sizeof(float)), XP_SUCCESS);
  float scale = 0.5f;
  int count = n;
  void *args[] = {&a, &b, &c, &scale, &count};
  size_t sizes[] = {sizeof a, sizeof b, sizeof c, sizeof scale, sizeof count};
  ASSERT_EQ(B().kernel_launch(s, k, xpDim3{16, 1, 1}, xpDim3{64, 1, 1}, 0, args, sizes, 5),
            XP_SUCCESS)
      << last_error;
  ASSERT_EQ(B().memcpy_async(s, host(hc.data()), dev(c), hc.size() * sizeof(float)), XP_SUCCESS);
  sync(s);
  for (int i = 0; i < n; ++i) ASSERT_FLOAT_EQ(hc[i], 1.5f * static_cast<float>(i)) << i;
  for (int i = n; i < n + 64; ++i) ASSERT_EQ(hc[i], -1.0f) << i;  // beyond n: untouched
}

TEST_F(OpenCL, WorkGroupReductionThroughLocalMemory) {
  const int n = 1000, block = 64, groups = (n + block - 1) / block;
  xpbModule *m = module();
  ASSERT_NE(m, nullptr);
  xpbKernel *dynamic = kernel(m, "block_sum"), *explicit_local = kernel(m, "block_sum_arg");
  ASSERT_NE(explicit_local, nullptr);
  xpbStream *s = stream();
  char *in = alloc(0, n * sizeof(float));
  char *partial = alloc(0, groups * sizeof(float));
  ASSERT_NE(partial, nullptr);
  std::vector<float> hin(n);
  for (int i = 0; i < n; ++i) hin[i] = static_cast<float>(i % 17);
  std::vector<float> want(groups, 0.0f);
  for (int i = 0; i < n; ++i) want[i / block] += hin[i];
  ASSERT_EQ(B().memcpy_async(s, dev(in), host(hin.data()), n * sizeof(float)), XP_SUCCESS);
  int count = n;
  {
    // Dynamic shared memory: the trailing __local argument.
    void *args[] = {&in, &partial, &count};
    size_t sizes[] = {sizeof in, sizeof partial, sizeof count};
    ASSERT_EQ(B().kernel_launch(s, dynamic, xpDim3{groups, 1, 1}, xpDim3{block, 1, 1},
                                block * sizeof(float), args, sizes, 3),
              XP_SUCCESS)
        << last_error;
    std::vector<float> got(groups);
    ASSERT_EQ(B().memcpy_async(s, host(got.data()), dev(partial), groups * sizeof(float)),
              XP_SUCCESS);
    sync(s);
    EXPECT_EQ(got, want);
  }
  {
    // An explicit __local argument: NULL value, size in arg_sizes.
    ASSERT_EQ(B().memset_async(s, dev(partial), 0, groups * sizeof(float)), XP_SUCCESS);
    void *args[] = {&in, nullptr, &partial, &count};
    size_t sizes[] = {sizeof in, block * sizeof(float), sizeof partial, sizeof count};
    ASSERT_EQ(B().kernel_launch(s, explicit_local, xpDim3{groups, 1, 1}, xpDim3{block, 1, 1}, 0,
                                args, sizes, 4),
              XP_SUCCESS)
        << last_error;
    std::vector<float> got(groups);
    ASSERT_EQ(B().memcpy_async(s, host(got.data()), dev(partial), groups * sizeof(float)),
              XP_SUCCESS);
    sync(s);
    EXPECT_EQ(got, want);
  }
}

TEST_F(OpenCL, PointerInsideAnAllocationBecomesASubBuffer) {
  const int n = 300;
  xpbModule *m = module();
  ASSERT_NE(m, nullptr);
  xpbKernel *k = kernel(m, "iota");
  xpbStream *s = stream();
  char *base = alloc(0, 64 * 1024);
  ASSERT_NE(base, nullptr);
  ASSERT_EQ(B().memset_async(s, dev(base), 0xff, 64 * 1024), XP_SUCCESS);
  char *inside = base + 4096;  // a multiple of any CL_DEVICE_MEM_BASE_ADDR_ALIGN
  int count = n;
  void *args[] = {&inside, &count};
  size_t sizes[] = {sizeof inside, sizeof count};
  ASSERT_EQ(B().kernel_launch(s, k, xpDim3{5, 1, 1}, xpDim3{64, 1, 1}, 0, args, sizes, 2),
            XP_SUCCESS)
      << last_error;
  std::vector<int> out(n + 1024);
  ASSERT_EQ(B().memcpy_async(s, host(out.data()), dev(base), out.size() * 4), XP_SUCCESS);
  sync(s);
  for (int i = 0; i < 1024; ++i) ASSERT_EQ(out[i], -1) << i;  // before the offset: untouched
  for (int i = 0; i < n; ++i) ASSERT_EQ(out[1024 + i], i) << i;

  // An offset the device cannot address as a sub-buffer is refused clearly.
  char *odd = base + 4;
  void *odd_args[] = {&odd, &count};
  xpStatus status =
      B().kernel_launch(s, k, xpDim3{5, 1, 1}, xpDim3{64, 1, 1}, 0, odd_args, sizes, 2);
  if (status != XP_SUCCESS) {
    EXPECT_EQ(status, XP_ERROR_INVALID_VALUE);
    EXPECT_NE(last_error.find("CL_DEVICE_MEM_BASE_ADDR_ALIGN"), std::string::npos) << last_error;
    EXPECT_NE(last_error.find("argument 0"), std::string::npos) << last_error;
    EXPECT_NE(last_error.find("4 bytes into"), std::string::npos) << last_error;
  }
}

TEST_F(OpenCL, BadLaunchesAreRefusedWithReasons) {
  xpbModule *m = module();
  ASSERT_NE(m, nullptr);
  xpbKernel *k = kernel(m, "iota");
  xpbStream *s = stream();
  char *out = alloc(0, 4096);
  int count = 16;
  size_t sizes[] = {sizeof out, sizeof count};

  void *stray = reinterpret_cast<void *>(0x1000);  // not an allocation
  void *stray_args[] = {&stray, &count};
  EXPECT_EQ(B().kernel_launch(s, k, xpDim3{1, 1, 1}, xpDim3{16, 1, 1}, 0, stray_args, sizes, 2),
            XP_ERROR_INVALID_VALUE);
  EXPECT_NE(last_error.find("argument 0"), std::string::npos) << last_error;
  EXPECT_NE(last_error.find("0x1000"), std::string::npos) << last_error;

  void *args[] = {&out, &count};
  EXPECT_EQ(B().kernel_launch(s, k, xpDim3{1, 1, 1}, xpDim3{16, 1, 1}, 0, args, sizes, 1),
            XP_ERROR_INVALID_VALUE);
  EXPECT_NE(last_error.find("takes 2 arguments but 1 were given"), std::string::npos) << last_error;
  EXPECT_EQ(B().kernel_launch(s, k, xpDim3{1, 1, 1}, xpDim3{16, 1, 1}, 64, args, sizes, 2),
            XP_ERROR_INVALID_VALUE);  // dynamic shared memory would be a third argument
  EXPECT_NE(last_error.find("takes 2 arguments but 3 were given"), std::string::npos) << last_error;
  EXPECT_NE(last_error.find("dynamic shared memory"), std::string::npos) << last_error;

  uint32_t too_many = static_cast<uint32_t>(props(0).max_threads_per_block) + 1;
  EXPECT_EQ(B().kernel_launch(s, k, xpDim3{1, 1, 1}, xpDim3{too_many, 1, 1}, 0, args, sizes, 2),
            XP_ERROR_INVALID_VALUE);
  EXPECT_NE(last_error.find("exceed"), std::string::npos) << last_error;
  EXPECT_EQ(B().kernel_launch(s, k, xpDim3{0, 1, 1}, xpDim3{16, 1, 1}, 0, args, sizes, 2),
            XP_ERROR_INVALID_VALUE);
  size_t bad_sizes[] = {4, sizeof count};
  EXPECT_EQ(B().kernel_launch(s, k, xpDim3{1, 1, 1}, xpDim3{16, 1, 1}, 0, args, bad_sizes, 2),
            XP_ERROR_INVALID_VALUE);
  EXPECT_NE(last_error.find("arg_sizes[0] is 4"), std::string::npos) << last_error;
}

TEST_F(OpenCL, SyntaxErrorReturnsTheBuildLog) {
  const char *source = "__kernel void broken(__global int *p) { p[0] = undeclared_thing_42; }";
  xpbModule *m = nullptr;
  ASSERT_EQ(
      B().module_load(ctx_, 0, XP_MODULE_OPENCL_C, source, std::strlen(source), "-DFOO=1", &m),
      XP_ERROR_BUILD);
  EXPECT_EQ(m, nullptr);
  EXPECT_NE(last_error.find("clBuildProgram: CL_BUILD_PROGRAM_FAILURE (-11)"), std::string::npos)
      << last_error;
  EXPECT_NE(last_error.find("undeclared_thing_42"), std::string::npos)
      << last_error;  // compiler log
  EXPECT_NE(last_error.find("-DFOO=1"), std::string::npos) << last_error;
}

TEST_F(OpenCL, UnknownKernelListsTheModulesKernels) {
  xpbModule *m = module();
  ASSERT_NE(m, nullptr);
  xpbKernel *k = nullptr;
  EXPECT_EQ(B().kernel_get(m, "no_such_kernel", &k), XP_ERROR_NOT_FOUND);
  EXPECT_NE(last_error.find("no_such_kernel"), std::string::npos) << last_error;
  EXPECT_NE(last_error.find("vector_add"), std::string::npos) << last_error;
  EXPECT_NE(last_error.find("block_sum"), std::string::npos) << last_error;
}

TEST_F(OpenCL, FormatsOtherThanOpenCLAreExplained) {
  xpbModule *m = nullptr;
  const char ptx[] = ".version 8.0\n.target sm_90\n";
  EXPECT_EQ(B().module_load(ctx_, 0, XP_MODULE_PTX, ptx, sizeof ptx, nullptr, &m),
            XP_ERROR_NOT_SUPPORTED);
  EXPECT_NE(last_error.find("XP_MODULE_PTX"), std::string::npos) << last_error;
  EXPECT_NE(last_error.find("XP_MODULE_OPENCL_C"), std::string::npos) << last_error;

  const uint32_t spirv[] = {0x07230203u, 0x00010000u, 0u, 1u, 0u};  // header only
  xpStatus status = B().module_load(ctx_, 0, XP_MODULE_SPIRV, spirv, sizeof spirv, nullptr, &m);
  EXPECT_NE(status, XP_SUCCESS);  // an empty module never builds
  EXPECT_NE(last_error.find("SPIR-V"), std::string::npos) << last_error;

  // NATIVE means OpenCL C here.
  const char *source = "__kernel void k(__global int *p) { p[0] = 1; }";
  ASSERT_EQ(B().module_load(ctx_, 0, XP_MODULE_NATIVE, source, 0, nullptr, &m), XP_SUCCESS)
      << last_error;
  modules_.push_back(m);
}

struct LaunchJob {
  xpbKernel *kernel;
  xpbStream *stream;
  char *a, *b, *c;
  float scale;
  int n;
  xpStatus status = XP_SUCCESS;
  std::string error;
};

TEST_F(OpenCL, OneKernelLaunchedFromManyThreads) {
  const int n = 4096, kThreads = 4, kRounds = 25;
  xpbModule *m = module();
  ASSERT_NE(m, nullptr);
  xpbKernel *k = kernel(m, "vector_add");
  std::vector<float> ones(n, 1.0f);
  char *a = alloc(0, n * sizeof(float));
  char *b = alloc(0, n * sizeof(float));
  xpbStream *setup = stream();
  ASSERT_EQ(B().memcpy_async(setup, dev(a), host(ones.data()), n * sizeof(float)), XP_SUCCESS);
  ASSERT_EQ(B().memcpy_async(setup, dev(b), host(ones.data()), n * sizeof(float)), XP_SUCCESS);
  sync(setup);
  std::vector<LaunchJob> jobs;
  for (int t = 0; t < kThreads; ++t) {
    jobs.push_back(
        LaunchJob{k, stream(), a, b, alloc(0, n * sizeof(float)), static_cast<float>(t + 1), n});
  }
  std::vector<std::thread> threads;
  for (LaunchJob &job : jobs) {
    threads.emplace_back([&job] {
      for (int round = 0; round < kRounds && job.status == XP_SUCCESS; ++round) {
        void *args[] = {&job.a, &job.b, &job.c, &job.scale, &job.n};
        size_t sizes[] = {sizeof(char *), sizeof(char *), sizeof(char *), sizeof(float),
                          sizeof(int)};
        job.status = B().kernel_launch(job.stream, job.kernel, xpDim3{n / 128, 1, 1},
                                       xpDim3{128, 1, 1}, 0, args, sizes, 5);
        if (job.status != XP_SUCCESS) job.error = last_error;
      }
    });
  }
  for (std::thread &t : threads) t.join();
  for (LaunchJob &job : jobs) {
    ASSERT_EQ(job.status, XP_SUCCESS) << job.error;
    std::vector<float> got(n);
    ASSERT_EQ(B().memcpy_async(job.stream, host(got.data()), dev(job.c), n * sizeof(float)),
              XP_SUCCESS);
    sync(job.stream);
    for (int i = 0; i < n; ++i) ASSERT_EQ(got[i], 2.0f * job.scale) << i;
  }
}

// ---- two devices (run with POCL_DEVICES="basic basic") -------------------------

TEST_F(OpenCL, TwoDevicesCopyWaitAndLaunch) {
  if (count_ < 2) GTEST_SKIP() << "needs two OpenCL devices (POCL_DEVICES=\"basic basic\")";
  const size_t kBytes = (1u << 20) + 3;
  char *a = alloc(0, kBytes);
  char *b = alloc(1, kBytes);
  ASSERT_NE(b, nullptr);
  xpbStream *s0 = stream(0), *s1 = stream(1);
  std::vector<unsigned char> in = pattern(kBytes, 77), out(kBytes);
  ASSERT_EQ(B().memcpy_async(s0, dev(a), host(in.data()), kBytes), XP_SUCCESS);
  xpbEvent *written = event(0);
  ASSERT_EQ(B().event_record(written, s0), XP_SUCCESS);
  waitEvent(s1, written);
  int status = raw(B().memcpy_peer_async(s1, 1, dev(b), 0, dev(a), kBytes));
  if (status == raw(XPB_FALLBACK)) GTEST_SKIP() << "the two devices do not share a context";
  ASSERT_EQ(status, XP_SUCCESS) << last_error;
  ASSERT_EQ(B().memcpy_async(s1, host(out.data()), dev(b), kBytes), XP_SUCCESS);
  sync(s1);
  EXPECT_EQ(out, in);

  // The other direction, on the source device's stream, at offsets.
  std::vector<unsigned char> back(1000);
  ASSERT_EQ(B().memset_async(s1, dev(b + 10), 0x3d, 1000), XP_SUCCESS);
  sync(s1);
  ASSERT_EQ(B().memcpy_peer_async(s0, 0, dev(a + 5), 1, dev(b + 10), 1000), XP_SUCCESS)
      << last_error;
  ASSERT_EQ(B().memcpy_async(s0, host(back.data()), dev(a + 5), 1000), XP_SUCCESS);
  sync(s0);
  EXPECT_EQ(back, std::vector<unsigned char>(1000, 0x3d));

  // Mismatched devices are refused; a kernel runs on device 1 only.
  EXPECT_EQ(B().memcpy_peer_async(s0, 1, dev(a), 0, dev(b), 16), XP_ERROR_INVALID_VALUE);
  xpbModule *m = module(1);
  ASSERT_NE(m, nullptr);
  xpbKernel *k = kernel(m, "iota");
  int count = 256;
  void *args[] = {&b, &count};
  size_t sizes[] = {sizeof b, sizeof count};
  EXPECT_EQ(B().kernel_launch(s0, k, xpDim3{4, 1, 1}, xpDim3{64, 1, 1}, 0, args, sizes, 2),
            XP_ERROR_INVALID_VALUE);
  EXPECT_NE(last_error.find("was built for opencl device 1"), std::string::npos) << last_error;
  ASSERT_EQ(B().kernel_launch(s1, k, xpDim3{4, 1, 1}, xpDim3{64, 1, 1}, 0, args, sizes, 2),
            XP_SUCCESS)
      << last_error;
  std::vector<int> ints(256);
  ASSERT_EQ(B().memcpy_async(s1, host(ints.data()), dev(b), 1024), XP_SUCCESS);
  sync(s1);
  for (int i = 0; i < 256; ++i) ASSERT_EQ(ints[i], i);
}

// ---- shutdown ------------------------------------------------------------------

TEST_F(OpenCL, ShutdownFreesWhatWasLeft) {
  xpbContext *ctx = nullptr;
  ASSERT_EQ(B().init(&kHost, &ctx), XP_SUCCESS) << last_error;
  xpbStream *s = nullptr;
  xpbEvent *e = nullptr;
  xpbModule *m = nullptr;
  xpbKernel *k = nullptr;
  xpbAllocation a{};
  ASSERT_EQ(B().stream_create(ctx, 0, &s), XP_SUCCESS);
  ASSERT_EQ(B().event_create(ctx, 0, 0, &e), XP_SUCCESS);
  ASSERT_EQ(B().mem_alloc(ctx, 0, 4096, &a), XP_SUCCESS);
  const char *source = "__kernel void k(__global int *p) { p[0] = 1; }";
  ASSERT_EQ(B().module_load(ctx, 0, XP_MODULE_OPENCL_C, source, 0, nullptr, &m), XP_SUCCESS);
  ASSERT_EQ(B().kernel_get(m, "k", &k), XP_SUCCESS);
  std::atomic<int> ran{0};
  ASSERT_EQ(B().launch_host_func(
                s, [](void *p) { ++*static_cast<std::atomic<int> *>(p); }, &ran),
            XP_SUCCESS);
  ASSERT_EQ(B().event_record(e, s), XP_SUCCESS);
  B().shutdown(ctx);  // LeakSanitizer checks that nothing is left
  EXPECT_EQ(ran.load(), 1);
}

}  // namespace
