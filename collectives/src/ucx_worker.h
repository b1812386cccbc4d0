// One UCP context and worker per communicator. UCX runs it single-threaded
// (UCS_THREAD_MODE_SINGLE, no locks inside UCX); `mutex` serialises the
// engine's thread and xcclCommAbort's, which may shut channels down from
// another thread.
#pragma once

#include <deque>
#include <mutex>
#include <vector>

#include "ucx_api.h"
#include "ucx_transport.h"

namespace xpool::xccl {

class UcxWorker {
 public:
  UcxWorker(const UcxApi &loaded, ucp_context_h made_context, ucp_worker_h made_worker)
      : api(loaded), context(made_context), worker(made_worker) {}
  ~UcxWorker();
  UcxWorker(const UcxWorker &) = delete;
  UcxWorker &operator=(const UcxWorker &) = delete;

  const UcxApi &api;
  const ucp_context_h context;
  const ucp_worker_h worker;
  std::mutex mutex;
  std::vector<char> address;
  // One per endpoint, set by its error handler. Here rather than in the
  // channel: an endpoint whose close timed out may still report after its
  // channel is gone, and the worker outlives every endpoint.
  std::deque<ucs_status_t> endpoint_errors;
};

}  // namespace xpool::xccl
