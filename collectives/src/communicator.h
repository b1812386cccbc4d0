// The communicator: its ranks, their connections, the engine and the
// buffers it reuses, and the order in which its operations run.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "bootstrap.h"
#include "channel.h"
#include "config.h"
#include "engine.h"
#include "errors.h"
#include "nccl_path.h"
#include "socket.h"
#include "topology.h"
#include "xpool/xccl.h"

namespace xpool::xccl {

// Joins this process's rank to the communicator named by `id` (see
// xcclCommInitRank); `call` names the API call for messages.
xcclResult_t createCommunicator(int nranks, const UniqueIdContents &id, int rank, int device,
                                const char *call, xcclComm **out);
void retain(xcclComm *comm);
// Drops a reference; the last one closes the connections and frees.
void release(xcclComm *comm);

struct Peer {
  Socket control;                    // liveness, kAbort and kCheck frames
  std::unique_ptr<Channel> channel;  // data
  std::string label;                 // "rank 2 (pid 123 on host a, shm)"
};

// Memory a communicator keeps between calls: first touch of fresh pages
// costs about 10 us per 4 KiB, so buffers grow and are reused, never freed
// per call.
class HostBuffer {
 public:
  HostBuffer() = default;
  HostBuffer(const HostBuffer &) = delete;
  HostBuffer &operator=(const HostBuffer &) = delete;
  ~HostBuffer();
  // At least `bytes`; pinned through xpMallocHost when `pinned`.
  xcclResult_t reserve(size_t bytes, bool pinned, void **out);

 private:
  void release();
  void *data_ = nullptr;
  size_t bytes_ = 0;
  bool pinned_ = false;
};

}  // namespace xpool::xccl

struct xcclComm {
  int rank = 0;
  int nranks = 0;
  int device = 0;
  bool device_host_addressable = true;
  std::string device_label;  // "device 1 (opencl)"
  xpool::xccl::Config config;
  uint64_t key[2] = {0, 0};
  std::vector<xpool::xccl::PeerInfo> infos;
  std::vector<xpool::xccl::Peer> peers;  // indexed by rank; peers[rank] is unused
  xpool::xccl::NodeLayout layout;        // which ranks share a node (from infos)
  xpool::xccl::Engine engine{this};
  xpStream own_stream = nullptr;       // for calls with a NULL stream
  xpStream copy_stream = nullptr;      // staging copies of non-host-addressable memory
  xpStream copy_out_stream = nullptr;  // the pipeline's copies back (staging.cpp)
  xpEvent staged_in[2] = {nullptr, nullptr};
  xpEvent staged_out[2] = {nullptr, nullptr};
  // Some rank's device is not host-addressable: element-wise collectives run
  // in chunks on every rank (see staging.h).
  bool chunk_staging = false;
  xpool::xccl::HostBuffer scratch;
  xpool::xccl::HostBuffer stage_in;
  xpool::xccl::HostBuffer stage_out;
  uint64_t check_sequence = 0;
  // Set when this communicator hands operations on device memory to NCCL.
  xpool::xccl::NcclCommPtr nccl;

  // Operations run one at a time in the order they were issued, whether on
  // the caller's thread or in a stream's host function.
  std::mutex mutex;
  std::condition_variable turn;
  uint64_t issued = 0;
  uint64_t finished = 0;
  xpool::xccl::Failure broken;       // sticky: the first failure ends the communicator
  xpool::xccl::Failure async_error;  // the first failure of asynchronous work
  std::atomic<bool> aborted{false};
  // The handle and every queued stream task hold a reference; the last one
  // frees the communicator (a task may still sit in a stream after
  // xcclCommAbort returns).
  std::atomic<int> references{1};

  xpool::xccl::Deadline deadline() const {
    return xpool::xccl::Deadline::afterMs(config.timeout_ms);
  }
  // Records the first failure, tells every peer (kAbort frame) and closes
  // the connections so their waits end too. Returns `result` for chaining.
  xcclResult_t breakWith(xcclResult_t result, const std::string &message, int origin);
  xcclResult_t brokenResult(const char *call);
};
