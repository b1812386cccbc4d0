#include "tcp_channel.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "reduce.h"

namespace xpool::xccl {
namespace {

// Below this a message goes on one socket: striping costs more than it saves.
constexpr size_t kStripeMinBytes = size_t{256} << 10;
constexpr size_t kBounceBytes = size_t{256} << 10;

}  // namespace

TcpChannel::TcpChannel(std::vector<Socket> sockets)
    : sockets_(std::move(sockets)), bounces_(sockets_.size()) {}

int TcpChannel::partsFor(size_t bytes) const {
  return bytes < kStripeMinBytes ? 1 : static_cast<int>(sockets_.size());
}

void TcpChannel::part(size_t bytes, int index, size_t *begin, size_t *end) const {
  const size_t parts = static_cast<size_t>(partsFor(bytes));
  const size_t each = ((bytes + parts - 1) / parts + 63) & ~size_t{63};
  *begin = std::min(bytes, each * static_cast<size_t>(index));
  *end = std::min(bytes, *begin + each);
}

xcclResult_t TcpChannel::fromSocket(long result, const char *direction) const {
  if (result == kSocketClosed) {
    return fail(xcclRemoteError,
                "the peer closed its connection while {} (exited, killed or "
                "aborted)",
                direction);
  }
  return fail(xcclSystemError, "socket error while {}: {}", direction, std::strerror(errno));
}

xcclResult_t TcpChannel::progressSend(Request &request) {
  bool all_done = true;
  for (int s = 0; s < partsFor(request.bytes); ++s) {
    size_t begin = 0, end = 0;
    part(request.bytes, s, &begin, &end);
    size_t &done = request.part_done[s];
    while (begin + done < end) {
      const long sent = sendSome(sockets_[s], request.src + begin + done, end - begin - done);
      if (sent < 0) return fromSocket(sent, "sending");
      if (sent == 0) break;
      done += static_cast<size_t>(sent);
    }
    if (begin + done < end) all_done = false;
  }
  request.complete = all_done;
  return xcclSuccess;
}

xcclResult_t TcpChannel::progressRecv(Request &request) {
  const bool reducing = request.kind == Request::Kind::kRecvReduce;
  const size_t element = reducing ? typeSize(request.type) : 1;
  bool all_done = true;
  for (int s = 0; s < partsFor(request.bytes); ++s) {
    size_t begin = 0, end = 0;
    part(request.bytes, s, &begin, &end);
    size_t &done = request.part_done[s];  // bytes stored in dst
    while (begin + done < end) {
      if (!reducing) {
        const long got = recvSome(sockets_[s], request.dst + begin + done, end - begin - done);
        if (got < 0) return fromSocket(got, "receiving");
        if (got == 0) break;
        done += static_cast<size_t>(got);
        continue;
      }
      Bounce &bounce = bounces_[s];
      if (bounce.bytes.empty()) bounce.bytes.resize(kBounceBytes);
      // `filled` bytes past `done` are already here, short of a whole element.
      const size_t wanted =
          std::min(kBounceBytes - bounce.filled, end - begin - done - bounce.filled);
      const long got = recvSome(sockets_[s], bounce.bytes.data() + bounce.filled, wanted);
      if (got < 0) return fromSocket(got, "receiving");
      if (got == 0) break;
      bounce.filled += static_cast<size_t>(got);
      const size_t whole = bounce.filled - bounce.filled % element;
      if (whole == 0) continue;
      reduce(request.dst + begin + done, request.local + begin + done, bounce.bytes.data(),
             whole / element, request.type, request.op);
      done += whole;
      bounce.filled -= whole;
      std::memmove(bounce.bytes.data(), bounce.bytes.data() + whole, bounce.filled);
    }
    if (begin + done < end) all_done = false;
  }
  request.complete = all_done;
  return xcclSuccess;
}

void TcpChannel::shutdown() {
  for (Socket &socket : sockets_) socket.shutdownBoth();
}

}  // namespace xpool::xccl
