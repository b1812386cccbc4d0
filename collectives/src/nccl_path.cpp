#include "nccl_path.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "communicator.h"
#include "logging.h"
#include "nccl_comm.h"
#include "nccl_staging.h"
#include "nccl_watchdog.h"

namespace xpool::xccl {

void NcclCommDeleter::operator()(NcclComm *nccl) const {
  stopWatchdog(*nccl);
  abortHandle(*nccl);
  releaseStaging(*nccl);
  if (nccl->scratch_free != nullptr) xpEventDestroy(nccl->scratch_free);
  if (nccl->last_work != nullptr) xpEventDestroy(nccl->last_work);
  delete nccl;
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

// Most calls settle at once, so the first poll comes without a pause;
// creating a communicator can take seconds, so polling then yields for a
// millisecond and sleeps between polls after that.
ncclResult_t settle(NcclComm &nccl, ncclResult_t result, Deadline deadline) {
  const Clock::time_point spin_until = Clock::now() + std::chrono::milliseconds(1);
  while (result == ncclInProgress && !deadline.passed()) {
    {
      std::lock_guard lock(nccl.mutex);
      if (nccl.handle == nullptr) return ncclRemoteError;  // aborted meanwhile
      if (const ncclResult_t polled = nccl.api->comm_get_async_error(nccl.handle, &result);
          polled != ncclSuccess) {
        return polled;  // ncclCommGetAsyncError itself failed: say how
      }
    }
    if (result != ncclInProgress) break;
    if (Clock::now() < spin_until) {
      std::this_thread::yield();
    } else {
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  }
  return result;
}

void abortHandle(NcclComm &nccl) {
  std::lock_guard lock(nccl.mutex);
  if (nccl.handle == nullptr) return;
  nccl.api->comm_abort(nccl.handle);
  nccl.handle = nullptr;
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

// Setup could not use NCCL: an error where some rank's XCCL_NCCL=1 asked
// for it (every rank then fails alike), else a note and xccl's own path.
xcclResult_t decline(const xcclComm &comm, bool required, const std::string &reason) {
  if (required) {
    return fail(xcclSystemError, "XCCL_NCCL=1, but NCCL cannot serve this communicator: {}",
                reason);
  }
  logger()->info("rank {}: xccl's own path, not NCCL: {}", comm.rank, reason);
  return xcclSuccess;
}

std::string hexUuid(const uint8_t (&uuid)[16]) {
  std::string text;
  for (uint8_t byte : uuid) text += fmt::format("{:02x}", byte);
  return text;
}

// NCCL takes one rank per GPU ("Duplicate GPU detected"): two ranks of one
// node on the same device, by the device's UUID.
std::string sharedGpu(const xcclComm &comm) {
  for (size_t a = 0; a < comm.infos.size(); ++a) {
    for (size_t b = a + 1; b < comm.infos.size(); ++b) {
      const PeerInfo &x = comm.infos[a], &y = comm.infos[b];
      if (x.host_id == y.host_id && std::memcmp(x.device_uuid, y.device_uuid, 16) == 0) {
        return fmt::format("ranks {} and {} share one GPU ({} {}), and NCCL takes one rank per GPU",
                           x.rank, y.rank, x.device_name, hexUuid(x.device_uuid));
      }
    }
  }
  return {};
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
  // Every rank sees every rank's XCCL_NCCL and device, so all decide alike.
  NcclChoices choices;
  XCCL_RETURN_IF_ERROR(readNcclChoices(comm, &choices));
  if (choices.refused_by >= 0) return xcclSuccess;
  const bool required = choices.required_by >= 0;
  for (const PeerInfo &info : comm.infos) {
    if (std::strcmp(info.backend, "cuda") != 0) {
      return decline(comm, required,
                     fmt::format("rank {} is on a {} device ({}), and NCCL serves only CUDA "
                                 "devices",
                                 info.rank, info.backend, info.device_name));
    }
  }
  if (const std::string shared = sharedGpu(comm); !shared.empty()) {
    return decline(comm, required, shared);
  }
  if (const char *blocking = std::getenv("NCCL_COMM_BLOCKING");
      blocking != nullptr && std::strcmp(blocking, "1") == 0) {
    logger()->warn(
        "rank {}: NCCL_COMM_BLOCKING=1 makes NCCL's calls blocking: xccl's deadlines "
        "cannot stop a hung NCCL call",
        comm.rank);
  }
  std::string why;
  const NcclApi *api = ncclApi(config.nccl_library, &why);
  if (api != nullptr && xpDeviceMakeCurrent(comm.device) != XP_SUCCESS) {
    why = fmt::format("xpDeviceMakeCurrent({}): {}", comm.device, xpGetLastError());
  }
  int refused = -1;
  std::string reason;
  XCCL_RETURN_IF_ERROR(vote(comm, why.empty() ? Vote{} : refuse(why), deadline, &refused, &reason));
  if (refused >= 0) return decline(comm, required, fmt::format("rank {}: {}", refused, reason));

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
  if (!message.vote.ok) return decline(comm, required, fmt::format("rank 0: {}", message.vote.why));

  // Nonblocking, so that a rank that never joins costs a deadline, not a hang.
  NcclCommPtr nccl(new NcclComm);
  nccl->api = api;
  nccl->device = comm.device;
  nccl->timeout_ms = comm.config.timeout_ms;
  ncclConfig_t nccl_config = NCCL_CONFIG_INITIALIZER;
  nccl_config.blocking = 0;
  ncclComm_t handle = nullptr;
  ncclResult_t result =
      api->comm_init_rank_config(&handle, comm.nranks, message.id, comm.rank, &nccl_config);
  if (handle != nullptr) {
    nccl->handle = handle;
    result = settle(*nccl, result, deadline);
  }
  why.clear();
  if (result == ncclInProgress) {
    why = fmt::format("ncclCommInitRankConfig did not finish within {} ms", config.timeout_ms);
  } else if (result != ncclSuccess) {
    why = fmt::format("ncclCommInitRankConfig: {}", describe(*api, handle, result));
  } else if (xpEventCreate(comm.device, 0, &nccl->last_work) != XP_SUCCESS) {
    why = fmt::format("xpEventCreate: {}", xpGetLastError());
  }
  // A fresh deadline: the others may have spent theirs initialising.
  XCCL_RETURN_IF_ERROR(vote(comm, why.empty() ? Vote{} : refuse(why),
                            Deadline::afterMs(config.timeout_ms), &refused, &reason));
  if (refused >= 0) {
    return decline(comm, required, fmt::format("rank {}: {}", refused, reason));  // aborts `nccl`
  }
  startWatchdog(comm, *nccl);
  comm.nccl = std::move(nccl);
  logger()->info("rank {} of {}: its operations go through NCCL {} ({})", comm.rank, comm.nranks,
                 api->version, api->library);
  return xcclSuccess;
}

bool ncclTakes(const xcclComm &comm, const std::vector<Op> &ops) {
  // By operation kind only, never by where this rank's buffers are: every
  // rank must make the same choice (host buffers are staged instead).
  return comm.nccl != nullptr && std::none_of(ops.begin(), ops.end(), [](const Op &op) {
           return op.kind == OpKind::kBarrier;
         });
}

namespace {

// Ends every batch's communicator with one reason: a rank that fails
// before or inside NCCL leaves its peers' NCCL operations unmatched.
xcclResult_t failBatches(const std::vector<NcclBatch> &batches, xcclResult_t result,
                         const std::string &message) {
  for (const NcclBatch &batch : batches) {
    batch.comm->breakWith(result, message, batch.comm->rank);
  }
  return fail(result, "{}", message);
}

}  // namespace

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
      return failBatches(batches, xcclDeviceError,
                         fmt::format("{}: xpStreamGetNative: {}", what, xpGetLastError()));
    }
    streams.push_back(static_cast<cudaStream_t>(native.stream));
    if (const size_t bytes = planStaging(nccl.device, *batch.ops, &staged[b]); bytes > 0) {
      staging[b] = true;
      if (const xcclResult_t status = stageIn(nccl, bytes, *batch.ops, staged[b], batch.stream);
          status != xcclSuccess) {
        const std::string message = lastError();
        return failBatches(batches, status, message);
      }
    }
  }
  // Every communicator's lock, in one order, for the whole group.
  std::vector<NcclComm *> comms;
  for (const NcclBatch &batch : batches) comms.push_back(batch.comm->nccl.get());
  std::sort(comms.begin(), comms.end());
  comms.erase(std::unique(comms.begin(), comms.end()), comms.end());
  std::vector<std::unique_lock<std::mutex>> locks;
  for (NcclComm *nccl : comms) locks.emplace_back(nccl->mutex);
  ncclResult_t result = ncclSuccess;
  for (const NcclComm *nccl : comms) {
    if (nccl->handle == nullptr) result = ncclRemoteError;  // aborted
  }
  if (result == ncclSuccess) {
    result = api.group_start();
    if (result == ncclSuccess) {
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
    }
  }
  locks.clear();
  xcclResult_t first = xcclSuccess;
  std::string first_message;
  for (size_t b = 0; b < batches.size(); ++b) {
    const NcclBatch &batch = batches[b];
    xcclComm &comm = *batch.comm;
    NcclComm &nccl = *comm.nccl;
    const OpLabel &what = batch.ops->front().what;
    // A failed group call names no communicator: each one's own state
    // says which failed (ncclInProgress until its work is accepted).
    ncclResult_t state = result;
    if (state == ncclSuccess || state == ncclInProgress) {
      state = settle(nccl, ncclInProgress, comm.deadline());
    }
    xcclResult_t failure = xcclSuccess;
    std::string message;
    if (state == ncclInProgress) {
      failure = xcclTimeout;
      message = fmt::format("{}: NCCL did not accept the operation within {} ms", what,
                            comm.config.timeout_ms);
    } else if (state != ncclSuccess) {
      failure = toXccl(state);
      std::lock_guard lock(nccl.mutex);
      message = nccl.handle == nullptr
                    ? fmt::format("{}: the communicator was aborted", what)
                    : fmt::format("{}: NCCL: {}", what, describe(api, nccl.handle, state));
    } else if (staging[b] &&
               (failure = stageOut(nccl, *batch.ops, staged[b], batch.stream)) != xcclSuccess) {
      message = lastError();
    } else if (xpEventRecord(nccl.last_work, batch.stream) != XP_SUCCESS) {
      failure = xcclDeviceError;
      message = fmt::format("{}: xpEventRecord: {}", what, xpGetLastError());
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
  if (comm.nccl == nullptr) return xcclSuccess;
  NcclComm &nccl = *comm.nccl;
  const NcclApi &api = *nccl.api;
  ncclResult_t result = ncclSuccess;
  bool aborted = false;
  {
    std::lock_guard lock(nccl.mutex);
    aborted = nccl.handle == nullptr;  // after a failure, already reported
    if (!aborted) result = api.comm_finalize(nccl.handle);
  }
  if (aborted) {
    // Not under nccl.mutex: the watchdog may be taking it to abort.
    stopWatchdog(nccl);
    return xcclSuccess;
  }
  // The watchdog keeps watching meanwhile: a peer that dies now aborts the
  // flush instead of leaving it to the deadline.
  result = settle(nccl, result, comm.deadline());
  stopWatchdog(nccl);
  if (result != ncclSuccess) {
    std::string message;
    {
      std::lock_guard lock(nccl.mutex);
      message =
          result == ncclInProgress
              ? fmt::format("{}: NCCL's operations did not finish within {} ms (aborted)", call,
                            comm.config.timeout_ms)
              : fmt::format("{}: ncclCommFinalize: {}", call, describe(api, nccl.handle, result));
    }
    abortHandle(nccl);
    return fail(result == ncclInProgress ? xcclTimeout : toXccl(result), "{}", message);
  }
  std::lock_guard lock(nccl.mutex);
  if (nccl.handle != nullptr) api.comm_destroy(nccl.handle);
  nccl.handle = nullptr;
  return xcclSuccess;
}

void abortNccl(xcclComm &comm) {
  if (comm.nccl != nullptr) abortHandle(*comm.nccl);
}

xcclResult_t ncclAsyncState(xcclComm &comm) {
  if (comm.nccl == nullptr) return xcclSuccess;
  // The caller holds comm.mutex, which guards `broken`.
  if (comm.broken.failed()) return fail(comm.broken.result, "{}", comm.broken.message);
  NcclComm &nccl = *comm.nccl;
  ncclResult_t state = ncclSuccess;
  {
    std::lock_guard lock(nccl.mutex);
    if (nccl.handle == nullptr) return xcclSuccess;
    const ncclResult_t queried = nccl.api->comm_get_async_error(nccl.handle, &state);
    if (queried != ncclSuccess) state = queried;
    if (state != ncclSuccess && state != ncclInProgress) {
      return fail(toXccl(state), "NCCL (rank {}): {}", comm.rank,
                  describe(*nccl.api, nccl.handle, state));
    }
  }
  // NCCL reports errors, not completion: the last batch's event does.
  if (state == ncclInProgress || xpEventQuery(nccl.last_work) == XP_ERROR_NOT_READY) {
    return xcclInProgress;
  }
  return xcclSuccess;
}

}  // namespace xpool::xccl
