#include "exec.h"

#include <algorithm>
#include <cstring>
#include <thread>
#include <tuple>

#include "algorithms.h"
#include "communicator.h"
#include "logging.h"
#include "nccl_path.h"
#include "reduce.h"
#include "staging.h"

namespace xpool::xccl {
namespace {

struct QueuedOp {
  xcclComm *comm;
  Op op;
  xpStream stream;
};

struct PendingGroup {
  int depth = 0;
  std::vector<QueuedOp> ops;
};
thread_local PendingGroup t_group;

struct Task {
  xcclComm *comm;
  std::vector<Op> ops;
  uint64_t sequence;
};

bool isPointToPoint(OpKind kind) {
  return kind == OpKind::kSend || kind == OpKind::kRecv;
}

// ---- XCCL_CHECK -----------------------------------------------------------

ControlFrame signatureOf(const Op &op, uint64_t sequence) {
  ControlFrame frame;
  frame.type = ControlFrame::kCheck;
  frame.sequence = sequence;
  frame.kind = static_cast<int32_t>(op.kind);
  frame.count = op.count;
  frame.datatype = op.kind == OpKind::kBarrier ? -1 : static_cast<int32_t>(op.type);
  const bool reducing = op.kind == OpKind::kAllReduce || op.kind == OpKind::kReduce ||
                        op.kind == OpKind::kReduceScatter;
  frame.op = reducing ? static_cast<int32_t>(op.op) : -1;
  frame.root = (op.kind == OpKind::kBroadcast || op.kind == OpKind::kReduce) ? op.root : -1;
  return frame;
}

std::string describeSignature(const ControlFrame &frame) {
  std::string text =
      fmt::format("{}(count={}", opKindName(static_cast<OpKind>(frame.kind)), frame.count);
  if (frame.datatype >= 0) {
    text += fmt::format(", datatype={}", typeName(static_cast<xcclDataType_t>(frame.datatype)));
  }
  if (frame.op >= 0) text += fmt::format(", op={}", opName(static_cast<xcclRedOp_t>(frame.op)));
  if (frame.root >= 0) text += fmt::format(", root={}", frame.root);
  return text + ")";
}

bool checkEnabled(const xcclComm &comm) {
  return std::all_of(comm.infos.begin(), comm.infos.end(),
                     [](const PeerInfo &info) { return info.check != 0; });
}

// Every rank tells every other what it is about to run and compares.
xcclResult_t checkAcrossRanks(xcclComm &comm, const Op &op) {
  const ControlFrame mine = signatureOf(op, comm.check_sequence++);
  for (int p = 0; p < comm.nranks; ++p) {
    if (p == comm.rank) continue;
    Peer &peer = comm.peers[static_cast<size_t>(p)];
    XCCL_RETURN_IF_ERROR(sendAll(peer.control, &mine, sizeof mine, comm.deadline(), peer.label));
  }
  for (int p = 0; p < comm.nranks; ++p) {
    if (p == comm.rank) continue;
    ControlFrame theirs;
    XCCL_RETURN_IF_ERROR(comm.engine.receiveCheck(p, &theirs, op.what));
    if (theirs.sequence != mine.sequence || theirs.kind != mine.kind ||
        theirs.count != mine.count || theirs.datatype != mine.datatype || theirs.op != mine.op ||
        theirs.root != mine.root) {
      return fail(xcclInvalidUsage,
                  "XCCL_CHECK: operation #{} differs between ranks: rank {} called {} but rank {} "
                  "called {} (as its operation #{})",
                  mine.sequence, comm.rank, describeSignature(mine), p, describeSignature(theirs),
                  theirs.sequence);
    }
  }
  return xcclSuccess;
}

// ---- running operations ---------------------------------------------------

xcclResult_t runOnHost(xcclComm &comm, const Op &op, const char *send, char *recv) {
  switch (op.kind) {
    case OpKind::kAllReduce:
      return allReduce(comm, send, recv, op.count, op.type, op.op, op.what);
    case OpKind::kBroadcast:
      return broadcast(comm, send, recv, op.count, op.type, op.root, op.what);
    case OpKind::kReduce:
      return reduceToRoot(comm, send, recv, op.count, op.type, op.op, op.root, op.what);
    case OpKind::kAllGather:
      return allGather(comm, send, recv, op.count, op.type, op.what);
    case OpKind::kReduceScatter:
      return reduceScatter(comm, send, recv, op.count, op.type, op.op, op.what);
    case OpKind::kAllToAll:
      return allToAll(comm, send, recv, op.count, op.type, op.what);
    case OpKind::kBarrier:
      return barrier(comm, op.what);
    case OpKind::kSend:
    case OpKind::kRecv:
      break;
  }
  return fail(xcclInternalError, "{}: not a collective", op.what);
}

// One collective, staging buffers the host cannot address through pinned
// memory around the host algorithm.
xcclResult_t runCollective(xcclComm &comm, const Op &op) {
  if (checkEnabled(comm)) XCCL_RETURN_IF_ERROR(checkAcrossRanks(comm, op));
  const char *send = static_cast<const char *>(op.send);
  char *recv = static_cast<char *>(op.recv);
  const bool stage_send = op.send_bytes > 0 && needsStaging(comm, send);
  const bool stage_recv = op.recv_bytes > 0 && needsStaging(comm, recv);
  const bool elementwise =
      op.kind == OpKind::kAllReduce || op.kind == OpKind::kBroadcast || op.kind == OpKind::kReduce;
  const size_t element = typeSize(op.type);
  if (elementwise && comm.chunk_staging && op.count * element > comm.config.stage_chunk_bytes) {
    // Every rank splits alike (the split depends on the communicator, not
    // on this rank), so the chunks' messages match across ranks.
    // A rank that sends nothing (a broadcast's non-root) passes no input:
    // its send pointer may be device memory the host cannot read.
    return runInChunks(comm, op.send_bytes > 0 ? send : nullptr, recv, op.count * element, element,
                       stage_send, stage_recv, op.what,
                       [&](const char *chunk_send, char *chunk_recv, size_t, size_t length) {
                         Op part = op;
                         part.count = length / element;
                         return runOnHost(comm, part, chunk_send, chunk_recv);
                       });
  }
  if (!stage_send && !stage_recv) return runOnHost(comm, op, send, recv);

  const char *host_send = send;
  char *host_recv = recv;
  const bool overlap =
      stage_send && stage_recv && send < recv + op.recv_bytes && recv < send + op.send_bytes;
  void *staged = nullptr;
  if (overlap) {
    // In place: stage the region holding both, keep their distance.
    const char *base = std::min<const char *>(send, recv);
    const char *end = std::max<const char *>(send + op.send_bytes, recv + op.recv_bytes);
    XCCL_RETURN_IF_ERROR(comm.stage_in.reserve(static_cast<size_t>(end - base), true, &staged));
    XCCL_RETURN_IF_ERROR(copyAndWait(comm, staged, base, static_cast<size_t>(end - base), op.what));
    host_send = static_cast<char *>(staged) + (send - base);
    host_recv = static_cast<char *>(staged) + (recv - base);
  } else {
    if (stage_send) {
      XCCL_RETURN_IF_ERROR(comm.stage_in.reserve(op.send_bytes, true, &staged));
      XCCL_RETURN_IF_ERROR(copyAndWait(comm, staged, send, op.send_bytes, op.what));
      host_send = static_cast<const char *>(staged);
    }
    if (stage_recv) {
      void *out = nullptr;
      XCCL_RETURN_IF_ERROR(comm.stage_out.reserve(op.recv_bytes, true, &out));
      host_recv = static_cast<char *>(out);
    }
  }
  XCCL_RETURN_IF_ERROR(runOnHost(comm, op, host_send, host_recv));
  if (stage_recv) XCCL_RETURN_IF_ERROR(copyAndWait(comm, recv, host_recv, op.recv_bytes, op.what));
  return xcclSuccess;
}

// Consecutive sends and receives progress together (a group's exchange).
xcclResult_t runPointToPoint(xcclComm &comm, const Op *ops, size_t count) {
  // Which buffers pass through staging: decided once per operation.
  std::vector<bool> staged(count);
  size_t send_total = 0, recv_total = 0;
  for (size_t i = 0; i < count; ++i) {
    const bool sending = ops[i].kind == OpKind::kSend;
    staged[i] = needsStaging(comm, sending ? ops[i].send : ops[i].recv);
    if (staged[i])
      (sending ? send_total : recv_total) += sending ? ops[i].send_bytes : ops[i].recv_bytes;
  }
  char *send_stage = nullptr, *recv_stage = nullptr;
  if (send_total > 0) {
    void *at = nullptr;
    XCCL_RETURN_IF_ERROR(comm.stage_in.reserve(send_total, true, &at));
    send_stage = static_cast<char *>(at);
  }
  if (recv_total > 0) {
    void *at = nullptr;
    XCCL_RETURN_IF_ERROR(comm.stage_out.reserve(recv_total, true, &at));
    recv_stage = static_cast<char *>(at);
  }
  std::vector<Request> requests(count);
  std::vector<Request *> pointers(count);
  std::vector<std::pair<char *, size_t>> copy_back(count, {nullptr, 0});
  for (size_t i = 0; i < count; ++i) {
    const Op &op = ops[i];
    if (op.kind == OpKind::kSend) {
      const char *source = static_cast<const char *>(op.send);
      if (staged[i]) {
        XCCL_RETURN_IF_ERROR(copyAndWait(comm, send_stage, source, op.send_bytes, op.what));
        source = send_stage;
        send_stage += op.send_bytes;
      }
      requests[i] = Request::send(op.root, source, op.send_bytes);
    } else {
      char *target = static_cast<char *>(op.recv);
      if (staged[i]) {
        copy_back[i] = {recv_stage, op.recv_bytes};
        target = recv_stage;
        recv_stage += op.recv_bytes;
      }
      requests[i] = Request::recv(op.root, target, op.recv_bytes);
    }
    pointers[i] = &requests[i];
  }
  for (Request &request : requests) comm.engine.post(&request);
  OpLabel what = ops[0].what;
  if (count > 1) what.note = "and the other sends and receives of its group";
  XCCL_RETURN_IF_ERROR(comm.engine.wait(pointers.data(), pointers.size(), what));
  for (size_t i = 0; i < count; ++i) {
    if (copy_back[i].first != nullptr) {
      XCCL_RETURN_IF_ERROR(
          copyAndWait(comm, ops[i].recv, copy_back[i].first, copy_back[i].second, ops[i].what));
    }
  }
  return xcclSuccess;
}

xcclResult_t runOps(xcclComm &comm, const std::vector<Op> &ops) {
  XCCL_RETURN_IF_ERROR(comm.brokenResult(ops.front().what.call));
  for (size_t i = 0; i < ops.size();) {
    size_t end = i + 1;
    xcclResult_t result = xcclSuccess;
    if (isPointToPoint(ops[i].kind)) {
      while (end < ops.size() && isPointToPoint(ops[end].kind)) ++end;
      result = runPointToPoint(comm, &ops[i], end - i);
    } else {
      result = runCollective(comm, ops[i]);
    }
    if (result != xcclSuccess) {
      const std::string message = lastError();
      comm.breakWith(result, message, comm.rank);
      return fail(result, "{}", message);
    }
    i = end;
  }
  return xcclSuccess;
}

void finish(xcclComm &comm, uint64_t sequence) {
  std::lock_guard lock(comm.mutex);
  comm.finished = std::max(comm.finished, sequence + 1);
  comm.turn.notify_all();
}

void runTask(void *user_data) {
  std::unique_ptr<Task> task(static_cast<Task *>(user_data));
  xcclComm &comm = *task->comm;
  bool my_turn = false;
  {
    std::unique_lock lock(comm.mutex);
    my_turn = comm.turn.wait_for(lock, std::chrono::milliseconds(comm.config.timeout_ms), [&] {
      return comm.finished >= task->sequence || comm.aborted.load();
    });
  }
  xcclResult_t result = xcclSuccess;
  if (!my_turn) {
    result = fail(xcclTimeout,
                  "{}: the operations issued before it on this communicator did not finish "
                  "within {} ms",
                  task->ops.front().what, comm.config.timeout_ms);
    comm.breakWith(result, lastError(), comm.rank);
  } else {
    result = runOps(comm, task->ops);
  }
  if (result != xcclSuccess) {
    logger()->warn("rank {}: asynchronous {} failed: {}", comm.rank, task->ops.front().what,
                   lastError());
    std::lock_guard lock(comm.mutex);
    if (!comm.async_error.failed()) comm.async_error = {result, lastError()};
  }
  finish(comm, task->sequence);
  release(&comm);
}

// Runs `body` holding a reference on each of `comms`: xcclCommAbort from
// another thread drops the handles' references while the call still runs.
// The body's error message survives the releases.
template <typename Body>
xcclResult_t holdingReferences(const std::vector<xcclComm *> &comms, Body &&body) {
  for (xcclComm *comm : comms) retain(comm);
  const xcclResult_t result = body();
  const std::string message = result != xcclSuccess ? lastError() : std::string();
  for (xcclComm *comm : comms) release(comm);
  if (result != xcclSuccess) return fail(result, "{}", message);
  return xcclSuccess;
}

// XCCL_CHECK's comparison of one batch NCCL takes.
xcclResult_t checkBatch(const NcclBatch &batch) {
  xcclComm &comm = *batch.comm;
  XCCL_RETURN_IF_ERROR(comm.brokenResult(batch.ops->front().what.call));
  if (!checkEnabled(comm)) return xcclSuccess;
  // The own path's operations compare themselves when they run: let those
  // issued before finish, so the comparisons stay in order.
  XCCL_RETURN_IF_ERROR(drain(&comm, batch.ops->front().what.call));
  for (const Op &op : *batch.ops) {
    if (const xcclResult_t result = checkAcrossRanks(comm, op); result != xcclSuccess) {
      const std::string message = lastError();
      comm.breakWith(result, message, comm.rank);
      return fail(result, "{}", message);
    }
  }
  return xcclSuccess;
}

// Operations NCCL takes (nccl_path.h), XCCL_CHECK's comparison first.
xcclResult_t executeOnNccl(const std::vector<NcclBatch> &batches) {
  const bool checking = std::any_of(batches.begin(), batches.end(), [](const NcclBatch &batch) {
    return checkEnabled(*batch.comm);
  });
  if (batches.size() == 1 || !checking) {
    for (const NcclBatch &batch : batches) XCCL_RETURN_IF_ERROR(checkBatch(batch));
  } else {
    // Several communicators of this thread compare at once: each comparison
    // waits for the other ranks, which may be this thread's other ones.
    std::vector<xcclResult_t> results(batches.size(), xcclSuccess);
    std::vector<std::string> messages(batches.size());
    std::vector<std::thread> threads;
    for (size_t i = 0; i < batches.size(); ++i) {
      threads.emplace_back([&, i] {
        results[i] = checkBatch(batches[i]);
        if (results[i] != xcclSuccess) messages[i] = lastError();
      });
    }
    for (std::thread &thread : threads) thread.join();
    for (size_t i = 0; i < batches.size(); ++i) {
      if (results[i] != xcclSuccess) return fail(results[i], "{}", messages[i]);
    }
  }
  std::vector<xcclComm *> comms;
  for (const NcclBatch &batch : batches) comms.push_back(batch.comm);
  return holdingReferences(comms, [&] { return runOnNccl(batches); });
}

xcclResult_t execute(xcclComm *comm, std::vector<Op> ops, xpStream stream, bool allow_inline) {
  XCCL_RETURN_IF_ERROR(comm->brokenResult(ops.front().what.call));
  std::unique_lock lock(comm->mutex);
  const uint64_t sequence = comm->issued;
  if (allow_inline && comm->config.inline_enabled && comm->issued == comm->finished &&
      xpStreamQuery(stream) == XP_SUCCESS) {
    ++comm->issued;
    lock.unlock();
    return holdingReferences({comm}, [&] {
      const xcclResult_t result = runOps(*comm, ops);
      finish(*comm, sequence);
      return result;
    });
  }
  auto task = std::make_unique<Task>(Task{comm, std::move(ops), sequence});
  retain(comm);
  if (xpLaunchHostFunc(stream, runTask, task.get()) != XP_SUCCESS) {
    lock.unlock();
    release(comm);
    return fail(xcclDeviceError, "{}: xpLaunchHostFunc: {}", task->ops.front().what,
                xpGetLastError());
  }
  task.release();  // the host function owns it now
  ++comm->issued;
  return xcclSuccess;
}

}  // namespace

const char *opKindName(OpKind kind) {
  switch (kind) {
    case OpKind::kAllReduce:
      return "xcclAllReduce";
    case OpKind::kBroadcast:
      return "xcclBroadcast";
    case OpKind::kReduce:
      return "xcclReduce";
    case OpKind::kAllGather:
      return "xcclAllGather";
    case OpKind::kReduceScatter:
      return "xcclReduceScatter";
    case OpKind::kAllToAll:
      return "xcclAllToAll";
    case OpKind::kSend:
      return "xcclSend";
    case OpKind::kRecv:
      return "xcclRecv";
    case OpKind::kBarrier:
      return "xcclBarrier";
  }
  return "?";
}

xcclResult_t submit(xcclComm *comm, Op op, xpStream stream) {
  if (t_group.depth > 0) {
    t_group.ops.push_back({comm, std::move(op), stream});
    return xcclSuccess;
  }
  std::vector<Op> ops;
  ops.push_back(std::move(op));
  if (ncclTakes(*comm, ops)) return executeOnNccl({NcclBatch{comm, &ops, stream}});
  return execute(comm, std::move(ops), stream, true);
}

bool inGroup() {
  return t_group.depth > 0;
}

xcclResult_t groupStart() {
  ++t_group.depth;
  return xcclSuccess;
}

xcclResult_t groupEnd() {
  if (t_group.depth == 0) {
    return fail(xcclInvalidUsage, "xcclGroupEnd: no xcclGroupStart is open on this thread");
  }
  if (--t_group.depth > 0) return xcclSuccess;
  std::vector<QueuedOp> queued = std::move(t_group.ops);
  t_group.ops.clear();
  // One batch per communicator, in the order the communicators first appear.
  std::vector<std::tuple<xcclComm *, xpStream, std::vector<Op>>> batches;
  for (QueuedOp &entry : queued) {
    auto found = std::find_if(batches.begin(), batches.end(),
                              [&](const auto &batch) { return std::get<0>(batch) == entry.comm; });
    if (found == batches.end()) {
      batches.emplace_back(entry.comm, entry.stream, std::vector<Op>{});
      found = batches.end() - 1;
    } else if (std::get<1>(*found) != entry.stream) {
      return fail(xcclInvalidUsage,
                  "xcclGroupEnd: {} uses another stream than the earlier operations of its "
                  "communicator in this group; one communicator's group runs on one stream",
                  entry.op.what);
    }
    std::get<2>(*found).push_back(std::move(entry.op));
  }
  // NCCL's batches enter NCCL as one group.
  std::vector<NcclBatch> to_nccl;
  std::vector<bool> taken(batches.size(), false);
  for (size_t i = 0; i < batches.size(); ++i) {
    auto &[comm, stream, ops] = batches[i];
    if (ncclTakes(*comm, ops)) {
      to_nccl.push_back({comm, &ops, stream});
      taken[i] = true;
    }
  }
  xcclResult_t first_failure = xcclSuccess;
  std::string message;
  if (!to_nccl.empty()) {
    first_failure = executeOnNccl(to_nccl);
    if (first_failure != xcclSuccess) message = lastError();
  }
  // Several communicators driven from one thread must run concurrently:
  // each in its own stream's host function.
  const bool allow_inline = batches.size() == 1;
  for (size_t i = 0; i < batches.size(); ++i) {
    if (taken[i]) continue;
    auto &[comm, stream, ops] = batches[i];
    const xcclResult_t result = execute(comm, std::move(ops), stream, allow_inline);
    if (result != xcclSuccess && first_failure == xcclSuccess) {
      first_failure = result;
      message = lastError();
    }
  }
  if (first_failure != xcclSuccess) return fail(first_failure, "{}", message);
  return xcclSuccess;
}

xcclResult_t drain(xcclComm *comm, const char *call) {
  std::unique_lock lock(comm->mutex);
  const bool done = comm->turn.wait_for(lock, std::chrono::milliseconds(comm->config.timeout_ms),
                                        [&] { return comm->finished >= comm->issued; });
  if (!done) {
    return fail(xcclTimeout, "{}: {} operations of rank {} still running after {} ms", call,
                comm->issued - comm->finished, comm->rank, comm->config.timeout_ms);
  }
  return xcclSuccess;
}

}  // namespace xpool::xccl
