// UCP, opened at run time: xccl has no link-time dependency on UCX, so one
// build runs on nodes with and without it (architecture.md: "no link-time
// vendor dependency"). The UCX headers of the build machine give the types;
// the functions come from libucp.so.0 through dlsym.
#pragma once

#include <ucp/api/ucp.h>

#include <string>

namespace xpool::xccl {

struct UcxApi {
  decltype(&::ucp_get_version) get_version = nullptr;
  decltype(&::ucp_config_read) config_read = nullptr;
  decltype(&::ucp_config_release) config_release = nullptr;
  decltype(&::ucp_init_version) init_version = nullptr;
  decltype(&::ucp_cleanup) cleanup = nullptr;
  decltype(&::ucp_worker_create) worker_create = nullptr;
  decltype(&::ucp_worker_destroy) worker_destroy = nullptr;
  decltype(&::ucp_worker_get_address) worker_get_address = nullptr;
  decltype(&::ucp_worker_release_address) worker_release_address = nullptr;
  decltype(&::ucp_worker_progress) worker_progress = nullptr;
  decltype(&::ucp_ep_create) ep_create = nullptr;
  decltype(&::ucp_ep_close_nbx) ep_close_nbx = nullptr;
  decltype(&::ucp_ep_flush_nbx) ep_flush_nbx = nullptr;
  decltype(&::ucp_tag_send_nbx) tag_send_nbx = nullptr;
  decltype(&::ucp_tag_recv_nbx) tag_recv_nbx = nullptr;
  decltype(&::ucp_request_check_status) request_check_status = nullptr;
  decltype(&::ucp_request_cancel) request_cancel = nullptr;
  decltype(&::ucp_request_free) request_free = nullptr;
  decltype(&::ucs_status_string) status_string = nullptr;  // libucs, a dependency of libucp
  std::string version;                                     // "1.13.1", for messages
};

// The loaded API, or nullptr with `why` saying what is missing
// ("libucp.so.0: cannot open shared object file"). Loads once per process.
const UcxApi *ucxApi(std::string *why);

}  // namespace xpool::xccl
