// TCP sockets with deadlines: everything xccl does on a socket can give up.
#pragma once

#include <netinet/in.h>

#include <chrono>
#include <cstddef>
#include <string>

#include "errors.h"

namespace xpool::xccl {

using Clock = std::chrono::steady_clock;

struct Deadline {
  Clock::time_point at;
  static Deadline afterMs(uint32_t ms) { return {Clock::now() + std::chrono::milliseconds(ms)}; }
  bool passed() const { return Clock::now() >= at; }
  // Milliseconds left, for poll(); at least 0.
  int remainingMs() const;
};

// An owned non-blocking TCP socket (TCP_NODELAY once connected).
class Socket {
 public:
  Socket() = default;
  explicit Socket(int fd) : fd_(fd) {}
  Socket(Socket &&other) noexcept : fd_(other.release()) {}
  Socket &operator=(Socket &&other) noexcept;
  Socket(const Socket &) = delete;
  Socket &operator=(const Socket &) = delete;
  ~Socket() { close(); }
  int fd() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release();
  void close();
  // Stops both directions now; the peer sees end-of-file.
  void shutdownBoth();
  // Stops sending: the peer reads what was sent, then end-of-file.
  void shutdownWrite();
  // Reads and drops whatever has arrived (non-blocking).
  void discardInput();

 private:
  int fd_ = -1;
};

std::string formatAddress(const sockaddr_in &address);

// `host` is an IPv4 address or a name; `what` names the setting for errors.
xcclResult_t resolveAddress(const char *host, int port, const char *what, sockaddr_in *out);
// The address other hosts reach this one at: XCCL_SOCKET_IFNAME's, else the
// first non-loopback IPv4 interface that is up, else 127.0.0.1.
xcclResult_t localAddress(const std::string &ifname, in_addr *out);

// Listens on `address` (port 0: any free port); `bound` gets the real one.
xcclResult_t listenOn(const sockaddr_in &address, Socket *listener, sockaddr_in *bound);
// Connects, retrying refused connections until the deadline (the listener
// may not be up yet).
xcclResult_t connectTo(const sockaddr_in &address, Deadline deadline, const char *what,
                       Socket *out);
xcclResult_t acceptOne(const Socket &listener, Deadline deadline, const char *what, Socket *out);

// Whole-buffer transfers. End-of-file is xcclRemoteError, the deadline
// xcclTimeout; `what` says who is on the other side for the message.
xcclResult_t sendAll(const Socket &socket, const void *data, size_t bytes, Deadline deadline,
                     const std::string &what);
xcclResult_t recvAll(const Socket &socket, void *data, size_t bytes, Deadline deadline,
                     const std::string &what);

// Non-blocking pieces for the progress engine: the bytes moved, 0 when the
// socket would block, kSocketClosed at end-of-file, kSocketFailed with errno.
constexpr long kSocketClosed = -2;
constexpr long kSocketFailed = -1;
long sendSome(const Socket &socket, const void *data, size_t bytes);
long recvSome(const Socket &socket, void *data, size_t bytes);

}  // namespace xpool::xccl
