// Shared helpers of the xpool runtime conformance suite.
//
// The suite is written once against xpool/runtime.h and instantiated for every
// device the runtime finds (parameters named "<backend>_<ordinal in backend>",
// e.g. cpu_0, opencl_1) and for every ordered pair of devices. Nothing here
// knows about a particular backend except TestModuleFor(), which maps a
// backend name to the test kernels written for it.
#ifndef XPOOL_TESTS_RUNTIME_CONFORMANCE_H
#define XPOOL_TESTS_RUNTIME_CONFORMANCE_H

#include <gtest/gtest.h>
#include <xpool/runtime.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

// Prints status codes by name in gtest messages.
void PrintTo(xpStatus status, std::ostream *os);

namespace conformance {

// ---------------------------------------------------------------------------
// The pool
// ---------------------------------------------------------------------------

struct Device {
  int ordinal = -1;   // -1: a placeholder parameter that only skips (see skip_reason)
  std::string label;  // "cpu_0"
  std::string backend;
  int backend_index = -1;
  int backend_device = -1;
  std::string name;
  bool host_addressable = false;
  uint32_t max_threads_per_block = 0;
  uint32_t kernel_pointer_alignment = 1;
  uint64_t memory_total = 0;
  std::string skip_reason;
};
void PrintTo(const Device &device, std::ostream *os);

struct DevicePair {
  Device src, dst;
  std::string skip_reason;  // set on the placeholder when the pool has no pair
};
void PrintTo(const DevicePair &pair, std::ostream *os);

// Status and message of the xpInit made by main() before tests are listed
// (parameters are generated from the pool, so the runtime starts first).
void RecordInit(xpStatus status, const std::string &message);
xpStatus InitStatus();
const std::string &InitMessage();

// The devices the runtime found (empty when xpInit failed).
const std::vector<Device> &Devices();
// Devices() as test parameters, or one placeholder that skips with a reason.
std::vector<Device> DeviceParams();
// Every ordered pair of distinct devices, or one placeholder that skips.
std::vector<DevicePair> PairParams();
std::string DeviceParamName(const ::testing::TestParamInfo<Device> &info);
std::string PairParamName(const ::testing::TestParamInfo<DevicePair> &info);
// "opencl: <reason>; cuda: <reason>" for every backend that is not available.
std::string UnavailableBackends();

class DeviceTest : public ::testing::TestWithParam<Device> {
 protected:
  void SetUp() override {
    if (GetParam().ordinal < 0) GTEST_SKIP() << GetParam().skip_reason;
  }
  int dev() const { return GetParam().ordinal; }
  const Device &device() const { return GetParam(); }
};

class PairTest : public ::testing::TestWithParam<DevicePair> {
 protected:
  void SetUp() override {
    if (!GetParam().skip_reason.empty()) GTEST_SKIP() << GetParam().skip_reason;
  }
  int src() const { return GetParam().src.ordinal; }
  int dst() const { return GetParam().dst.ordinal; }
  bool cross_backend() const { return GetParam().src.backend != GetParam().dst.backend; }
};

#define CONFORMANCE_INSTANTIATE_DEVICES(suite)                                              \
  INSTANTIATE_TEST_SUITE_P(Pool, suite, ::testing::ValuesIn(::conformance::DeviceParams()), \
                           ::conformance::DeviceParamName)
#define CONFORMANCE_INSTANTIATE_PAIRS(suite)                                              \
  INSTANTIATE_TEST_SUITE_P(Pool, suite, ::testing::ValuesIn(::conformance::PairParams()), \
                           ::conformance::PairParamName)

// ---------------------------------------------------------------------------
// Status checks
// ---------------------------------------------------------------------------

::testing::AssertionResult Succeeded(const char *expr, xpStatus status);

#define ASSERT_XP(expr) ASSERT_TRUE(::conformance::Succeeded(#expr, (expr)))
#define EXPECT_XP(expr) EXPECT_TRUE(::conformance::Succeeded(#expr, (expr)))

// What a failing call must return: one of `codes`, and a last-error message
// that contains, for every group in `mentions`, at least one of its strings
// (compared case-insensitively).
struct Expected {
  std::vector<xpStatus> codes;
  std::vector<std::vector<std::string>> mentions;
};
// Reads xpGetLastError() itself, so pass the call's status straight in.
::testing::AssertionResult FailedAs(const char *expr, xpStatus status, const Expected &expected);

// EXPECT_XP_ERROR(xpMalloc(d, 0, &p), {XP_ERROR_INVALID_VALUE}, {{"xpMalloc"}, {"0"}});
#define EXPECT_XP_ERROR(expr, ...) \
  EXPECT_TRUE(::conformance::FailedAs(#expr, (expr), ::conformance::Expected{__VA_ARGS__}))

// After an error the process must keep working: allocate on `device`, copy a
// pattern in and out, compare, free.
void ExpectStillWorks(int device);

// Lower-case hex digits of a pointer without "0x" (how %p and fmt print it).
std::string Hex(const void *ptr);

// ---------------------------------------------------------------------------
// Owned handles (released in the destructor; release errors are ignored)
// ---------------------------------------------------------------------------

template <typename T, xpStatus (*Release)(T)>
class Handle {
 public:
  Handle() = default;
  explicit Handle(T value) : value_(value) {}
  ~Handle() { reset(); }
  Handle(const Handle &) = delete;
  Handle &operator=(const Handle &) = delete;
  Handle(Handle &&other) noexcept : value_(std::exchange(other.value_, T{})) {}
  Handle &operator=(Handle &&other) noexcept {
    if (this != &other) {
      reset();
      value_ = std::exchange(other.value_, T{});
    }
    return *this;
  }
  T get() const { return value_; }
  T *out() {
    reset();
    return &value_;
  }
  T release() { return std::exchange(value_, T{}); }
  void reset() {
    if (value_) Release(value_);
    value_ = T{};
  }
  operator T() const { return value_; }

 private:
  T value_{};
};

using Stream = Handle<xpStream, xpStreamDestroy>;
using Event = Handle<xpEvent, xpEventDestroy>;
using Module = Handle<xpModule, xpModuleUnload>;
using DevicePtr = Handle<void *, xpFree>;
using PinnedPtr = Handle<void *, xpFreeHost>;

inline uint8_t *U8(void *p) {
  return static_cast<uint8_t *>(p);
}

// ---------------------------------------------------------------------------
// Host buffers and patterns
// ---------------------------------------------------------------------------

uint64_t Mix(uint64_t x);  // splitmix64

// Non-trivial byte pattern: every 8-byte word is Mix(seed + word index), so
// any shift or misplaced chunk shows up as a mismatch.
void FillPattern(uint8_t *dst, size_t bytes, uint64_t seed);

// Pageable host memory, not initialised (so large buffers are touched once).
class HostBuffer {
 public:
  explicit HostBuffer(size_t bytes) : bytes_(bytes), data_(new uint8_t[bytes ? bytes : 1]) {}
  uint8_t *data() { return data_.get(); }
  const uint8_t *data() const { return data_.get(); }
  size_t size() const { return bytes_; }
  void Fill(uint64_t seed) { FillPattern(data(), bytes_, seed); }
  void Set(uint8_t value);

 private:
  size_t bytes_;
  std::unique_ptr<uint8_t[]> data_;
};

// Compares byte for byte; on mismatch names the first differing offsets.
::testing::AssertionResult BytesEqual(const uint8_t *expected, const uint8_t *actual, size_t bytes);
// Every byte of [p, p + bytes) equals `value`.
::testing::AssertionResult BytesAre(const uint8_t *p, size_t bytes, uint8_t value);

// ---------------------------------------------------------------------------
// Host functions and time
// ---------------------------------------------------------------------------

// xpHostFn that sleeps for (intptr_t)user_data milliseconds.
void SleepHostFn(void *milliseconds);
inline void *Ms(intptr_t milliseconds) {
  return reinterpret_cast<void *>(milliseconds);
}

inline double MsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

// ---------------------------------------------------------------------------
// Kernels
// ---------------------------------------------------------------------------

struct TestModule {
  xpModuleFormat format;       // the explicit format of `path`
  std::string path;            // the module with the test kernels
  std::string alt_path;        // a second module, with only the kernel alt_marker
  bool checks_arg_count;       // the backend can tell a launch has the wrong arg count
  xpModuleFormat unsupported;  // a format this backend does not load
  // A module in `format` that must fail to build, and strings of which its
  // error message must contain one; empty when the backend has no such sample.
  std::string broken_module;
  std::vector<std::string> broken_mentions;
  std::vector<xpStatus> broken_codes;  // what loading it may return
};

// The test kernels for a backend, or nullopt when none are written for it.
std::optional<TestModule> TestModuleFor(const std::string &backend);

std::string ReadFile(const std::string &path);

// Collects kernel arguments; values must outlive the launch call.
class KernelArgs {
 public:
  template <typename T>
  KernelArgs &Add(T &value) {
    values_.push_back(&value);
    sizes_.push_back(sizeof(T));
    return *this;
  }
  void *const *values() const { return values_.data(); }
  const size_t *sizes() const { return sizes_.data(); }
  int count() const { return static_cast<int>(values_.size()); }

 private:
  std::vector<void *> values_;
  std::vector<size_t> sizes_;
};

inline xpStatus Launch(xpKernel kernel, xpDim3 grid, xpDim3 block, size_t shared_bytes,
                       xpStream stream, const KernelArgs &args) {
  return xpLaunchKernel(kernel, grid, block, shared_bytes, stream, args.values(), args.sizes(),
                        args.count());
}

// Largest power of two <= min(256, max_threads_per_block).
uint32_t BlockSize(const Device &device);

inline uint32_t DivUp(size_t n, uint32_t d) {
  return static_cast<uint32_t>((n + d - 1) / d);
}

}  // namespace conformance

#endif  // XPOOL_TESTS_RUNTIME_CONFORMANCE_H
