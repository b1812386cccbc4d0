#include "communicator.h"

#include <cstdlib>
#include <cstring>

#include "logging.h"

namespace xpool::xccl {

HostBuffer::~HostBuffer() {
  release();
}

void HostBuffer::release() {
  if (data_ == nullptr) return;
  if (pinned_) {
    xpFreeHost(data_);
  } else {
    std::free(data_);
  }
  data_ = nullptr;
  bytes_ = 0;
}

xcclResult_t HostBuffer::reserve(size_t bytes, bool pinned, void **out) {
  if (data_ != nullptr && bytes_ >= bytes && pinned_ == pinned) {
    *out = data_;
    return xcclSuccess;
  }
  // Grow by half again so that slowly rising sizes do not reallocate often.
  const size_t want = std::max(bytes, bytes_ + bytes_ / 2);
  void *made = nullptr;
  if (pinned) {
    if (xpMallocHost(want, &made) != XP_SUCCESS) {
      return fail(xcclDeviceError, "xpMallocHost of a {}-byte staging buffer: {}", want,
                  xpGetLastError());
    }
  } else {
    made = std::aligned_alloc(64, (want + 63) & ~size_t{63});
    if (made == nullptr) {
      return fail(xcclSystemError, "allocating a {}-byte scratch buffer: out of memory", want);
    }
  }
  release();
  data_ = made;
  bytes_ = want;
  pinned_ = pinned;
  *out = data_;
  return xcclSuccess;
}

}  // namespace xpool::xccl

using namespace xpool::xccl;

xcclResult_t xcclComm::breakWith(xcclResult_t result, const std::string &message, int origin) {
  {
    std::lock_guard lock(mutex);
    if (broken.failed()) return result;
    broken = {result, message};
  }
  logger()->warn("rank {} of {}: communicator ended: {}", rank, nranks, message);
  // NCCL's kernels would wait for the peers forever: stop them.
  xpool::xccl::abortNccl(*this);
  // Tell the peers why, then close: their waits end with this reason
  // instead of a bare disconnect or a timeout.
  ControlFrame frame;
  frame.type = ControlFrame::kAbort;
  frame.origin = origin;
  frame.result = result;
  fmt::format_to_n(frame.text, sizeof frame.text - 1, "{}", message);
  for (size_t p = 0; p < peers.size(); ++p) {
    if (static_cast<int>(p) == rank || !peers[p].control.valid()) continue;
    sendAll(peers[p].control, &frame, sizeof frame, Deadline::afterMs(100), peers[p].label);
  }
  for (size_t p = 0; p < peers.size(); ++p) {
    if (peers[p].channel) peers[p].channel->shutdown();
    // Half-close: the peer reads the frame above, then end-of-file. What it
    // sent us and we never read is dropped now, so that closing later sends
    // FIN, not a reset that could destroy the frame in flight.
    peers[p].control.shutdownWrite();
    peers[p].control.discardInput();
  }
  engine.clear();
  return result;
}

xcclResult_t xcclComm::brokenResult(const char *call) {
  std::lock_guard lock(mutex);
  if (!broken.failed()) return xcclSuccess;
  return fail(broken.result, "{}: rank {}'s communicator has failed and must be destroyed: {}",
              call, rank, broken.message);
}
