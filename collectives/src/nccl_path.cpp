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
};

void NcclCommDeleter::operator()(NcclComm *nccl) const {
  if (nccl->handle != nullptr) nccl->api->comm_abort(nccl->handle);
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
ncclResult_t settle(const NcclApi &api, ncclComm_t handle, ncclResult_t result, Deadline deadline) {
  while (result == ncclInProgress && !deadline.passed()) {
    std::this_thread::yield();
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
  comm.nccl.reset(new NcclComm{api, handle});
  logger()->info("rank {} of {}: operations on device memory go through NCCL {} ({})", comm.rank,
                 comm.nranks, api->version, api->library);
  return xcclSuccess;
}

bool ncclTakes(const xcclComm &comm, const std::vector<Op> &ops) {
  if (comm.nccl == nullptr) return false;
  return std::all_of(ops.begin(), ops.end(), [&](const Op &op) {
    return op.kind != OpKind::kBarrier && (op.send_bytes == 0 || onDevice(op.send, comm.device)) &&
           (op.recv_bytes == 0 || onDevice(op.recv, comm.device));
  });
}

xcclResult_t runOnNccl(xcclComm &comm, const std::vector<Op> &ops, xpStream stream) {
  const NcclComm &nccl = *comm.nccl;
  const NcclApi &api = *nccl.api;
  const OpLabel &what = ops.front().what;
  xpNativeStream native{};
  native.struct_size = sizeof native;
  if (xpStreamGetNative(stream, &native) != XP_SUCCESS) {
    return fail(xcclDeviceError, "{}: xpStreamGetNative: {}", what, xpGetLastError());
  }
  const auto cuda_stream = static_cast<cudaStream_t>(native.stream);
  ncclResult_t result = api.group_start();
  for (size_t i = 0; i < ops.size() && (result == ncclSuccess || result == ncclInProgress); ++i) {
    result = enqueue(api, nccl.handle, comm.nranks, ops[i], cuda_stream);
  }
  // The group is closed whatever happened inside it.
  const ncclResult_t ended = api.group_end();
  if (result == ncclSuccess || result == ncclInProgress) result = ended;
  result = settle(api, nccl.handle, result, comm.deadline());
  if (result == ncclSuccess) return xcclSuccess;
  const xcclResult_t failure = result == ncclInProgress ? xcclTimeout : toXccl(result);
  const std::string message =
      result == ncclInProgress
          ? fmt::format("{}: NCCL did not accept the operation within {} ms", what,
                        comm.config.timeout_ms)
          : fmt::format("{}: NCCL: {}", what, describe(api, nccl.handle, result));
  comm.breakWith(failure, message, comm.rank);
  return fail(failure, "{}", message);
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
