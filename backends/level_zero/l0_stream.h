// Streams and events of the level_zero backend.
//
// A stream is an immediate command list on the device's compute queue group.
// Spec 1.4 has no in-order flag, and without one the driver may overlap or
// reorder appended commands (a small copy can overtake a large one), so:
//  - with a driver of spec 1.7 or newer the list is created in order
//    (ZE_COMMAND_QUEUE_FLAG_IN_ORDER, spelled out here: the 1.4 headers lack it);
//  - otherwise every command is followed by an execution barrier.
// Appends to one list are not thread-safe: the stream's mutex guards them.
//
// Host functions: the list gets a barrier that signals "done" D, a wait on a
// gate G, and a barrier that signals a progress marker P. The stream's worker
// thread waits for D on the host (zeEventHostSynchronize), runs the
// function, then signals G with zeEventHostSignal: the device holds later
// work until the function has returned, without the host having to submit it.
//
// Slot lifetimes: a ze event may be reset and reused only when no command
// can still signal or wait on it. Each stream keeps, in order, the slots its
// commands use together with the marker that follows them ("retained"), and
// lets go of them once that marker has signalled. Synchronize and query append
// one tail marker (reused while nothing new was appended).
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "l0_backend.h"

namespace xpool::level_zero {

struct Retained {
  std::vector<SlotRef> slots;  // used by commands before `progress`
  SlotRef progress;            // signalled by a barrier after them
};

struct HostTask {
  SlotRef done;                   // the device reached the function's place in the stream
  SlotRef gate;                   // the device waits on it before later work
  std::function<Outcome()> work;  // the host function (or a host-side copy or fill)
};

// Appends one command (a function of the list) in stream order; returns
// the first failure. The caller must not hold the stream's mutex.
template <class Append>
ze_result_t appendInOrder(xpbStream *stream, Append &&append);

// Queues host work after everything appended so far; later work waits for it.
xpStatus enqueueHostWork(xpbStream *stream, std::function<Outcome()> work);

// With the stream's mutex held: drops retained slots whose marker signalled.
void collectRetained(xpbStream *stream);
// With the stream's mutex held: appends a barrier that signals a fresh
// marker after everything so far (or reuses the last one), in *out.
Outcome markTail(xpbStream *stream, SlotRef *out);

}  // namespace xpool::level_zero

struct xpbStream {
  xpbContext *ctx = nullptr;
  xpool::level_zero::Device *device = nullptr;
  ze_command_list_handle_t list = nullptr;
  bool in_order = false;

  std::mutex mutex;  // the command list, retained, tail
  std::deque<xpool::level_zero::Retained> retained;
  std::vector<xpool::level_zero::SlotRef> abandoned;  // after a failed append; freed at destroy
  xpool::level_zero::SlotRef tail;
  bool tail_current = false;  // nothing appended since `tail`

  std::mutex work_mutex;  // what follows
  std::condition_variable wake;
  std::deque<xpool::level_zero::HostTask> tasks;
  bool stopping = false;
  std::thread worker;                // started by the first host work
  xpool::level_zero::Outcome error;  // first failure of host work since the last synchronize
  int pins = 0;  // drainDevice calls using the stream (guarded by ctx->streams_mutex)
};

struct xpbEvent {
  xpbContext *ctx = nullptr;
  xpool::level_zero::Device *device = nullptr;
  bool timing = true;
  std::mutex mutex;
  xpool::level_zero::SlotRef latest;  // the latest record's slot; empty if never recorded
};

namespace xpool::level_zero {

template <class Append>
ze_result_t appendInOrder(xpbStream *stream, Append &&append) {
  std::lock_guard lock(stream->mutex);
  ze_result_t result = append(stream->list);
  if (result == ZE_RESULT_SUCCESS && !stream->in_order) {
    result = stream->ctx->api->zeCommandListAppendBarrier(stream->list, nullptr, 0, nullptr);
  }
  stream->tail_current = false;
  collectRetained(stream);
  return result;
}

}  // namespace xpool::level_zero
