// Running operations: on the caller's thread when nothing is ahead of them
// (the stream idle, the communicator idle), otherwise in a host function of
// their stream, in the order they were issued. Groups collect operations
// and run them together at xcclGroupEnd.
#pragma once

#include <string>
#include <vector>

#include "op_label.h"
#include "xpool/xccl.h"

namespace xpool::xccl {

enum class OpKind {
  kAllReduce,
  kBroadcast,
  kReduce,
  kAllGather,
  kReduceScatter,
  kAllToAll,
  kSend,
  kRecv,
  kBarrier
};
const char *opKindName(OpKind kind);

struct Op {
  OpKind kind = OpKind::kBarrier;
  const void *send = nullptr;
  void *recv = nullptr;
  size_t count = 0;
  xcclDataType_t type = xcclUint8;
  xcclRedOp_t op = xcclSum;
  int root = -1;  // root of Broadcast/Reduce, peer of Send/Recv
  size_t send_bytes = 0;
  size_t recv_bytes = 0;
  OpLabel what;  // names it in messages
};

// Runs `op` on `stream` now or queues it (inside a group). The stream is
// already checked to be the communicator's.
xcclResult_t submit(xcclComm *comm, Op op, xpStream stream);

xcclResult_t groupStart();
xcclResult_t groupEnd();
bool inGroup();

// Waits until every operation issued on `comm` has finished (deadline).
xcclResult_t drain(xcclComm *comm, const char *call);

}  // namespace xpool::xccl
