#include "conformance.h"

#include <algorithm>
#include <cctype>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

void PrintTo(xpStatus status, std::ostream *os) {
  *os << xpStatusName(status) << " (" << static_cast<int>(status) << ")";
}

namespace conformance {

namespace {

xpStatus g_init_status = XP_ERROR_NOT_INITIALIZED;
std::string g_init_message = "xpInit was not called";

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string Sanitize(const std::string &s) {
  std::string out;
  for (unsigned char c : s) out += std::isalnum(c) ? static_cast<char>(c) : '_';
  return out.empty() ? std::string("unnamed") : out;
}

std::vector<Device> Enumerate() {
  std::vector<Device> devices;
  if (g_init_status != XP_SUCCESS) return devices;
  int count = 0;
  if (xpDeviceCount(&count) != XP_SUCCESS) return devices;
  for (int i = 0; i < count; ++i) {
    xpDeviceProps props{};
    props.struct_size = sizeof props;
    if (xpDeviceGetProperties(i, &props) != XP_SUCCESS) continue;
    Device d;
    d.ordinal = i;
    d.backend = props.backend;
    d.backend_index = props.backend_index;
    d.backend_device = props.backend_device;
    d.label = Sanitize(d.backend) + "_" + std::to_string(props.backend_device);
    d.name = props.name;
    d.host_addressable = props.host_addressable != 0;
    d.max_threads_per_block =
        props.max_threads_per_block > 0 ? static_cast<uint32_t>(props.max_threads_per_block) : 1;
    d.kernel_pointer_alignment = props.kernel_pointer_alignment;
    d.memory_total = props.memory_total;
    devices.push_back(d);
  }
  return devices;
}

}  // namespace

void RecordInit(xpStatus status, const std::string &message) {
  g_init_status = status;
  g_init_message = message;
}
xpStatus InitStatus() {
  return g_init_status;
}
const std::string &InitMessage() {
  return g_init_message;
}

const std::vector<Device> &Devices() {
  static const std::vector<Device> devices = Enumerate();
  return devices;
}

std::string UnavailableBackends() {
  if (g_init_status != XP_SUCCESS) return "xpInit failed: " + g_init_message;
  int count = 0;
  if (xpBackendCount(&count) != XP_SUCCESS) return "xpBackendCount failed";
  std::string out;
  for (int i = 0; i < count; ++i) {
    xpBackendInfo info{};
    info.struct_size = sizeof info;
    if (xpBackendGetInfo(i, &info) != XP_SUCCESS) continue;
    if (info.available && info.device_count > 0) continue;
    if (!out.empty()) out += "; ";
    out += std::string(info.name) + ": " +
           (info.reason[0]   ? info.reason
            : info.available ? "no devices"
                             : "unavailable");
  }
  return out.empty() ? std::string("none") : out;
}

std::vector<Device> DeviceParams() {
  std::vector<Device> params = Devices();
  if (params.empty()) {
    Device none;
    none.label = "no_device";
    none.skip_reason =
        "the runtime found no device; unavailable backends: " + UnavailableBackends();
    params.push_back(none);
  }
  return params;
}

std::vector<DevicePair> PairParams() {
  std::vector<DevicePair> pairs;
  const auto &devices = Devices();
  for (const auto &a : devices)
    for (const auto &b : devices)
      if (a.ordinal != b.ordinal) pairs.push_back(DevicePair{a, b, ""});
  if (pairs.empty()) {
    DevicePair none;
    none.src.label = "no";
    none.dst.label = "pair";
    none.skip_reason = "the pool has " + std::to_string(devices.size()) +
                       " device(s); cross-device tests need two (XPOOL_CPU_DEVICES=2 or "
                       "POCL_DEVICES=\"basic basic\"); unavailable backends: " +
                       UnavailableBackends();
    pairs.push_back(none);
  }
  return pairs;
}

std::string DeviceParamName(const ::testing::TestParamInfo<Device> &info) {
  return info.param.label;
}

std::string PairParamName(const ::testing::TestParamInfo<DevicePair> &info) {
  return info.param.src.label + "_to_" + info.param.dst.label;
}

void PrintTo(const Device &device, std::ostream *os) {
  if (device.ordinal < 0) {
    *os << device.label;
    return;
  }
  *os << device.label << " (pool device " << device.ordinal << ", " << device.name << ")";
}

void PrintTo(const DevicePair &pair, std::ostream *os) {
  PrintTo(pair.src, os);
  *os << " -> ";
  PrintTo(pair.dst, os);
}

::testing::AssertionResult Succeeded(const char *expr, xpStatus status) {
  if (status == XP_SUCCESS) return ::testing::AssertionSuccess();
  const std::string message = xpGetLastError();
  return ::testing::AssertionFailure()
         << expr << " returned " << xpStatusName(status) << ": \"" << message << "\"";
}

::testing::AssertionResult FailedAs(const char *expr, xpStatus status, const Expected &expected) {
  const std::string message = xpGetLastError();
  std::ostringstream allowed;
  for (size_t i = 0; i < expected.codes.size(); ++i)
    allowed << (i ? " or " : "") << xpStatusName(expected.codes[i]);
  if (status == XP_SUCCESS) {
    return ::testing::AssertionFailure()
           << expr << " returned XP_SUCCESS, expected " << allowed.str();
  }
  if (std::find(expected.codes.begin(), expected.codes.end(), status) == expected.codes.end()) {
    return ::testing::AssertionFailure()
           << expr << " returned " << xpStatusName(status) << ", expected " << allowed.str()
           << "; message: \"" << message << "\"";
  }
  const std::string lower = Lower(message);
  for (const auto &group : expected.mentions) {
    bool found = false;
    for (const auto &s : group) found = found || lower.find(Lower(s)) != std::string::npos;
    if (!found) {
      std::ostringstream wanted;
      for (size_t i = 0; i < group.size(); ++i) wanted << (i ? "\" or \"" : "\"") << group[i];
      return ::testing::AssertionFailure() << expr << " returned " << xpStatusName(status)
                                           << " as expected, but xpGetLastError() does not mention "
                                           << wanted.str() << "\": \"" << message << "\"";
    }
  }
  return ::testing::AssertionSuccess() << expr << " -> " << xpStatusName(status) << ": " << message;
}

void ExpectStillWorks(int device) {
  SCOPED_TRACE("the runtime still works after the error");
  constexpr size_t kBytes = 4096 + 7;
  HostBuffer in(kBytes), out(kBytes);
  in.Fill(0x5eed);
  out.Set(0);
  DevicePtr p;
  ASSERT_XP(xpMalloc(device, kBytes, p.out()));
  ASSERT_XP(xpMemcpy(p, in.data(), kBytes));
  ASSERT_XP(xpMemcpy(out.data(), p, kBytes));
  EXPECT_TRUE(BytesEqual(in.data(), out.data(), kBytes));
}

std::string Hex(const void *ptr) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%" PRIxPTR, reinterpret_cast<uintptr_t>(ptr));
  return buf;
}

uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

void FillPattern(uint8_t *dst, size_t bytes, uint64_t seed) {
  const size_t words = bytes / 8;
  for (size_t w = 0; w < words; ++w) {
    const uint64_t v = Mix(seed * 0x100000001b3ull + w);
    std::memcpy(dst + w * 8, &v, 8);
  }
  if (bytes % 8) {
    const uint64_t v = Mix(seed * 0x100000001b3ull + words);
    std::memcpy(dst + words * 8, &v, bytes % 8);
  }
}

void HostBuffer::Set(uint8_t value) {
  std::memset(data(), value, bytes_);
}

::testing::AssertionResult BytesEqual(const uint8_t *expected, const uint8_t *actual,
                                      size_t bytes) {
  if (bytes == 0 || std::memcmp(expected, actual, bytes) == 0) return ::testing::AssertionSuccess();
  size_t mismatches = 0, first = bytes, last = 0;
  std::ostringstream detail;
  for (size_t i = 0; i < bytes; ++i) {
    if (expected[i] == actual[i]) continue;
    if (mismatches < 8) {
      char buf[96];
      std::snprintf(buf, sizeof buf, "\n  [%zu] expected 0x%02x, got 0x%02x", i, expected[i],
                    actual[i]);
      detail << buf;
    }
    first = std::min(first, i);
    last = i;
    ++mismatches;
  }
  return ::testing::AssertionFailure()
         << mismatches << " of " << bytes << " bytes differ (first at offset " << first
         << ", last at " << last << ")" << detail.str();
}

::testing::AssertionResult BytesAre(const uint8_t *p, size_t bytes, uint8_t value) {
  size_t mismatches = 0, first = bytes;
  for (size_t i = 0; i < bytes; ++i) {
    if (p[i] != value) {
      if (!mismatches) first = i;
      ++mismatches;
    }
  }
  if (!mismatches) return ::testing::AssertionSuccess();
  char buf[128];
  std::snprintf(buf, sizeof buf, "%zu of %zu bytes are not 0x%02x (first at offset %zu: 0x%02x)",
                mismatches, bytes, value, first, p[first]);
  return ::testing::AssertionFailure() << buf;
}

void SleepHostFn(void *milliseconds) {
  std::this_thread::sleep_for(std::chrono::milliseconds(reinterpret_cast<intptr_t>(milliseconds)));
}

std::optional<TestModule> TestModuleFor(const std::string &backend) {
  if (backend == "cpu") {
    return TestModule{XP_MODULE_SHARED_OBJECT,
                      XPOOL_TEST_CPU_KERNELS,
                      XPOOL_TEST_CPU_KERNELS_ALT,
                      false,
                      XP_MODULE_PTX,
                      "this is not an ELF shared object, just garbage bytes\n",
                      {"dlopen", "invalid ELF header", "file too short"},
                      {XP_ERROR_BUILD, XP_ERROR_INVALID_VALUE, XP_ERROR_BACKEND}};
  }
  if (backend == "opencl") {
    return TestModule{XP_MODULE_OPENCL_C,
                      XPOOL_TEST_OPENCL_KERNELS,
                      XPOOL_TEST_OPENCL_KERNELS_ALT,
                      true,
                      XP_MODULE_PTX,
                      "__kernel void broken(__global int *x) {\n"
                      "  x[0] = conformance_undeclared_identifier;\n"
                      "}\n",
                      {"conformance_undeclared_identifier"},
                      {XP_ERROR_BUILD}};
  }
  if (backend == "cuda") {
    return TestModule{XP_MODULE_CUDA_CPP,
                      XPOOL_TEST_CUDA_KERNELS,
                      XPOOL_TEST_CUDA_KERNELS_ALT,
                      true,
                      XP_MODULE_SHARED_OBJECT,
                      "extern \"C\" __global__ void broken(int *x) {\n"
                      "  x[0] = conformance_undeclared_identifier;\n"
                      "}\n",
                      {"conformance_undeclared_identifier"},
                      {XP_ERROR_BUILD}};
  }
  return std::nullopt;
}

std::string ReadFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

uint32_t BlockSize(const Device &device) {
  uint32_t limit = std::min<uint32_t>(256, std::max<uint32_t>(1, device.max_threads_per_block));
  uint32_t block = 1;
  while (block * 2 <= limit) block *= 2;
  return block;
}

}  // namespace conformance
