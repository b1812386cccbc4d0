// A channel moves one peer's messages in both directions; the engine calls
// it to make progress without blocking. Messages between two ranks match in
// the order they were posted, so a message carries no header: both sides
// know its size from the operation they run.
#pragma once

#include <cstddef>
#include <cstdint>

#include "errors.h"
#include "socket.h"
#include "xpool/xccl.h"

namespace xpool::xccl {

constexpr int kMaxSocketsPerPeer = 16;

struct Request {
  enum class Kind { kSend, kRecv, kRecvReduce };
  Kind kind = Kind::kSend;
  int peer = 0;
  const char *src = nullptr;    // kSend: the bytes to send
  char *dst = nullptr;          // kRecv, kRecvReduce: where the result goes
  const char *local = nullptr;  // kRecvReduce: dst = local op incoming (may equal dst)
  size_t bytes = 0;
  xcclDataType_t type = xcclUint8;  // kRecvReduce
  xcclRedOp_t op = xcclSum;         // kRecvReduce
  bool complete = false;
  // Progress, owned by the channel.
  size_t done = 0;
  size_t part_done[kMaxSocketsPerPeer] = {};
  // Shared-memory single copy: the sender's sequence number of the message
  // (0: not announced yet) and, at the receiver, the sender's address.
  uint64_t sequence = 0;
  uint64_t peer_address = 0;

  static Request send(int peer, const void *src, size_t bytes) {
    Request r;
    r.kind = Kind::kSend;
    r.peer = peer;
    r.src = static_cast<const char *>(src);
    r.bytes = bytes;
    return r;
  }
  static Request recv(int peer, void *dst, size_t bytes) {
    Request r;
    r.kind = Kind::kRecv;
    r.peer = peer;
    r.dst = static_cast<char *>(dst);
    r.bytes = bytes;
    return r;
  }
  static Request recvReduce(int peer, void *dst, const void *local, size_t bytes,
                            xcclDataType_t type, xcclRedOp_t op) {
    Request r;
    r.kind = Kind::kRecvReduce;
    r.peer = peer;
    r.dst = static_cast<char *>(dst);
    r.local = static_cast<const char *>(local);
    r.bytes = bytes;
    r.type = type;
    r.op = op;
    return r;
  }
};

class Channel {
 public:
  virtual ~Channel() = default;
  // Move what can move now; set request.complete when it is all through.
  // A failure (the peer closed the connection) returns an error whose
  // message the engine completes with the peer's name.
  virtual xcclResult_t progressSend(Request &request) = 0;
  virtual xcclResult_t progressRecv(Request &request) = 0;
  // Stops traffic now (abort): the peer sees a closed connection.
  virtual void shutdown() = 0;
  // Waits (until `deadline`) for what this rank sent to reach the peer: a
  // channel whose sends complete locally (UCX) must deliver them before the
  // rank says goodbye, or the peer could see the goodbye first.
  virtual void flush(Deadline) {}
  // Descriptors to poll for readiness instead of spinning (-1: none).
  virtual int pollFd() const { return -1; }
  virtual const char *name() const = 0;
};

}  // namespace xpool::xccl
