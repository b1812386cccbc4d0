// Streams and events of the cuda backend.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "cuda_backend.h"
#include "host_tasks.h"

// A non-blocking CUDA stream, plus (from the first host function on) the
// gate that runs host work in its order.
struct xpbStream {
  xpbContext *ctx = nullptr;
  xpool::cuda::CudaDevice *device = nullptr;
  CUstream stream = nullptr;
  CUevent sync_event = nullptr;  // recorded by stream_synchronize, then polled

  std::mutex mutex;  // guards everything below
  std::unique_ptr<xpool::cuda::HostTaskGate> gate;
  CUstream side_stream = nullptr;  // copies that host tasks make (see memcpyAsync)
  xpStatus error = XP_SUCCESS;     // first failure of asynchronous host work
  std::string error_message;

  void fail(xpStatus status, std::string message);
};

struct xpbEvent {
  xpbContext *ctx = nullptr;
  xpool::cuda::CudaDevice *device = nullptr;
  CUevent event = nullptr;
  unsigned flags = 0;
  std::atomic<bool> recorded{false};
};
