#include "nccl_watchdog.h"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <vector>

#include "communicator.h"
#include "logging.h"
#include "nccl_comm.h"

namespace xpool::xccl {
namespace {

constexpr auto kTick = std::chrono::milliseconds(10);
constexpr auto kGrace = std::chrono::seconds(1);

bool workInFlight(const NcclComm &nccl) {
  return nccl.last_work != nullptr && xpEventQuery(nccl.last_work) == XP_ERROR_NOT_READY;
}

void endWith(xcclComm &comm, NcclComm &nccl, xcclResult_t result, const std::string &message,
             int origin) {
  logger()->warn("rank {}: NCCL watchdog: {}", comm.rank, message);
  comm.breakWith(result, message, origin);  // aborts NCCL first (abortNccl)
  abortHandle(nccl);                        // in case the communicator had already ended
}

// What a peer's control connection says now, without consuming it.
enum class PeerState { kQuiet, kDeparted, kAborted, kGone };

PeerState look(const Peer &peer, ControlFrame *frame) {
  pollfd entry{peer.control.fd(), POLLIN | POLLRDHUP, 0};
  if (poll(&entry, 1, 0) <= 0 || entry.revents == 0) return PeerState::kQuiet;
  const ssize_t got = recv(peer.control.fd(), frame, sizeof *frame, MSG_PEEK | MSG_DONTWAIT);
  if (got == static_cast<ssize_t>(sizeof *frame)) {
    if (frame->type == ControlFrame::kGoodbye) return PeerState::kDeparted;
    if (frame->type == ControlFrame::kAbort) return PeerState::kAborted;
    return PeerState::kQuiet;  // a comparison (XCCL_CHECK) for a later call
  }
  if (got > 0 || (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))) {
    return PeerState::kQuiet;  // part of a frame so far
  }
  return PeerState::kGone;  // end of the connection, or an error on it
}

void watch(xcclComm *comm_pointer, NcclComm *nccl_pointer) {
  xcclComm &comm = *comm_pointer;
  NcclComm &nccl = *nccl_pointer;
  std::vector<int> watched;
  for (int p = 0; p < comm.nranks; ++p) {
    if (p != comm.rank && comm.peers[static_cast<size_t>(p)].control.valid()) watched.push_back(p);
  }
  std::vector<Clock::time_point> gone_since(static_cast<size_t>(comm.nranks));
  for (;;) {
    {
      std::unique_lock lock(nccl.watch_mutex);
      if (nccl.wake.wait_for(lock, kTick, [&] { return nccl.stop; })) return;
    }
    ncclResult_t state = ncclSuccess;
    {
      std::lock_guard lock(nccl.mutex);
      if (nccl.handle == nullptr) return;  // aborted or destroyed
      if (nccl.api->comm_get_async_error(nccl.handle, &state) != ncclSuccess) state = ncclSuccess;
    }
    if (state != ncclSuccess && state != ncclInProgress) {
      endWith(comm, nccl, toXccl(state),
              fmt::format("NCCL reported: {}", describe(*nccl.api, nullptr, state)), comm.rank);
      return;
    }
    for (size_t i = 0; i < watched.size();) {
      const int p = watched[i];
      const Peer &peer = comm.peers[static_cast<size_t>(p)];
      ControlFrame frame;
      const PeerState seen = comm.engine.departed(p) ? PeerState::kDeparted : look(peer, &frame);
      if (seen == PeerState::kDeparted) {
        watched.erase(watched.begin() + static_cast<std::ptrdiff_t>(i));
        continue;
      }
      if (seen == PeerState::kAborted) {
        frame.text[sizeof frame.text - 1] = '\0';
        endWith(comm, nccl, abortCause(frame),
                fmt::format("rank {} ended the communicator: {}", frame.origin, frame.text),
                frame.origin);
        return;
      }
      if (seen == PeerState::kGone) {
        const Clock::time_point now = Clock::now();
        Clock::time_point &since = gone_since[static_cast<size_t>(p)];
        if (since == Clock::time_point{}) since = now;
        if (!workInFlight(nccl) || now - since >= kGrace) {
          endWith(comm, nccl, xcclRemoteError,
                  fmt::format("{} disconnected (exited, was killed or aborted); NCCL's "
                              "operations on this communicator were aborted",
                              peer.label),
                  p);
          return;
        }
      }
      ++i;
    }
  }
}

}  // namespace

void startWatchdog(xcclComm &comm, NcclComm &nccl) {
  nccl.watchdog = std::thread(watch, &comm, &nccl);
}

void stopWatchdog(NcclComm &nccl) {
  {
    std::lock_guard lock(nccl.watch_mutex);
    nccl.stop = true;
  }
  nccl.wake.notify_all();
  if (nccl.watchdog.joinable()) nccl.watchdog.join();
}

}  // namespace xpool::xccl
