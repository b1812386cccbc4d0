#include "ucx_api.h"

#include <fmt/format.h>

#include "dl_library.h"

namespace xpool::xccl {
namespace {

constexpr const char *kLibrary = "libucp.so.0";

struct Loaded {
  UcxApi api;
  std::string error;  // empty when api is usable
};

Loaded load() {
  Loaded loaded;
  DlLibrary library(kLibrary, "(UCX older than the headers xccl was built with?)");
  if (!library.opened()) {
    loaded.error = library.error();
    return loaded;
  }
  // Never closed: UCX's constructors and global state must outlive every
  // communicator, and unloading it at exit would race its own threads.
  UcxApi &api = loaded.api;
  std::string &error = loaded.error;
  library.resolve("ucp_get_version", &api.get_version);
  library.resolve("ucp_config_read", &api.config_read);
  library.resolve("ucp_config_release", &api.config_release);
  library.resolve("ucp_init_version", &api.init_version);
  library.resolve("ucp_cleanup", &api.cleanup);
  library.resolve("ucp_worker_create", &api.worker_create);
  library.resolve("ucp_worker_destroy", &api.worker_destroy);
  library.resolve("ucp_worker_get_address", &api.worker_get_address);
  library.resolve("ucp_worker_release_address", &api.worker_release_address);
  library.resolve("ucp_worker_progress", &api.worker_progress);
  library.resolve("ucp_ep_create", &api.ep_create);
  library.resolve("ucp_ep_close_nbx", &api.ep_close_nbx);
  library.resolve("ucp_ep_flush_nbx", &api.ep_flush_nbx);
  library.resolve("ucp_tag_send_nbx", &api.tag_send_nbx);
  library.resolve("ucp_tag_recv_nbx", &api.tag_recv_nbx);
  library.resolve("ucp_request_check_status", &api.request_check_status);
  library.resolve("ucp_request_cancel", &api.request_cancel);
  library.resolve("ucp_request_free", &api.request_free);
  library.resolve("ucs_status_string", &api.status_string);
  error = library.error();
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
