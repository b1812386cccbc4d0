#include "nccl_api.h"

#include <dlfcn.h>
#include <fmt/format.h>

#include <map>
#include <memory>
#include <mutex>

namespace xpool::xccl {
namespace {

struct Loaded {
  NcclApi api;
  std::string error;  // empty when api is usable
};

template <typename Function>
void resolve(void *library, const std::string &path, const char *name, Function *out,
             std::string *error) {
  *out = reinterpret_cast<Function>(dlsym(library, name));
  if (*out == nullptr && error->empty()) {
    *error = fmt::format("{} has no symbol {} (NCCL older than 2.14?)", path, name);
  }
}

std::unique_ptr<Loaded> load(const std::string &path) {
  auto loaded = std::make_unique<Loaded>();
  // RTLD_LOCAL: NCCL's symbols stay out of the global namespace, where a
  // framework's own copy of NCCL may already live.
  void *library = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) {
    const char *reason = dlerror();
    loaded->error = reason != nullptr ? reason : fmt::format("{} could not be opened", path);
    return loaded;
  }
  // Never closed: NCCL keeps threads and CUDA state for the process's life.
  NcclApi &api = loaded->api;
  std::string &error = loaded->error;
  api.library = path;
  resolve(library, path, "ncclGetVersion", &api.get_version, &error);
  resolve(library, path, "ncclGetUniqueId", &api.get_unique_id, &error);
  resolve(library, path, "ncclCommInitRankConfig", &api.comm_init_rank_config, &error);
  resolve(library, path, "ncclCommFinalize", &api.comm_finalize, &error);
  resolve(library, path, "ncclCommDestroy", &api.comm_destroy, &error);
  resolve(library, path, "ncclCommAbort", &api.comm_abort, &error);
  resolve(library, path, "ncclCommGetAsyncError", &api.comm_get_async_error, &error);
  resolve(library, path, "ncclGetErrorString", &api.get_error_string, &error);
  resolve(library, path, "ncclGetLastError", &api.get_last_error, &error);
  resolve(library, path, "ncclGroupStart", &api.group_start, &error);
  resolve(library, path, "ncclGroupEnd", &api.group_end, &error);
  resolve(library, path, "ncclAllReduce", &api.all_reduce, &error);
  resolve(library, path, "ncclBroadcast", &api.broadcast, &error);
  resolve(library, path, "ncclReduce", &api.reduce, &error);
  resolve(library, path, "ncclAllGather", &api.all_gather, &error);
  resolve(library, path, "ncclReduceScatter", &api.reduce_scatter, &error);
  resolve(library, path, "ncclSend", &api.send, &error);
  resolve(library, path, "ncclRecv", &api.recv, &error);
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
