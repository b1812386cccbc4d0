// Every ordered pair of distinct devices (same backend or not): copies
// between them, stream-ordered cross-device work, event waits across devices
// and backends, and the errors of mixing devices.
#include <atomic>
#include <cstring>
#include <thread>

#include "conformance.h"

namespace conformance {
namespace {

class CrossDeviceTest : public PairTest {};

constexpr uint8_t kGuard = 0xe7;
constexpr size_t kTail = 11;

TEST_P(CrossDeviceTest, AffinityAndPointers) {
  xpAffinity ab, ba;
  ASSERT_XP(xpDeviceGetAffinity(src(), dst(), &ab));
  ASSERT_XP(xpDeviceGetAffinity(dst(), src(), &ba));
  EXPECT_NE(ab, XP_AFFINITY_SAME_DEVICE);
  EXPECT_EQ(ab, ba);
  EXPECT_NE(xpAffinityName(ab), nullptr);

  DevicePtr a, b;
  ASSERT_XP(xpMalloc(src(), 4096, a.out()));
  ASSERT_XP(xpMalloc(dst(), 4096, b.out()));
  EXPECT_TRUE(U8(a) + 4096 <= U8(b) || U8(b) + 4096 <= U8(a)) << "pointers of two devices overlap";
  for (auto [ptr, owner] : {std::pair<void *, int>{a, src()}, std::pair<void *, int>{b, dst()}}) {
    xpPointerAttributes attr{};
    attr.struct_size = sizeof attr;
    ASSERT_XP(xpPointerGetAttributes(U8(ptr) + 10, &attr));
    EXPECT_EQ(attr.type, XP_MEMORY_DEVICE);
    EXPECT_EQ(attr.device, owner);
    EXPECT_EQ(attr.base, ptr);
    EXPECT_EQ(attr.offset, 10u);
  }
}

enum class Mode { kSync, kAsyncDstStream, kAsyncSrcStream, kAsyncNullStream };

const char *Name(Mode m) {
  switch (m) {
    case Mode::kSync:
      return "sync";
    case Mode::kAsyncDstStream:
      return "async on a stream of the destination";
    case Mode::kAsyncSrcStream:
      return "async on a stream of the source";
    case Mode::kAsyncNullStream:
      return "async on the NULL stream";
  }
  return "?";
}

// Pattern -> src device (+src_off) -> dst device (+dst_off) -> host; checks the
// data and the guard bytes around it on the destination.
void CheckPeerCopy(int src, int dst, size_t n, size_t src_off, size_t dst_off, Mode mode) {
  SCOPED_TRACE(std::to_string(n) + " bytes, source +" + std::to_string(src_off) +
               ", destination +" + std::to_string(dst_off) + ", " + Name(mode));
  const size_t src_bytes = src_off + n + 1, dst_bytes = dst_off + n + kTail;
  HostBuffer ref(src_bytes), out(dst_bytes);
  ref.Fill(n * 31 + src_off);
  DevicePtr a, b;
  ASSERT_XP(xpMalloc(src, src_bytes, a.out()));
  ASSERT_XP(xpMalloc(dst, dst_bytes, b.out()));
  ASSERT_XP(xpMemcpy(a, ref.data(), src_bytes));
  ASSERT_XP(xpMemset(b, kGuard, dst_bytes));
  uint8_t *to = U8(b) + dst_off;
  const uint8_t *from = U8(a) + src_off;
  switch (mode) {
    case Mode::kSync:
      ASSERT_XP(xpMemcpy(to, from, n));
      break;
    case Mode::kAsyncDstStream:
    case Mode::kAsyncSrcStream: {
      Stream s;
      ASSERT_XP(xpStreamCreate(mode == Mode::kAsyncDstStream ? dst : src, s.out()));
      ASSERT_XP(xpMemcpyAsync(to, from, n, s));
      ASSERT_XP(xpStreamSynchronize(s));
      break;
    }
    case Mode::kAsyncNullStream:
      ASSERT_XP(xpMemcpyAsync(to, from, n, nullptr));
      ASSERT_XP(xpDeviceSynchronize(dst));
      break;
  }
  ASSERT_XP(xpMemcpy(out.data(), b, dst_bytes));
  EXPECT_TRUE(BytesAre(out.data(), dst_off, kGuard)) << "bytes before the copy changed";
  EXPECT_TRUE(BytesEqual(ref.data() + src_off, out.data() + dst_off, n));
  EXPECT_TRUE(BytesAre(out.data() + dst_off + n, kTail, kGuard)) << "bytes after the copy changed";
}

TEST_P(CrossDeviceTest, CopySync) {
  for (size_t n : {size_t{0}, size_t{1}, size_t{4097}, size_t{1000003}}) {
    CheckPeerCopy(src(), dst(), n, 0, 0, Mode::kSync);
    CheckPeerCopy(src(), dst(), n, 3, 1, Mode::kSync);
  }
}

TEST_P(CrossDeviceTest, CopyAsync) {
  for (Mode mode : {Mode::kAsyncDstStream, Mode::kAsyncSrcStream, Mode::kAsyncNullStream})
    for (size_t n : {size_t{0}, size_t{1}, size_t{4097}, size_t{1000003}})
      CheckPeerCopy(src(), dst(), n, 3, 1, mode);
}

TEST_P(CrossDeviceTest, CopyLarge) {
  constexpr size_t n = (size_t{64} << 20) + 5;
  CheckPeerCopy(src(), dst(), n, 3, 1, Mode::kSync);
  CheckPeerCopy(src(), dst(), n, 1, 3, Mode::kAsyncDstStream);
}

// Host -> src -> dst -> src (another buffer) -> host, all async on one stream
// of the destination device, with fills in between: only the issue order gives
// the expected bytes.
TEST_P(CrossDeviceTest, OrderedChainAcrossDevices) {
  constexpr size_t n = (size_t{1} << 20) + 9;
  HostBuffer ref(n), out(n), expected(n);
  ref.Fill(42);
  std::memcpy(expected.data(), ref.data(), n);
  std::memset(expected.data() + 100, 0x5b, 5000);
  DevicePtr a, b, c;
  ASSERT_XP(xpMalloc(src(), n, a.out()));
  ASSERT_XP(xpMalloc(dst(), n, b.out()));
  ASSERT_XP(xpMalloc(src(), n, c.out()));
  Stream s;
  ASSERT_XP(xpStreamCreate(dst(), s.out()));
  ASSERT_XP(xpMemcpyAsync(a, ref.data(), n, s));
  ASSERT_XP(xpMemcpyAsync(b, a, n, s));
  ASSERT_XP(xpMemsetAsync(a, 0x00, n, s));  // must not reach b or c
  ASSERT_XP(xpMemsetAsync(U8(b) + 100, 0x5b, 5000, s));
  ASSERT_XP(xpMemcpyAsync(c, b, n, s));
  ASSERT_XP(xpMemsetAsync(b, 0x00, n, s));  // must not reach c
  ASSERT_XP(xpMemcpyAsync(out.data(), c, n, s));
  ASSERT_XP(xpStreamSynchronize(s));
  EXPECT_TRUE(BytesEqual(expected.data(), out.data(), n));
}

// Stream A (source device) sleeps 50 ms, then writes its buffer and records an
// event; stream B (destination device, maybe another backend) waits for the
// event, then copies A's buffer to its own and back to the host. Without the
// wait B would copy the zeros the buffer held before.
TEST_P(CrossDeviceTest, StreamWaitEvent) {
  constexpr size_t n = (size_t{1} << 20) + 3;
  HostBuffer ref(n), out(n);
  ref.Fill(77);
  out.Set(0xcd);
  DevicePtr a, b;
  ASSERT_XP(xpMalloc(src(), n, a.out()));
  ASSERT_XP(xpMalloc(dst(), n, b.out()));
  ASSERT_XP(xpMemset(a, 0, n));
  ASSERT_XP(xpMemset(b, 0, n));
  Stream sa, sb;
  ASSERT_XP(xpStreamCreate(src(), sa.out()));
  ASSERT_XP(xpStreamCreate(dst(), sb.out()));
  Event written;
  ASSERT_XP(xpEventCreate(src(), XP_EVENT_DEFAULT, written.out()));

  ASSERT_XP(xpLaunchHostFunc(sa, SleepHostFn, Ms(50)));
  ASSERT_XP(xpMemcpyAsync(a, ref.data(), n, sa));
  ASSERT_XP(xpEventRecord(written, sa));
  ASSERT_XP(xpStreamWaitEvent(sb, written));
  ASSERT_XP(xpMemcpyAsync(b, a, n, sb));
  ASSERT_XP(xpMemcpyAsync(out.data(), b, n, sb));
  ASSERT_XP(xpStreamSynchronize(sb));
  EXPECT_TRUE(BytesEqual(ref.data(), out.data(), n));
  EXPECT_EQ(xpEventQuery(written), XP_SUCCESS);
  EXPECT_XP(xpStreamSynchronize(sa));
}

// The same across both directions at once: each stream waits for the other's
// event before reading the other's buffer.
TEST_P(CrossDeviceTest, StreamWaitEventBothWays) {
  constexpr size_t n = 65536 + 1;
  HostBuffer ra(n), rb(n), oa(n), ob(n);
  ra.Fill(1);
  rb.Fill(2);
  DevicePtr a, b, a_copy, b_copy;
  ASSERT_XP(xpMalloc(src(), n, a.out()));
  ASSERT_XP(xpMalloc(dst(), n, b.out()));
  ASSERT_XP(xpMalloc(src(), n, b_copy.out()));
  ASSERT_XP(xpMalloc(dst(), n, a_copy.out()));
  ASSERT_XP(xpMemset(a, 0, n));
  ASSERT_XP(xpMemset(b, 0, n));
  Stream sa, sb;
  ASSERT_XP(xpStreamCreate(src(), sa.out()));
  ASSERT_XP(xpStreamCreate(dst(), sb.out()));
  Event ea, eb;
  ASSERT_XP(xpEventCreate(src(), XP_EVENT_DISABLE_TIMING, ea.out()));
  ASSERT_XP(xpEventCreate(dst(), XP_EVENT_DISABLE_TIMING, eb.out()));
  ASSERT_XP(xpLaunchHostFunc(sa, SleepHostFn, Ms(40)));
  ASSERT_XP(xpMemcpyAsync(a, ra.data(), n, sa));
  ASSERT_XP(xpEventRecord(ea, sa));
  ASSERT_XP(xpLaunchHostFunc(sb, SleepHostFn, Ms(40)));
  ASSERT_XP(xpMemcpyAsync(b, rb.data(), n, sb));
  ASSERT_XP(xpEventRecord(eb, sb));
  ASSERT_XP(xpStreamWaitEvent(sa, eb));
  ASSERT_XP(xpMemcpyAsync(b_copy, b, n, sa));
  ASSERT_XP(xpStreamWaitEvent(sb, ea));
  ASSERT_XP(xpMemcpyAsync(a_copy, a, n, sb));
  ASSERT_XP(xpStreamSynchronize(sa));
  ASSERT_XP(xpStreamSynchronize(sb));
  ASSERT_XP(xpMemcpy(oa.data(), a_copy, n));
  ASSERT_XP(xpMemcpy(ob.data(), b_copy, n));
  EXPECT_TRUE(BytesEqual(ra.data(), oa.data(), n));
  EXPECT_TRUE(BytesEqual(rb.data(), ob.data(), n));
}

TEST_P(CrossDeviceTest, EventRecordOnStreamOfAnotherDevice) {
  Event e;
  ASSERT_XP(xpEventCreate(src(), XP_EVENT_DEFAULT, e.out()));
  Stream s;
  ASSERT_XP(xpStreamCreate(dst(), s.out()));
  EXPECT_XP_ERROR(xpEventRecord(e, s), {XP_ERROR_INVALID_VALUE, XP_ERROR_INVALID_HANDLE},
                  {{"xpEventRecord"}, {"device"}});
  EXPECT_EQ(xpEventQuery(e), XP_SUCCESS) << "the rejected record changed the event";
  EXPECT_XP(xpStreamSynchronize(s));
  ExpectStillWorks(src());
  ExpectStillWorks(dst());
}

TEST_P(CrossDeviceTest, ElapsedTimeAcrossBackends) {
  if (!cross_backend())
    GTEST_SKIP() << "both devices are " << GetParam().src.backend
                 << " devices; elapsed time within one backend is allowed";
  Stream sa, sb;
  ASSERT_XP(xpStreamCreate(src(), sa.out()));
  ASSERT_XP(xpStreamCreate(dst(), sb.out()));
  Event ea, eb;
  ASSERT_XP(xpEventCreate(src(), XP_EVENT_DEFAULT, ea.out()));
  ASSERT_XP(xpEventCreate(dst(), XP_EVENT_DEFAULT, eb.out()));
  ASSERT_XP(xpEventRecord(ea, sa));
  ASSERT_XP(xpEventRecord(eb, sb));
  ASSERT_XP(xpEventSynchronize(ea));
  ASSERT_XP(xpEventSynchronize(eb));
  float ms = 0;
  EXPECT_XP_ERROR(xpEventElapsedTime(&ms, ea, eb),
                  {XP_ERROR_INVALID_VALUE, XP_ERROR_NOT_SUPPORTED, XP_ERROR_INVALID_HANDLE},
                  {{"xpEventElapsedTime"}, {"backend", GetParam().src.backend}});
  ExpectStillWorks(src());
}

TEST_P(CrossDeviceTest, KernelOnStreamOfAnotherDevice) {
  const auto spec = TestModuleFor(GetParam().src.backend);
  if (!spec) GTEST_SKIP() << "no test kernels for backend " << GetParam().src.backend;
  Module m;
  ASSERT_XP(xpModuleLoadFile(src(), XP_MODULE_NATIVE, spec->path.c_str(), nullptr, m.out()));
  xpKernel k = nullptr;
  ASSERT_XP(xpModuleGetKernel(m, "add_one_u32", &k));
  DevicePtr x;
  ASSERT_XP(xpMalloc(src(), 1024 * sizeof(uint32_t), x.out()));
  ASSERT_XP(xpMemset(x, 0, 1024 * sizeof(uint32_t)));
  Stream other;
  ASSERT_XP(xpStreamCreate(dst(), other.out()));
  void *px = x.get();
  uint32_t n = 1024;
  KernelArgs args;
  args.Add(px).Add(n);
  const uint32_t block = BlockSize(GetParam().src);
  EXPECT_XP_ERROR(Launch(k, {DivUp(n, block), 1, 1}, {block, 1, 1}, 0, other, args),
                  {XP_ERROR_INVALID_VALUE, XP_ERROR_INVALID_HANDLE},
                  {{"xpLaunchKernel"}, {"device"}});
  EXPECT_XP(xpStreamSynchronize(other));
  std::vector<uint32_t> host(1024, 7);
  ASSERT_XP(xpMemcpy(host.data(), x, 1024 * sizeof(uint32_t)));
  EXPECT_EQ(host[0], 0u) << "the rejected launch ran";
  ExpectStillWorks(src());
  ExpectStillWorks(dst());
}

CONFORMANCE_INSTANTIATE_PAIRS(CrossDeviceTest);

}  // namespace
}  // namespace conformance
