// Pool, device properties, allocation, pointer attributes, pinned host memory.
#include <cstdlib>
#include <cstring>
#include <set>
#include <thread>

#include "conformance.h"

namespace conformance {
namespace {

TEST(Runtime, InitSucceeded) {
  ASSERT_EQ(InitStatus(), XP_SUCCESS) << InitMessage();
  int devices = 0;
  ASSERT_XP(xpDeviceCount(&devices));
  EXPECT_GE(devices, 1) << "unavailable backends: " << UnavailableBackends();
}

TEST(Runtime, BackendsDescribeTheirDevices) {
  if (InitStatus() != XP_SUCCESS) GTEST_SKIP() << "xpInit failed: " << InitMessage();
  int backends = 0, devices = 0;
  ASSERT_XP(xpBackendCount(&backends));
  ASSERT_XP(xpDeviceCount(&devices));
  EXPECT_GE(backends, 1);
  int total = 0;
  std::set<std::string> names;
  for (int b = 0; b < backends; ++b) {
    xpBackendInfo info{};
    info.struct_size = sizeof info;
    ASSERT_XP(xpBackendGetInfo(b, &info));
    SCOPED_TRACE(info.name);
    EXPECT_NE(info.name[0], '\0');
    EXPECT_TRUE(names.insert(info.name).second) << "backend listed twice";
    if (!info.available) {
      EXPECT_NE(info.reason[0], '\0') << "an unavailable backend must say why";
      EXPECT_EQ(info.device_count, 0);
      continue;
    }
    EXPECT_EQ(info.abi_major, 1u);
    if (info.device_count == 0) {
      EXPECT_EQ(info.first_device, -1);
      continue;
    }
    ASSERT_GE(info.first_device, 0);
    ASSERT_LE(info.first_device + info.device_count, devices);
    for (int d = info.first_device; d < info.first_device + info.device_count; ++d) {
      xpDeviceProps props{};
      props.struct_size = sizeof props;
      ASSERT_XP(xpDeviceGetProperties(d, &props));
      EXPECT_EQ(props.backend_index, b);
      EXPECT_STREQ(props.backend, info.name);
      EXPECT_EQ(props.backend_device, d - info.first_device);
    }
    total += info.device_count;
  }
  EXPECT_EQ(total, devices) << "every device belongs to exactly one backend";
  xpBackendInfo info{};
  info.struct_size = sizeof info;
  EXPECT_XP_ERROR(xpBackendGetInfo(backends, &info), {XP_ERROR_INVALID_VALUE, XP_ERROR_NOT_FOUND},
                  {{std::to_string(backends)}});
  EXPECT_XP_ERROR(xpBackendGetInfo(-1, &info), {XP_ERROR_INVALID_VALUE, XP_ERROR_NOT_FOUND},
                  {{"-1"}});
}

// Every backend found or requested (XPOOL_BACKENDS) serves devices; one that
// cannot is reported as a skip with the reason the runtime gives.
TEST(Runtime, RequestedBackendsAreAvailable) {
  if (InitStatus() != XP_SUCCESS) GTEST_SKIP() << "xpInit failed: " << InitMessage();
  int backends = 0;
  ASSERT_XP(xpBackendCount(&backends));
  std::string missing;
  for (int b = 0; b < backends; ++b) {
    xpBackendInfo info{};
    info.struct_size = sizeof info;
    ASSERT_XP(xpBackendGetInfo(b, &info));
    if (info.available && info.device_count > 0) continue;
    missing += std::string(missing.empty() ? "" : "; ") + info.name + ": " +
               (info.reason[0] ? info.reason : "no devices");
  }
  if (!missing.empty()) GTEST_SKIP() << "unavailable backends: " << missing;
}

TEST(Runtime, StatusNamesAndLastError) {
  const std::pair<xpStatus, const char *> names[] = {
      {XP_SUCCESS, "XP_SUCCESS"},
      {XP_ERROR_INVALID_VALUE, "XP_ERROR_INVALID_VALUE"},
      {XP_ERROR_INVALID_HANDLE, "XP_ERROR_INVALID_HANDLE"},
      {XP_ERROR_OUT_OF_MEMORY, "XP_ERROR_OUT_OF_MEMORY"},
      {XP_ERROR_NOT_INITIALIZED, "XP_ERROR_NOT_INITIALIZED"},
      {XP_ERROR_NOT_FOUND, "XP_ERROR_NOT_FOUND"},
      {XP_ERROR_NOT_SUPPORTED, "XP_ERROR_NOT_SUPPORTED"},
      {XP_ERROR_NOT_READY, "XP_ERROR_NOT_READY"},
      {XP_ERROR_TIMEOUT, "XP_ERROR_TIMEOUT"},
      {XP_ERROR_BACKEND, "XP_ERROR_BACKEND"},
      {XP_ERROR_BUILD, "XP_ERROR_BUILD"},
      {XP_ERROR_NO_DEVICE, "XP_ERROR_NO_DEVICE"},
      {XP_ERROR_ABI_MISMATCH, "XP_ERROR_ABI_MISMATCH"},
      {XP_ERROR_INTERNAL, "XP_ERROR_INTERNAL"},
  };
  for (const auto &[status, name] : names) EXPECT_STREQ(xpStatusName(status), name);
  const char *unknown = xpStatusName(static_cast<xpStatus>(12345));
  ASSERT_NE(unknown, nullptr);
  EXPECT_NE(unknown[0], '\0');

  // The last error is per thread and cleared by xpClearLastError.
  void *p = nullptr;
  EXPECT_NE(xpMalloc(0, 0, &p), XP_SUCCESS);
  EXPECT_NE(std::string(xpGetLastError()), "");
  xpClearLastError();
  EXPECT_STREQ(xpGetLastError(), "");
  std::string other_thread;
  std::thread([&] {
    void *q = nullptr;
    EXPECT_NE(xpMalloc(0, 0, &q), XP_SUCCESS);
    other_thread = xpGetLastError();
  }).join();
  EXPECT_NE(other_thread, "");
  EXPECT_STREQ(xpGetLastError(), "") << "another thread's error leaked into this one";
}

TEST(Runtime, HostTopology) {
  xpHostTopology topo{};
  topo.struct_size = sizeof topo;
  ASSERT_XP(xpHostGetTopology(&topo));
  EXPECT_GE(topo.pus, 1);
  EXPECT_GE(topo.cores, 1);
  EXPECT_GE(topo.numa_nodes, 1);
  EXPECT_GT(topo.memory_total, 0u);
}

TEST(Runtime, PointerAttributesOfPageableMemory) {
  int on_stack = 42;
  std::unique_ptr<char[]> heap(new char[100]);
  for (const void *p :
       {static_cast<const void *>(&on_stack), static_cast<const void *>(&heap[7])}) {
    xpPointerAttributes attr{};
    attr.struct_size = sizeof attr;
    ASSERT_XP(xpPointerGetAttributes(p, &attr));
    EXPECT_EQ(attr.type, XP_MEMORY_UNKNOWN) << Hex(p);
    EXPECT_EQ(attr.device, XP_HOST_DEVICE) << Hex(p);
  }
}

TEST(HostPinned, AllocWriteReadFree) {
  for (size_t bytes : {size_t{1}, size_t{4097}, size_t{1} << 20}) {
    SCOPED_TRACE(bytes);
    void *raw = nullptr;
    ASSERT_XP(xpMallocHost(bytes, &raw));
    PinnedPtr p(raw);
    ASSERT_NE(p.get(), nullptr);
    HostBuffer ref(bytes);
    ref.Fill(bytes);
    std::memcpy(p, ref.data(), bytes);
    EXPECT_TRUE(BytesEqual(ref.data(), U8(p), bytes));

    xpPointerAttributes attr{};
    attr.struct_size = sizeof attr;
    ASSERT_XP(xpPointerGetAttributes(U8(p) + bytes / 2, &attr));
    EXPECT_EQ(attr.type, XP_MEMORY_HOST_PINNED);
    EXPECT_EQ(attr.device, XP_HOST_DEVICE);
    EXPECT_EQ(attr.base, p.get());
    EXPECT_EQ(attr.size, bytes);
    EXPECT_EQ(attr.offset, bytes / 2);

    ASSERT_XP(xpFreeHost(p.release()));
    attr = xpPointerAttributes{};
    attr.struct_size = sizeof attr;
    ASSERT_XP(xpPointerGetAttributes(raw, &attr));
    EXPECT_EQ(attr.type, XP_MEMORY_UNKNOWN) << "a freed pinned block is still listed";
  }
}

TEST(HostPinned, NullOutputIsAnError) {
  EXPECT_XP_ERROR(xpMallocHost(64, nullptr), {XP_ERROR_INVALID_VALUE},
                  {{"xpMallocHost"}, {"null", "ptr"}});
}

class MemoryTest : public DeviceTest {};

TEST_P(MemoryTest, Properties) {
  xpDeviceProps props{};
  props.struct_size = sizeof props;
  ASSERT_XP(xpDeviceGetProperties(dev(), &props));
  EXPECT_EQ(props.device, dev());
  EXPECT_EQ(props.backend, device().backend);
  EXPECT_NE(props.name[0], '\0');
  const std::string stable_id = props.stable_id;
  EXPECT_EQ(stable_id.rfind(device().backend + ":", 0), 0u) << stable_id;
  int found = -1;
  ASSERT_XP(xpDeviceFindByStableId(props.stable_id, &found));
  EXPECT_EQ(found, dev());
  EXPECT_GT(props.memory_total, 0u);
  EXPECT_GE(props.compute_units, 1);
  EXPECT_GE(props.max_threads_per_block, 1);

  uint64_t free_bytes = 0, total_bytes = 0;
  ASSERT_XP(xpMemGetInfo(dev(), &free_bytes, &total_bytes));
  EXPECT_GT(total_bytes, 0u);
  EXPECT_LE(free_bytes, total_bytes);

  xpAffinity affinity = XP_AFFINITY_SAME_HOST;
  ASSERT_XP(xpDeviceGetAffinity(dev(), dev(), &affinity));
  EXPECT_EQ(affinity, XP_AFFINITY_SAME_DEVICE);
}

TEST_P(MemoryTest, AllocFree) {
  auto allocated = [&] {
    xpDeviceProps props{};
    props.struct_size = sizeof props;
    EXPECT_XP(xpDeviceGetProperties(dev(), &props));
    return props.memory_allocated;
  };
  const uint64_t before = allocated();
  const size_t sizes[] = {1, 3, 4097, size_t{1} << 20, 1000003};
  std::vector<DevicePtr> ptrs;
  uint64_t sum = 0;
  for (size_t bytes : sizes) {
    DevicePtr p;
    ASSERT_XP(xpMalloc(dev(), bytes, p.out()));
    ASSERT_NE(p.get(), nullptr);
    ptrs.push_back(std::move(p));
    sum += bytes;
  }
  for (size_t i = 0; i < ptrs.size(); ++i)
    for (size_t j = i + 1; j < ptrs.size(); ++j) {
      const uint8_t *a = U8(ptrs[i]), *b = U8(ptrs[j]);
      EXPECT_TRUE(a + sizes[i] <= b || b + sizes[j] <= a)
          << "allocations " << i << " and " << j << " overlap";
    }
  EXPECT_GE(allocated(), before + sum);
  for (auto &p : ptrs) ASSERT_XP(xpFree(p.release()));
  EXPECT_EQ(allocated(), before);
}

TEST_P(MemoryTest, PointerAttributes) {
  constexpr size_t kBytes = 1000;
  DevicePtr p;
  ASSERT_XP(xpMalloc(dev(), kBytes, p.out()));
  for (size_t offset : {size_t{0}, size_t{1}, size_t{123}, kBytes - 1}) {
    SCOPED_TRACE(offset);
    xpPointerAttributes attr{};
    attr.struct_size = sizeof attr;
    ASSERT_XP(xpPointerGetAttributes(U8(p) + offset, &attr));
    EXPECT_EQ(attr.type, XP_MEMORY_DEVICE);
    EXPECT_EQ(attr.device, dev());
    EXPECT_EQ(attr.base, p.get());
    EXPECT_EQ(attr.size, kBytes);
    EXPECT_EQ(attr.offset, offset);
  }
  void *freed = p.get();
  ASSERT_XP(xpFree(p.release()));
  xpPointerAttributes attr{};
  attr.struct_size = sizeof attr;
  ASSERT_XP(xpPointerGetAttributes(freed, &attr));
  EXPECT_EQ(attr.type, XP_MEMORY_UNKNOWN) << "a freed allocation is still listed";
}

CONFORMANCE_INSTANTIATE_DEVICES(MemoryTest);

}  // namespace
}  // namespace conformance
