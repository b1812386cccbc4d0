// Streams and events of the cpu backend.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "cpu_backend.h"

// An in-order queue served by one thread. Work that needs more cores (large
// copies, kernel grids) fans out to the device's worker pool from there.
struct xpbStream {
  xpbContext *ctx = nullptr;
  xpool::cpu::CpuDevice *device = nullptr;
  std::mutex mutex;
  std::condition_variable work_ready;
  std::condition_variable work_done;
  // `after` runs under the stream's lock together with counting the task
  // done, so what it signals (an event) agrees with stream queries. It may
  // take an event's lock, never the other way round.
  struct Task {
    std::function<void()> run;
    std::function<void()> after;
  };
  std::deque<Task> tasks;
  std::atomic<uint64_t> enqueued{0};
  std::atomic<uint64_t> completed{0};
  // Threads asleep on work_done. The worker counts a task done without the
  // lock and takes it only to wake a sleeper: a back-to-back launch then
  // costs the caller one uncontended lock, not a fight with the worker.
  std::atomic<int> sleepers{0};
  bool stopping = false;
  xpStatus error = XP_SUCCESS;  // first failure of asynchronous work
  std::string error_message;
  std::thread worker;

  void enqueue(std::function<void()> run, std::function<void()> after = {});
  void fail(xpStatus status, std::string message);
};

namespace xpool::cpu {

// Shared between the event handle and work that waits on it, so destroying
// the handle never frees state a queued wait still reads.
struct EventState {
  std::mutex mutex;
  std::condition_variable changed;
  uint64_t recorded = 0;   // generation of the latest record
  uint64_t completed = 0;  // latest generation reached
  int64_t time_ns = 0;     // steady clock when `completed` was reached
};

}  // namespace xpool::cpu

struct xpbEvent {
  xpbContext *ctx = nullptr;
  unsigned flags = 0;
  std::shared_ptr<xpool::cpu::EventState> state = std::make_shared<xpool::cpu::EventState>();
};
