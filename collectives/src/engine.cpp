#include "engine.h"

#include <poll.h>
#include <sched.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <thread>

#include "communicator.h"

namespace xpool::xccl {
namespace {

inline void cpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// Spin, then yield, then sleep: spinning is what makes small messages fast,
// sleeping is what lets 8 ranks share 2 cores.
constexpr int kSpinPolls = 1000;
constexpr auto kYieldPhase = std::chrono::milliseconds(2);
constexpr auto kSleep = std::chrono::microseconds(50);
constexpr auto kControlPollInterval = std::chrono::milliseconds(1);
// How long a failed channel waits for its peer's reason (explainChannelFailure).
constexpr auto kFailureReasonGrace = std::chrono::milliseconds(100);

size_t bytesMoved(const Request &request) {
  size_t moved = request.done;
  for (size_t part : request.part_done) moved += part;
  return moved;
}

const char *kindName(Request::Kind kind) {
  switch (kind) {
    case Request::Kind::kSend:
      return "send";
    case Request::Kind::kRecv:
      return "receive";
    case Request::Kind::kRecvReduce:
      return "receive-and-reduce";
  }
  return "?";
}

}  // namespace

void Engine::start(int nranks) {
  const size_t n = static_cast<size_t>(nranks);
  send_queues_.assign(n, {});
  recv_queues_.assign(n, {});
  control_partial_.assign(n, {});
  checks_.assign(n, {});
  departed_ = std::vector<std::atomic<bool>>(n);
}

void Engine::post(Request *request) {
  if (request->bytes == 0) {
    request->complete = true;
    return;
  }
  auto &queue = request->kind == Request::Kind::kSend ? send_queues_ : recv_queues_;
  queue[static_cast<size_t>(request->peer)].push_back(request);
}

void Engine::clear() {
  for (auto &queue : send_queues_) queue.clear();
  for (auto &queue : recv_queues_) queue.clear();
}

xcclResult_t Engine::progressOnce(bool *moved) {
  *moved = false;
  for (size_t p = 0; p < send_queues_.size(); ++p) {
    if (static_cast<int>(p) == comm_->rank) {
      *moved |= progressSelf();
      continue;
    }
    Peer &peer = comm_->peers[p];
    for (auto *queues : {&send_queues_, &recv_queues_}) {
      auto &queue = (*queues)[p];
      while (!queue.empty()) {
        Request &request = *queue.front();
        const size_t before = bytesMoved(request);
        const xcclResult_t result = queues == &send_queues_ ? peer.channel->progressSend(request)
                                                            : peer.channel->progressRecv(request);
        if (result != xcclSuccess) {
          return fail(result, "{} ({} of {} bytes, over {}): {}", peer.label,
                      kindName(request.kind), request.bytes, peer.channel->name(), lastError());
        }
        if (bytesMoved(request) != before) *moved = true;
        if (!request.complete) break;
        *moved = true;
        queue.pop_front();
      }
    }
  }
  return xcclSuccess;
}

// Messages a rank sends itself: copied from the send to the matching
// receive, in order, once both are posted.
bool Engine::progressSelf() {
  auto &sends = send_queues_[static_cast<size_t>(comm_->rank)];
  auto &receives = recv_queues_[static_cast<size_t>(comm_->rank)];
  bool moved = false;
  while (!sends.empty() && !receives.empty()) {
    Request &out = *sends.front();
    Request &in = *receives.front();
    const size_t length = std::min(out.bytes - out.done, in.bytes - in.done);
    std::memcpy(in.dst + in.done, out.src + out.done, length);
    out.done += length;
    in.done += length;
    moved = true;
    if (out.done == out.bytes) {
      out.complete = true;
      sends.pop_front();
    }
    if (in.done == in.bytes) {
      in.complete = true;
      receives.pop_front();
    }
  }
  return moved;
}

std::string Engine::describePending() const {
  std::string text;
  for (size_t p = 0; p < send_queues_.size(); ++p) {
    for (const auto *queues : {&send_queues_, &recv_queues_}) {
      const auto &queue = (*queues)[p];
      if (queue.empty()) continue;
      const Request &request = *queue.front();
      const size_t moved = bytesMoved(request);
      text += fmt::format("{}{} of {} bytes with {} stuck at {} bytes ({} more queued)",
                          text.empty() ? "" : "; ", kindName(request.kind), request.bytes,
                          comm_->peers[p].label, std::min(moved, request.bytes), queue.size() - 1);
    }
  }
  return text.empty() ? "nothing pending" : text;
}

xcclResult_t Engine::readControl(int p, const OpLabel &what) {
  Peer &peer = comm_->peers[static_cast<size_t>(p)];
  std::string &partial = control_partial_[static_cast<size_t>(p)];
  for (;;) {
    char buffer[sizeof(ControlFrame)];
    const size_t wanted = sizeof buffer - partial.size();
    const long got = recvSome(peer.control, buffer, wanted);
    if (got == 0) return xcclSuccess;
    if (got == kSocketClosed || got == kSocketFailed) {
      if (departed_[static_cast<size_t>(p)]) return xcclSuccess;
      return fail(xcclRemoteError, "{}: {} disconnected (exited, was killed or aborted)", what,
                  peer.label);
    }
    partial.append(buffer, static_cast<size_t>(got));
    if (partial.size() < sizeof(ControlFrame)) continue;
    ControlFrame frame;
    std::memcpy(&frame, partial.data(), sizeof frame);
    partial.clear();
    frame.text[sizeof frame.text - 1] = '\0';
    switch (frame.type) {
      case ControlFrame::kAbort:
        return fail(abortCause(frame), "{}: rank {} failed and ended the communicator: {}", what,
                    frame.origin, frame.text);
      case ControlFrame::kCheck:
        checks_[static_cast<size_t>(p)].push_back(frame);
        break;
      case ControlFrame::kGoodbye:
        departed_[static_cast<size_t>(p)] = true;
        break;
      default:
        return fail(xcclInternalError, "{}: unknown control frame type {} from {}", what,
                    frame.type, peer.label);
    }
  }
}

xcclResult_t Engine::pollControl(const OpLabel &what) {
  const size_t n = static_cast<size_t>(comm_->nranks);
  std::vector<pollfd> fds;
  std::vector<int> ranks;
  for (size_t p = 0; p < n; ++p) {
    if (static_cast<int>(p) == comm_->rank || !comm_->peers[p].control.valid()) continue;
    fds.push_back({comm_->peers[p].control.fd(), POLLIN, 0});
    ranks.push_back(static_cast<int>(p));
  }
  if (fds.empty() || poll(fds.data(), fds.size(), 0) <= 0) return xcclSuccess;
  for (size_t i = 0; i < fds.size(); ++i) {
    if (fds[i].revents != 0) XCCL_RETURN_IF_ERROR(readControl(ranks[i], what));
  }
  return xcclSuccess;
}

xcclResult_t Engine::explainChannelFailure(xcclResult_t result, const OpLabel &what) {
  // A rank whose operation failed sends the reason on every control
  // connection before it closes its data connections; a rank two hops away
  // (hierarchical algorithms) meets the closed data connection first. The
  // reason names the rank that started it all, so look for it: briefly,
  // since on a real network it may arrive just after the close.
  const std::string channel_error = lastError();
  const auto give_up = Clock::now() + kFailureReasonGrace;
  do {
    const xcclResult_t reason = pollControl(what);
    if (reason != xcclSuccess) return reason;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  } while (Clock::now() < give_up);
  return fail(result, "{}: {}", what, channel_error);
}

xcclResult_t Engine::wait(Request *const *requests, size_t count, const OpLabel &what) {
  // The clock is read only every kClockEvery idle polls: at small sizes a
  // clock read per poll costs more than the transfer.
  constexpr int kClockEvery = 64;
  const auto timeout = std::chrono::milliseconds(comm_->config.timeout_ms);
  Clock::time_point last_move{}, last_control{};
  bool clock_started = false;
  for (int idle_polls = 0;; ++idle_polls) {
    bool moved = false;
    const xcclResult_t progressed = progressOnce(&moved);
    if (progressed != xcclSuccess) return explainChannelFailure(progressed, what);
    if (std::all_of(requests, requests + count, [](Request *r) { return r->complete; })) {
      return xcclSuccess;
    }
    if (moved) {
      idle_polls = 0;
      clock_started = false;
    }
    if (idle_polls < kSpinPolls && idle_polls % kClockEvery != kClockEvery - 1) {
      cpuRelax();
      continue;
    }
    if (comm_->aborted.load(std::memory_order_relaxed)) {
      return fail(xcclRemoteError, "{}: the communicator was aborted (xcclCommAbort)", what);
    }
    const auto now = Clock::now();
    if (!clock_started) {
      // Deadlines count from the last time anything moved.
      last_move = now;
      last_control = now;
      clock_started = true;
    }
    if (now - last_control >= kControlPollInterval) {
      last_control = now;
      XCCL_RETURN_IF_ERROR(pollControl(what));
      for (size_t i = 0; i < count; ++i) {
        const Request &request = *requests[i];
        if (!request.complete && departed_[static_cast<size_t>(request.peer)]) {
          // Its last message may have arrived just before its goodbye, after
          // this loop's progress: take what is there before judging.
          bool drained = false;
          XCCL_RETURN_IF_ERROR(progressOnce(&drained));
          if (request.complete) continue;
          return fail(xcclRemoteError,
                      "{}: {} destroyed its communicator while this rank still expected it to "
                      "{} {} bytes",
                      what, comm_->peers[static_cast<size_t>(request.peer)].label,
                      request.kind == Request::Kind::kSend ? "receive" : "send", request.bytes);
        }
      }
    }
    if (now - last_move >= timeout) {
      return fail(xcclTimeout, "{}: nothing moved for XCCL_TIMEOUT_MS={} ms: {}", what,
                  comm_->config.timeout_ms, describePending());
    }
    if (idle_polls < kSpinPolls) {
      cpuRelax();
    } else if (now - last_move < kYieldPhase) {
      sched_yield();
    } else {
      std::this_thread::sleep_for(kSleep);
    }
  }
}

xcclResult_t Engine::receiveCheck(int peer, ControlFrame *frame, const OpLabel &what) {
  const Deadline deadline = comm_->deadline();
  auto &queue = checks_[static_cast<size_t>(peer)];
  // Only `peer`'s connection is read here: another rank's failure must not
  // hide the comparison with this one (every rank sends its frame to all
  // before comparing, so this peer's frame comes before any abort it sends).
  while (queue.empty()) {
    XCCL_RETURN_IF_ERROR(readControl(peer, what));
    if (!queue.empty()) break;
    if (comm_->aborted.load()) {
      return fail(xcclRemoteError, "{}: the communicator was aborted (xcclCommAbort)", what);
    }
    if (deadline.passed()) {
      return fail(xcclTimeout,
                  "{}: XCCL_CHECK: {} did not announce its operation within {} ms (is it in "
                  "another operation, or does it run without XCCL_CHECK=1?)",
                  what, comm_->peers[static_cast<size_t>(peer)].label, comm_->config.timeout_ms);
    }
    pollfd entry{comm_->peers[static_cast<size_t>(peer)].control.fd(), POLLIN, 0};
    poll(&entry, 1, 1);
  }
  *frame = queue.front();
  queue.pop_front();
  return xcclSuccess;
}

void Engine::sayGoodbye() {
  ControlFrame frame;
  frame.type = ControlFrame::kGoodbye;
  frame.origin = comm_->rank;
  for (Peer &peer : comm_->peers) {
    if (peer.channel) peer.channel->flush(Deadline::afterMs(1000));
  }
  for (size_t p = 0; p < comm_->peers.size(); ++p) {
    if (static_cast<int>(p) == comm_->rank || !comm_->peers[p].control.valid()) continue;
    sendAll(comm_->peers[p].control, &frame, sizeof frame, Deadline::afterMs(100),
            comm_->peers[p].label);
  }
}

}  // namespace xpool::xccl
