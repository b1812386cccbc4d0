#include "ucx_channel.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "logging.h"
#include "reduce.h"
#include "socket.h"

namespace xpool::xccl {
namespace {

// Tag: the sender's rank above the sequence number. 40 bits of sequence is
// 2^40 chunks (half an exabyte) before it wraps; 24 bits of rank is 16M ranks.
constexpr int kSequenceBits = 40;
constexpr ucp_tag_t kSequenceMask = (ucp_tag_t{1} << kSequenceBits) - 1;
constexpr ucp_tag_t kFullMask = ~ucp_tag_t{0};

ucp_tag_t tagFor(int sender, uint64_t sequence) {
  return (static_cast<ucp_tag_t>(sender) << kSequenceBits) | (sequence & kSequenceMask);
}

// Statuses that mean the other side is gone or unreachable, as opposed to a
// local failure (memory, a bad argument, a UCX bug).
bool peerFault(ucs_status_t status) {
  return status == UCS_ERR_CONNECTION_RESET || status == UCS_ERR_UNREACHABLE ||
         status == UCS_ERR_REJECTED || status == UCS_ERR_NOT_CONNECTED ||
         status == UCS_ERR_CANCELED ||
         (status <= UCS_ERR_FIRST_ENDPOINT_FAILURE && status >= UCS_ERR_LAST_ENDPOINT_FAILURE) ||
         (status <= UCS_ERR_FIRST_LINK_FAILURE && status >= UCS_ERR_LAST_LINK_FAILURE);
}

// Closing is bounded: a peer that vanished without closing must not hold
// the communicator's destruction for the whole operation timeout.
constexpr uint32_t kMaxCloseMs = 5000;

}  // namespace

UcxChannel::UcxChannel(std::shared_ptr<UcxWorker> worker, int rank, int peer,
                       uint32_t close_timeout_ms)
    : worker_(std::move(worker)),
      api_(worker_->api),
      rank_(rank),
      peer_(peer),
      close_timeout_ms_(std::min(close_timeout_ms, kMaxCloseMs)) {}

xcclResult_t UcxChannel::connect(const std::vector<char> &peer_address, bool same_node) {
  std::lock_guard lock(worker_->mutex);
  ucp_ep_params_t params{};
  params.field_mask = UCP_EP_PARAM_FIELD_REMOTE_ADDRESS | UCP_EP_PARAM_FIELD_ERR_HANDLING_MODE |
                      UCP_EP_PARAM_FIELD_ERR_HANDLER;
  params.address = reinterpret_cast<const ucp_address_t *>(peer_address.data());
  // Peer mode: requests to a dead peer complete with an error instead of
  // hanging, and the error handler tells this channel. Inside a node UCX
  // 1.13 has no shared-memory transport that supports it (sysv, posix: "no
  // peer failure handler") and would take its TCP over loopback instead;
  // there the control connection, which notices a dead peer in a
  // millisecond anyway, is the only liveness check.
  params.err_mode = same_node ? UCP_ERR_HANDLING_MODE_NONE : UCP_ERR_HANDLING_MODE_PEER;
  worker_->endpoint_errors.push_back(UCS_OK);
  peer_status_ = &worker_->endpoint_errors.back();
  params.err_handler.cb = &UcxChannel::onEndpointError;
  params.err_handler.arg = peer_status_;
  const ucs_status_t status = api_.ep_create(worker_->worker, &params, &ep_);
  if (status != UCS_OK) {
    ep_ = nullptr;
    closed_ = true;
    return fail(peerFault(status) ? xcclRemoteError : xcclSystemError,
                "ucp_ep_create to rank {} ({}-byte worker address): {}", peer_, peer_address.size(),
                api_.status_string(status));
  }
  return xcclSuccess;
}

void UcxChannel::onEndpointError(void *arg, ucp_ep_h, ucs_status_t status) {
  // Runs inside ucp_worker_progress, so under the worker's mutex.
  auto *slot = static_cast<ucs_status_t *>(arg);
  if (*slot == UCS_OK) *slot = status;
}

xcclResult_t UcxChannel::usable(const char *direction) const {
  if (*peer_status_ != UCS_OK) {
    return fail(peerFault(*peer_status_) ? xcclRemoteError : xcclSystemError,
                "UCX reported the endpoint failed while {}: {} (exited, killed or aborted?)",
                direction, api_.status_string(*peer_status_));
  }
  if (closed_) {
    return fail(xcclRemoteError, "the UCX channel was shut down (communicator ended) while {}",
                direction);
  }
  return xcclSuccess;
}

xcclResult_t UcxChannel::ucxFailure(bool sending, ucs_status_t status, size_t offset,
                                    size_t bytes) const {
  return fail(peerFault(status) ? xcclRemoteError : xcclSystemError,
              "UCX {} bytes {}..{} of the message {} rank {} failed: {} (status {})",
              sending ? "send of" : "receive of", offset, offset + bytes, sending ? "to" : "from",
              peer_, api_.status_string(status), static_cast<int>(status));
}

void UcxChannel::drainWorker() {
  // One ucp_worker_progress handles a bounded batch of events; take all
  // that are there (as the TCP channel reads until the socket is empty),
  // with a cap so that a flood cannot hold the engine here.
  constexpr int kMaxRounds = 64;
  for (int round = 0; round < kMaxRounds && api_.worker_progress(worker_->worker) != 0; ++round) {
  }
}

void UcxChannel::start(Direction &direction, const Request &request) {
  if (direction.current == &request) return;
  direction.current = &request;
  direction.posted = 0;
}

xcclResult_t UcxChannel::progressSend(Request &request) {
  std::lock_guard lock(worker_->mutex);
  XCCL_RETURN_IF_ERROR(usable("sending"));
  drainWorker();
  start(send_, request);
  while (!send_.flights.empty()) {
    Flight &flight = send_.flights.front();
    const ucs_status_t status = api_.request_check_status(flight.request);
    if (status == UCS_INPROGRESS) break;
    api_.request_free(flight.request);
    const Flight done = flight;
    send_.flights.pop_front();
    if (status != UCS_OK) return ucxFailure(true, status, done.offset, done.length);
    request.done += done.length;
  }
  while (send_.flights.size() < kUcxWindow && send_.posted < request.bytes) {
    const size_t length = std::min(kUcxChunkBytes, request.bytes - send_.posted);
    ucp_request_param_t param{};  // no callback: completion is polled above
    const ucs_status_ptr_t sent = api_.tag_send_nbx(ep_, request.src + send_.posted, length,
                                                    tagFor(rank_, send_.sequence++), &param);
    if (UCS_PTR_IS_ERR(sent)) {
      return ucxFailure(true, UCS_PTR_STATUS(sent), send_.posted, length);
    }
    if (sent == nullptr) {
      request.done += length;  // sent (or buffered) at once
    } else {
      send_.flights.push_back({sent, send_.posted, length, nullptr});
    }
    send_.posted += length;
  }
  if (request.done == request.bytes) {
    request.complete = true;
    send_.current = nullptr;
  }
  return xcclSuccess;
}

// Takes completed chunks off the front of the receive window; `stop` when
// the front one is still moving.
xcclResult_t UcxChannel::retireRecv(Request &request, bool *stop) {
  Flight &flight = recv_.flights.front();
  if (flight.request != nullptr) {
    const ucs_status_t status = api_.request_check_status(flight.request);
    if (status == UCS_INPROGRESS) {
      *stop = true;
      return xcclSuccess;
    }
    api_.request_free(flight.request);
    flight.request = nullptr;
    if (status != UCS_OK) {
      const Flight done = flight;
      recv_.flights.pop_front();
      if (done.bounce != nullptr) free_bounces_.push_back(done.bounce);
      return ucxFailure(false, status, done.offset, done.length);
    }
  }
  const Flight done = flight;
  recv_.flights.pop_front();
  if (done.bounce != nullptr) {
    free_bounces_.push_back(done.bounce);
    const size_t element = typeSize(request.type);
    reduce(request.dst + done.offset, request.local + done.offset, done.bounce,
           done.length / element, request.type, request.op);
  }
  request.done += done.length;
  return xcclSuccess;
}

xcclResult_t UcxChannel::progressRecv(Request &request) {
  std::lock_guard lock(worker_->mutex);
  XCCL_RETURN_IF_ERROR(usable("receiving"));
  drainWorker();
  start(recv_, request);
  const bool reducing = request.kind == Request::Kind::kRecvReduce;
  if (reducing && bounce_.empty()) {
    bounce_.resize(kUcxWindow * kUcxChunkBytes);
    for (size_t i = 0; i < kUcxWindow; ++i) free_bounces_.push_back(&bounce_[i * kUcxChunkBytes]);
  }
  for (;;) {
    bool stop = false;
    while (!stop && !recv_.flights.empty()) XCCL_RETURN_IF_ERROR(retireRecv(request, &stop));
    if (recv_.flights.size() >= kUcxWindow || recv_.posted >= request.bytes) break;
    // Chunks are a multiple of every element size, so a reduced chunk
    // never splits an element.
    const size_t length = std::min(kUcxChunkBytes, request.bytes - recv_.posted);
    Flight flight{nullptr, recv_.posted, length, nullptr};
    if (reducing) {
      flight.bounce = free_bounces_.back();
      free_bounces_.pop_back();
    }
    char *target = reducing ? flight.bounce : request.dst + recv_.posted;
    recv_.flights.push_back(flight);
    Flight &posted = recv_.flights.back();
    // No length check on completion: UCX 1.13 leaves the received length
    // at 0 for a chunk that was already here (recv_info and
    // ucp_tag_recv_request_test alike). A longer message than expected
    // fails as UCS_ERR_MESSAGE_TRUNCATED; a shorter one is as undetectable
    // as on the other channels (XCCL_CHECK=1 catches mismatched calls).
    ucp_request_param_t param{};
    const ucs_status_ptr_t received = api_.tag_recv_nbx(
        worker_->worker, target, length, tagFor(peer_, recv_.sequence++), kFullMask, &param);
    if (UCS_PTR_IS_ERR(received)) {
      if (posted.bounce != nullptr) free_bounces_.push_back(posted.bounce);
      recv_.flights.pop_back();
      return ucxFailure(false, UCS_PTR_STATUS(received), flight.offset, length);
    }
    posted.request = received;
    recv_.posted += length;
  }
  if (request.done == request.bytes) {
    request.complete = true;
    recv_.current = nullptr;
  }
  return xcclSuccess;
}

void UcxChannel::cancelAll() {
  for (Flight &flight : recv_.flights) {
    if (flight.request == nullptr) continue;
    // An unmatched receive is removed at once; one that is half through
    // ends when the endpoint closes.
    api_.request_cancel(worker_->worker, flight.request);
    api_.request_free(flight.request);
  }
  for (Flight &flight : send_.flights) {
    if (flight.request != nullptr) api_.request_free(flight.request);
  }
  recv_ = {};
  send_ = {};
}

void UcxChannel::closeEndpoint(bool force) {
  if (ep_ == nullptr || close_request_ != nullptr) return;
  ucp_request_param_t param{};
  param.op_attr_mask = UCP_OP_ATTR_FIELD_FLAGS;
  param.flags = force ? UCP_EP_CLOSE_FLAG_FORCE : 0;
  const ucs_status_ptr_t closing = api_.ep_close_nbx(ep_, &param);
  if (closing != nullptr && !UCS_PTR_IS_ERR(closing)) close_request_ = closing;
  closed_ = true;
}

void UcxChannel::flush(Deadline deadline) {
  std::lock_guard lock(worker_->mutex);
  if (closed_ || ep_ == nullptr || *peer_status_ != UCS_OK) return;
  ucp_request_param_t param{};
  const ucs_status_ptr_t flushing = api_.ep_flush_nbx(ep_, &param);
  if (flushing == nullptr || UCS_PTR_IS_ERR(flushing)) return;
  while (api_.request_check_status(flushing) == UCS_INPROGRESS && !deadline.passed()) {
    if (api_.worker_progress(worker_->worker) == 0) std::this_thread::yield();
  }
  // Still in flight at the deadline: released when it completes.
  api_.request_free(flushing);
}

void UcxChannel::shutdown() {
  std::lock_guard lock(worker_->mutex);
  if (closed_) return;
  cancelAll();
  closeEndpoint(true);
}

UcxChannel::~UcxChannel() {
  std::lock_guard lock(worker_->mutex);
  if (!closed_) {
    cancelAll();
    // A failed endpoint can only be force-closed; a healthy one flushes, so
    // that what this rank sent last still reaches the peer.
    closeEndpoint(*peer_status_ != UCS_OK);
  }
  if (close_request_ == nullptr) return;
  const Deadline deadline = Deadline::afterMs(close_timeout_ms_);
  ucs_status_t status = UCS_INPROGRESS;
  while ((status = api_.request_check_status(close_request_)) == UCS_INPROGRESS &&
         !deadline.passed()) {
    if (api_.worker_progress(worker_->worker) == 0) std::this_thread::yield();
  }
  if (status == UCS_INPROGRESS) {
    logger()->warn("rank {}: closing the UCX endpoint to rank {} did not finish within {} ms",
                   rank_, peer_, close_timeout_ms_);
  }
  api_.request_free(close_request_);
}

xcclResult_t makeUcxChannel(const std::shared_ptr<UcxWorker> &worker,
                            const std::vector<char> &peer_address, int rank, int peer,
                            bool same_node, uint32_t close_timeout_ms,
                            std::unique_ptr<Channel> *out) {
  auto channel = std::make_unique<UcxChannel>(worker, rank, peer, close_timeout_ms);
  XCCL_RETURN_IF_ERROR(channel->connect(peer_address, same_node));
  *out = std::move(channel);
  return xcclSuccess;
}

}  // namespace xpool::xccl
