#include "socket.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

namespace xpool::xccl {
namespace {

void makeNonBlocking(int fd) {
  const int flags = fcntl(fd, F_GETFL, 0);
  fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

void setNoDelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

// Waits until `fd` is ready for `events` or the deadline passes.
bool waitReady(int fd, short events, Deadline deadline) {
  pollfd entry{fd, events, 0};
  for (;;) {
    const int ready = poll(&entry, 1, deadline.remainingMs());
    if (ready > 0) return true;
    if (ready == 0) return false;
    if (errno != EINTR) return true;  // let the next call report the error
  }
}

}  // namespace

int Deadline::remainingMs() const {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(at - Clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(std::min<int64_t>(left.count(), INT32_MAX));
}

Socket &Socket::operator=(Socket &&other) noexcept {
  if (this != &other) {
    close();
    fd_ = other.release();
  }
  return *this;
}

int Socket::release() {
  const int fd = fd_;
  fd_ = -1;
  return fd;
}

void Socket::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void Socket::shutdownBoth() {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
}

void Socket::shutdownWrite() {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
}

void Socket::discardInput() {
  char sink[4096];
  while (fd_ >= 0 && ::recv(fd_, sink, sizeof sink, MSG_DONTWAIT) > 0) {
  }
}

std::string formatAddress(const sockaddr_in &address) {
  char text[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &address.sin_addr, text, sizeof text);
  return fmt::format("{}:{}", text, ntohs(address.sin_port));
}

xcclResult_t resolveAddress(const char *host, int port, const char *what, sockaddr_in *out) {
  if (port < 0 || port > 65535) {
    return fail(xcclInvalidArgument, "{}: port {} is not in 0..65535", what, port);
  }
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo *found = nullptr;
  const int status = getaddrinfo(host, nullptr, &hints, &found);
  if (status != 0 || found == nullptr) {
    return fail(xcclInvalidArgument, "{}: cannot resolve '{}': {}", what, host,
                gai_strerror(status));
  }
  *out = *reinterpret_cast<const sockaddr_in *>(found->ai_addr);
  out->sin_port = htons(static_cast<uint16_t>(port));
  freeaddrinfo(found);
  return xcclSuccess;
}

xcclResult_t localAddress(const std::string &ifname, in_addr *out) {
  ifaddrs *list = nullptr;
  if (getifaddrs(&list) != 0) {
    return fail(xcclSystemError, "getifaddrs: {}", std::strerror(errno));
  }
  bool found = false;
  for (ifaddrs *entry = list; entry != nullptr && !found; entry = entry->ifa_next) {
    if (entry->ifa_addr == nullptr || entry->ifa_addr->sa_family != AF_INET) continue;
    if (!(entry->ifa_flags & IFF_UP)) continue;
    const bool loopback = (entry->ifa_flags & IFF_LOOPBACK) != 0;
    if (ifname.empty() ? loopback : ifname != entry->ifa_name) continue;
    *out = reinterpret_cast<const sockaddr_in *>(entry->ifa_addr)->sin_addr;
    found = true;
  }
  freeifaddrs(list);
  if (!found && !ifname.empty()) {
    return fail(xcclInvalidArgument, "XCCL_SOCKET_IFNAME={}: no such IPv4 interface is up", ifname);
  }
  if (!found) out->s_addr = htonl(INADDR_LOOPBACK);
  return xcclSuccess;
}

xcclResult_t listenOn(const sockaddr_in &address, Socket *listener, sockaddr_in *bound) {
  Socket made(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!made.valid()) return fail(xcclSystemError, "socket: {}", std::strerror(errno));
  int one = 1;
  setsockopt(made.fd(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(made.fd(), reinterpret_cast<const sockaddr *>(&address), sizeof address) != 0) {
    return fail(xcclSystemError, "bind to {}: {}", formatAddress(address), std::strerror(errno));
  }
  if (listen(made.fd(), SOMAXCONN) != 0) {
    return fail(xcclSystemError, "listen on {}: {}", formatAddress(address), std::strerror(errno));
  }
  socklen_t length = sizeof *bound;
  getsockname(made.fd(), reinterpret_cast<sockaddr *>(bound), &length);
  makeNonBlocking(made.fd());
  *listener = std::move(made);
  return xcclSuccess;
}

xcclResult_t connectTo(const sockaddr_in &address, Deadline deadline, const char *what,
                       Socket *out) {
  int last_error = 0;
  auto retry_pause = std::chrono::milliseconds(1);
  while (!deadline.passed()) {
    Socket attempt(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!attempt.valid()) return fail(xcclSystemError, "socket: {}", std::strerror(errno));
    makeNonBlocking(attempt.fd());
    int status =
        connect(attempt.fd(), reinterpret_cast<const sockaddr *>(&address), sizeof address);
    if (status != 0 && errno == EINPROGRESS) {
      if (!waitReady(attempt.fd(), POLLOUT, deadline)) break;
      socklen_t length = sizeof status;
      getsockopt(attempt.fd(), SOL_SOCKET, SO_ERROR, &status, &length);
      errno = status;
    }
    if (status == 0) {
      setNoDelay(attempt.fd());
      *out = std::move(attempt);
      return xcclSuccess;
    }
    last_error = errno;
    if (last_error != ECONNREFUSED && last_error != ETIMEDOUT && last_error != ECONNRESET &&
        last_error != EAGAIN) {
      break;
    }
    std::this_thread::sleep_for(retry_pause);
    retry_pause = std::min(retry_pause * 2, std::chrono::milliseconds(100));
  }
  if (last_error == 0 || last_error == ECONNREFUSED || deadline.passed()) {
    return fail(xcclTimeout, "{}: could not connect to {} before the deadline ({})", what,
                formatAddress(address), last_error != 0 ? std::strerror(last_error) : "no answer");
  }
  return fail(xcclSystemError, "{}: connect to {}: {}", what, formatAddress(address),
              std::strerror(last_error));
}

xcclResult_t acceptOne(const Socket &listener, Deadline deadline, const char *what, Socket *out) {
  for (;;) {
    const int fd = accept4(listener.fd(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd >= 0) {
      setNoDelay(fd);
      *out = Socket(fd);
      return xcclSuccess;
    }
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      return fail(xcclSystemError, "{}: accept: {}", what, std::strerror(errno));
    }
    if (!waitReady(listener.fd(), POLLIN, deadline)) {
      return fail(xcclTimeout, "{}: no connection arrived before the deadline", what);
    }
  }
}

long sendSome(const Socket &socket, const void *data, size_t bytes) {
  for (;;) {
    const ssize_t sent = ::send(socket.fd(), data, bytes, MSG_NOSIGNAL);
    if (sent >= 0) return sent;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
    return (errno == EPIPE || errno == ECONNRESET) ? kSocketClosed : kSocketFailed;
  }
}

long recvSome(const Socket &socket, void *data, size_t bytes) {
  for (;;) {
    const ssize_t got = ::recv(socket.fd(), data, bytes, 0);
    if (got > 0) return got;
    if (got == 0) return bytes == 0 ? 0 : kSocketClosed;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
    return errno == ECONNRESET ? kSocketClosed : kSocketFailed;
  }
}

xcclResult_t sendAll(const Socket &socket, const void *data, size_t bytes, Deadline deadline,
                     const std::string &what) {
  const char *cursor = static_cast<const char *>(data);
  size_t left = bytes;
  while (left > 0) {
    const long sent = sendSome(socket, cursor, left);
    if (sent == kSocketClosed) {
      return fail(xcclRemoteError, "{} closed the connection", what);
    }
    if (sent == kSocketFailed) {
      return fail(xcclSystemError, "sending to {}: {}", what, std::strerror(errno));
    }
    cursor += sent;
    left -= static_cast<size_t>(sent);
    if (left > 0 && sent == 0 && !waitReady(socket.fd(), POLLOUT, deadline)) {
      return fail(xcclTimeout, "sending {} bytes to {}: {} still unsent at the deadline", bytes,
                  what, left);
    }
  }
  return xcclSuccess;
}

xcclResult_t recvAll(const Socket &socket, void *data, size_t bytes, Deadline deadline,
                     const std::string &what) {
  char *cursor = static_cast<char *>(data);
  size_t left = bytes;
  while (left > 0) {
    const long got = recvSome(socket, cursor, left);
    if (got == kSocketClosed) {
      return fail(xcclRemoteError, "{} closed the connection (exited, killed or aborted)", what);
    }
    if (got == kSocketFailed) {
      return fail(xcclSystemError, "receiving from {}: {}", what, std::strerror(errno));
    }
    cursor += got;
    left -= static_cast<size_t>(got);
    if (left > 0 && got == 0 && !waitReady(socket.fd(), POLLIN, deadline)) {
      return fail(xcclTimeout, "waiting for {} bytes from {}: {} not received by the deadline",
                  bytes, what, left);
    }
  }
  return xcclSuccess;
}

}  // namespace xpool::xccl
