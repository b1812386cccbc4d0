// Waiting for a cl_event with a deadline.
//
// clWaitForEvents and clFinish have no timeout, so a wait registers a
// clSetEventCallback that signals a condition variable and waits on it with
// wait_until. The waiter state is reference counted: when the deadline
// passes the caller returns and the callback, which fires whenever the
// command ends, drops the last reference.
#pragma once

#include <chrono>
#include <cstdint>

#include "cl_api.h"

namespace xpool::opencl {

enum class WaitResult {
  kDone,     // the command ended; *status is CL_COMPLETE or its negative error
  kTimeout,  // the deadline passed first
  kApiError  // an OpenCL call failed; *status is its error code
};

// Reads CL_EVENT_COMMAND_EXECUTION_STATUS into *exec; returns the API error.
cl_int eventStatus(const ClApi &cl, cl_event event, cl_int *exec);

using Deadline = std::chrono::steady_clock::time_point;

// now + timeout_ns, clamped so that it cannot overflow.
Deadline deadlineAfter(uint64_t timeout_ns);

// Waits until `deadline` (a past one only polls) for `event` to end.
WaitResult waitForEvent(const ClApi &cl, cl_event event, Deadline deadline, cl_int *status);

// Every clSetEventCallback this plugin registers is counted until its
// callback has returned, so that shutdown can wait for them (the callbacks
// run code of this library, which the runtime may unload after shutdown).
void callbackRegistered();
void callbackFinished();
// Waits up to `timeout` for the count to reach zero; returns what is left.
int drainCallbacks(std::chrono::milliseconds timeout);

}  // namespace xpool::opencl
