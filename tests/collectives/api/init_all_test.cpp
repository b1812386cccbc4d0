// xcclCommInitAll: one process drives every rank of a communicator from one
// thread, which only works inside xcclGroupStart/End (a lone AllReduce on
// rank 0 would wait for rank 1 forever). Results are checked against the
// host references of common/values.h.
#include <cstring>
#include <vector>

#include "api/api_fixture.h"
#include "common/types.h"
#include "common/values.h"

namespace xccltest {
namespace {

class XcclInitAll : public XcclApi, public ::testing::WithParamInterface<int> {
 protected:
  int n() const { return GetParam(); }

  // Fills per-rank device buffers with input<T>(rank, ...) and returns them.
  template <class T>
  std::vector<void *> inputs(size_t count, xcclRedOp_t op, uint64_t seed) {
    std::vector<void *> buffers;
    for (int r = 0; r < n(); ++r) {
      std::vector<typename T::S> host(count);
      for (size_t i = 0; i < count; ++i) host[i] = input<T>(r, i, seed, op, n());
      void *buffer = deviceBuffer(r, count * sizeof(typename T::S) + 8);
      EXPECT_EQ(xpMemcpy(buffer, host.data(), count * sizeof(typename T::S)), XP_SUCCESS)
          << xpGetLastError();
      buffers.push_back(buffer);
    }
    return buffers;
  }

  template <class T>
  std::vector<typename T::S> read(const void *buffer, size_t count) {
    std::vector<typename T::S> host(count);
    EXPECT_EQ(xpMemcpy(host.data(), buffer, count * sizeof(typename T::S)), XP_SUCCESS)
        << xpGetLastError();
    return host;
  }

  void synchronizeAll(const std::vector<xpStream> &streams) {
    for (xpStream s : streams) {
      ASSERT_EQ(xpStreamSynchronizeTimeout(s, 60000), XP_SUCCESS) << xpGetLastError();
    }
  }

  // `nesting` extra xcclGroupStart/End pairs around the group.
  template <class T>
  void groupAllReduce(xcclRedOp_t op, size_t count, uint64_t seed, int nesting = 0) {
    const std::vector<void *> send = inputs<T>(count, op, seed);
    std::vector<void *> recv;
    std::vector<xpStream> streams;
    for (int r = 0; r < n(); ++r) {
      recv.push_back(deviceBuffer(r, count * sizeof(typename T::S) + 8));
      streams.push_back(stream(r));
    }
    for (int level = 0; level <= nesting; ++level) {
      ASSERT_EQ(xcclGroupStart(), xcclSuccess) << xcclGetLastError(nullptr);
    }
    for (int r = 0; r < n(); ++r) {
      EXPECT_EQ(xcclAllReduce(send[r], recv[r], count, T::kType, op, comms_[r], streams[r]),
                xcclSuccess)
          << "rank " << r << ": " << xcclGetLastError(nullptr);
    }
    for (int level = 0; level <= nesting; ++level) {
      ASSERT_EQ(xcclGroupEnd(), xcclSuccess) << xcclGetLastError(nullptr);
    }
    synchronizeAll(streams);
    for (int r = 0; r < n(); ++r) {
      const auto got = read<T>(recv[r], count);
      for (size_t i = 0; i < count; ++i) {
        const Expected<T> want = reduceAt<T>(op, n(), i, seed);
        ASSERT_TRUE(matches<T>(want, got[i]))
            << "AllReduce " << typeName(T::kType) << " " << opName(op) << " count=" << count
            << " nranks=" << n() << ": rank " << r << " index " << i << ": expected "
            << format<T>(want) << ", got " << format<T>(got[i]);
      }
    }
  }
};

TEST_P(XcclInitAll, QueriesDescribeEachRank) {
  initAll(n());
  for (int r = 0; r < n(); ++r) {
    int count = -1, rank = -1, device = -1;
    ASSERT_EQ(xcclCommCount(comms_[r], &count), xcclSuccess);
    ASSERT_EQ(xcclCommUserRank(comms_[r], &rank), xcclSuccess);
    ASSERT_EQ(xcclCommDevice(comms_[r], &device), xcclSuccess);
    EXPECT_EQ(count, n());
    EXPECT_EQ(rank, r);
    EXPECT_EQ(device, r) << "devices NULL means devices 0..ndev-1";
  }
}

TEST_P(XcclInitAll, ExplicitDevicesAreUsedInOrder) {
  const int devices[3] = {2, 0, 1};
  initAll(n(), devices);
  for (int r = 0; r < n(); ++r) {
    int device = -1;
    ASSERT_EQ(xcclCommDevice(comms_[r], &device), xcclSuccess);
    EXPECT_EQ(device, devices[r]) << "rank " << r;
  }
}

TEST_P(XcclInitAll, GroupedAllReduceFromOneThread) {
  initAll(n());
  groupAllReduce<Float32>(xcclSum, 1, 1);
  groupAllReduce<Float32>(xcclSum, 65537, 2);
  groupAllReduce<Int32>(xcclProd, 1000, 3);
  groupAllReduce<Int64>(xcclMax, 1000, 4);
  groupAllReduce<Uint8>(xcclMin, 4099, 5);
  groupAllReduce<Bfloat16>(xcclAvg, 1000, 6);
  groupAllReduce<Float16>(xcclSum, 300000, 7);
}

// Groups nest; only the outermost End runs the operations.
TEST_P(XcclInitAll, NestedGroupsRunAtTheOutermostEnd) {
  initAll(n());
  groupAllReduce<Int32>(xcclSum, 1000, 8, 2);
}

// Broadcast, AllGather and a Send/Recv ring in one group across the
// communicator's ranks. With one rank the ring is left out: xccl refuses a
// send to the calling rank itself (NCCL allows it; the header says neither).
TEST_P(XcclInitAll, GroupedBroadcastAllGatherAndRing) {
  initAll(n());
  constexpr size_t kCount = 777;
  const uint64_t seed = 9;
  const std::vector<void *> send = inputs<Int32>(kCount, xcclSum, seed);
  std::vector<void *> bcast, gather, ring;
  std::vector<xpStream> streams;
  for (int r = 0; r < n(); ++r) {
    bcast.push_back(deviceBuffer(r, kCount * 4));
    gather.push_back(deviceBuffer(r, kCount * 4 * static_cast<size_t>(n())));
    ring.push_back(deviceBuffer(r, kCount * 4));
    streams.push_back(stream(r));
  }
  const int root = n() - 1;
  ASSERT_EQ(xcclGroupStart(), xcclSuccess);
  for (int r = 0; r < n(); ++r) {
    EXPECT_EQ(xcclBroadcast(send[r], bcast[r], kCount, xcclInt32, root, comms_[r], streams[r]),
              xcclSuccess)
        << xcclGetLastError(nullptr);
    EXPECT_EQ(xcclAllGather(send[r], gather[r], kCount, xcclInt32, comms_[r], streams[r]),
              xcclSuccess)
        << xcclGetLastError(nullptr);
    if (n() == 1) continue;
    EXPECT_EQ(xcclSend(send[r], kCount, xcclInt32, (r + 1) % n(), comms_[r], streams[r]),
              xcclSuccess)
        << xcclGetLastError(nullptr);
    EXPECT_EQ(xcclRecv(ring[r], kCount, xcclInt32, (r + n() - 1) % n(), comms_[r], streams[r]),
              xcclSuccess)
        << xcclGetLastError(nullptr);
  }
  ASSERT_EQ(xcclGroupEnd(), xcclSuccess) << xcclGetLastError(nullptr);
  synchronizeAll(streams);
  for (int r = 0; r < n(); ++r) {
    const auto b = read<Int32>(bcast[r], kCount);
    const auto g = read<Int32>(gather[r], kCount * static_cast<size_t>(n()));
    const auto p = read<Int32>(ring[r], kCount);
    const int prev = (r + n() - 1) % n();
    for (size_t i = 0; i < kCount; ++i) {
      ASSERT_EQ(b[i], input<Int32>(root, i, seed, xcclSum, n()))
          << "broadcast, rank " << r << " index " << i;
      if (n() > 1) {
        ASSERT_EQ(p[i], input<Int32>(prev, i, seed, xcclSum, n()))
            << "ring, rank " << r << " index " << i;
      }
      for (int q = 0; q < n(); ++q) {
        ASSERT_EQ(g[static_cast<size_t>(q) * kCount + i], input<Int32>(q, i, seed, xcclSum, n()))
            << "allgather, rank " << r << " block " << q << " index " << i;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Ranks, XcclInitAll, ::testing::Values(1, 2, 3),
                         [](const ::testing::TestParamInfo<int> &param) {
                           return std::to_string(param.param) + "ranks";
                         });

}  // namespace
}  // namespace xccltest
