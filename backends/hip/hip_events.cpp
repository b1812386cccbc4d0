// Events of the hip backend: one pooled HIP event per record (hip_stream.h).
#include <utility>

#include "hip_stream.h"

namespace xpool::hip {
namespace {

EventRef latestOf(xpbEvent *event) {
  std::lock_guard lock(event->mutex);
  return event->latest;
}

// XP_SUCCESS, XP_ERROR_NOT_READY, or a failure with its message set.
xpStatus queryHandle(xpbContext *ctx, const EventRef &handle) {
  switch (handle->state.load(std::memory_order_acquire)) {
    case EventHandle::kPending:
      return XP_ERROR_NOT_READY;  // still queued behind a host function
    case EventHandle::kFailed:
      return xpbFail(ctx->host, XP_ERROR_BACKEND, "the record of this event failed: %s",
                     handle->failure.c_str());
    default:
      break;
  }
  hipError_t error = ctx->api->hipEventQuery(handle->event);
  if (error == hipSuccess) return XP_SUCCESS;
  if (error == hipErrorNotReady) return XP_ERROR_NOT_READY;
  return hipFail(ctx, "hipEventQuery", error, "on an event of hip device %d", handle->device);
}

}  // namespace

xpStatus eventCreate(xpbContext *ctx, int device, unsigned flags, xpbEvent **out) {
  auto *event = new xpbEvent;
  event->ctx = ctx;
  event->device = device;
  event->timing = (flags & XP_EVENT_DISABLE_TIMING) == 0;
  *out = event;
  return XP_SUCCESS;
}

xpStatus eventDestroy(xpbEvent *event) {
  // Streams that still wait on a record hold its handle; it goes back to the
  // pool when the last of them lets go.
  delete event;
  return XP_SUCCESS;
}

xpStatus eventRecord(xpbEvent *event, xpbStream *stream) {
  xpbContext *ctx = event->ctx;
  if (xpStatus status = useDevice(ctx, event->device); status != XP_SUCCESS) return status;
  EventRef handle;
  hipError_t error =
      ctx->event_pools[static_cast<size_t>(event->device)]->acquire(event->timing, &handle);
  if (error != hipSuccess) {
    return hipFail(ctx, "hipEventCreateWithFlags", error, "for an event of hip device %d",
                   event->device);
  }
  {
    std::lock_guard lock(event->mutex);
    event->latest = handle;
  }
  const HipApi *api = ctx->api;
  hipStream_t native = stream->stream;
  const int device = stream->device;
  return submitDevice(stream, [api, handle, native, device]() -> Outcome {
    hipError_t result = api->hipEventRecord(handle->event, native);
    if (result == hipSuccess) {
      handle->state.store(EventHandle::kRecorded, std::memory_order_release);
      return {};
    }
    Outcome failure =
        hipOutcome(api, "hipEventRecord", result, "on a stream of hip device %d", device);
    handle->failure = failure.message;
    handle->state.store(EventHandle::kFailed, std::memory_order_release);
    return failure;
  });
}

xpStatus eventQuery(xpbEvent *event) {
  EventRef handle = latestOf(event);
  if (!handle) return XP_SUCCESS;  // never recorded
  if (xpStatus status = useDevice(event->ctx, event->device); status != XP_SUCCESS) return status;
  return queryHandle(event->ctx, handle);
}

xpStatus eventSynchronize(xpbEvent *event, uint64_t timeout_ns) {
  EventRef handle = latestOf(event);
  if (!handle) return XP_SUCCESS;
  xpbContext *ctx = event->ctx;
  if (xpStatus status = useDevice(ctx, event->device); status != XP_SUCCESS) return status;
  // hipEventSynchronize has no deadline: poll.
  xpStatus status = XP_ERROR_NOT_READY;
  const bool finished = pollUntil(deadlineAfter(timeout_ns), [&] {
    status = queryHandle(ctx, handle);
    return status != XP_ERROR_NOT_READY;
  });
  if (!finished) {
    const bool queued = handle->state.load() == EventHandle::kPending;
    return xpbFail(ctx->host, XP_ERROR_TIMEOUT, "hip event on device %d not reached after %.3f s%s",
                   event->device, static_cast<double>(timeout_ns) / 1e9,
                   queued ? " (its record is still queued behind a host function)" : "");
  }
  return status;
}

xpStatus eventElapsed(xpbEvent *start, xpbEvent *end, float *ms) {
  xpbContext *ctx = start->ctx;
  EventRef handles[2] = {latestOf(start), latestOf(end)};
  const char *roles[2] = {"start", "end"};
  for (int i = 0; i < 2; ++i) {
    if (!handles[i]) {
      return xpbFail(ctx->host, XP_ERROR_INVALID_VALUE, "the %s event was never recorded",
                     roles[i]);
    }
    if (!handles[i]->timing) {
      return xpbFail(ctx->host, XP_ERROR_INVALID_VALUE,
                     "the %s event was created with XP_EVENT_DISABLE_TIMING", roles[i]);
    }
  }
  if (xpStatus status = useDevice(ctx, start->device); status != XP_SUCCESS) return status;
  for (int i = 0; i < 2; ++i) {
    xpStatus status = queryHandle(ctx, handles[i]);
    if (status == XP_ERROR_NOT_READY) {
      return xpbFail(ctx->host, XP_ERROR_NOT_READY, "the %s event has not completed", roles[i]);
    }
    if (status != XP_SUCCESS) return status;
  }
  float elapsed = 0.0f;
  hipError_t error = ctx->api->hipEventElapsedTime(&elapsed, handles[0]->event, handles[1]->event);
  if (error != hipSuccess) {
    return hipFail(ctx, "hipEventElapsedTime", error, "between events of hip devices %d and %d",
                   start->device, end->device);
  }
  *ms = elapsed;
  return XP_SUCCESS;
}

xpStatus streamWaitEvent(xpbStream *stream, xpbEvent *event) {
  EventRef handle = latestOf(event);
  if (!handle) return XP_SUCCESS;  // never recorded: nothing to wait for
  switch (handle->state.load(std::memory_order_acquire)) {
    case EventHandle::kPending:
      // The record itself is queued behind a host function of another
      // stream: the runtime waits for it on the host, with its deadline.
      return XPB_FALLBACK;
    case EventHandle::kFailed:
      return xpbFail(stream->ctx->host, XP_ERROR_BACKEND, "the record of this event failed: %s",
                     handle->failure.c_str());
    default:
      break;
  }
  const HipApi *api = stream->ctx->api;
  hipStream_t native = stream->stream;
  const int device = stream->device;
  // The lambda holds the handle: the wait is on this record even if the
  // event is recorded again before a queued wait reaches HIP.
  return submitDevice(stream, [api, handle, native, device]() -> Outcome {
    hipError_t error = api->hipStreamWaitEvent(native, handle->event, 0);
    if (error == hipSuccess) return {};
    return hipOutcome(api, "hipStreamWaitEvent", error,
                      "making a stream of hip device %d wait for an event of hip device %d", device,
                      handle->device);
  });
}

}  // namespace xpool::hip
