// Error paths: each checks the status, that xpGetLastError() names the call
// or the offending value, and that the runtime keeps working afterwards.
#include <cstdlib>
#include <cstring>

#include "conformance.h"

namespace conformance {
namespace {

class ErrorsTest : public DeviceTest {};

TEST_P(ErrorsTest, MallocNullOutput) {
  EXPECT_XP_ERROR(xpMalloc(dev(), 16, nullptr), {XP_ERROR_INVALID_VALUE},
                  {{"xpMalloc"}, {"null", "ptr"}});
  ExpectStillWorks(dev());
}

TEST_P(ErrorsTest, MallocZeroBytes) {
  void *p = nullptr;
  EXPECT_XP_ERROR(xpMalloc(dev(), 0, &p), {XP_ERROR_INVALID_VALUE},
                  {{"xpMalloc"}, {"0 bytes", "zero", "0-byte", " 0"}});
  EXPECT_EQ(p, nullptr);
  ExpectStillWorks(dev());
}

TEST_P(ErrorsTest, MallocHuge) {
  constexpr size_t kPiB = size_t{1} << 50;
  void *p = nullptr;
  EXPECT_XP_ERROR(xpMalloc(dev(), kPiB, &p), {XP_ERROR_OUT_OF_MEMORY, XP_ERROR_INVALID_VALUE},
                  {{"xpMalloc"}, {std::to_string(kPiB), "PiB", "1024 TiB", "1048576 MiB"}});
  EXPECT_EQ(p, nullptr);
  xpDeviceProps props{};
  props.struct_size = sizeof props;
  ASSERT_XP(xpDeviceGetProperties(dev(), &props));
  EXPECT_LT(props.memory_allocated, kPiB) << "the failed allocation is counted";
  ExpectStillWorks(dev());
}

TEST_P(ErrorsTest, MemcpyNullPointers) {
  DevicePtr d;
  ASSERT_XP(xpMalloc(dev(), 64, d.out()));
  HostBuffer h(64);
  h.Set(1);
  const Expected kNullSrc{{XP_ERROR_INVALID_VALUE}, {{"xpMemcpy"}, {"null", "src"}}};
  const Expected kNullDst{{XP_ERROR_INVALID_VALUE}, {{"xpMemcpy"}, {"null", "dst"}}};
  EXPECT_TRUE(FailedAs("xpMemcpy(d, NULL, 16)", xpMemcpy(d, nullptr, 16), kNullSrc));
  EXPECT_TRUE(FailedAs("xpMemcpy(NULL, d, 16)", xpMemcpy(nullptr, d, 16), kNullDst));
  EXPECT_TRUE(FailedAs("xpMemcpy(NULL, host, 16)", xpMemcpy(nullptr, h.data(), 16), kNullDst));
  Stream s;
  ASSERT_XP(xpStreamCreate(dev(), s.out()));
  EXPECT_TRUE(
      FailedAs("xpMemcpyAsync(d, NULL, 16, s)", xpMemcpyAsync(d, nullptr, 16, s), kNullSrc));
  EXPECT_TRUE(
      FailedAs("xpMemcpyAsync(NULL, d, 16, s)", xpMemcpyAsync(nullptr, d, 16, s), kNullDst));
  EXPECT_XP_ERROR(xpMemset(nullptr, 0, 16), {XP_ERROR_INVALID_VALUE},
                  {{"xpMemset"}, {"null", "dst"}});
  EXPECT_XP_ERROR(xpMemsetAsync(nullptr, 0, 16, s), {XP_ERROR_INVALID_VALUE},
                  {{"xpMemset"}, {"null", "dst"}});
  EXPECT_XP(xpStreamSynchronize(s)) << "a rejected call left an error on the stream";
  ExpectStillWorks(dev());
}

TEST_P(ErrorsTest, CopyBeyondAllocation) {
  DevicePtr d, other;
  ASSERT_XP(xpMalloc(dev(), 2048, d.out()));
  ASSERT_XP(xpMalloc(dev(), 8192, other.out()));
  HostBuffer h(8192);
  h.Set(7);
  // Reading 4096 bytes of a 2048-byte allocation.
  EXPECT_XP_ERROR(xpMemcpy(h.data(), d, 4096), {XP_ERROR_INVALID_VALUE},
                  {{"xpMemcpy"}, {"4096"}, {"2048"}});
  // Writing 2048 bytes at offset 1024 of it.
  EXPECT_XP_ERROR(xpMemcpy(U8(d) + 1024, h.data(), 2048), {XP_ERROR_INVALID_VALUE},
                  {{"xpMemcpy"}, {"2048"}, {"1024", "3072"}});
  // Device to device, each side too small in turn.
  EXPECT_XP_ERROR(xpMemcpy(other, d, 4096), {XP_ERROR_INVALID_VALUE},
                  {{"xpMemcpy"}, {"4096"}, {"2048"}});
  EXPECT_XP_ERROR(xpMemcpy(U8(d) + 1, other, 2048), {XP_ERROR_INVALID_VALUE},
                  {{"xpMemcpy"}, {"2048"}});
  EXPECT_XP_ERROR(xpMemset(U8(d) + 2000, 0, 100), {XP_ERROR_INVALID_VALUE},
                  {{"xpMemset"}, {"2048", "2100"}});
  Stream s;
  ASSERT_XP(xpStreamCreate(dev(), s.out()));
  EXPECT_XP_ERROR(xpMemcpyAsync(h.data(), d, 4096, s), {XP_ERROR_INVALID_VALUE},
                  {{"xpMemcpyAsync"}, {"4096"}, {"2048"}});
  EXPECT_XP_ERROR(xpMemsetAsync(d, 0, 2049, s), {XP_ERROR_INVALID_VALUE},
                  {{"xpMemsetAsync"}, {"2049"}, {"2048"}});
  EXPECT_XP(xpStreamSynchronize(s)) << "a rejected call left an error on the stream";
  // Exactly up to the end is fine.
  EXPECT_XP(xpMemcpy(U8(d) + 1024, h.data(), 1024));
  ExpectStillWorks(dev());
}

TEST_P(ErrorsTest, FreeTwice) {
  void *p = nullptr;
  ASSERT_XP(xpMalloc(dev(), 256, &p));
  ASSERT_XP(xpFree(p));
  EXPECT_XP_ERROR(xpFree(p), {XP_ERROR_INVALID_VALUE}, {{"xpFree"}, {Hex(p)}});
  ExpectStillWorks(dev());
}

TEST_P(ErrorsTest, FreeInteriorPointer) {
  DevicePtr d;
  ASSERT_XP(xpMalloc(dev(), 256, d.out()));
  void *inside = U8(d) + 16;
  EXPECT_XP_ERROR(xpFree(inside), {XP_ERROR_INVALID_VALUE}, {{"xpFree"}, {Hex(inside)}});
  ExpectStillWorks(dev());
}

TEST_P(ErrorsTest, FreeHostOfDevicePointer) {
  DevicePtr d;
  ASSERT_XP(xpMalloc(dev(), 256, d.out()));
  EXPECT_XP_ERROR(xpFreeHost(d), {XP_ERROR_INVALID_VALUE}, {{"xpFreeHost"}, {Hex(d)}});
  // The allocation is still alive and usable.
  HostBuffer in(256), out(256);
  in.Fill(3);
  ASSERT_XP(xpMemcpy(d, in.data(), 256));
  ASSERT_XP(xpMemcpy(out.data(), d, 256));
  EXPECT_TRUE(BytesEqual(in.data(), out.data(), 256));
  ExpectStillWorks(dev());
}

TEST_P(ErrorsTest, StreamAndEventNullOutputs) {
  EXPECT_XP_ERROR(xpStreamCreate(dev(), nullptr), {XP_ERROR_INVALID_VALUE},
                  {{"xpStreamCreate"}, {"null", "stream"}});
  EXPECT_XP_ERROR(xpEventCreate(dev(), XP_EVENT_DEFAULT, nullptr), {XP_ERROR_INVALID_VALUE},
                  {{"xpEventCreate"}, {"null", "event"}});
  Event e1, e2;
  ASSERT_XP(xpEventCreate(dev(), XP_EVENT_DEFAULT, e1.out()));
  ASSERT_XP(xpEventCreate(dev(), XP_EVENT_DEFAULT, e2.out()));
  EXPECT_XP_ERROR(xpEventElapsedTime(nullptr, e1, e2), {XP_ERROR_INVALID_VALUE},
                  {{"xpEventElapsedTime"}, {"null", "ms"}});
  ExpectStillWorks(dev());
}

CONFORMANCE_INSTANTIATE_DEVICES(ErrorsTest);

// ---------------------------------------------------------------------------
// Errors that do not depend on a device
// ---------------------------------------------------------------------------

int FirstDevice() {
  return Devices().empty() ? -1 : Devices().front().ordinal;
}

#define REQUIRE_A_DEVICE() \
  if (FirstDevice() < 0)   \
  GTEST_SKIP() << "no device; unavailable backends: " << UnavailableBackends()

TEST(Errors, FreeForeignPointers) {
  REQUIRE_A_DEVICE();
  int on_stack = 0;
  void *heap = std::malloc(64);
  EXPECT_XP_ERROR(xpFree(&on_stack), {XP_ERROR_INVALID_VALUE}, {{"xpFree"}, {Hex(&on_stack)}});
  EXPECT_XP_ERROR(xpFree(heap), {XP_ERROR_INVALID_VALUE}, {{"xpFree"}, {Hex(heap)}});
  EXPECT_XP_ERROR(xpFreeHost(&on_stack), {XP_ERROR_INVALID_VALUE},
                  {{"xpFreeHost"}, {Hex(&on_stack)}});
  EXPECT_XP_ERROR(xpFreeHost(heap), {XP_ERROR_INVALID_VALUE}, {{"xpFreeHost"}, {Hex(heap)}});
  std::free(heap);
  void *pinned = nullptr;
  ASSERT_XP(xpMallocHost(64, &pinned));
  EXPECT_XP_ERROR(xpFree(pinned), {XP_ERROR_INVALID_VALUE}, {{"xpFree"}, {Hex(pinned)}});
  EXPECT_XP(xpFreeHost(pinned)) << "the pinned block was damaged by the rejected xpFree";
  EXPECT_XP_ERROR(xpFreeHost(pinned), {XP_ERROR_INVALID_VALUE}, {{"xpFreeHost"}, {Hex(pinned)}});
  ExpectStillWorks(FirstDevice());
}

TEST(Errors, InvalidDeviceOrdinal) {
  REQUIRE_A_DEVICE();
  int count = 0;
  ASSERT_XP(xpDeviceCount(&count));
  for (int bad : {-5, count, count + 7}) {
    SCOPED_TRACE(bad);
    const std::string b = std::to_string(bad);
    const std::vector<xpStatus> codes{XP_ERROR_INVALID_VALUE, XP_ERROR_NO_DEVICE};
    void *p = nullptr;
    EXPECT_XP_ERROR(xpMalloc(bad, 64, &p), codes, {{"xpMalloc"}, {b}});
    xpStream s = nullptr;
    EXPECT_XP_ERROR(xpStreamCreate(bad, &s), codes, {{"xpStreamCreate"}, {b}});
    xpEvent e = nullptr;
    EXPECT_XP_ERROR(xpEventCreate(bad, XP_EVENT_DEFAULT, &e), codes, {{"xpEventCreate"}, {b}});
    xpDeviceProps props{};
    props.struct_size = sizeof props;
    EXPECT_XP_ERROR(xpDeviceGetProperties(bad, &props), codes, {{"xpDeviceGetProperties"}, {b}});
    uint64_t free_bytes = 0, total = 0;
    EXPECT_XP_ERROR(xpMemGetInfo(bad, &free_bytes, &total), codes, {{"xpMemGetInfo"}, {b}});
    EXPECT_XP_ERROR(xpDeviceSynchronize(bad), codes, {{"xpDeviceSynchronize"}, {b}});
    xpAffinity affinity;
    EXPECT_XP_ERROR(xpDeviceGetAffinity(bad, FirstDevice(), &affinity), codes,
                    {{"xpDeviceGetAffinity"}, {b}});
    xpModule m = nullptr;
    const char src[] = "x";
    EXPECT_XP_ERROR(xpModuleLoadData(bad, XP_MODULE_NATIVE, src, sizeof src, nullptr, &m), codes,
                    {{"xpModuleLoadData"}, {b}});
    EXPECT_EQ(p, nullptr);
    EXPECT_EQ(s, nullptr);
    EXPECT_EQ(e, nullptr);
    EXPECT_EQ(m, nullptr);
  }
  int found = 0;
  EXPECT_XP_ERROR(xpDeviceFindByStableId("nosuchbackend:0123", &found),
                  {XP_ERROR_NOT_FOUND, XP_ERROR_INVALID_VALUE}, {{"nosuchbackend:0123"}});
  ExpectStillWorks(FirstDevice());
}

TEST(Errors, NullHandles) {
  REQUIRE_A_DEVICE();
  const std::vector<xpStatus> codes{XP_ERROR_INVALID_HANDLE, XP_ERROR_INVALID_VALUE};
  Stream s;
  ASSERT_XP(xpStreamCreate(FirstDevice(), s.out()));
  Event e;
  ASSERT_XP(xpEventCreate(FirstDevice(), XP_EVENT_DEFAULT, e.out()));
  int device = 0;
  EXPECT_XP_ERROR(xpStreamGetDevice(nullptr, &device), codes, {{"xpStreamGetDevice"}});
  EXPECT_XP_ERROR(xpStreamGetDevice(s, nullptr), {XP_ERROR_INVALID_VALUE},
                  {{"xpStreamGetDevice"}, {"null", "device"}});
  EXPECT_XP_ERROR(xpStreamDestroy(nullptr), codes, {{"xpStreamDestroy"}});
  EXPECT_XP_ERROR(xpStreamWaitEvent(s, nullptr), codes, {{"xpStreamWaitEvent"}});
  EXPECT_XP_ERROR(xpEventRecord(nullptr, s), codes, {{"xpEventRecord"}});
  EXPECT_XP_ERROR(xpEventQuery(nullptr), codes, {{"xpEventQuery"}});
  EXPECT_XP_ERROR(xpEventSynchronize(nullptr), codes, {{"xpEventSynchronize"}});
  EXPECT_XP_ERROR(xpEventDestroy(nullptr), codes, {{"xpEventDestroy"}});
  float ms = 0;
  EXPECT_XP_ERROR(xpEventElapsedTime(&ms, nullptr, e), codes, {{"xpEventElapsedTime"}});
  xpKernel k = nullptr;
  EXPECT_XP_ERROR(xpModuleGetKernel(nullptr, "vector_add", &k), codes, {{"xpModuleGetKernel"}});
  EXPECT_XP_ERROR(xpLaunchKernel(nullptr, {1, 1, 1}, {1, 1, 1}, 0, s, nullptr, nullptr, 0), codes,
                  {{"xpLaunchKernel"}});
  EXPECT_XP(xpStreamSynchronize(s));
  ExpectStillWorks(FirstDevice());
}

TEST(Errors, OtherNullOutputs) {
  REQUIRE_A_DEVICE();
  EXPECT_XP_ERROR(xpDeviceCount(nullptr), {XP_ERROR_INVALID_VALUE}, {{"xpDeviceCount"}});
  EXPECT_XP_ERROR(xpBackendCount(nullptr), {XP_ERROR_INVALID_VALUE}, {{"xpBackendCount"}});
  EXPECT_XP_ERROR(xpDeviceGetProperties(FirstDevice(), nullptr), {XP_ERROR_INVALID_VALUE},
                  {{"xpDeviceGetProperties"}});
  int on_stack = 0;
  EXPECT_XP_ERROR(xpPointerGetAttributes(&on_stack, nullptr), {XP_ERROR_INVALID_VALUE},
                  {{"xpPointerGetAttributes"}});
  ExpectStillWorks(FirstDevice());
}

}  // namespace
}  // namespace conformance
