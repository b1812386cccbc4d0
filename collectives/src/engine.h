// The progress engine: requests posted to peers' channels move forward
// together, so sends and receives of one step (or a whole group) overlap
// and a full FIFO never deadlocks. Waiting spins briefly, then yields, then
// sleeps; it checks the deadline, the abort flag and the peers' control
// connections, so a dead peer turns into an error naming it.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "channel.h"
#include "op_label.h"
#include "socket.h"

struct xcclComm;

namespace xpool::xccl {

// What a control connection carries besides end-of-file: fixed-size frames.
struct ControlFrame {
  enum Type : uint32_t { kAbort = 1, kCheck = 2, kGoodbye = 3 };
  uint32_t type = 0;
  int32_t origin = -1;    // kAbort: the rank whose failure this reports
  uint64_t sequence = 0;  // kCheck: the operation's number on this communicator
  uint64_t count = 0;
  int32_t kind = 0;  // kCheck: which operation
  int32_t datatype = 0;
  int32_t op = 0;
  int32_t root = 0;
  int32_t result = 0;  // kAbort: the xcclResult_t of the failure
  int32_t reserved = 0;
  char text[208] = {};  // kAbort: the reason
};
static_assert(sizeof(ControlFrame) == 256);

// The failure a peer's kAbort frame means on this rank. The cause keeps its
// kind where it holds here too (a mismatch XCCL_CHECK found on another rank
// is invalid usage here as well, a deadline passed is a timeout); anything
// else is the remote peer's failure.
inline xcclResult_t abortCause(const ControlFrame &frame) {
  return frame.result == xcclInvalidUsage || frame.result == xcclTimeout
             ? static_cast<xcclResult_t>(frame.result)
             : xcclRemoteError;
}

class Engine {
 public:
  explicit Engine(xcclComm *comm) : comm_(comm) {}
  // Sizes the per-peer state; called once the communicator knows its ranks.
  void start(int nranks);
  void post(Request *request);
  // Progresses everything until `requests` are all complete; `what` names
  // the operation for messages ("xcclAllReduce of 4096 bytes").
  xcclResult_t wait(Request *const *requests, size_t count, const OpLabel &what);
  xcclResult_t wait(Request *request, const OpLabel &what) { return wait(&request, 1, what); }
  // Drops every queued request (after a failure).
  void clear();
  // Tells every peer this rank leaves in order (before closing the sockets).
  void sayGoodbye();
  // Receives the next kCheck frame from `peer`, waiting with the deadline.
  xcclResult_t receiveCheck(int peer, ControlFrame *frame, const OpLabel &what);

  // Whether `peer` said goodbye (any thread).
  bool departed(int peer) const { return departed_[static_cast<size_t>(peer)].load(); }

 private:
  xcclResult_t progressOnce(bool *moved);
  // The error to report for a failed channel: the reason a peer sent on its
  // control connection when there is one, else the channel's own message.
  xcclResult_t explainChannelFailure(xcclResult_t result, const OpLabel &what);
  bool progressSelf();
  // Reads what the control connections hold: end-of-file is a dead peer,
  // kAbort frames carry another rank's failure, kCheck frames are kept.
  xcclResult_t pollControl(const OpLabel &what);
  xcclResult_t readControl(int peer, const OpLabel &what);
  std::string describePending() const;

  xcclComm *comm_;
  std::vector<std::deque<Request *>> send_queues_;
  std::vector<std::deque<Request *>> recv_queues_;
  std::vector<std::string> control_partial_;      // per peer: a frame's first bytes
  std::vector<std::deque<ControlFrame>> checks_;  // per peer: kCheck frames not yet used
  // Per peer: said goodbye (destroyed its communicator). Atomic: the NCCL
  // path's watchdog reads it from its own thread.
  std::vector<std::atomic<bool>> departed_;
};

}  // namespace xpool::xccl
