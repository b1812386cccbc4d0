// Invalid arguments: each gives the documented result at once (before any
// communication, so calling it on one rank of a 2-rank communicator cannot
// hang) and a message naming the offending value.
#include <cstdint>
#include <string>

#include "api/api_fixture.h"

namespace xccltest {
namespace {

constexpr size_t kCount = 16;

class XcclArguments : public XcclApi {
 protected:
  void SetUp() override {
    XcclApi::SetUp();
    initAll(2);
    comm_ = comms_[0];
    send_ = deviceBuffer(0, kCount * 8);
    recv_ = deviceBuffer(0, kCount * 8);
  }
  xcclComm_t comm_ = nullptr;
  void *send_ = nullptr;
  void *recv_ = nullptr;
};

TEST_F(XcclArguments, NullBuffersWithElementsAreRejected) {
  expectRejected(
      [&] { return xcclAllReduce(nullptr, recv_, kCount, xcclFloat, xcclSum, comm_, nullptr); },
      xcclInvalidArgument, {"sendbuff"}, "xcclAllReduce with sendbuff NULL");
  expectRejected(
      [&] { return xcclAllReduce(send_, nullptr, kCount, xcclFloat, xcclSum, comm_, nullptr); },
      xcclInvalidArgument, {"recvbuff"}, "xcclAllReduce with recvbuff NULL");
  expectRejected(
      [&] { return xcclBroadcast(send_, nullptr, kCount, xcclFloat, 0, comm_, nullptr); },
      xcclInvalidArgument, {"recvbuff"}, "xcclBroadcast with recvbuff NULL");
  expectRejected(
      [&] { return xcclReduce(send_, nullptr, kCount, xcclFloat, xcclSum, 0, comm_, nullptr); },
      xcclInvalidArgument, {"recvbuff"}, "xcclReduce with recvbuff NULL on the root");
  expectRejected([&] { return xcclAllGather(nullptr, recv_, kCount, xcclFloat, comm_, nullptr); },
                 xcclInvalidArgument, {"sendbuff"}, "xcclAllGather with sendbuff NULL");
  expectRejected(
      [&] { return xcclReduceScatter(send_, nullptr, kCount, xcclFloat, xcclSum, comm_, nullptr); },
      xcclInvalidArgument, {"recvbuff"}, "xcclReduceScatter with recvbuff NULL");
  expectRejected([&] { return xcclAllToAll(nullptr, recv_, kCount, xcclFloat, comm_, nullptr); },
                 xcclInvalidArgument, {"sendbuff"}, "xcclAllToAll with sendbuff NULL");
  expectRejected([&] { return xcclSend(nullptr, kCount, xcclFloat, 1, comm_, nullptr); },
                 xcclInvalidArgument, {"sendbuff"}, "xcclSend with sendbuff NULL");
  expectRejected([&] { return xcclRecv(nullptr, kCount, xcclFloat, 1, comm_, nullptr); },
                 xcclInvalidArgument, {"recvbuff"}, "xcclRecv with recvbuff NULL");
}

// count * element size (or nranks * count * size) would wrap around size_t:
// a library that multiplied without checking would move a few bytes.
TEST_F(XcclArguments, CountsWhoseByteSizeOverflowAreRejected) {
  const size_t huge = SIZE_MAX / 2 + 1;  // * 4 bytes wraps to 0
  const std::string huge_text = std::to_string(huge);
  expectRejected(
      [&] { return xcclAllReduce(send_, recv_, huge, xcclFloat, xcclSum, comm_, nullptr); },
      xcclInvalidArgument, {huge_text}, "xcclAllReduce of SIZE_MAX/2+1 float32");
  expectRejected([&] { return xcclSend(send_, huge, xcclFloat, 1, comm_, nullptr); },
                 xcclInvalidArgument, {huge_text}, "xcclSend of SIZE_MAX/2+1 float32");
  // Fits for one rank's buffer, wraps for nranks of them.
  const size_t quarter = SIZE_MAX / 4 / 2 + 1;  // * 4 bytes fits, * 2 ranks wraps
  expectRejected([&] { return xcclAllGather(send_, recv_, quarter, xcclFloat, comm_, nullptr); },
                 xcclInvalidArgument, {std::to_string(quarter)},
                 "xcclAllGather whose receive size wraps around");
}

// Values past the last enumerator but inside the enum's range (0..15 and
// 0..7): a C++ caller cannot pass -1 or 1000 without undefined behaviour
// (UBSan's -fsanitize=enum stops at the cast).
TEST_F(XcclArguments, UnknownDatatypesAreRejected) {
  for (int bad : {static_cast<int>(xcclNumTypes), 15}) {
    const auto type = static_cast<xcclDataType_t>(bad);
    expectRejected(
        [&] { return xcclAllReduce(send_, recv_, kCount, type, xcclSum, comm_, nullptr); },
        xcclInvalidArgument, {std::to_string(bad)},
        "xcclAllReduce with datatype " + std::to_string(bad));
    expectRejected([&] { return xcclBroadcast(send_, recv_, kCount, type, 0, comm_, nullptr); },
                   xcclInvalidArgument, {std::to_string(bad)},
                   "xcclBroadcast with datatype " + std::to_string(bad));
  }
}

TEST_F(XcclArguments, UnknownOpsAreRejected) {
  for (int bad : {static_cast<int>(xcclNumOps), 7}) {
    const auto op = static_cast<xcclRedOp_t>(bad);
    expectRejected(
        [&] { return xcclAllReduce(send_, recv_, kCount, xcclFloat, op, comm_, nullptr); },
        xcclInvalidArgument, {std::to_string(bad)}, "xcclAllReduce with op " + std::to_string(bad));
    expectRejected(
        [&] { return xcclReduceScatter(send_, recv_, kCount / 2, xcclInt32, op, comm_, nullptr); },
        xcclInvalidArgument, {std::to_string(bad)},
        "xcclReduceScatter with op " + std::to_string(bad));
  }
}

TEST_F(XcclArguments, RootsAndPeersOutsideTheCommunicatorAreRejected) {
  for (int bad : {-1, 2, 1000}) {  // the communicator has ranks 0 and 1
    const std::string text = std::to_string(bad);
    expectRejected(
        [&] { return xcclBroadcast(send_, recv_, kCount, xcclFloat, bad, comm_, nullptr); },
        xcclInvalidArgument, {text}, "xcclBroadcast with root " + text);
    expectRejected(
        [&] { return xcclReduce(send_, recv_, kCount, xcclFloat, xcclSum, bad, comm_, nullptr); },
        xcclInvalidArgument, {text}, "xcclReduce with root " + text);
    expectRejected([&] { return xcclSend(send_, kCount, xcclFloat, bad, comm_, nullptr); },
                   xcclInvalidArgument, {text}, "xcclSend to peer " + text);
    expectRejected([&] { return xcclRecv(recv_, kCount, xcclFloat, bad, comm_, nullptr); },
                   xcclInvalidArgument, {text}, "xcclRecv from peer " + text);
  }
}

TEST_F(XcclArguments, NullCommunicatorIsRejected) {
  expectRejected(
      [&] { return xcclAllReduce(send_, recv_, kCount, xcclFloat, xcclSum, nullptr, nullptr); },
      xcclInvalidArgument, {"comm"}, "xcclAllReduce with comm NULL");
  expectRejected([&] { return xcclBarrier(nullptr, nullptr); }, xcclInvalidArgument, {"comm"},
                 "xcclBarrier with comm NULL");
  int value = 0;
  expectRejected([&] { return xcclCommCount(nullptr, &value); }, xcclInvalidArgument, {"comm"},
                 "xcclCommCount with comm NULL");
}

// Streams belong to one device; the communicator's rank 0 is on device 0.
TEST_F(XcclArguments, StreamOfAnotherDeviceIsRejected) {
  xpStream other = stream(1);
  expectRejected(
      [&] { return xcclAllReduce(send_, recv_, kCount, xcclFloat, xcclSum, comm_, other); },
      xcclInvalidArgument, {"stream", "device 1"},
      "xcclAllReduce on a stream of device 1 for a communicator on device 0");
}

TEST_F(XcclArguments, AllToAllInPlaceIsRejected) {
  expectRejected([&] { return xcclAllToAll(send_, send_, kCount / 2, xcclFloat, comm_, nullptr); },
                 xcclInvalidArgument, {}, "xcclAllToAll with sendbuff == recvbuff");
}

TEST_F(XcclArguments, NullOutputsAreRejected) {
  expectRejected([&] { return xcclCommCount(comm_, nullptr); }, xcclInvalidArgument, {},
                 "xcclCommCount with count NULL");
  expectRejected([&] { return xcclCommUserRank(comm_, nullptr); }, xcclInvalidArgument, {},
                 "xcclCommUserRank with rank NULL");
  expectRejected([&] { return xcclCommDevice(comm_, nullptr); }, xcclInvalidArgument, {},
                 "xcclCommDevice with device NULL");
  expectRejected([&] { return xcclCommGetAsyncError(comm_, nullptr); }, xcclInvalidArgument, {},
                 "xcclCommGetAsyncError with async_error NULL");
  expectRejected([&] { return xcclCommSplit(comm_, 0, 0, nullptr); }, xcclInvalidArgument, {},
                 "xcclCommSplit with newcomm NULL");
  expectRejected([&] { return xcclGetUniqueId(nullptr); }, xcclInvalidArgument, {},
                 "xcclGetUniqueId with unique_id NULL");
  expectRejected([&] { return xcclGetVersion(nullptr); }, xcclInvalidArgument, {},
                 "xcclGetVersion with version NULL");
}

TEST_F(XcclArguments, GroupEndWithoutStartIsInvalidUsage) {
  expectRejected([] { return xcclGroupEnd(); }, xcclInvalidUsage, {},
                 "xcclGroupEnd without xcclGroupStart");
}

// As with NCCL, an empty operation needs no buffers. One rank, so the
// operation completes without a peer.
TEST_F(XcclApi, EmptyOperationsAcceptNullBuffers) {
  initAll(1);
  EXPECT_EQ(xcclAllReduce(nullptr, nullptr, 0, xcclFloat, xcclSum, comms_[0], nullptr), xcclSuccess)
      << xcclGetLastError(nullptr);
  EXPECT_EQ(xcclBroadcast(nullptr, nullptr, 0, xcclInt8, 0, comms_[0], nullptr), xcclSuccess)
      << xcclGetLastError(nullptr);
  EXPECT_EQ(xpDeviceSynchronize(0), XP_SUCCESS) << xpGetLastError();
}

// ---------------------------------------------------------------------------
// Communicator creation.

TEST_F(XcclApi, InitRankRejectsBadRanksAndSizes) {
  xcclUniqueId id;
  ASSERT_EQ(xcclGetUniqueId(&id), xcclSuccess) << xcclGetLastError(nullptr);
  xcclComm_t comm = nullptr;
  for (int nranks : {0, -1}) {
    expectRejected([&] { return xcclCommInitRank(&comm, nranks, id, 0, 0); }, xcclInvalidArgument,
                   {std::to_string(nranks)},
                   "xcclCommInitRank with nranks " + std::to_string(nranks));
  }
  for (int rank : {-1, 2, 5}) {
    expectRejected([&] { return xcclCommInitRank(&comm, 2, id, rank, 0); }, xcclInvalidArgument,
                   {std::to_string(rank)},
                   "xcclCommInitRank of rank " + std::to_string(rank) + " of 2");
  }
  expectRejected([&] { return xcclCommInitRank(&comm, 2, id, 0, 99); }, xcclInvalidArgument, {"99"},
                 "xcclCommInitRank on device 99 (3 devices)");
  expectRejected([&] { return xcclCommInitRank(nullptr, 2, id, 0, 0); }, xcclInvalidArgument, {},
                 "xcclCommInitRank with comm NULL");
}

TEST_F(XcclApi, InitRankRejectsAnIdNotMadeByGetUniqueId) {
  xcclUniqueId id{};  // all zeros
  xcclComm_t comm = nullptr;
  expectRejected([&] { return xcclCommInitRank(&comm, 2, id, 0, 0); }, xcclInvalidArgument, {},
                 "xcclCommInitRank with a zeroed unique id");
}

TEST_F(XcclApi, InitAllRejectsBadSizesAndDevices) {
  xcclComm_t comms[2] = {nullptr, nullptr};
  for (int ndev : {0, -1}) {
    expectRejected([&] { return xcclCommInitAll(comms, ndev, nullptr); }, xcclInvalidArgument,
                   {std::to_string(ndev)}, "xcclCommInitAll with ndev " + std::to_string(ndev));
  }
  // Should fail before any rank waits for the others; if a rank waits
  // anyway, let it give up after 2 s rather than 20.
  setenv("XCCL_TIMEOUT_MS", "2000", 1);
  const int devices[2] = {0, 99};
  expectRejected([&] { return xcclCommInitAll(comms, 2, devices); }, xcclInvalidArgument, {"99"},
                 "xcclCommInitAll with device 99");
  expectRejected([&] { return xcclCommInitAll(nullptr, 2, nullptr); }, xcclInvalidArgument, {},
                 "xcclCommInitAll with comms NULL");
}

// Without a launcher's variables there is nothing to join: a prompt error
// that names what is missing, not a wait.
TEST_F(XcclApi, InitFromEnvWithoutLauncherVariablesFailsPromptly) {
  for (const char *name : {"XPOOL_RANK", "XPOOL_WORLD_SIZE", "XPOOL_MASTER_ADDR",
                           "XPOOL_MASTER_PORT", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"}) {
    unsetenv(name);
  }
  xcclComm_t comm = nullptr;
  const auto start = std::chrono::steady_clock::now();
  const xcclResult_t result = xcclCommInitFromEnv(&comm, 0);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const std::string message = xcclGetLastError(nullptr);
  EXPECT_TRUE(result == xcclInvalidArgument || result == xcclInvalidUsage)
      << xcclGetErrorString(result) << ": " << message;
  EXPECT_NE(message.find("XPOOL_"), std::string::npos) << message;
  EXPECT_LT(seconds, 2.0);
}

}  // namespace
}  // namespace xccltest
