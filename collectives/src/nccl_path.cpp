#include "nccl_path.h"

#include <algorithm>
#include <cstring>
#include <thread>

#include "communicator.h"
#include "logging.h"
#include "nccl_api.h"

namespace xpool::xccl {

struct NcclComm {
  const NcclApi *api = nullptr;
  ncclComm_t handle = nullptr;  // nullptr once destroyed or aborted
  int device = -1;
  // Device memory for operations on host buffers (grown, never shrunk) and
  // the event after its last use, which a use on another stream waits for.
  void *scratch = nullptr;
  size_t scratch_bytes = 0;
  xpEvent scratch_free = nullptr;
};

void NcclCommDeleter::operator()(NcclComm *nccl) const {
  if (nccl->handle != nullptr) nccl->api->comm_abort(nccl->handle);
  if (nccl->scratch != nullptr) {
    // Work still queued may use it: free it once the device is idle.
    xpDeviceSynchronize(nccl->device);
    xpFree(nccl->scratch);
  }
  if (nccl->scratch_free != nullptr) xpEventDestroy(nccl->scratch_free);
  delete nccl;
}

namespace {

// What each rank tells every other after a setup step: whether it can go
// on and, if not, why (truncated: it only goes into a message).
struct Vote {
  char ok = 1;
  char why[255] = {};
};

Vote refuse(const std::string &why) {
  Vote vote;
  vote.ok = 0;
  std::memcpy(vote.why, why.data(), std::min(why.size(), sizeof vote.why - 1));
  return vote;
}

// Every rank sends its vote to every other and reads theirs, so all ranks
// learn the same outcome: the lowest rank that refused, and its reason.
xcclResult_t vote(xcclComm &comm, const Vote &mine, Deadline deadline, int *refused,
                  std::string *why) {
  *refused = mine.ok ? -1 : comm.rank;
  *why = mine.ok ? "" : mine.why;
  for (int p = 0; p < comm.nranks; ++p) {
    if (p == comm.rank) continue;
    const Peer &peer = comm.peers[static_cast<size_t>(p)];
    XCCL_RETURN_IF_ERROR(sendAll(peer.control, &mine, sizeof mine, deadline, peer.label));
  }
  for (int p = 0; p < comm.nranks; ++p) {
    if (p == comm.rank) continue;
    const Peer &peer = comm.peers[static_cast<size_t>(p)];
    Vote theirs;
    XCCL_RETURN_IF_ERROR(recvAll(peer.control, &theirs, sizeof theirs, deadline, peer.label));
    theirs.why[sizeof theirs.why - 1] = 0;
    if (!theirs.ok && (*refused < 0 || p < *refused)) {
      *refused = p;
      *why = theirs.why;
    }
  }
  return xcclSuccess;
}

// Setup could not use NCCL: an error where XCCL_NCCL=1 asked for it, else
// a note and xccl's own path.
xcclResult_t decline(const xcclComm &comm, const std::string &reason) {
  if (comm.config.nccl == NcclChoice::kOn) {
    return fail(xcclSystemError, "XCCL_NCCL=1, but NCCL cannot serve this communicator: {}",
                reason);
  }
  logger()->info("rank {}: xccl's own path, not NCCL: {}", comm.rank, reason);
  return xcclSuccess;
}

std::string describe(const NcclApi &api, ncclComm_t handle, ncclResult_t result) {
  const char *detail = api.get_last_error(handle);
  return fmt::format("{} ({})", api.get_error_string(result),
                     detail != nullptr && *detail != '\0' ? detail : "no detail");
}

xcclResult_t toXccl(ncclResult_t result) {
  switch (result) {
    case ncclSuccess:
      return xcclSuccess;
    case ncclUnhandledCudaError:
      return xcclDeviceError;
    case ncclSystemError:
      return xcclSystemError;
    case ncclInvalidArgument:
      return xcclInvalidArgument;
    case ncclInvalidUsage:
      return xcclInvalidUsage;
    case ncclRemoteError:
      return xcclRemoteError;
    case ncclInProgress:
      return xcclInProgress;
    default:
      return xcclInternalError;
  }
}

// A nonblocking communicator's call may answer ncclInProgress: poll its
// state until it settles or the deadline passes (then still in progress).
// Most calls settle at once; creating a communicator can take seconds, so
// polling yields for a millisecond, then sleeps between polls.
ncclResult_t settle(const NcclApi &api, ncclComm_t handle, ncclResult_t result, Deadline deadline) {
  const Clock::time_point spin_until = Clock::now() + std::chrono::milliseconds(1);
  while (result == ncclInProgress && !deadline.passed()) {
    if (Clock::now() < spin_until) {
      std::this_thread::yield();
    } else {
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
    if (api.comm_get_async_error(handle, &result) != ncclSuccess) return ncclInternalError;
  }
  return result;
}

ncclDataType_t ncclType(xcclDataType_t type) {
  switch (type) {
    case xcclInt8:
      return ncclInt8;
    case xcclUint8:
      return ncclUint8;
    case xcclInt32:
      return ncclInt32;
    case xcclUint32:
      return ncclUint32;
    case xcclInt64:
      return ncclInt64;
    case xcclUint64:
      return ncclUint64;
    case xcclFloat16:
      return ncclFloat16;
    case xcclFloat32:
      return ncclFloat32;
    case xcclFloat64:
      return ncclFloat64;
    case xcclBfloat16:
      return ncclBfloat16;
    default:
      break;
  }
  return ncclNumTypes;  // rejected by the API's checks before it gets here
}

ncclRedOp_t ncclOp(xcclRedOp_t op) {
  switch (op) {
    case xcclSum:
      return ncclSum;
    case xcclProd:
      return ncclProd;
    case xcclMax:
      return ncclMax;
    case xcclMin:
      return ncclMin;
    case xcclAvg:
      return ncclAvg;
    default:
      break;
  }
  return ncclNumOps;
}

// Whether `pointer` is memory of `device` (NCCL needs memory its GPU can
// address; pinned host memory might be, pageable memory is not).
bool onDevice(const void *pointer, int device) {
  xpPointerAttributes attributes{};
  attributes.struct_size = sizeof attributes;
  return xpPointerGetAttributes(pointer, &attributes) == XP_SUCCESS &&
         attributes.type == XP_MEMORY_DEVICE && attributes.device == device;
}

ncclResult_t enqueue(const NcclApi &api, ncclComm_t handle, int nranks, const Op &op,
                     cudaStream_t stream) {
  const ncclDataType_t type = ncclType(op.type);
  const ncclRedOp_t redop = ncclOp(op.op);
  switch (op.kind) {
    case OpKind::kAllReduce:
      return api.all_reduce(op.send, op.recv, op.count, type, redop, handle, stream);
    case OpKind::kBroadcast:
      return api.broadcast(op.send, op.recv, op.count, type, op.root, handle, stream);
    case OpKind::kReduce:
      return api.reduce(op.send, op.recv, op.count, type, redop, op.root, handle, stream);
    case OpKind::kAllGather:
      return api.all_gather(op.send, op.recv, op.count, type, handle, stream);
    case OpKind::kReduceScatter:
      return api.reduce_scatter(op.send, op.recv, op.count, type, redop, handle, stream);
    case OpKind::kAllToAll: {
      // NCCL has no all-to-all: a send and a receive per peer in one group.
      const size_t block = op.send_bytes / static_cast<size_t>(nranks);
      const auto *send = static_cast<const char *>(op.send);
      auto *recv = static_cast<char *>(op.recv);
      for (int p = 0; p < nranks; ++p) {
        const size_t at = static_cast<size_t>(p) * block;
        ncclResult_t result = api.send(send + at, op.count, type, p, handle, stream);
        if (result == ncclSuccess || result == ncclInProgress) {
          result = api.recv(recv + at, op.count, type, p, handle, stream);
        }
        if (result != ncclSuccess && result != ncclInProgress) return result;
      }
      return ncclSuccess;
    }
    case OpKind::kSend:
      return api.send(op.send, op.count, type, op.root, handle, stream);
    case OpKind::kRecv:
      return api.recv(op.recv, op.count, type, op.root, handle, stream);
    case OpKind::kBarrier:
      break;
  }
  return ncclInternalError;
}

// An operation as NCCL sees it: the caller's buffers, or slots of the
// communicator's device scratch where the caller's are host memory (NCCL
// needs memory its GPU can address), with the copies around it. Every rank
// hands the same operations to NCCL whatever its buffers, so that the
// choice of path never differs between ranks.
struct StagedOp {
  const void *send = nullptr;  // until stageIn: the slot's offset where send_staged
  void *recv = nullptr;
  bool send_staged = false, recv_staged = false;
  const void *upload_from = nullptr;  // host bytes copied into the scratch before
  size_t upload_at = 0, upload_bytes = 0;
  void *download_to = nullptr;  // host bytes copied out of the scratch after
  size_t download_at = 0, download_bytes = 0;
};

constexpr size_t kSlotAlign = 256;

size_t alignUp(size_t bytes) {
  return (bytes + kSlotAlign - 1) / kSlotAlign * kSlotAlign;
}

// Lays out the scratch slots of `ops`; returns the bytes they need. Slot
// offsets are relative to the scratch, which is not known yet.
size_t planStaging(int device, const std::vector<Op> &ops, std::vector<StagedOp> *staged) {
  size_t used = 0;
  staged->assign(ops.size(), StagedOp{});
  for (size_t i = 0; i < ops.size(); ++i) {
    const Op &op = ops[i];
    StagedOp &out = (*staged)[i];
    const auto *send = static_cast<const char *>(op.send);
    auto *recv = static_cast<char *>(op.recv);
    out.send = send;
    out.recv = recv;
    const bool send_host = op.send_bytes > 0 && !onDevice(send, device);
    const bool recv_host = op.recv_bytes > 0 && !onDevice(recv, device);
    if (send_host && recv_host && send < recv + op.recv_bytes && recv < send + op.send_bytes) {
      // In place (or overlapping): one slot holds both, at their distance.
      const char *base = std::min<const char *>(send, recv);
      const char *end = std::max<const char *>(send + op.send_bytes, recv + op.recv_bytes);
      out.upload_from = base;
      out.upload_at = used;
      out.upload_bytes = static_cast<size_t>(end - base);
      out.send = reinterpret_cast<const void *>(used + static_cast<size_t>(send - base));
      out.download_to = recv;
      out.download_at = used + static_cast<size_t>(recv - base);
      out.download_bytes = op.recv_bytes;
      out.recv = reinterpret_cast<void *>(out.download_at);
      out.send_staged = out.recv_staged = true;
      used += alignUp(out.upload_bytes);
      continue;
    }
    if (send_host) {
      out.upload_from = send;
      out.upload_at = used;
      out.upload_bytes = op.send_bytes;
      out.send = reinterpret_cast<const void *>(used);
      out.send_staged = true;
      used += alignUp(op.send_bytes);
    }
    if (recv_host) {
      out.download_to = recv;
      out.download_at = used;
      out.download_bytes = op.recv_bytes;
      out.recv = reinterpret_cast<void *>(used);
      out.recv_staged = true;
      used += alignUp(op.recv_bytes);
    }
  }
  return used;
}

// At least `bytes` of scratch on the communicator's device, usable in
// `stream` order.
xcclResult_t reserveScratch(NcclComm &nccl, size_t bytes, xpStream stream, const OpLabel &what) {
  if (bytes > nccl.scratch_bytes) {
    if (nccl.scratch != nullptr) {
      // Rare (the size grows geometrically): wait until nothing uses it.
      if (xpDeviceSynchronize(nccl.device) != XP_SUCCESS) {
        return fail(xcclDeviceError, "{}: xpDeviceSynchronize before growing NCCL scratch: {}",
                    what, xpGetLastError());
      }
      xpFree(nccl.scratch);
      nccl.scratch = nullptr;
      nccl.scratch_bytes = 0;
    }
    const size_t size = std::max(bytes, size_t{1} << 20);
    if (xpMalloc(nccl.device, size, &nccl.scratch) != XP_SUCCESS) {
      nccl.scratch = nullptr;
      return fail(xcclDeviceError, "{}: xpMalloc of {} bytes of NCCL scratch on device {}: {}",
                  what, size, nccl.device, xpGetLastError());
    }
    nccl.scratch_bytes = size;
  }
  if (nccl.scratch_free == nullptr) {
    if (xpEventCreate(nccl.device, 0, &nccl.scratch_free) != XP_SUCCESS) {
      return fail(xcclDeviceError, "{}: xpEventCreate: {}", what, xpGetLastError());
    }
  } else if (xpStreamWaitEvent(stream, nccl.scratch_free) != XP_SUCCESS) {
    // The last use may have been on another stream.
    return fail(xcclDeviceError, "{}: xpStreamWaitEvent: {}", what, xpGetLastError());
  }
  return xcclSuccess;
}

// Turns slot offsets into scratch addresses and enqueues the uploads.
xcclResult_t stageIn(NcclComm &nccl, const std::vector<Op> &ops, std::vector<StagedOp> &staged,
                     xpStream stream) {
  auto *scratch = static_cast<char *>(nccl.scratch);
  for (size_t i = 0; i < staged.size(); ++i) {
    StagedOp &op = staged[i];
    const Op &original = ops[i];
    if (op.send_staged) op.send = scratch + reinterpret_cast<size_t>(op.send);
    if (op.recv_staged) op.recv = scratch + reinterpret_cast<size_t>(op.recv);
    if (op.upload_bytes > 0 && xpMemcpyAsync(scratch + op.upload_at, op.upload_from,
                                             op.upload_bytes, stream) != XP_SUCCESS) {
      return fail(xcclDeviceError, "{}: staging {} host bytes for NCCL: {}", original.what,
                  op.upload_bytes, xpGetLastError());
    }
  }
  return xcclSuccess;
}

xcclResult_t stageOut(NcclComm &nccl, const std::vector<Op> &ops,
                      const std::vector<StagedOp> &staged, xpStream stream) {
  auto *scratch = static_cast<char *>(nccl.scratch);
  for (size_t i = 0; i < staged.size(); ++i) {
    const StagedOp &op = staged[i];
    if (op.download_bytes > 0 && xpMemcpyAsync(op.download_to, scratch + op.download_at,
                                               op.download_bytes, stream) != XP_SUCCESS) {
      return fail(xcclDeviceError, "{}: copying {} bytes of NCCL's result to host memory: {}",
                  ops[i].what, op.download_bytes, xpGetLastError());
    }
  }
  if (xpEventRecord(nccl.scratch_free, stream) != XP_SUCCESS) {
    return fail(xcclDeviceError, "xpEventRecord: {}", xpGetLastError());
  }
  return xcclSuccess;
}

}  // namespace

xcclResult_t setupNccl(xcclComm &comm, Deadline deadline) {
  const Config &config = comm.config;
  if (config.nccl == NcclChoice::kOff) return xcclSuccess;
  // Every rank sees the same infos, so all ranks decide this step alike.
  for (const PeerInfo &info : comm.infos) {
    if (std::strcmp(info.backend, "cuda") != 0) {
      return decline(comm, fmt::format("rank {} is on a {} device ({}), and NCCL serves only "
                                       "CUDA devices",
                                       info.rank, info.backend, info.device_name));
    }
  }
  std::string why;
  const NcclApi *api = ncclApi(config.nccl_library, &why);
  if (api != nullptr && xpDeviceMakeCurrent(comm.device) != XP_SUCCESS) {
    why = fmt::format("xpDeviceMakeCurrent({}): {}", comm.device, xpGetLastError());
  }
  int refused = -1;
  std::string reason;
  XCCL_RETURN_IF_ERROR(vote(comm, why.empty() ? Vote{} : refuse(why), deadline, &refused, &reason));
  if (refused >= 0) return decline(comm, fmt::format("rank {}: {}", refused, reason));

  // Rank 0's NCCL id, with its vote, to every other rank.
  struct IdMessage {
    Vote vote;
    ncclUniqueId id;
  } message{};
  if (comm.rank == 0) {
    const ncclResult_t result = api->get_unique_id(&message.id);
    if (result != ncclSuccess) {
      message.vote = refuse(fmt::format("ncclGetUniqueId: {}", describe(*api, nullptr, result)));
    }
    for (int p = 1; p < comm.nranks; ++p) {
      const Peer &peer = comm.peers[static_cast<size_t>(p)];
      XCCL_RETURN_IF_ERROR(sendAll(peer.control, &message, sizeof message, deadline, peer.label));
    }
  } else {
    const Peer &root = comm.peers[0];
    XCCL_RETURN_IF_ERROR(recvAll(root.control, &message, sizeof message, deadline, root.label));
    message.vote.why[sizeof message.vote.why - 1] = 0;
  }
  if (!message.vote.ok) return decline(comm, fmt::format("rank 0: {}", message.vote.why));

  // Nonblocking, so that a rank that never joins costs a deadline, not a hang.
  ncclConfig_t nccl_config = NCCL_CONFIG_INITIALIZER;
  nccl_config.blocking = 0;
  ncclComm_t handle = nullptr;
  ncclResult_t result =
      api->comm_init_rank_config(&handle, comm.nranks, message.id, comm.rank, &nccl_config);
  if (handle != nullptr) result = settle(*api, handle, result, deadline);
  why.clear();
  if (result == ncclInProgress) {
    why = fmt::format("ncclCommInitRankConfig did not finish within {} ms", config.timeout_ms);
  } else if (result != ncclSuccess) {
    why = fmt::format("ncclCommInitRankConfig: {}", describe(*api, handle, result));
  }
  const xcclResult_t voted =
      vote(comm, why.empty() ? Vote{} : refuse(why), deadline, &refused, &reason);
  if (voted != xcclSuccess || refused >= 0) {
    if (handle != nullptr) api->comm_abort(handle);
    XCCL_RETURN_IF_ERROR(voted);
    return decline(comm, fmt::format("rank {}: {}", refused, reason));
  }
  comm.nccl.reset(new NcclComm{api, handle, comm.device});
  logger()->info("rank {} of {}: operations on device memory go through NCCL {} ({})", comm.rank,
                 comm.nranks, api->version, api->library);
  return xcclSuccess;
}

bool ncclTakes(const xcclComm &comm, const std::vector<Op> &ops) {
  // By operation kind only, never by where this rank's buffers are: every
  // rank must make the same choice (host buffers are staged instead).
  return comm.nccl != nullptr && std::none_of(ops.begin(), ops.end(), [](const Op &op) {
           return op.kind == OpKind::kBarrier;
         });
}

xcclResult_t runOnNccl(const std::vector<NcclBatch> &batches) {
  const NcclApi &api = *batches.front().comm->nccl->api;
  std::vector<cudaStream_t> streams;
  std::vector<std::vector<StagedOp>> staged(batches.size());
  std::vector<bool> staging(batches.size(), false);
  for (size_t b = 0; b < batches.size(); ++b) {
    const NcclBatch &batch = batches[b];
    NcclComm &nccl = *batch.comm->nccl;
    const OpLabel &what = batch.ops->front().what;
    if (nccl.api != &api) {
      return fail(xcclInvalidUsage,
                  "xcclGroupEnd: the group's communicators opened different NCCL libraries ({} "
                  "and {}); XCCL_NCCL_LIBRARY must be the same for all",
                  api.library, nccl.api->library);
    }
    xpNativeStream native{};
    native.struct_size = sizeof native;
    if (xpStreamGetNative(batch.stream, &native) != XP_SUCCESS) {
      return fail(xcclDeviceError, "{}: xpStreamGetNative: {}", what, xpGetLastError());
    }
    streams.push_back(static_cast<cudaStream_t>(native.stream));
    const size_t scratch = planStaging(nccl.device, *batch.ops, &staged[b]);
    if (scratch > 0) {
      staging[b] = true;
      XCCL_RETURN_IF_ERROR(reserveScratch(nccl, scratch, batch.stream, what));
      XCCL_RETURN_IF_ERROR(stageIn(nccl, *batch.ops, staged[b], batch.stream));
    }
  }
  ncclResult_t result = api.group_start();
  for (size_t b = 0; b < batches.size(); ++b) {
    const NcclBatch &batch = batches[b];
    for (size_t i = 0; i < batch.ops->size(); ++i) {
      if (result != ncclSuccess && result != ncclInProgress) break;
      Op op = (*batch.ops)[i];
      op.send = staged[b][i].send;
      op.recv = staged[b][i].recv;
      result = enqueue(api, batch.comm->nccl->handle, batch.comm->nranks, op, streams[b]);
    }
  }
  // The group is closed whatever happened inside it.
  const ncclResult_t ended = api.group_end();
  if (result == ncclSuccess || result == ncclInProgress) result = ended;
  xcclResult_t first = xcclSuccess;
  std::string first_message;
  for (size_t b = 0; b < batches.size(); ++b) {
    const NcclBatch &batch = batches[b];
    xcclComm &comm = *batch.comm;
    const ncclComm_t handle = comm.nccl->handle;
    // A failed group call names no communicator: each one's own state
    // says which failed (ncclInProgress until its work is accepted).
    ncclResult_t state = result;
    if (state == ncclSuccess || state == ncclInProgress) {
      state = settle(api, handle, ncclInProgress, comm.deadline());
    }
    xcclResult_t failure = xcclSuccess;
    std::string message;
    if (state == ncclInProgress) {
      failure = xcclTimeout;
      message = fmt::format("{}: NCCL did not accept the operation within {} ms",
                            batch.ops->front().what, comm.config.timeout_ms);
    } else if (state != ncclSuccess) {
      failure = toXccl(state);
      message = fmt::format("{}: NCCL: {}", batch.ops->front().what, describe(api, handle, state));
    } else if (staging[b] && (failure = stageOut(*comm.nccl, *batch.ops, staged[b],
                                                 batch.stream)) != xcclSuccess) {
      message = lastError();
    }
    if (failure == xcclSuccess) continue;
    comm.breakWith(failure, message, comm.rank);
    if (first == xcclSuccess) {
      first = failure;
      first_message = message;
    }
  }
  if (first != xcclSuccess) return fail(first, "{}", first_message);
  return xcclSuccess;
}

xcclResult_t finalizeNccl(xcclComm &comm, const char *call) {
  if (comm.nccl == nullptr || comm.nccl->handle == nullptr) return xcclSuccess;
  NcclComm &nccl = *comm.nccl;
  const NcclApi &api = *nccl.api;
  const ncclResult_t result =
      settle(api, nccl.handle, api.comm_finalize(nccl.handle), comm.deadline());
  if (result != ncclSuccess) {
    const std::string message =
        result == ncclInProgress
            ? fmt::format("{}: NCCL's operations did not finish within {} ms (aborted)", call,
                          comm.config.timeout_ms)
            : fmt::format("{}: ncclCommFinalize: {}", call, describe(api, nccl.handle, result));
    api.comm_abort(nccl.handle);
    nccl.handle = nullptr;
    return fail(result == ncclInProgress ? xcclTimeout : toXccl(result), "{}", message);
  }
  api.comm_destroy(nccl.handle);
  nccl.handle = nullptr;
  return xcclSuccess;
}

void abortNccl(xcclComm &comm) {
  if (comm.nccl == nullptr || comm.nccl->handle == nullptr) return;
  comm.nccl->api->comm_abort(comm.nccl->handle);
  comm.nccl->handle = nullptr;
}

xcclResult_t ncclAsyncState(xcclComm &comm) {
  if (comm.nccl == nullptr || comm.nccl->handle == nullptr) return xcclSuccess;
  const NcclApi &api = *comm.nccl->api;
  ncclResult_t state = ncclSuccess;
  const ncclResult_t queried = api.comm_get_async_error(comm.nccl->handle, &state);
  if (queried != ncclSuccess) state = queried;
  if (state == ncclSuccess || state == ncclInProgress) return toXccl(state);
  return fail(toXccl(state), "NCCL (rank {}): {}", comm.rank,
              describe(api, comm.nccl->handle, state));
}

}  // namespace xpool::xccl
