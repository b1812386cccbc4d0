// Streams and events of the hip backend.
//
// A stream is a non-blocking HIP stream plus a worker thread (started at the
// first host function) that keeps xpool's ordering for host work:
//
//  - Device work (copies, fills, launches, records, waits) is submitted to
//    HIP at once on the calling thread, unless host work is queued or
//    running on the stream; then it queues behind it, and the worker submits
//    it, in order, once the host work has returned.
//  - Host work (launch_host_func, host-to-host copies) always queues. The
//    worker waits until the HIP stream has drained what was submitted before
//    it (nothing later has been submitted, so "idle" means "earlier work
//    done"), runs it, then submits what queued behind it.
//
// The GPU therefore never waits for the host: no hipStreamWaitValue32 gate
// is used. Such a gate is an AQL barrier in a hardware queue, and ROCm maps
// streams beyond GPU_MAX_HW_QUEUES (4 by default) onto shared hardware
// queues: a host function that waits for work of another stream (the
// runtime's staged copies and cross-backend waits do) could then deadlock
// behind its own gate. The price is that work after a host function is
// submitted when it returns instead of in advance (one worker wake-up).
//
// Events: each record takes a fresh HIP event from a per-device pool. A
// record that queued behind host work is "pending" until the worker submits
// it: queries say not ready, synchronize waits for it, and stream_wait_event
// answers XPB_FALLBACK (the runtime then waits on the host, with deadline).
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <system_error>
#include <thread>

#include "hip_backend.h"

namespace xpool::hip {

struct StreamTask {
  bool host = false;              // wait for earlier device work, then run on the worker
  std::function<Outcome()> work;  // HIP calls (device work) or host work
};

// Runs `work` (HIP calls on the stream) now on the calling thread, or, while
// host work is queued or running, later on the stream's worker. A failure
// now is returned; a failure later is kept for stream_synchronize.
xpStatus submitDevice(xpbStream *stream, std::function<Outcome()> work);
// Queues host work after everything submitted so far; later work waits for
// it to return.
xpStatus submitHost(xpbStream *stream, std::function<Outcome()> work);

}  // namespace xpool::hip

struct xpbStream {
  xpbContext *ctx = nullptr;
  int device = 0;
  hipStream_t stream = nullptr;

  std::mutex mutex;                 // guards what follows; orders submissions
  std::condition_variable wake;     // the worker: a task arrived, or stop
  std::condition_variable drained;  // tasks is empty and the worker is idle
  std::deque<xpool::hip::StreamTask> tasks;
  bool busy = false;  // the worker is running a task
  bool stopping = false;
  std::thread worker;         // started by the first host work
  xpool::hip::Outcome error;  // first failure of queued work since the last synchronize
  int pins = 0;               // drainDevice calls using the stream (guarded by ctx->streams_mutex)
};

struct xpbEvent {
  xpbContext *ctx = nullptr;
  int device = 0;
  bool timing = true;
  std::mutex mutex;
  xpool::hip::EventRef latest;  // the handle of the latest record; empty if never recorded
};
