#include "nccl_api.h"

#include <fmt/format.h>

#include <map>
#include <memory>
#include <mutex>

#include "dl_library.h"

namespace xpool::xccl {
namespace {

struct Loaded {
  NcclApi api;
  std::string error;  // empty when api is usable
};

std::unique_ptr<Loaded> load(const std::string &path) {
  auto loaded = std::make_unique<Loaded>();
  DlLibrary library(path, "(NCCL older than 2.14?)");
  if (!library.opened()) {
    loaded->error = library.error();
    return loaded;
  }
  NcclApi &api = loaded->api;
  std::string &error = loaded->error;
  api.library = path;
  library.resolve("ncclGetVersion", &api.get_version);
  library.resolve("ncclGetUniqueId", &api.get_unique_id);
  library.resolve("ncclCommInitRankConfig", &api.comm_init_rank_config);
  library.resolve("ncclCommFinalize", &api.comm_finalize);
  library.resolve("ncclCommDestroy", &api.comm_destroy);
  library.resolve("ncclCommAbort", &api.comm_abort);
  library.resolve("ncclCommGetAsyncError", &api.comm_get_async_error);
  library.resolve("ncclGetErrorString", &api.get_error_string);
  library.resolve("ncclGetLastError", &api.get_last_error);
  library.resolve("ncclGroupStart", &api.group_start);
  library.resolve("ncclGroupEnd", &api.group_end);
  library.resolve("ncclAllReduce", &api.all_reduce);
  library.resolve("ncclBroadcast", &api.broadcast);
  library.resolve("ncclReduce", &api.reduce);
  library.resolve("ncclAllGather", &api.all_gather);
  library.resolve("ncclReduceScatter", &api.reduce_scatter);
  library.resolve("ncclSend", &api.send);
  library.resolve("ncclRecv", &api.recv);
  error = library.error();
  if (!error.empty()) return loaded;
  if (const ncclResult_t result = api.get_version(&api.version); result != ncclSuccess) {
    error = fmt::format("{}: ncclGetVersion failed: {} ({})", path, api.get_error_string(result),
                        static_cast<int>(result));
  } else if (api.version < kNcclMinVersion) {
    error = fmt::format("{} is NCCL version code {}; xccl needs {} (2.14) or newer", path,
                        api.version, kNcclMinVersion);
  }
  return loaded;
}

}  // namespace

const NcclApi *ncclApi(const std::string &library, std::string *why) {
  static std::mutex mutex;
  static std::map<std::string, std::unique_ptr<Loaded>> by_path;
  std::lock_guard lock(mutex);
  std::unique_ptr<Loaded> &entry = by_path[library];
  if (entry == nullptr) entry = load(library);
  if (!entry->error.empty()) {
    *why = entry->error;
    return nullptr;
  }
  return &entry->api;
}

}  // namespace xpool::xccl
