// Events: a marker recorded into a stream (possibly deferred behind a host
// function, see xpbStream), queried, waited for with a deadline and timed
// with the queue's profiling counters.
//
// Timing uses CL_PROFILING_COMMAND_END of the two markers. PoCL 3.1 (pthread
// and basic drivers) reports profiling for markers, and a marker in an
// in-order queue ends once the commands before it have ended, so the
// difference is the time between the two points of the stream.
#include "objects.h"

namespace xpool::opencl {

namespace {

std::shared_ptr<Record> acquire(xpbEvent *event) {
  std::lock_guard<std::mutex> lock(event->mu);
  return event->record;
}

bool isResolved(Record &record) {
  std::lock_guard<std::mutex> lock(record.mu);
  return record.resolved;
}

}  // namespace

Record::~Record() {
  if (event != nullptr) cl->clReleaseEvent(event);
}

void Record::resolve(cl_event marker, OpStatus why) {
  std::lock_guard<std::mutex> lock(mu);
  event = marker;
  failure = std::move(why);
  resolved = true;
  cv.notify_all();
}

bool Record::waitResolved(Deadline deadline) {
  std::unique_lock<std::mutex> lock(mu);
  return cv.wait_until(lock, deadline, [&] { return resolved; });
}

xpStatus eventCreate(xpbContext *ctx, int device, unsigned flags, xpbEvent **out) {
  Device *d = deviceAt(ctx, device, "event_create");
  if (d == nullptr) return XP_ERROR_INVALID_VALUE;
  if (out == nullptr)
    return xpbFail(ctx->host, XP_ERROR_INVALID_VALUE, "event_create: out is NULL");
  if ((flags & ~XP_EVENT_DISABLE_TIMING) != 0) {
    return xpbFail(ctx->host, XP_ERROR_INVALID_VALUE, "event_create: unknown flags 0x%x", flags);
  }
  auto *event = new xpbEvent;
  event->ctx = ctx;
  event->dev = d;
  event->flags = flags;
  {
    std::lock_guard<std::mutex> lock(ctx->mu);
    ctx->events.insert(event);
  }
  *out = event;
  return XP_SUCCESS;
}

xpStatus eventDestroy(xpbEvent *event) {
  if (event == nullptr) return XP_ERROR_INVALID_HANDLE;
  {
    std::lock_guard<std::mutex> lock(event->ctx->mu);
    event->ctx->events.erase(event);
  }
  delete event;  // a marker still deferred keeps its Record alive
  return XP_SUCCESS;
}

xpStatus eventRecord(xpbEvent *event, xpbStream *stream) {
  xpbContext *ctx = event->ctx;
  if (stream->dev != event->dev) {
    return xpbFail(ctx->host, XP_ERROR_INVALID_VALUE,
                   "event_record: the event belongs to %s but the stream to %s",
                   event->dev->label.c_str(), stream->dev->label.c_str());
  }
  auto record = std::make_shared<Record>(stream->cl, stream);
  {
    std::lock_guard<std::mutex> lock(stream->mu);
    xpStatus status = stream->submit(recordOp(stream, record));
    if (status != XP_SUCCESS) return status;
  }
  std::lock_guard<std::mutex> lock(event->mu);
  event->record = std::move(record);
  return XP_SUCCESS;
}

xpStatus eventQuery(xpbEvent *event) {
  xpbContext *ctx = event->ctx;
  std::shared_ptr<Record> record = acquire(event);
  if (!record) return XP_SUCCESS;  // never recorded
  if (!isResolved(*record)) return XP_ERROR_NOT_READY;
  if (!record->failure.ok()) return report(ctx->host, record->failure);
  cl_int exec = CL_QUEUED;
  cl_int err = eventStatus(*ctx->cl, record->event, &exec);
  if (err != CL_SUCCESS) {
    return clFail(ctx->host, "clGetEventInfo", err, "querying an event on %s",
                  event->dev->label.c_str());
  }
  if (exec < 0) {
    return clFailAs(ctx->host, XP_ERROR_BACKEND, "event_query", exec,
                    "work before the event on %s failed", event->dev->label.c_str());
  }
  return exec == CL_COMPLETE ? XP_SUCCESS : XP_ERROR_NOT_READY;
}

xpStatus eventSynchronize(xpbEvent *event, uint64_t timeout_ns) {
  xpbContext *ctx = event->ctx;
  Deadline deadline = deadlineAfter(timeout_ns);
  std::shared_ptr<Record> record = acquire(event);
  if (!record) return XP_SUCCESS;
  const char *label = event->dev->label.c_str();
  double ms = static_cast<double>(timeout_ns) / 1e6;
  if (!record->waitResolved(deadline)) {
    return xpbFail(ctx->host, XP_ERROR_TIMEOUT,
                   "event_synchronize: a host function before the event on %s still running after "
                   "%.3f ms",
                   label, ms);
  }
  if (!record->failure.ok()) return report(ctx->host, record->failure);
  cl_int status = CL_SUCCESS;
  switch (waitForEvent(*ctx->cl, record->event, deadline, &status)) {
    case WaitResult::kTimeout:
      return xpbFail(ctx->host, XP_ERROR_TIMEOUT,
                     "event_synchronize: event on %s not complete after %.3f ms", label, ms);
    case WaitResult::kApiError:
      return clFail(ctx->host, "clSetEventCallback", status, "waiting for an event on %s", label);
    case WaitResult::kDone:
      break;
  }
  if (status < 0) {
    return clFailAs(ctx->host, XP_ERROR_BACKEND, "event_synchronize", status,
                    "work before the event on %s failed", label);
  }
  return XP_SUCCESS;
}

xpStatus eventElapsed(xpbEvent *start, xpbEvent *end, float *ms) {
  xpbContext *ctx = start->ctx;
  if (ms == nullptr) return xpbFail(ctx->host, XP_ERROR_INVALID_VALUE, "event_elapsed: ms is NULL");
  if (((start->flags | end->flags) & XP_EVENT_DISABLE_TIMING) != 0) {
    return xpbFail(ctx->host, XP_ERROR_INVALID_VALUE,
                   "event_elapsed: the %s event was created with XP_EVENT_DISABLE_TIMING",
                   (start->flags & XP_EVENT_DISABLE_TIMING) != 0 ? "start" : "end");
  }
  if (start->dev->platform != end->dev->platform) {
    return xpbFail(ctx->host, XP_ERROR_INVALID_VALUE,
                   "event_elapsed: %s and %s are on different OpenCL platforms, whose clocks are "
                   "unrelated",
                   start->dev->label.c_str(), end->dev->label.c_str());
  }
  std::shared_ptr<Record> records[2] = {acquire(start), acquire(end)};
  cl_ulong times[2] = {0, 0};
  for (int i = 0; i < 2; ++i) {
    const char *which = i == 0 ? "start" : "end";
    Record *record = records[i].get();
    if (record == nullptr) {
      return xpbFail(ctx->host, XP_ERROR_INVALID_VALUE,
                     "event_elapsed: the %s event was never "
                     "recorded",
                     which);
    }
    if (!isResolved(*record)) return XP_ERROR_NOT_READY;
    if (!record->failure.ok()) return report(ctx->host, record->failure);
    cl_int exec = CL_QUEUED;
    cl_int err = eventStatus(*ctx->cl, record->event, &exec);
    if (err != CL_SUCCESS) {
      return clFail(ctx->host, "clGetEventInfo", err, "querying the %s event", which);
    }
    if (exec < 0) {
      return clFailAs(ctx->host, XP_ERROR_BACKEND, "event_elapsed", exec,
                      "work before the %s event failed", which);
    }
    if (exec != CL_COMPLETE) return XP_ERROR_NOT_READY;
    err = ctx->cl->clGetEventProfilingInfo(record->event, CL_PROFILING_COMMAND_END,
                                           sizeof(cl_ulong), &times[i], nullptr);
    if (err != CL_SUCCESS) {
      return clFail(ctx->host, "clGetEventProfilingInfo", err,
                    "reading CL_PROFILING_COMMAND_END of the %s event", which);
    }
  }
  double delta = static_cast<double>(times[1]) - static_cast<double>(times[0]);
  *ms = static_cast<float>(delta / 1e6);
  return XP_SUCCESS;
}

xpStatus streamWaitEvent(xpbStream *stream, xpbEvent *event) {
  xpbContext *ctx = stream->ctx;
  std::shared_ptr<Record> record = acquire(event);
  if (!record) return XP_SUCCESS;  // never recorded: nothing to wait for
  // Different contexts cannot share events: the runtime waits on the host.
  if (event->dev->platform != stream->dev->platform) return XPB_FALLBACK;
  if (!isResolved(*record)) {
    // The marker is still deferred behind a host function. On its own
    // stream, order already holds; elsewhere the runtime waits on the host.
    return record->origin == stream ? XP_SUCCESS : XPB_FALLBACK;
  }
  if (!record->failure.ok()) return report(ctx->host, record->failure);
  cl_int exec = CL_QUEUED;
  cl_int err = eventStatus(*ctx->cl, record->event, &exec);
  if (err != CL_SUCCESS) {
    return clFail(ctx->host, "clGetEventInfo", err, "querying an event on %s",
                  event->dev->label.c_str());
  }
  if (exec == CL_COMPLETE) return XP_SUCCESS;
  if (exec < 0) {
    return clFailAs(ctx->host, XP_ERROR_BACKEND, "stream_wait_event", exec,
                    "work before the event on %s failed", event->dev->label.c_str());
  }
  if (stream->dev->pocl_basic) return XPB_FALLBACK;  // see Device::pocl_basic
  const ClApi *api = ctx->cl;
  Op op = [stream, api, record]() -> OpStatus {
    cl_event barrier = nullptr;
    cl_int error = api->clEnqueueBarrierWithWaitList(stream->queue, 1, &record->event, &barrier);
    if (error != CL_SUCCESS) {
      return clError("clEnqueueBarrierWithWaitList", error, "waiting for an event on %s",
                     stream->dev->label.c_str());
    }
    stream->setLast(barrier);
    return OpStatus{};
  };
  std::lock_guard<std::mutex> lock(stream->mu);
  return stream->submit(std::move(op));
}

}  // namespace xpool::opencl
