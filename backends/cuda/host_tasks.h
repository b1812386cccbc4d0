// Host work in CUDA stream order: what launch_host_func needs, and what the
// backend uses for the copies and fills CUDA cannot order itself.
//
// The problem. xpool host functions may block for a long time (the runtime
// uses them to wait for other backends' events and to run staged copies)
// and may call CUDA. cuLaunchHostFunc runs its function on a driver thread
// that serves the callbacks of every stream, where blocking stalls them all
// and calling CUDA is forbidden.
//
// The design. Each stream gets, on first use, a worker thread of its own and
// a 32-bit flag in pinned, device-mapped host memory (a slot of a page from
// cuMemHostAlloc with CU_MEMHOSTALLOC_DEVICEMAP, device address from
// cuMemHostGetDevicePointer; CudaDevice keeps the pages). Task k (k = 1, 2,
// ...) is enqueued as
//
//   cuLaunchHostFunc(stream, reached, gate)   // tiny: counts, wakes the worker
//   cuStreamWaitValue32(stream, flag, k, CU_STREAM_WAIT_VALUE_GEQ)
//
// `reached` runs once the work before it is done; it only bumps a counter
// and signals a condition variable (no CUDA calls, no blocking). The worker
// then runs task k, with the device's context current, and stores k into
// the flag; the stream, held by the wait, goes on to the work after it.
// Tasks run in order and each callback precedes its own wait, so when the
// stream evaluates wait k the flag holds k - 1 or k: one flag per stream
// suffices, and GEQ is a cyclic comparison, so the 32-bit value may wrap.
//
// Fallback. Where cuStreamWaitValue32 is missing or answers
// CUDA_ERROR_NOT_SUPPORTED, a second callback holds the driver thread until
// the worker has finished the task: ordering stays right, but other streams'
// callbacks wait meanwhile (and a task that waits for another stream's host
// function could then wait for its own deadline).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "cuda_backend.h"

namespace xpool::cuda {

class HostTaskGate {
 public:
  // Takes a flag and starts the worker for `stream` on `device`. The caller
  // holds the device's context.
  static xpStatus create(xpbContext *ctx, CudaDevice *device, CUstream stream,
                         std::unique_ptr<HostTaskGate> *out);
  ~HostTaskGate();
  HostTaskGate(const HostTaskGate &) = delete;
  HostTaskGate &operator=(const HostTaskGate &) = delete;

  // Runs `task` on the worker after the work enqueued on the stream before
  // it; work enqueued after it waits for it to return. The caller holds the
  // context of the gate's device.
  xpStatus enqueue(std::function<void()> task);

  // True when every task enqueued so far has returned.
  bool idle() const;

  // Stops the worker and frees the gate once its stream no longer needs it.
  // When tasks are still pending (a synchronize gave up on them) or the
  // stream has not passed its last wait, the flag must outlive the stream's
  // work: the worker is left to finish the tasks on its own and the gate is
  // leaked with its flag (a few hundred bytes; logged as a warning).
  // Returns true when the gate was freed, false when it was left running.
  static bool retire(std::unique_ptr<HostTaskGate> gate);

 private:
  HostTaskGate(xpbContext *ctx, CudaDevice *device, CUstream stream);
  static void CUDA_CB reached(void *gate);
  static void CUDA_CB holdUntilFinished(void *waiter);
  void run();

  xpbContext *ctx_;
  CudaDevice *device_;
  CUstream stream_;
  uint32_t *flag_ = nullptr;  // a pool slot; written only by the worker
  CUdeviceptr flag_device_ = 0;

  std::mutex enqueue_mutex_;  // numbering and enqueueing happen together
  std::atomic<uint64_t> enqueued_{0};
  std::atomic<uint64_t> finished_{0};
  std::atomic<uint64_t> reached_{0};  // callbacks that have run

  mutable std::mutex mutex_;
  std::condition_variable wake_;  // worker: a callback ran, or stop
  std::condition_variable finished_cv_;
  std::deque<std::function<void()>> tasks_;
  uint64_t started_ = 0;   // tasks the worker took (guarded by mutex_)
  bool stopping_ = false;  // after the last task, exit
  std::thread worker_;
};

}  // namespace xpool::cuda
