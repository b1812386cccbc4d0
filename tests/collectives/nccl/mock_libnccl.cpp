// A stand-in NCCL for testing xccl's NCCL path on machines without a GPU,
// used together with the stand-in CUDA driver (tests/backends_cuda), whose
// "device" memory is host memory. It serves communicators of ONE rank,
// where every collective is a copy from the send to the receive buffer,
// and performs each copy in stream order through the driver's
// cuLaunchHostFunc, so a test sees whether xccl handed NCCL the right
// buffers, counts and stream. Multi-rank NCCL is only exercised on a GPU
// machine (scripts/gpu-check.sh).
//
// Every call is appended to the file named by XPOOL_MOCK_NCCL_LOG, one line
// each ("ncclAllReduce count=8 type=7 op=0 stream=0x..."), for the test to
// read. XPOOL_MOCK_NCCL_INIT=fail makes ncclCommInitRankConfig fail;
// XPOOL_MOCK_NCCL_ASYNC=fail makes the communicator report a remote error
// after its first operation.
#include <cuda.h>
#include <nccl.h>

#include <dlfcn.h>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#define MOCK_EXPORT extern "C" __attribute__((visibility("default")))

struct ncclComm {
  int nranks = 0;
  int rank = 0;
  int polls_left = 0;  // ncclInProgress answers before init completes
  ncclResult_t state = ncclSuccess;
  bool fail_after_op = false;
};

namespace {

std::mutex g_mutex;
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

LaunchHostFunc launchHostFunc() {
  static LaunchHostFunc function = [] {
    void *driver = dlopen("libcuda.so.1", RTLD_NOW | RTLD_NOLOAD);
    if (driver == nullptr) return LaunchHostFunc{nullptr};
    using GetProcAddress =
        CUresult (*)(const char *, void **, int, cuuint64_t, CUdriverProcAddressQueryResult *);
    auto get = reinterpret_cast<GetProcAddress>(dlsym(driver, "cuGetProcAddress_v2"));
    void *found = nullptr;
    if (get != nullptr) {
      get("cuLaunchHostFunc", &found, 10000, CU_GET_PROC_ADDRESS_LEGACY_STREAM, nullptr);
    }
    return reinterpret_cast<LaunchHostFunc>(found);
  }();
  return function;
}

bool contextIsCurrent() {
  void *driver = dlopen("libcuda.so.1", RTLD_NOW | RTLD_NOLOAD);
  if (driver == nullptr) return false;
  auto current = reinterpret_cast<CurrentContext>(dlsym(driver, "xpoolMockCudaCurrentContext"));
  return current != nullptr && current() != nullptr;
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

// Work waiting for the group's end: copies per stream, and point-to-point
// halves waiting for their match (a send to self meets a receive from self).
struct Pending {
  std::vector<std::pair<Copy, cudaStream_t>> copies;
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
  if (comm->fail_after_op) comm->state = ncclRemoteError;
  t_pending.copies.push_back({Copy{recv, send, count * typeSize(type)}, stream});
  return t_group_depth > 0 ? ncclSuccess : flush();
}

}  // namespace

MOCK_EXPORT ncclResult_t ncclGetVersion(int *version) {
  *version = 22803;
  return ncclSuccess;
}

MOCK_EXPORT ncclResult_t ncclGetUniqueId(ncclUniqueId *id) {
  std::memset(id, 0, sizeof *id);
  std::snprintf(id->internal, sizeof id->internal, "mock-nccl-id");
  log("ncclGetUniqueId");
  return ncclSuccess;
}

MOCK_EXPORT ncclResult_t ncclCommInitRankConfig(ncclComm_t *comm, int nranks, ncclUniqueId id,
                                                int rank, ncclConfig_t *config) {
  log("ncclCommInitRankConfig nranks=%d rank=%d blocking=%d id=%s context=%d", nranks, rank,
      config != nullptr ? config->blocking : -1, id.internal, contextIsCurrent() ? 1 : 0);
  *comm = nullptr;
  const char *init = std::getenv("XPOOL_MOCK_NCCL_INIT");
  if (init != nullptr && std::strcmp(init, "fail") == 0) {
    return fail(ncclSystemError, "mock NCCL: init failure requested by XPOOL_MOCK_NCCL_INIT");
  }
  if (nranks != 1 || rank != 0) return fail(ncclInvalidUsage, "mock NCCL serves one rank");
  auto *made = new ncclComm;
  made->nranks = nranks;
  made->rank = rank;
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
  if (comm->state == ncclInProgress && --comm->polls_left <= 0) comm->state = ncclSuccess;
  *state = comm->state;
  return ncclSuccess;
}

MOCK_EXPORT ncclResult_t ncclCommFinalize(ncclComm_t comm) {
  log("ncclCommFinalize");
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

MOCK_EXPORT ncclResult_t ncclSend(const void *send, size_t count, ncclDataType_t type, int peer,
                                  ncclComm_t comm, cudaStream_t stream) {
  log("ncclSend count=%zu type=%d peer=%d stream=%p", count, static_cast<int>(type), peer,
      static_cast<void *>(stream));
  if (comm == nullptr || peer != 0 || typeSize(type) == 0) {
    return fail(ncclInvalidArgument, "bad argument");
  }
  t_pending.sends.push_back({send, count * typeSize(type)});
  t_pending.p2p_stream = stream;
  return t_group_depth > 0 ? ncclSuccess : fail(ncclInvalidUsage, "a send to self outside a group");
}

MOCK_EXPORT ncclResult_t ncclRecv(void *recv, size_t count, ncclDataType_t type, int peer,
                                  ncclComm_t comm, cudaStream_t stream) {
  log("ncclRecv count=%zu type=%d peer=%d stream=%p", count, static_cast<int>(type), peer,
      static_cast<void *>(stream));
  if (comm == nullptr || peer != 0 || typeSize(type) == 0) {
    return fail(ncclInvalidArgument, "bad argument");
  }
  t_pending.recvs.push_back({recv, count * typeSize(type)});
  t_pending.p2p_stream = stream;
  return t_group_depth > 0 ? ncclSuccess
                           : fail(ncclInvalidUsage, "a receive from self outside a group");
}
