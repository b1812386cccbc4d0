#include "wait.h"

#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

namespace xpool::opencl {

namespace {

struct Waiter {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  cl_int status = CL_COMPLETE;
};

struct CallbackCount {
  std::mutex mu;
  std::condition_variable cv;
  int pending = 0;
};

CallbackCount &callbackCount() {
  // Never destroyed: a callback may still run while the process exits.
  static CallbackCount *count = new CallbackCount;
  return *count;
}

void CL_CALLBACK onEventEnd(cl_event, cl_int status, void *user_data) {
  auto *holder = static_cast<std::shared_ptr<Waiter> *>(user_data);
  {
    std::lock_guard<std::mutex> lock((*holder)->mu);
    (*holder)->done = true;
    (*holder)->status = status;
    (*holder)->cv.notify_all();
  }
  delete holder;
  callbackFinished();
}

}  // namespace

Deadline deadlineAfter(uint64_t timeout_ns) {
  // Clamp so that now + timeout cannot overflow (about 146 years).
  constexpr uint64_t kMax = uint64_t{1} << 62;
  auto now = std::chrono::steady_clock::now();
  return now +
         std::chrono::nanoseconds(static_cast<int64_t>(timeout_ns < kMax ? timeout_ns : kMax));
}

cl_int eventStatus(const ClApi &cl, cl_event event, cl_int *exec) {
  return cl.clGetEventInfo(event, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof(cl_int), exec, nullptr);
}

WaitResult waitForEvent(const ClApi &cl, cl_event event, Deadline deadline, cl_int *status) {
  // Short bounded spin first: waking a blocked thread costs 10 us to a
  // scheduler tick, and most waits end within microseconds.
  auto spin_end = std::chrono::steady_clock::now() + std::chrono::microseconds(20);
  if (spin_end > deadline) spin_end = deadline;
  for (;;) {
    cl_int exec = CL_QUEUED;
    cl_int err = eventStatus(cl, event, &exec);
    if (err != CL_SUCCESS) {
      *status = err;
      return WaitResult::kApiError;
    }
    if (exec <= CL_COMPLETE) {
      *status = exec;
      return WaitResult::kDone;
    }
    if (std::chrono::steady_clock::now() >= spin_end) break;
    std::this_thread::yield();
  }
  if (std::chrono::steady_clock::now() >= deadline) return WaitResult::kTimeout;

  auto waiter = std::make_shared<Waiter>();
  auto *holder = new std::shared_ptr<Waiter>(waiter);
  callbackRegistered();
  cl_int err = cl.clSetEventCallback(event, CL_COMPLETE, onEventEnd, holder);
  if (err != CL_SUCCESS) {
    delete holder;
    callbackFinished();
    *status = err;
    return WaitResult::kApiError;
  }
  std::unique_lock<std::mutex> lock(waiter->mu);
  if (!waiter->cv.wait_until(lock, deadline, [&] { return waiter->done; })) {
    return WaitResult::kTimeout;
  }
  *status = waiter->status;
  return WaitResult::kDone;
}

void callbackRegistered() {
  CallbackCount &count = callbackCount();
  std::lock_guard<std::mutex> lock(count.mu);
  ++count.pending;
}

void callbackFinished() {
  CallbackCount &count = callbackCount();
  std::lock_guard<std::mutex> lock(count.mu);
  if (--count.pending == 0) count.cv.notify_all();
}

int drainCallbacks(std::chrono::milliseconds timeout) {
  CallbackCount &count = callbackCount();
  std::unique_lock<std::mutex> lock(count.mu);
  count.cv.wait_for(lock, timeout, [&] { return count.pending == 0; });
  return count.pending;
}

}  // namespace xpool::opencl
