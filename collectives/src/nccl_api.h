// NCCL, opened at run time: libxccl has no link-time dependency on it, so
// one build serves nodes with and without NCCL (architecture.md: "no
// link-time vendor dependency"). nccl.h of the build machine gives the
// types; the functions come from the library through dlsym.
#pragma once

#include <nccl.h>

#include <string>

namespace xpool::xccl {

struct NcclApi {
  decltype(&::ncclGetVersion) get_version = nullptr;
  decltype(&::ncclGetUniqueId) get_unique_id = nullptr;
  decltype(&::ncclCommInitRankConfig) comm_init_rank_config = nullptr;
  decltype(&::ncclCommFinalize) comm_finalize = nullptr;
  decltype(&::ncclCommDestroy) comm_destroy = nullptr;
  decltype(&::ncclCommAbort) comm_abort = nullptr;
  decltype(&::ncclCommGetAsyncError) comm_get_async_error = nullptr;
  decltype(&::ncclGetErrorString) get_error_string = nullptr;
  decltype(&::ncclGetLastError) get_last_error = nullptr;
  decltype(&::ncclGroupStart) group_start = nullptr;
  decltype(&::ncclGroupEnd) group_end = nullptr;
  decltype(&::ncclAllReduce) all_reduce = nullptr;
  decltype(&::ncclBroadcast) broadcast = nullptr;
  decltype(&::ncclReduce) reduce = nullptr;
  decltype(&::ncclAllGather) all_gather = nullptr;
  decltype(&::ncclReduceScatter) reduce_scatter = nullptr;
  decltype(&::ncclSend) send = nullptr;
  decltype(&::ncclRecv) recv = nullptr;
  std::string library;  // the path it was opened from, for messages
  int version = 0;      // NCCL_VERSION_CODE of the library (2.28.3: 22803)
};

// The oldest NCCL xccl uses: nonblocking communicators and ncclCommFinalize
// (deadlines on every wait) arrived in 2.14; bfloat16 and avg in 2.10.
constexpr int kNcclMinVersion = 21400;

// The API in `library` ("libnccl.so.2", or XCCL_NCCL_LIBRARY's path), loaded
// once per path; nullptr with `why` saying what is missing.
const NcclApi *ncclApi(const std::string &library, std::string *why);

}  // namespace xpool::xccl
