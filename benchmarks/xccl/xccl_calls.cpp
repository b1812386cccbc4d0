#include "xccl_calls.h"

namespace xccl_bench {

// Our enums mirror xccl's so that the MPI and Gloo peers need not include
// xccl.h; these keep the two in step.
static_assert(static_cast<int>(DataType::kFloat16) == xcclFloat16);
static_assert(static_cast<int>(DataType::kFloat32) == xcclFloat32);
static_assert(static_cast<int>(DataType::kBfloat16) == xcclBfloat16);
static_assert(static_cast<int>(DataType::kUint64) == xcclUint64);
static_assert(static_cast<int>(RedOp::kAvg) == xcclAvg);
static_assert(static_cast<int>(RedOp::kMin) == xcclMin);

void xcclCheck(xcclResult_t result, const char *call, xcclComm_t comm) {
  if (result == xcclSuccess) return;
  throw CallError(std::string(call) + ": " + xcclGetErrorString(result) + ": " +
                  xcclGetLastError(comm));
}

void xpCheck(xpStatus status, const char *call) {
  if (status == XP_SUCCESS) return;
  throw CallError(std::string(call) + ": " + xpStatusName(status) + ": " + xpGetLastError());
}

xcclDataType_t toXccl(DataType type) {
  return static_cast<xcclDataType_t>(type);
}
xcclRedOp_t toXccl(RedOp op) {
  return static_cast<xcclRedOp_t>(op);
}

void issue(const Call &c) {
  const xcclDataType_t type = toXccl(c.type);
  switch (c.coll) {
    case Coll::kAllReduce:
      xcclCheck(xcclAllReduce(c.send, c.recv, c.count, type, toXccl(c.op), c.comm, c.stream),
                "xcclAllReduce", c.comm);
      return;
    case Coll::kAllGather:
      xcclCheck(xcclAllGather(c.send, c.recv, c.count, type, c.comm, c.stream), "xcclAllGather",
                c.comm);
      return;
    case Coll::kReduceScatter:
      xcclCheck(xcclReduceScatter(c.send, c.recv, c.count, type, toXccl(c.op), c.comm, c.stream),
                "xcclReduceScatter", c.comm);
      return;
    case Coll::kBroadcast:
      xcclCheck(xcclBroadcast(c.send, c.recv, c.count, type, c.root, c.comm, c.stream),
                "xcclBroadcast", c.comm);
      return;
    case Coll::kReduce:
      xcclCheck(xcclReduce(c.send, c.recv, c.count, type, toXccl(c.op), c.root, c.comm, c.stream),
                "xcclReduce", c.comm);
      return;
    case Coll::kAllToAll:
      xcclCheck(xcclAllToAll(c.send, c.recv, c.count, type, c.comm, c.stream), "xcclAllToAll",
                c.comm);
      return;
    case Coll::kSendRecv: {
      // nccl-tests' sendrecv: a ring shift, each rank sending to the next
      // and receiving from the previous; a group, as xccl requires.
      const int next = (c.rank + 1) % c.nranks;
      const int prev = (c.rank + c.nranks - 1) % c.nranks;
      xcclCheck(xcclGroupStart(), "xcclGroupStart", c.comm);
      try {
        xcclCheck(xcclSend(c.send, c.count, type, next, c.comm, c.stream), "xcclSend", c.comm);
        xcclCheck(xcclRecv(c.recv, c.count, type, prev, c.comm, c.stream), "xcclRecv", c.comm);
      } catch (const CallError &) {
        // Close the group, so that this thread's next call is not silently
        // queued in a group left open.
        xcclGroupEnd();
        throw;
      }
      xcclCheck(xcclGroupEnd(), "xcclGroupEnd", c.comm);
      return;
    }
  }
}

}  // namespace xccl_bench
