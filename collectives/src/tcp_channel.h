// Channel over TCP: several sockets per peer, a large message striped
// across them in 64-byte-aligned parts so that no element straddles two
// sockets. Received data for a reduction lands in a per-socket bounce
// buffer and is reduced from there into its destination.
#pragma once

#include <vector>

#include "channel.h"
#include "socket.h"

namespace xpool::xccl {

class TcpChannel final : public Channel {
 public:
  explicit TcpChannel(std::vector<Socket> sockets);
  xcclResult_t progressSend(Request &request) override;
  xcclResult_t progressRecv(Request &request) override;
  void shutdown() override;
  int pollFd() const override { return sockets_.front().fd(); }
  const char *name() const override { return "tcp"; }

 private:
  struct Bounce {
    std::vector<char> bytes;
    size_t filled = 0;
  };
  // The byte range of `bytes` that socket `index` carries.
  void part(size_t bytes, int index, size_t *begin, size_t *end) const;
  int partsFor(size_t bytes) const;
  xcclResult_t fromSocket(long result, const char *direction) const;

  std::vector<Socket> sockets_;
  std::vector<Bounce> bounces_;
};

}  // namespace xpool::xccl
