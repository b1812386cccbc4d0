#include "ucx_api.h"

#include <dlfcn.h>
#include <fmt/format.h>

namespace xpool::xccl {
namespace {

constexpr const char *kLibrary = "libucp.so.0";

struct Loaded {
  UcxApi api;
  std::string error;  // empty when api is usable
};

template <typename Function>
bool resolve(void *library, const char *name, Function *out, std::string *error) {
  *out = reinterpret_cast<Function>(dlsym(library, name));
  if (*out == nullptr && error->empty()) {
    *error = fmt::format("{} has no symbol {} (UCX older than the headers xccl was built with?)",
                         kLibrary, name);
  }
  return *out != nullptr;
}

Loaded load() {
  Loaded loaded;
  // RTLD_LOCAL: UCX's symbols stay out of the global namespace, so they
  // cannot collide with another copy an application (an MPI) brings.
  void *library = dlopen(kLibrary, RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) {
    const char *reason = dlerror();
    loaded.error = reason != nullptr ? reason : fmt::format("{} could not be opened", kLibrary);
    return loaded;
  }
  // Never closed: UCX's constructors and global state must outlive every
  // communicator, and unloading it at exit would race its own threads.
  UcxApi &api = loaded.api;
  std::string &error = loaded.error;
  resolve(library, "ucp_get_version", &api.get_version, &error);
  resolve(library, "ucp_config_read", &api.config_read, &error);
  resolve(library, "ucp_config_release", &api.config_release, &error);
  resolve(library, "ucp_init_version", &api.init_version, &error);
  resolve(library, "ucp_cleanup", &api.cleanup, &error);
  resolve(library, "ucp_worker_create", &api.worker_create, &error);
  resolve(library, "ucp_worker_destroy", &api.worker_destroy, &error);
  resolve(library, "ucp_worker_get_address", &api.worker_get_address, &error);
  resolve(library, "ucp_worker_release_address", &api.worker_release_address, &error);
  resolve(library, "ucp_worker_progress", &api.worker_progress, &error);
  resolve(library, "ucp_ep_create", &api.ep_create, &error);
  resolve(library, "ucp_ep_close_nbx", &api.ep_close_nbx, &error);
  resolve(library, "ucp_ep_flush_nbx", &api.ep_flush_nbx, &error);
  resolve(library, "ucp_tag_send_nbx", &api.tag_send_nbx, &error);
  resolve(library, "ucp_tag_recv_nbx", &api.tag_recv_nbx, &error);
  resolve(library, "ucp_request_check_status", &api.request_check_status, &error);
  resolve(library, "ucp_request_cancel", &api.request_cancel, &error);
  resolve(library, "ucp_request_free", &api.request_free, &error);
  resolve(library, "ucs_status_string", &api.status_string, &error);
  if (!error.empty()) return loaded;
  unsigned major = 0, minor = 0, release = 0;
  api.get_version(&major, &minor, &release);
  api.version = fmt::format("{}.{}.{}", major, minor, release);
  if (major != UCP_API_MAJOR || minor < UCP_API_MINOR) {
    error = fmt::format("{} is UCX {}, older than the UCX {}.{} xccl was built with", kLibrary,
                        api.version, UCP_API_MAJOR, UCP_API_MINOR);
  }
  return loaded;
}

}  // namespace

const UcxApi *ucxApi(std::string *why) {
  static const Loaded loaded = load();
  if (!loaded.error.empty()) {
    *why = loaded.error;
    return nullptr;
  }
  return &loaded.api;
}

}  // namespace xpool::xccl
