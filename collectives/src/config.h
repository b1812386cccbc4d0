// Settings read from XCCL_* environment variables (docs/xccl.md lists them).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace xpool::xccl {

enum class TransportChoice { kAuto, kShm, kTcp, kUcx };
// When XCCL_TRANSPORT=auto takes UCX between nodes (ucx_connect.h).
enum class UcxAuto { kRdma, kAlways, kNever };
enum class AlgoChoice { kAuto, kRing, kDirect, kTree, kHier };
// XCCL_NCCL: whether an all-CUDA communicator hands its operations to NCCL.
enum class NcclChoice { kAuto, kOff, kOn };

struct Config {
  uint32_t timeout_ms = 300000;                        // XCCL_TIMEOUT_MS: every wait's deadline
  TransportChoice transport = TransportChoice::kAuto;  // XCCL_TRANSPORT=auto|shm|tcp|ucx
  UcxAuto ucx_auto = UcxAuto::kRdma;                   // XCCL_UCX_AUTO=rdma|always|never
  AlgoChoice algo = AlgoChoice::kAuto;                 // XCCL_ALGO=auto|ring|direct|tree|hier
  int sockets_per_peer = 2;                            // XCCL_SOCKETS_PER_PEER (TCP)
  size_t shm_fifo_bytes = size_t{4} << 20;             // XCCL_SHM_FIFO_BYTES, per ordered pair
  // XCCL_SHM_SINGLE_COPY_MIN_BYTES: same-node messages from this size on are
  // read straight from the sender's buffer (process_vm_readv); 0, the
  // default, keeps them in the FIFO (measured faster on the project's VMs,
  // docs/benchmarks.md).
  size_t shm_single_copy_min_bytes = 0;
  size_t chunk_bytes = size_t{512} << 10;       // XCCL_CHUNK_BYTES: pipelining unit
  size_t stage_chunk_bytes = size_t{4} << 20;   // XCCL_STAGE_CHUNK_BYTES: staging pipeline unit
  size_t direct_max_bytes = size_t{256} << 10;  // XCCL_DIRECT_MAX_BYTES (auto choice)
  size_t hier_min_bytes = 0;                    // XCCL_HIER_MIN_BYTES (auto; benchmarks.md)
  bool inline_enabled = true;                   // XCCL_INLINE=0 always goes through the stream
  bool check = false;                           // XCCL_CHECK=1 compares calls across ranks
  std::string socket_ifname;                    // XCCL_SOCKET_IFNAME
  NcclChoice nccl = NcclChoice::kAuto;          // XCCL_NCCL=auto|0|1 (nccl_path.h)
  std::string nccl_library = "libnccl.so.2";    // XCCL_NCCL_LIBRARY
};

// Reads the environment each time (a test may change it between comms);
// bad values are reported as warnings and replaced by the defaults.
Config readConfig();

const char *transportName(TransportChoice choice);
const char *algoName(AlgoChoice choice);

}  // namespace xpool::xccl
