// The check-mismatch scenario (XCCL_CHECK=1, set by the launcher): ranks
// that call the same operation with different arguments must all get
// xcclInvalidUsage instead of corrupt data or a hang, with a message naming
// both values. A matching call first shows the check has no false alarms.
//
// --what picks the difference, always on rank 1:
//   count      AllReduce of 1001 elements, the others 1000 (message: both counts)
//   datatype   AllReduce of int32, the others float32
//   op         AllReduce with max, the others sum
//   root       Broadcast from root 1, the others from root 0
//   collective Broadcast, the others AllReduce
#include <chrono>
#include <thread>

#include "common/types.h"
#include "rank/allreduce_check.h"
#include "rank/scenario.h"

namespace xccltest {
namespace {

constexpr size_t kCount = 1000;

}  // namespace

int runCheckMismatch(Context &ctx) {
  const std::string &what = ctx.options.what;
  if (ctx.nranks < 2) {
    fail(ctx, "check-mismatch needs at least 2 ranks");
    return kExitSetupFailed;
  }
  if (!checkedAllReduce(ctx, ctx.comm, ctx.stream, xcclFloat32, xcclSum, kCount, 3,
                        "a matching AllReduce under XCCL_CHECK=1")) {
    return kExitCheckFailed;
  }
  void *send = nullptr, *recv = nullptr;
  const size_t bytes = (kCount + 1) * 8;
  if (!xpOk(ctx, xpMalloc(ctx.device, bytes, &send), "xpMalloc") ||
      !xpOk(ctx, xpMalloc(ctx.device, bytes, &recv), "xpMalloc") ||
      !xpOk(ctx, xpMemset(send, 0, bytes), "xpMemset")) {
    return kExitSetupFailed;
  }
  const bool odd_one = ctx.rank == 1;
  xcclResult_t called = xcclSuccess;
  std::string description;
  if (what == "count") {
    const size_t count = odd_one ? kCount + 1 : kCount;
    description = "AllReduce of " + std::to_string(count) + " elements (rank 1: 1001, others 1000)";
    called = xcclAllReduce(send, recv, count, xcclFloat32, xcclSum, ctx.comm, ctx.stream);
  } else if (what == "datatype") {
    const xcclDataType_t type = odd_one ? xcclInt32 : xcclFloat32;
    description = "AllReduce of " + typeName(type) + " (rank 1: int32, others float32)";
    called = xcclAllReduce(send, recv, kCount, type, xcclSum, ctx.comm, ctx.stream);
  } else if (what == "op") {
    const xcclRedOp_t op = odd_one ? xcclMax : xcclSum;
    description = "AllReduce with " + opName(op) + " (rank 1: max, others sum)";
    called = xcclAllReduce(send, recv, kCount, xcclFloat32, op, ctx.comm, ctx.stream);
  } else if (what == "root") {
    const int root = odd_one ? 1 : 0;
    description = "Broadcast from root " + std::to_string(root) + " (rank 1: 1, others 0)";
    called = xcclBroadcast(send, recv, kCount, xcclFloat32, root, ctx.comm, ctx.stream);
  } else if (what == "collective") {
    description =
        odd_one ? "Broadcast (the others call AllReduce)" : "AllReduce (rank 1 calls Broadcast)";
    called = odd_one
                 ? xcclBroadcast(send, recv, kCount, xcclFloat32, 0, ctx.comm, ctx.stream)
                 : xcclAllReduce(send, recv, kCount, xcclFloat32, xcclSum, ctx.comm, ctx.stream);
  } else {
    fail(ctx, "unknown --what " + what);
    return kExitSetupFailed;
  }
  std::string message;
  const xcclResult_t result = awaitOutcome(ctx, called, &message);
  bool ok = true;
  if (result != xcclInvalidUsage) {
    fail(ctx, "XCCL_CHECK=1, " + description + ": expected xcclInvalidUsage, got " +
                  resultName(result) + ": " + message);
    ok = false;
  } else if (what == "count" && (message.find("1000") == std::string::npos ||
                                 message.find("1001") == std::string::npos)) {
    fail(ctx, "XCCL_CHECK=1, " + description +
                  ": the message does not name both counts (1000 and 1001): " + message);
    ok = false;
  } else {
    note(ctx, "XCCL_CHECK=1, " + description + ": got xcclInvalidUsage: " + message);
  }
  xpStreamSynchronizeTimeout(ctx.stream, kSyncTimeoutMs);
  // The communicator may be unusable after the failed check: free it with
  // xcclCommAbort, which never waits for peers. Wait a second first: a rank
  // that is still checking would otherwise see this rank's abort instead of
  // the mismatch.
  std::this_thread::sleep_for(std::chrono::seconds(1));
  ok &= xcclOk(ctx, xcclCommAbort(ctx.comm), "xcclCommAbort after the mismatch");
  ctx.comm = nullptr;
  xpFree(send);
  xpFree(recv);
  return ok ? kExitOk : kExitCheckFailed;
}

}  // namespace xccltest
