// Channel over UCX's tag API (one ucp_ep per peer, the communicator's
// worker shared). A message is sent as chunks of kUcxChunkBytes, each one
// tag_send with tag (sender rank, per-direction sequence number), so two
// ranks' messages match in posting order with no header, and up to
// kUcxWindow chunks per direction are in flight at once. A reduction
// receives each chunk into a bounce slot and reduces it into the
// destination as soon as it is complete.
#pragma once

#include <deque>
#include <memory>
#include <vector>

#include "ucx_worker.h"

namespace xpool::xccl {

constexpr size_t kUcxChunkBytes = size_t{512} << 10;
constexpr size_t kUcxWindow = 4;

class UcxChannel final : public Channel {
 public:
  UcxChannel(std::shared_ptr<UcxWorker> worker, int rank, int peer, uint32_t close_timeout_ms);
  ~UcxChannel() override;
  UcxChannel(const UcxChannel &) = delete;
  UcxChannel &operator=(const UcxChannel &) = delete;

  xcclResult_t connect(const std::vector<char> &peer_address, bool same_node);
  xcclResult_t progressSend(Request &request) override;
  xcclResult_t progressRecv(Request &request) override;
  // Cancels what is in flight and force-closes the endpoint; the peer's
  // endpoint fails. Safe from another thread (xcclCommAbort).
  void shutdown() override;
  // Sends complete when UCX has the bytes, not when the peer does.
  void flush(Deadline deadline) override;
  const char *name() const override { return "ucx"; }

 private:
  struct Flight {
    void *request = nullptr;  // nullptr: completed when posted
    size_t offset = 0;
    size_t length = 0;
    char *bounce = nullptr;  // reductions: where the chunk lands
  };
  struct Direction {
    const Request *current = nullptr;  // the request being moved
    size_t posted = 0;                 // its bytes handed to UCX
    uint64_t sequence = 0;             // chunks posted in this direction, ever
    std::deque<Flight> flights;
  };

  // `arg` is the endpoint's slot in UcxWorker::endpoint_errors.
  static void onEndpointError(void *arg, ucp_ep_h ep, ucs_status_t status);
  xcclResult_t usable(const char *direction) const;
  xcclResult_t ucxFailure(bool sending, ucs_status_t status, size_t offset, size_t bytes) const;
  xcclResult_t retireRecv(Request &request, bool *stop);
  void start(Direction &direction, const Request &request);
  void drainWorker();
  // With the worker's mutex held: drop every request in flight.
  void cancelAll();
  void closeEndpoint(bool force);

  std::shared_ptr<UcxWorker> worker_;
  const UcxApi &api_;
  const int rank_;
  const int peer_;
  const uint32_t close_timeout_ms_;
  ucp_ep_h ep_ = nullptr;
  void *close_request_ = nullptr;
  bool closed_ = false;                     // the endpoint is closed or closing
  ucs_status_t *peer_status_ = &no_error_;  // the endpoint's slot in the worker
  ucs_status_t no_error_ = UCS_OK;          // before the endpoint exists
  Direction send_;
  Direction recv_;
  std::vector<char> bounce_;  // kUcxWindow chunks, for reductions
  std::vector<char *> free_bounces_;
};

}  // namespace xpool::xccl
