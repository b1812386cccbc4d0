#include "config.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "logging.h"

namespace xpool::xccl {
namespace {

// An unsigned value with an optional K/M/G suffix; `fallback` when unset or bad.
uint64_t readSize(const char *name, uint64_t fallback, uint64_t minimum) {
  const char *text = std::getenv(name);
  if (text == nullptr || *text == '\0') return fallback;
  char *end = nullptr;
  unsigned long long value = std::strtoull(text, &end, 10);
  if (end != text) {
    switch (*end) {
      case 'k':
      case 'K':
        value <<= 10;
        ++end;
        break;
      case 'm':
      case 'M':
        value <<= 20;
        ++end;
        break;
      case 'g':
      case 'G':
        value <<= 30;
        ++end;
        break;
      default:
        break;
    }
  }
  if (end == text || *end != '\0' || value < minimum) {
    logger()->warn("{}={} is not a number >= {}; using {}", name, text, minimum, fallback);
    return fallback;
  }
  return value;
}

template <typename Enum, size_t N>
Enum readChoice(const char *name, Enum fallback, const char *const (&names)[N]) {
  const char *text = std::getenv(name);
  if (text == nullptr || *text == '\0') return fallback;
  for (size_t i = 0; i < N; ++i) {
    if (strcasecmp(text, names[i]) == 0) return static_cast<Enum>(i);
  }
  logger()->warn("{}={} is not one of the known values; using {}", name, text,
                 names[static_cast<size_t>(fallback)]);
  return fallback;
}

constexpr const char *kTransportNames[] = {"auto", "shm", "tcp", "ucx"};
constexpr const char *kUcxAutoNames[] = {"rdma", "always", "never"};
constexpr const char *kAlgoNames[] = {"auto", "ring", "direct", "tree", "hier"};
constexpr const char *kNcclNames[] = {"auto", "0", "1"};

}  // namespace

const char *transportName(TransportChoice choice) {
  return kTransportNames[static_cast<size_t>(choice)];
}
const char *algoName(AlgoChoice choice) {
  return kAlgoNames[static_cast<size_t>(choice)];
}

Config readConfig() {
  Config config;
  // Read once: a bad value warns once.
  config.timeout_ms = static_cast<uint32_t>(
      std::min<uint64_t>(readSize("XCCL_TIMEOUT_MS", config.timeout_ms, 1), UINT32_MAX));
  config.transport = readChoice("XCCL_TRANSPORT", config.transport, kTransportNames);
  config.ucx_auto = readChoice("XCCL_UCX_AUTO", config.ucx_auto, kUcxAutoNames);
  config.algo = readChoice("XCCL_ALGO", config.algo, kAlgoNames);
  config.sockets_per_peer =
      static_cast<int>(readSize("XCCL_SOCKETS_PER_PEER", config.sockets_per_peer, 1));
  if (config.sockets_per_peer > 16) config.sockets_per_peer = 16;
  // The FIFO is a multiple of 64 bytes so that every message starts on a
  // cache line and no element straddles the wrap-around.
  config.shm_fifo_bytes =
      readSize("XCCL_SHM_FIFO_BYTES", config.shm_fifo_bytes, 4096) & ~size_t{63};
  config.shm_single_copy_min_bytes =
      readSize("XCCL_SHM_SINGLE_COPY_MIN_BYTES", config.shm_single_copy_min_bytes, 0);
  config.chunk_bytes = readSize("XCCL_CHUNK_BYTES", config.chunk_bytes, 4096) & ~size_t{63};
  config.stage_chunk_bytes =
      readSize("XCCL_STAGE_CHUNK_BYTES", config.stage_chunk_bytes, 4096) & ~size_t{63};
  config.direct_max_bytes = readSize("XCCL_DIRECT_MAX_BYTES", config.direct_max_bytes, 0);
  config.hier_min_bytes = readSize("XCCL_HIER_MIN_BYTES", config.hier_min_bytes, 0);
  config.inline_enabled = readSize("XCCL_INLINE", 1, 0) != 0;
  config.check = readSize("XCCL_CHECK", 0, 0) != 0;
  if (const char *ifname = std::getenv("XCCL_SOCKET_IFNAME")) config.socket_ifname = ifname;
  config.nccl = readChoice("XCCL_NCCL", config.nccl, kNcclNames);
  if (const char *library = std::getenv("XCCL_NCCL_LIBRARY"); library != nullptr && *library != 0) {
    config.nccl_library = library;
  }
  return config;
}

}  // namespace xpool::xccl
