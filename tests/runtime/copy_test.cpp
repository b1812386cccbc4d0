// Copies and fills on one device: host<->device (pageable and pinned),
// device<->device, sync and async, odd sizes, unaligned offsets, large.
#include <cstring>

#include "conformance.h"

namespace conformance {
namespace {

constexpr uint8_t kGuard = 0xa5;
constexpr size_t kTail = 13;  // guard bytes after the written range

enum class Host { kPageable, kPinned };

// Host memory of either kind, released at scope exit.
class AnyHost {
 public:
  AnyHost(Host kind, size_t bytes) : bytes_(bytes ? bytes : 1) {
    if (kind == Host::kPinned) {
      void *p = nullptr;
      status_ = xpMallocHost(bytes_, &p);
      pinned_ = PinnedPtr(p);
    } else {
      pageable_ = std::make_unique<HostBuffer>(bytes_);
    }
  }
  xpStatus status() const { return status_; }
  uint8_t *data() { return pageable_ ? pageable_->data() : U8(pinned_); }

 private:
  size_t bytes_;
  xpStatus status_ = XP_SUCCESS;
  PinnedPtr pinned_;
  std::unique_ptr<HostBuffer> pageable_;
};

struct RoundTrip {
  size_t bytes;
  size_t device_offset = 0;  // into the device allocation
  size_t host_offset = 0;    // into both host buffers
  bool async = false;
  bool default_stream = false;  // async on the NULL stream
  Host host = Host::kPageable;
};

std::string Describe(const RoundTrip &t) {
  return std::to_string(t.bytes) + " bytes, device +" + std::to_string(t.device_offset) +
         ", host +" + std::to_string(t.host_offset) +
         (t.async ? (t.default_stream ? ", async on the NULL stream" : ", async") : ", sync") +
         (t.host == Host::kPinned ? ", pinned host" : ", pageable host");
}

// Host pattern -> device -> another host buffer, then checks the data and that
// nothing outside the written ranges changed (on the device and on the host).
void CheckRoundTrip(const Device &device, const RoundTrip &t) {
  SCOPED_TRACE(Describe(t));
  const size_t dev_bytes = t.device_offset + t.bytes + kTail;
  const size_t host_bytes = t.host_offset + t.bytes + kTail;
  DevicePtr d;
  ASSERT_XP(xpMalloc(device.ordinal, dev_bytes, d.out()));
  ASSERT_XP(xpMemset(d, kGuard, dev_bytes));
  AnyHost src(t.host, host_bytes), dst(t.host, host_bytes);
  ASSERT_XP(src.status());
  ASSERT_XP(dst.status());
  FillPattern(src.data(), host_bytes, t.bytes + 17);
  std::memset(dst.data(), 0x3c, host_bytes);

  uint8_t *dev_at = U8(d) + t.device_offset;
  if (t.async) {
    Stream s;
    if (!t.default_stream) {
      ASSERT_XP(xpStreamCreate(device.ordinal, s.out()));
    }
    ASSERT_XP(xpMemcpyAsync(dev_at, src.data() + t.host_offset, t.bytes, s));
    ASSERT_XP(xpMemcpyAsync(dst.data() + t.host_offset, dev_at, t.bytes, s));
    if (t.default_stream)
      ASSERT_XP(xpDeviceSynchronize(device.ordinal));
    else
      ASSERT_XP(xpStreamSynchronize(s));
  } else {
    ASSERT_XP(xpMemcpy(dev_at, src.data() + t.host_offset, t.bytes));
    ASSERT_XP(xpMemcpy(dst.data() + t.host_offset, dev_at, t.bytes));
  }
  EXPECT_TRUE(BytesEqual(src.data() + t.host_offset, dst.data() + t.host_offset, t.bytes));
  EXPECT_TRUE(BytesAre(dst.data(), t.host_offset, 0x3c)) << "host bytes before the copy changed";
  EXPECT_TRUE(BytesAre(dst.data() + t.host_offset + t.bytes, kTail, 0x3c))
      << "host bytes after the copy changed";

  // The whole allocation, read back: guards intact around the written range.
  HostBuffer all(dev_bytes);
  ASSERT_XP(xpMemcpy(all.data(), d, dev_bytes));
  EXPECT_TRUE(BytesAre(all.data(), t.device_offset, kGuard)) << "device bytes before changed";
  EXPECT_TRUE(BytesEqual(src.data() + t.host_offset, all.data() + t.device_offset, t.bytes));
  EXPECT_TRUE(BytesAre(all.data() + t.device_offset + t.bytes, kTail, kGuard))
      << "device bytes after changed";
  if (device.host_addressable) {
    EXPECT_TRUE(BytesEqual(src.data() + t.host_offset, dev_at, t.bytes))
        << "read through the host-addressable device pointer";
  }
}

const size_t kSizes[] = {1, 2, 3, 7, 8, 64, 4097, 65536 + 13, 1000003};

class CopyTest : public DeviceTest {};

TEST_P(CopyTest, HostDeviceSync) {
  for (size_t n : kSizes) CheckRoundTrip(device(), {n});
}

TEST_P(CopyTest, HostDeviceSyncUnaligned) {
  // 4 MiB + 5: large enough for a backend to spread it over several threads.
  for (size_t n : {size_t{1}, size_t{4097}, size_t{1000003}, (size_t{4} << 20) + 5}) {
    CheckRoundTrip(device(), {n, 3, 1});
    CheckRoundTrip(device(), {n, 1, 3});
    CheckRoundTrip(device(), {n, 7, 5});
  }
}

TEST_P(CopyTest, HostDeviceAsync) {
  for (size_t n : kSizes) CheckRoundTrip(device(), {n, 3, 1, true});
}

TEST_P(CopyTest, HostDeviceAsyncDefaultStream) {
  for (size_t n : {size_t{1}, size_t{4097}, size_t{1000003}})
    CheckRoundTrip(device(), {n, 1, 3, true, true});
}

TEST_P(CopyTest, PinnedHostDevice) {
  for (size_t n : {size_t{1}, size_t{4097}, size_t{1000003}}) {
    CheckRoundTrip(device(), {n, 0, 0, false, false, Host::kPinned});
    CheckRoundTrip(device(), {n, 3, 1, false, false, Host::kPinned});
    CheckRoundTrip(device(), {n, 0, 0, true, false, Host::kPinned});
    CheckRoundTrip(device(), {n, 1, 3, true, false, Host::kPinned});
  }
}

TEST_P(CopyTest, ZeroBytes) {
  constexpr size_t kBytes = 64;
  DevicePtr a, b;
  ASSERT_XP(xpMalloc(dev(), kBytes, a.out()));
  ASSERT_XP(xpMalloc(dev(), kBytes, b.out()));
  ASSERT_XP(xpMemset(a, 0x11, kBytes));
  ASSERT_XP(xpMemset(b, 0x22, kBytes));
  HostBuffer host(kBytes);
  host.Set(0x33);
  Stream s;
  ASSERT_XP(xpStreamCreate(dev(), s.out()));
  EXPECT_XP(xpMemcpy(a, host.data(), 0));
  EXPECT_XP(xpMemcpy(host.data(), a, 0));
  EXPECT_XP(xpMemcpy(a, b, 0));
  EXPECT_XP(xpMemcpyAsync(a, host.data(), 0, s));
  EXPECT_XP(xpMemcpyAsync(host.data(), b, 0, s));
  EXPECT_XP(xpMemcpyAsync(b, a, 0, s));
  EXPECT_XP(xpMemset(a, 0x44, 0));
  EXPECT_XP(xpMemsetAsync(b, 0x44, 0, s));
  ASSERT_XP(xpStreamSynchronize(s));
  EXPECT_TRUE(BytesAre(host.data(), kBytes, 0x33));
  ASSERT_XP(xpMemcpy(host.data(), a, kBytes));
  EXPECT_TRUE(BytesAre(host.data(), kBytes, 0x11));
  ASSERT_XP(xpMemcpy(host.data(), b, kBytes));
  EXPECT_TRUE(BytesAre(host.data(), kBytes, 0x22));
}

TEST_P(CopyTest, DeviceToDeviceSameDevice) {
  for (bool async : {false, true}) {
    for (size_t n : {size_t{1}, size_t{4097}, size_t{1000003}}) {
      SCOPED_TRACE(std::to_string(n) + (async ? " bytes async" : " bytes sync"));
      const size_t src_off = 1, dst_off = 3;
      DevicePtr a, b;
      ASSERT_XP(xpMalloc(dev(), n + src_off, a.out()));
      ASSERT_XP(xpMalloc(dev(), n + dst_off + kTail, b.out()));
      HostBuffer ref(n + src_off), out(n + dst_off + kTail);
      ref.Fill(n);
      ASSERT_XP(xpMemcpy(a, ref.data(), n + src_off));
      ASSERT_XP(xpMemset(b, kGuard, n + dst_off + kTail));
      if (async) {
        Stream s;
        ASSERT_XP(xpStreamCreate(dev(), s.out()));
        ASSERT_XP(xpMemcpyAsync(U8(b) + dst_off, U8(a) + src_off, n, s));
        ASSERT_XP(xpStreamSynchronize(s));
      } else {
        ASSERT_XP(xpMemcpy(U8(b) + dst_off, U8(a) + src_off, n));
      }
      ASSERT_XP(xpMemcpy(out.data(), b, n + dst_off + kTail));
      EXPECT_TRUE(BytesAre(out.data(), dst_off, kGuard));
      EXPECT_TRUE(BytesEqual(ref.data() + src_off, out.data() + dst_off, n));
      EXPECT_TRUE(BytesAre(out.data() + dst_off + n, kTail, kGuard));
    }
  }
}

TEST_P(CopyTest, DeviceToDeviceWithinOneAllocation) {
  // Non-overlapping ranges of one allocation: [1, 1 + n) -> [n + 8, 2n + 8).
  constexpr size_t n = 100003;
  const size_t total = 2 * n + 8 + kTail;
  DevicePtr a;
  ASSERT_XP(xpMalloc(dev(), total, a.out()));
  HostBuffer ref(total), out(total);
  ref.Fill(99);
  ASSERT_XP(xpMemcpy(a, ref.data(), total));
  ASSERT_XP(xpMemcpy(U8(a) + n + 8, U8(a) + 1, n));
  ASSERT_XP(xpMemcpy(out.data(), a, total));
  EXPECT_TRUE(BytesEqual(ref.data(), out.data(), n + 8)) << "source range changed";
  EXPECT_TRUE(BytesEqual(ref.data() + 1, out.data() + n + 8, n));
  EXPECT_TRUE(BytesEqual(ref.data() + 2 * n + 8, out.data() + 2 * n + 8, kTail));
}

TEST_P(CopyTest, Memset) {
  constexpr size_t n = 1000003;
  DevicePtr d;
  ASSERT_XP(xpMalloc(dev(), n, d.out()));
  HostBuffer out(n);
  for (int value : {0x00, 0x5a, 0xff}) {
    ASSERT_XP(xpMemset(d, value, n));
    ASSERT_XP(xpMemcpy(out.data(), d, n));
    EXPECT_TRUE(BytesAre(out.data(), n, static_cast<uint8_t>(value)));
  }
  // At an unaligned offset: only [3, 1003) changes.
  ASSERT_XP(xpMemset(d, 0x5a, n));
  ASSERT_XP(xpMemset(U8(d) + 3, 0xc3, 1000));
  ASSERT_XP(xpMemcpy(out.data(), d, n));
  EXPECT_TRUE(BytesAre(out.data(), 3, 0x5a));
  EXPECT_TRUE(BytesAre(out.data() + 3, 1000, 0xc3));
  EXPECT_TRUE(BytesAre(out.data() + 1003, n - 1003, 0x5a));
  // One byte at the very end.
  ASSERT_XP(xpMemset(U8(d) + n - 1, 0x01, 1));
  ASSERT_XP(xpMemcpy(out.data(), U8(d) + n - 2, 2));
  EXPECT_EQ(out.data()[0], 0x5a);
  EXPECT_EQ(out.data()[1], 0x01);
}

TEST_P(CopyTest, MemsetAsync) {
  constexpr size_t n = 1000003;
  DevicePtr d;
  ASSERT_XP(xpMalloc(dev(), n, d.out()));
  HostBuffer out(n);
  Stream s;
  ASSERT_XP(xpStreamCreate(dev(), s.out()));
  ASSERT_XP(xpMemsetAsync(d, 0x11, n, s));
  ASSERT_XP(xpMemsetAsync(U8(d) + 1, 0x7e, 4097, s));
  ASSERT_XP(xpMemcpyAsync(out.data(), d, n, s));
  ASSERT_XP(xpStreamSynchronize(s));
  EXPECT_TRUE(BytesAre(out.data(), 1, 0x11));
  EXPECT_TRUE(BytesAre(out.data() + 1, 4097, 0x7e));
  EXPECT_TRUE(BytesAre(out.data() + 4098, n - 4098, 0x11));
  // On the NULL stream (the device's default stream).
  ASSERT_XP(xpMemsetAsync(U8(d) + 5, 0x22, 10, nullptr));
  ASSERT_XP(xpDeviceSynchronize(dev()));
  ASSERT_XP(xpMemcpy(out.data(), d, 32));
  EXPECT_TRUE(BytesAre(out.data() + 5, 10, 0x22));
  EXPECT_TRUE(BytesAre(out.data() + 15, 17, 0x7e));
}

// A synchronous copy on the default stream comes after what was queued there
// before it, also when the runtime would rather copy on the calling thread
// (host-addressable memory, more than 256 KiB: see host_copy in backend.h).
TEST_P(CopyTest, SyncCopyWaitsForAsyncWorkOnTheDefaultStream) {
  constexpr size_t n = (size_t{16} << 20) + 3;
  HostBuffer src(n), dst(n);
  src.Fill(57);
  DevicePtr a, b;
  ASSERT_XP(xpMalloc(dev(), n, a.out()));
  ASSERT_XP(xpMalloc(dev(), n, b.out()));
  ASSERT_XP(xpMemset(b, 0, n));
  ASSERT_XP(xpMemcpy(a, src.data(), n));
  for (int round = 0; round < 3; ++round) {
    ASSERT_XP(xpMemsetAsync(b, 0x5a, n, nullptr));
    ASSERT_XP(xpMemcpyAsync(b, a, n, nullptr));  // queued on the default stream
    ASSERT_XP(xpMemcpy(dst.data(), b, n));       // must see the copy above complete
    ASSERT_TRUE(BytesEqual(src.data(), dst.data(), n)) << "round " << round;
  }
}

TEST_P(CopyTest, Large256MiB) {
  constexpr size_t n = size_t{256} << 20;
  if (device().memory_total < 4 * static_cast<uint64_t>(n))
    GTEST_SKIP() << "device has " << device().memory_total << " bytes; the test needs 1 GiB";
  HostBuffer src(n), dst(n);
  src.Fill(256);
  DevicePtr a, b;
  ASSERT_XP(xpMalloc(dev(), n, a.out()));
  ASSERT_XP(xpMalloc(dev(), n, b.out()));
  Stream s;
  ASSERT_XP(xpStreamCreate(dev(), s.out()));
  // Aligned: H2D sync, D2D and D2H async on one stream.
  ASSERT_XP(xpMemcpy(a, src.data(), n));
  ASSERT_XP(xpMemcpyAsync(b, a, n, s));
  ASSERT_XP(xpMemcpyAsync(dst.data(), b, n, s));
  ASSERT_XP(xpStreamSynchronize(s));
  EXPECT_TRUE(BytesEqual(src.data(), dst.data(), n));
  // Unaligned on both sides, odd length: host +1 -> device +3 -> host +5.
  const size_t m = n - 11;
  ASSERT_XP(xpMemcpyAsync(U8(b) + 3, src.data() + 1, m, s));
  ASSERT_XP(xpMemcpyAsync(dst.data() + 5, U8(b) + 3, m, s));
  ASSERT_XP(xpStreamSynchronize(s));
  EXPECT_TRUE(BytesEqual(src.data() + 1, dst.data() + 5, m));
}

CONFORMANCE_INSTANTIATE_DEVICES(CopyTest);

}  // namespace
}  // namespace conformance
