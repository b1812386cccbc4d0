#include "cpu_stream.h"

#include <chrono>
#include <cstring>
#include <utility>
#include <vector>

#include "spin_wait.h"

namespace xpool::cpu {
namespace {

using Clock = std::chrono::steady_clock;

// Waking a sleeping thread costs 10 us to a scheduler tick; a short spin
// first keeps back-to-back launches and synchronizes fast.
constexpr auto kSpin = std::chrono::microseconds(30);

int64_t nowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

// Spins for about kSpin while `idle` holds, reading the clock only now and
// then (a clock read costs as much as several pauses).
template <typename Predicate>
void spinWhile(Predicate idle) {
  const auto spin_until = Clock::now() + kSpin;
  SpinWait spin;
  for (unsigned i = 1; idle(); ++i) {
    if (i % 16 == 0 && Clock::now() >= spin_until) return;
    spin.once();
  }
}

// Wakes synchronizers asleep on work_done. Taking the lock orders this after
// a sleeper's check of `completed` (made under the lock, after it counted
// itself in `sleepers`), so the wake-up cannot fall between the two.
void wakeSleepers(xpbStream *stream) {
  if (stream->sleepers.load() == 0) return;
  { std::lock_guard lock(stream->mutex); }
  stream->work_done.notify_all();
}

void workerLoop(xpbStream *stream) {
  std::deque<xpbStream::Task> batch;
  std::unique_lock lock(stream->mutex);
  for (;;) {
    if (stream->tasks.empty()) {
      lock.unlock();
      spinWhile([stream] {
        return stream->completed.load(std::memory_order_relaxed) ==
               stream->enqueued.load(std::memory_order_relaxed);
      });
      lock.lock();
      stream->work_ready.wait(lock,
                              [stream] { return stream->stopping || !stream->tasks.empty(); });
      if (stream->tasks.empty()) return;  // stopping, and nothing left
    }
    // Everything queued so far, taken in one go: the caller can go on
    // enqueueing while these run.
    batch.swap(stream->tasks);
    lock.unlock();
    for (xpbStream::Task &task : batch) {
      task.run();
      if (task.after) {
        // `after` and the count change together under the stream's lock:
        // whoever sees the event complete sees the stream reach it.
        std::lock_guard after_lock(stream->mutex);
        task.after();
        stream->completed.fetch_add(1);
      } else {
        stream->completed.fetch_add(1);
      }
      wakeSleepers(stream);
    }
    batch.clear();
    lock.lock();
  }
}

// The host address of one side of a copy: device memory here is host memory.
void *addressOf(const xpbMemRef &ref) {
  if (ref.host != nullptr) return ref.host;
  return static_cast<char *>(ref.buffer) + ref.offset;
}

}  // namespace

xpStatus streamCreate(xpbContext *ctx, int device, xpbStream **out) {
  auto stream = std::make_unique<xpbStream>();
  stream->ctx = ctx;
  stream->device = ctx->devices[static_cast<size_t>(device)].get();
  stream->worker = std::thread(workerLoop, stream.get());
  *out = stream.release();
  return XP_SUCCESS;
}

xpStatus streamDestroy(xpbStream *stream) {
  {
    std::lock_guard lock(stream->mutex);
    stream->stopping = true;
  }
  stream->work_ready.notify_all();
  stream->worker.join();  // runs what is left first
  delete stream;
  return XP_SUCCESS;
}

xpStatus streamSynchronize(xpbStream *stream, uint64_t timeout_ns) {
  uint64_t target;
  {
    std::lock_guard lock(stream->mutex);
    target = stream->enqueued.load();
  }
  spinWhile([&] { return stream->completed.load(std::memory_order_acquire) < target; });
  std::unique_lock lock(stream->mutex);
  const auto deadline = Clock::now() + std::chrono::nanoseconds(timeout_ns);
  stream->sleepers.fetch_add(1);
  const bool reached = stream->work_done.wait_until(
      lock, deadline, [&] { return stream->completed.load() >= target; });
  stream->sleepers.fetch_sub(1);
  if (!reached) {
    return xpbFail(stream->ctx->host, XP_ERROR_TIMEOUT,
                   "cpu stream still has %llu of %llu operations pending after %.3f s",
                   static_cast<unsigned long long>(target - stream->completed.load()),
                   static_cast<unsigned long long>(target), static_cast<double>(timeout_ns) / 1e9);
  }
  if (stream->error != XP_SUCCESS) {
    xpStatus status = std::exchange(stream->error, XP_SUCCESS);
    return stream->ctx->host->set_error(status, std::exchange(stream->error_message, {}).c_str());
  }
  return XP_SUCCESS;
}

xpStatus streamQuery(xpbStream *stream) {
  std::lock_guard lock(stream->mutex);
  return stream->completed.load() >= stream->enqueued.load() ? XP_SUCCESS : XP_ERROR_NOT_READY;
}

xpStatus memcpyAsync(xpbStream *stream, xpbMemRef dst, xpbMemRef src, size_t bytes) {
  void *to = addressOf(dst);
  const void *from = addressOf(src);
  WorkerPool *pool = stream->device->pool.get();
  stream->enqueue([pool, to, from, bytes] { parallelCopy(*pool, to, from, bytes); });
  return XP_SUCCESS;
}

xpStatus memsetAsync(xpbStream *stream, xpbMemRef dst, int value, size_t bytes) {
  void *to = addressOf(dst);
  WorkerPool *pool = stream->device->pool.get();
  stream->enqueue([pool, to, value, bytes] { parallelFill(*pool, to, value, bytes); });
  return XP_SUCCESS;
}

xpStatus launchHostFunc(xpbStream *stream, xpHostFn fn, void *user_data) {
  stream->enqueue([fn, user_data] { fn(user_data); });
  return XP_SUCCESS;
}

xpStatus eventCreate(xpbContext *ctx, int device, unsigned flags, xpbEvent **out) {
  (void)device;
  auto *event = new xpbEvent;
  event->ctx = ctx;
  event->flags = flags;
  *out = event;
  return XP_SUCCESS;
}

xpStatus eventDestroy(xpbEvent *event) {
  delete event;
  return XP_SUCCESS;
}

xpStatus eventRecord(xpbEvent *event, xpbStream *stream) {
  std::shared_ptr<EventState> state = event->state;
  uint64_t generation;
  {
    std::lock_guard lock(state->mutex);
    generation = ++state->recorded;
  }
  // The time is taken when the stream reaches the record; the event counts
  // as complete only after the stream has counted that step done.
  auto reached_ns = std::make_shared<int64_t>(0);
  stream->enqueue([reached_ns] { *reached_ns = nowNs(); },
                  [state, generation, reached_ns] {
                    std::lock_guard lock(state->mutex);
                    if (generation > state->completed) {
                      state->completed = generation;
                      state->time_ns = *reached_ns;
                    }
                    state->changed.notify_all();
                  });
  return XP_SUCCESS;
}

xpStatus eventQuery(xpbEvent *event) {
  std::lock_guard lock(event->state->mutex);
  return event->state->completed >= event->state->recorded ? XP_SUCCESS : XP_ERROR_NOT_READY;
}

xpStatus eventSynchronize(xpbEvent *event, uint64_t timeout_ns) {
  EventState &state = *event->state;
  std::unique_lock lock(state.mutex);
  const uint64_t target = state.recorded;
  const auto deadline = Clock::now() + std::chrono::nanoseconds(timeout_ns);
  if (!state.changed.wait_until(lock, deadline, [&] { return state.completed >= target; })) {
    return xpbFail(event->ctx->host, XP_ERROR_TIMEOUT, "cpu event not reached after %.3f s",
                   static_cast<double>(timeout_ns) / 1e9);
  }
  return XP_SUCCESS;
}

xpStatus eventElapsed(xpbEvent *start, xpbEvent *end, float *ms) {
  int64_t t0, t1;
  for (xpbEvent *event : {start, end}) {
    std::lock_guard lock(event->state->mutex);
    if (event->state->recorded == 0) {
      return xpbFail(event->ctx->host, XP_ERROR_INVALID_VALUE, "event %p was never recorded",
                     static_cast<void *>(event));
    }
    if (event->state->completed < event->state->recorded) {
      return xpbFail(event->ctx->host, XP_ERROR_NOT_READY, "event %p has not completed",
                     static_cast<void *>(event));
    }
  }
  {
    std::lock_guard lock(start->state->mutex);
    t0 = start->state->time_ns;
  }
  {
    std::lock_guard lock(end->state->mutex);
    t1 = end->state->time_ns;
  }
  *ms = static_cast<float>(static_cast<double>(t1 - t0) / 1e6);
  return XP_SUCCESS;
}

xpStatus streamWaitEvent(xpbStream *stream, xpbEvent *event) {
  std::shared_ptr<EventState> state = event->state;
  uint64_t target;
  {
    std::lock_guard lock(state->mutex);
    target = state->recorded;  // wait for the record made before this call
  }
  if (target == 0) return XP_SUCCESS;
  stream->enqueue([stream, state, target] {
    std::unique_lock lock(state->mutex);
    const uint64_t timeout_ns = xpbDefaultTimeoutNs();
    const auto deadline = Clock::now() + std::chrono::nanoseconds(timeout_ns);
    if (!state->changed.wait_until(lock, deadline, [&] { return state->completed >= target; })) {
      lock.unlock();
      stream->fail(XP_ERROR_TIMEOUT, "a wait for a cpu event gave up after " +
                                         std::to_string(static_cast<double>(timeout_ns) / 1e9) +
                                         " s");
    }
  });
  return XP_SUCCESS;
}

}  // namespace xpool::cpu

void xpbStream::enqueue(std::function<void()> run, std::function<void()> after) {
  {
    std::lock_guard lock(mutex);
    tasks.push_back({std::move(run), std::move(after)});
    enqueued.fetch_add(1, std::memory_order_relaxed);
  }
  work_ready.notify_one();
}

void xpbStream::fail(xpStatus status, std::string message) {
  std::lock_guard lock(mutex);
  if (error == XP_SUCCESS) {
    error = status;
    error_message = std::move(message);
  }
}
