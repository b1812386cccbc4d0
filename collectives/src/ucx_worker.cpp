#include "ucx_worker.h"

#include <fmt/format.h>

namespace xpool::xccl {

UcxWorker::~UcxWorker() {
  api.worker_destroy(worker);
  api.cleanup(context);
}

std::shared_ptr<UcxWorker> openUcx(int rank, std::string *why) {
  const UcxApi *api = ucxApi(why);
  if (api == nullptr) return nullptr;
  ucp_config_t *config = nullptr;
  // "UCX_" prefix: UCX_TLS, UCX_NET_DEVICES and the rest apply as usual.
  ucs_status_t status = api->config_read(nullptr, nullptr, &config);
  if (status != UCS_OK) {
    *why = fmt::format("ucp_config_read: {}", api->status_string(status));
    return nullptr;
  }
  const std::string name = fmt::format("xccl-rank{}", rank);
  ucp_params_t params{};
  params.field_mask = UCP_PARAM_FIELD_FEATURES | UCP_PARAM_FIELD_NAME;
  params.features = UCP_FEATURE_TAG;
  params.name = name.c_str();
  ucp_context_h context = nullptr;
  status = api->init_version(UCP_API_MAJOR, UCP_API_MINOR, &params, config, &context);
  api->config_release(config);
  if (status != UCS_OK) {
    *why = fmt::format("ucp_init (UCX {}): {}", api->version, api->status_string(status));
    return nullptr;
  }
  ucp_worker_params_t worker_params{};
  worker_params.field_mask = UCP_WORKER_PARAM_FIELD_THREAD_MODE;
  worker_params.thread_mode = UCS_THREAD_MODE_SINGLE;
  ucp_worker_h worker = nullptr;
  status = api->worker_create(context, &worker_params, &worker);
  if (status != UCS_OK) {
    api->cleanup(context);
    *why = fmt::format("ucp_worker_create: {}", api->status_string(status));
    return nullptr;
  }
  auto made = std::make_shared<UcxWorker>(*api, context, worker);
  ucp_address_t *address = nullptr;
  size_t length = 0;
  status = api->worker_get_address(worker, &address, &length);
  if (status != UCS_OK) {
    *why = fmt::format("ucp_worker_get_address: {}", api->status_string(status));
    return nullptr;
  }
  const char *bytes = reinterpret_cast<const char *>(address);
  made->address.assign(bytes, bytes + length);
  api->worker_release_address(worker, address);
  return made;
}

std::vector<char> ucxAddress(const UcxWorker &worker) {
  return worker.address;
}

}  // namespace xpool::xccl
