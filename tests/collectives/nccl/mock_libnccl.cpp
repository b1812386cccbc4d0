// A stand-in NCCL for testing xccl's NCCL path on machines without a GPU,
// used together with the stand-in CUDA driver (tests/backends_cuda), whose
// "device" memory is host memory. A communicator of one rank serves every
// collective (each a copy from the send to the receive buffer); the ranks
// of a larger communicator must all live in this process (one per device,
// as xcclCommInitAll makes them) and serve float32 sum all-reduce only.
// Work runs in stream order through the driver's cuLaunchHostFunc, so a
// test sees whether xccl handed NCCL the right buffers, counts and stream.
// Like the real NCCL driven from one thread, the ranks' calls must come in
// ONE group: a group end that lacks a peer's call fails here, where NCCL
// would hang. Multi-process NCCL runs only on a GPU machine
// (scripts/gpu-check.sh).
//
// Every call is appended to the file named by XPOOL_MOCK_NCCL_LOG, one line
// each ("ncclAllReduce count=8 type=7 op=0 stream=0x..."), for the test to
// read. XPOOL_MOCK_NCCL_INIT=fail makes ncclCommInitRankConfig fail;
// XPOOL_MOCK_NCCL_ASYNC=fail makes the communicator report a remote error
// after its first operation; XPOOL_MOCK_NCCL_FINALIZE=fail makes
// ncclCommFinalize fail; XPOOL_MOCK_NCCL_VERSION=N is the version it claims.
#include <cuda.h>
#include <nccl.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <dlfcn.h>

#define MOCK_EXPORT extern "C" __attribute__((visibility("default")))

struct ncclComm {
  std::mutex mutex;  // the state below: xccl's watchdog polls from its own thread
  int nranks = 0;
  int rank = 0;
  std::string world;        // the unique id: ranks of one communicator share it
  void *context = nullptr;  // current at init: NCCL's device for this rank
  int polls_left = 0;       // ncclInProgress answers before init completes
  ncclResult_t state = ncclSuccess;
  bool fail_after_op = false;
};

namespace {

std::mutex g_mutex;
// Multi-rank communicators: how many ranks of each id have joined.
std::mutex g_worlds_mutex;
std::map<std::string, int> g_joined;
thread_local std::string t_last_error;
thread_local int t_group_depth = 0;

void log(const char *format, ...) {
  const char *path = std::getenv("XPOOL_MOCK_NCCL_LOG");
  if (path == nullptr) return;
  std::lock_guard lock(g_mutex);
  FILE *file = std::fopen(path, "a");
  if (file == nullptr) return;
  va_list args;
  va_start(args, format);
  std::vfprintf(file, format, args);
  va_end(args);
  std::fputc('\n', file);
  std::fclose(file);
}

ncclResult_t fail(ncclResult_t result, const char *message) {
  t_last_error = message;
  return result;
}

size_t typeSize(ncclDataType_t type) {
  switch (type) {
    case ncclInt8:
    case ncclUint8:
    case ncclFloat8e4m3:
    case ncclFloat8e5m2:
      return 1;
    case ncclFloat16:
    case ncclBfloat16:
      return 2;
    case ncclInt32:
    case ncclUint32:
    case ncclFloat32:
      return 4;
    case ncclInt64:
    case ncclUint64:
    case ncclFloat64:
      return 8;
    default:
      return 0;
  }
}

// The stand-in driver's entry points, found through the copy of
// libcuda.so.1 the cuda backend already loaded.
using LaunchHostFunc = CUresult (*)(CUstream, CUhostFn, void *);
using CurrentContext = void *(*)();

// Real NCCL makes each communicator's device current itself before it
// enqueues (the stand-in driver insists, as CUDA does, that a stream's
// context be current): so does this stand-in.
using SetCurrent = CUresult (*)(CUcontext);

void *driverEntry(const char *name) {
  void *driver = dlopen("libcuda.so.1", RTLD_NOW | RTLD_NOLOAD);
  if (driver == nullptr) return nullptr;
  using GetProcAddress =
      CUresult (*)(const char *, void **, int, cuuint64_t, CUdriverProcAddressQueryResult *);
  auto get = reinterpret_cast<GetProcAddress>(dlsym(driver, "cuGetProcAddress_v2"));
  void *found = nullptr;
  if (get != nullptr) get(name, &found, 10000, CU_GET_PROC_ADDRESS_LEGACY_STREAM, nullptr);
  return found;
}

void makeCurrent(void *context) {
  static auto set = reinterpret_cast<SetCurrent>(driverEntry("cuCtxSetCurrent"));
  if (set != nullptr && context != nullptr) set(static_cast<CUcontext>(context));
}

LaunchHostFunc launchHostFunc() {
  static auto function = reinterpret_cast<LaunchHostFunc>(driverEntry("cuLaunchHostFunc"));
  return function;
}

void *currentContext() {
  void *driver = dlopen("libcuda.so.1", RTLD_NOW | RTLD_NOLOAD);
  if (driver == nullptr) return nullptr;
  auto current = reinterpret_cast<CurrentContext>(dlsym(driver, "xpoolMockCudaCurrentContext"));
  return current != nullptr ? current() : nullptr;
}

struct Copy {
  void *dst;
  const void *src;
  size_t bytes;
};

void runCopy(void *data) {
  auto *copy = static_cast<Copy *>(data);
  if (copy->bytes > 0 && copy->dst != copy->src) std::memmove(copy->dst, copy->src, copy->bytes);
  delete copy;
}

// One all-reduce across the ranks of an in-process communicator: each
// rank's stream reaches its host function, the last to arrive reduces for
// all, then every stream goes on.
struct SharedAllReduce {
  int nranks = 0;
  size_t count = 0;
  std::vector<const float *> inputs;
  std::vector<float *> outputs;
  std::mutex mutex;
  std::condition_variable done;
  int arrived = 0;
  bool reduced = false;
};

struct RankPart {
  std::shared_ptr<SharedAllReduce> shared;
};

void runRankPart(void *data) {
  std::unique_ptr<RankPart> part(static_cast<RankPart *>(data));
  SharedAllReduce &shared = *part->shared;
  std::unique_lock lock(shared.mutex);
  if (++shared.arrived == shared.nranks) {
    std::vector<float> sum(shared.count, 0.0f);
    for (const float *input : shared.inputs) {
      for (size_t i = 0; i < shared.count; ++i) sum[i] += input[i];
    }
    for (float *output : shared.outputs) std::memcpy(output, sum.data(), sum.size() * 4);
    shared.reduced = true;
    shared.done.notify_all();
    return;
  }
  shared.done.wait_for(lock, std::chrono::seconds(20), [&] { return shared.reduced; });
}

struct RankOp {
  ncclComm_t comm;
  const void *send;
  void *recv;
  size_t count;
  ncclDataType_t type;
  int op;
  cudaStream_t stream;
};

// Work waiting for the group's end: copies per stream, and point-to-point
// halves waiting for their match (a send to self meets a receive from self).
struct Pending {
  std::vector<RankOp> rank_ops;  // of multi-rank communicators
  std::vector<std::pair<Copy, cudaStream_t>> copies;
  void *context = nullptr;  // of the one-rank communicator the copies belong to
  std::vector<std::pair<const void *, size_t>> sends;
  std::vector<std::pair<void *, size_t>> recvs;
  cudaStream_t p2p_stream = nullptr;
};
thread_local Pending t_pending;

ncclResult_t flush() {
  Pending pending = std::move(t_pending);
  t_pending = Pending{};
  if (pending.sends.size() != pending.recvs.size()) {
    return fail(ncclInvalidUsage, "mock NCCL: unmatched sends and receives to self");
  }
  for (size_t i = 0; i < pending.sends.size(); ++i) {
    if (pending.sends[i].second != pending.recvs[i].second) {
      return fail(ncclInvalidUsage, "mock NCCL: a send and its receive differ in size");
    }
    pending.copies.push_back(
        {Copy{pending.recvs[i].first, pending.sends[i].first, pending.sends[i].second},
         pending.p2p_stream});
  }
  LaunchHostFunc launch = launchHostFunc();
  if (launch == nullptr) return fail(ncclSystemError, "mock NCCL: no stand-in libcuda.so.1 loaded");
  // Every rank of a communicator must be in this group, call for call.
  std::map<std::string, std::vector<std::vector<RankOp>>> by_world;
  for (const RankOp &op : pending.rank_ops) {
    auto &ranks = by_world[op.comm->world];
    ranks.resize(static_cast<size_t>(op.comm->nranks));
    ranks[static_cast<size_t>(op.comm->rank)].push_back(op);
  }
  for (auto &[world, ranks] : by_world) {
    for (size_t r = 1; r < ranks.size(); ++r) {
      if (ranks[r].size() != ranks[0].size()) {
        return fail(ncclInvalidUsage,
                    "mock NCCL: a group ended without every rank's calls of a multi-rank "
                    "communicator driven from this thread (real NCCL would hang here)");
      }
    }
    for (size_t k = 0; k < ranks[0].size(); ++k) {
      auto shared = std::make_shared<SharedAllReduce>();
      shared->nranks = static_cast<int>(ranks.size());
      shared->count = ranks[0][k].count;
      for (const auto &rank : ranks) {
        const RankOp &op = rank[k];
        if (op.count != shared->count || op.type != ncclFloat32 || op.op != ncclSum) {
          return fail(ncclInvalidUsage,
                      "mock NCCL: across ranks only float32 sum all-reduces of one count");
        }
        shared->inputs.push_back(static_cast<const float *>(op.send));
        shared->outputs.push_back(static_cast<float *>(op.recv));
      }
      for (const auto &rank : ranks) {
        auto *part = new RankPart{shared};
        makeCurrent(rank[k].comm->context);
        if (launch(reinterpret_cast<CUstream>(rank[k].stream), runRankPart, part) != CUDA_SUCCESS) {
          delete part;
          return fail(ncclUnhandledCudaError, "mock NCCL: cuLaunchHostFunc failed");
        }
      }
    }
  }
  if (!pending.copies.empty()) makeCurrent(pending.context);
  for (auto &[copy, stream] : pending.copies) {
    if (launch(reinterpret_cast<CUstream>(stream), runCopy, new Copy(copy)) != CUDA_SUCCESS) {
      return fail(ncclUnhandledCudaError, "mock NCCL: cuLaunchHostFunc failed");
    }
  }
  return ncclSuccess;
}

ncclResult_t collective(const char *name, ncclComm_t comm, const void *send, void *recv,
                        size_t count, ncclDataType_t type, int op, int root, cudaStream_t stream) {
  log("%s count=%zu type=%d op=%d root=%d stream=%p", name, count, static_cast<int>(type), op, root,
      static_cast<void *>(stream));
  if (comm == nullptr || typeSize(type) == 0) return fail(ncclInvalidArgument, "bad argument");
  if (comm->fail_after_op) {
    std::lock_guard lock(comm->mutex);
    comm->state = ncclRemoteError;
  }
  if (comm->nranks > 1) {
    if (std::strcmp(name, "ncclAllReduce") != 0) {
      return fail(ncclInvalidUsage, "mock NCCL: only all-reduce across ranks");
    }
    t_pending.rank_ops.push_back({comm, send, recv, count, type, op, stream});
  } else {
    t_pending.copies.push_back({Copy{recv, send, count * typeSize(type)}, stream});
    t_pending.context = comm->context;
  }
  return t_group_depth > 0 ? ncclSuccess : flush();
}

}  // namespace

MOCK_EXPORT ncclResult_t ncclGetVersion(int *version) {
  const char *claimed = std::getenv("XPOOL_MOCK_NCCL_VERSION");
  *version = claimed != nullptr ? std::atoi(claimed) : 22803;
  return ncclSuccess;
}

MOCK_EXPORT ncclResult_t ncclGetUniqueId(ncclUniqueId *id) {
  static std::atomic<int> made{0};
  std::memset(id, 0, sizeof *id);
  std::snprintf(id->internal, sizeof id->internal, "mock-nccl-id-%d", ++made);
  log("ncclGetUniqueId");
  return ncclSuccess;
}

MOCK_EXPORT ncclResult_t ncclCommInitRankConfig(ncclComm_t *comm, int nranks, ncclUniqueId id,
                                                int rank, ncclConfig_t *config) {
  log("ncclCommInitRankConfig nranks=%d rank=%d blocking=%d context=%d id=%s", nranks, rank,
      config != nullptr ? config->blocking : -1, currentContext() != nullptr ? 1 : 0, id.internal);
  *comm = nullptr;
  const char *init = std::getenv("XPOOL_MOCK_NCCL_INIT");
  if (init != nullptr && std::strcmp(init, "fail") == 0) {
    return fail(ncclSystemError, "mock NCCL: init failure requested by XPOOL_MOCK_NCCL_INIT");
  }
  if (nranks < 1 || rank < 0 || rank >= nranks) return fail(ncclInvalidArgument, "bad rank");
  auto *made = new ncclComm;
  made->nranks = nranks;
  made->rank = rank;
  made->world = id.internal;
  made->context = currentContext();
  if (nranks > 1) {
    std::lock_guard lock(g_worlds_mutex);
    ++g_joined[made->world];
  }
  const char *async = std::getenv("XPOOL_MOCK_NCCL_ASYNC");
  made->fail_after_op = async != nullptr && std::strcmp(async, "fail") == 0;
  *comm = made;
  if (config != nullptr && config->blocking == 0) {
    made->polls_left = 2;  // as a nonblocking init does, answer "in progress" a while
    made->state = ncclInProgress;
    return ncclInProgress;
  }
  return ncclSuccess;
}

MOCK_EXPORT ncclResult_t ncclCommGetAsyncError(ncclComm_t comm, ncclResult_t *state) {
  bool everyone = true;  // a multi-rank init completes once all ranks joined
  if (comm->nranks > 1) {
    std::lock_guard lock(g_worlds_mutex);
    everyone = g_joined[comm->world] >= comm->nranks;
  }
  std::lock_guard lock(comm->mutex);
  if (comm->state == ncclInProgress && --comm->polls_left <= 0 && everyone) {
    comm->state = ncclSuccess;
  }
  *state = comm->state;
  return ncclSuccess;
}

MOCK_EXPORT ncclResult_t ncclCommFinalize(ncclComm_t comm) {
  log("ncclCommFinalize");
  const char *finalize = std::getenv("XPOOL_MOCK_NCCL_FINALIZE");
  if (finalize != nullptr && std::strcmp(finalize, "fail") == 0) {
    return fail(ncclSystemError,
                "mock NCCL: finalize failure requested by XPOOL_MOCK_NCCL_FINALIZE");
  }
  std::lock_guard lock(comm->mutex);
  return comm->state;
}

MOCK_EXPORT ncclResult_t ncclCommDestroy(ncclComm_t comm) {
  log("ncclCommDestroy");
  delete comm;
  return ncclSuccess;
}

MOCK_EXPORT ncclResult_t ncclCommAbort(ncclComm_t comm) {
  log("ncclCommAbort");
  delete comm;
  return ncclSuccess;
}

MOCK_EXPORT const char *ncclGetErrorString(ncclResult_t result) {
  switch (result) {
    case ncclSuccess:
      return "no error";
    case ncclSystemError:
      return "unhandled system error";
    case ncclInvalidArgument:
      return "invalid argument";
    case ncclInvalidUsage:
      return "invalid usage";
    case ncclRemoteError:
      return "remote process exited or there was a network error";
    default:
      return "mock NCCL error";
  }
}

MOCK_EXPORT const char *ncclGetLastError(ncclComm_t) {
  return t_last_error.c_str();
}

MOCK_EXPORT ncclResult_t ncclGroupStart() {
  log("ncclGroupStart");
  ++t_group_depth;
  return ncclSuccess;
}

MOCK_EXPORT ncclResult_t ncclGroupEnd() {
  log("ncclGroupEnd");
  if (t_group_depth == 0) return fail(ncclInvalidUsage, "ncclGroupEnd without ncclGroupStart");
  return --t_group_depth > 0 ? ncclSuccess : flush();
}

MOCK_EXPORT ncclResult_t ncclAllReduce(const void *send, void *recv, size_t count,
                                       ncclDataType_t type, ncclRedOp_t op, ncclComm_t comm,
                                       cudaStream_t stream) {
  return collective("ncclAllReduce", comm, send, recv, count, type, op, -1, stream);
}

MOCK_EXPORT ncclResult_t ncclBroadcast(const void *send, void *recv, size_t count,
                                       ncclDataType_t type, int root, ncclComm_t comm,
                                       cudaStream_t stream) {
  return collective("ncclBroadcast", comm, send, recv, count, type, -1, root, stream);
}

MOCK_EXPORT ncclResult_t ncclReduce(const void *send, void *recv, size_t count, ncclDataType_t type,
                                    ncclRedOp_t op, int root, ncclComm_t comm,
                                    cudaStream_t stream) {
  return collective("ncclReduce", comm, send, recv, count, type, op, root, stream);
}

MOCK_EXPORT ncclResult_t ncclAllGather(const void *send, void *recv, size_t count,
                                       ncclDataType_t type, ncclComm_t comm, cudaStream_t stream) {
  return collective("ncclAllGather", comm, send, recv, count, type, -1, -1, stream);
}

MOCK_EXPORT ncclResult_t ncclReduceScatter(const void *send, void *recv, size_t count,
                                           ncclDataType_t type, ncclRedOp_t op, ncclComm_t comm,
                                           cudaStream_t stream) {
  return collective("ncclReduceScatter", comm, send, recv, count, type, op, -1, stream);
}

// One half of a point-to-point pair with rank 0 (itself): refused outside a
// group before it is kept, so a refused call leaves nothing for the next group.
ncclResult_t pointToPoint(const char *call, void *buffer, size_t count, ncclDataType_t type,
                          int peer, ncclComm_t comm, cudaStream_t stream, bool is_send) {
  log("%s count=%zu type=%d peer=%d stream=%p", call, count, static_cast<int>(type), peer,
      static_cast<void *>(stream));
  if (comm == nullptr || peer != 0 || typeSize(type) == 0) {
    return fail(ncclInvalidArgument, "bad argument");
  }
  if (t_group_depth == 0) {
    return fail(ncclInvalidUsage,
                is_send ? "a send to self outside a group" : "a receive from self outside a group");
  }
  const size_t bytes = count * typeSize(type);
  if (is_send) {
    t_pending.sends.push_back({buffer, bytes});
  } else {
    t_pending.recvs.push_back({buffer, bytes});
  }
  t_pending.p2p_stream = stream;
  t_pending.context = comm->context;
  return ncclSuccess;
}

MOCK_EXPORT ncclResult_t ncclSend(const void *send, size_t count, ncclDataType_t type, int peer,
                                  ncclComm_t comm, cudaStream_t stream) {
  return pointToPoint("ncclSend", const_cast<void *>(send), count, type, peer, comm, stream, true);
}

MOCK_EXPORT ncclResult_t ncclRecv(void *recv, size_t count, ncclDataType_t type, int peer,
                                  ncclComm_t comm, cudaStream_t stream) {
  return pointToPoint("ncclRecv", recv, count, type, peer, comm, stream, false);
}
