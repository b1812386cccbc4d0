// Events of the cuda backend.
#include "streams.h"

namespace xpool::cuda {

xpStatus eventCreate(xpbContext *ctx, int index, unsigned flags, xpbEvent **out) {
  CudaDevice &device = ctx->device(index);
  ScopedContext scope(ctx->api, device);
  const unsigned cuda_flags =
      (flags & XP_EVENT_DISABLE_TIMING) != 0 ? CU_EVENT_DISABLE_TIMING : CU_EVENT_DEFAULT;
  CUevent handle = nullptr;
  if (CUresult r = ctx->api.cuEventCreate(&handle, cuda_flags); r != CUDA_SUCCESS) {
    return failCuda(ctx->host, ctx->api, "cuEventCreate", r,
                    format("creating an event (flags 0x%x) on cuda device %d", flags, index));
  }
  auto *event = new xpbEvent;
  event->ctx = ctx;
  event->device = &device;
  event->event = handle;
  event->flags = flags;
  *out = event;
  return XP_SUCCESS;
}

xpStatus eventDestroy(xpbEvent *event) {
  const CudaApi &api = event->ctx->api;
  ScopedContext scope(api, *event->device);
  const CUresult r = api.cuEventDestroy(event->event);
  xpbContext *ctx = event->ctx;
  const int index = event->device->index;
  delete event;
  if (r != CUDA_SUCCESS) {
    return failCuda(ctx->host, api, "cuEventDestroy", r,
                    format("destroying an event of cuda device %d", index));
  }
  return XP_SUCCESS;
}

xpStatus eventRecord(xpbEvent *event, xpbStream *stream) {
  const CudaApi &api = event->ctx->api;
  ScopedContext scope(api, *stream->device);
  if (CUresult r = api.cuEventRecord(event->event, stream->stream); r != CUDA_SUCCESS) {
    return failCuda(event->ctx->host, api, "cuEventRecord", r,
                    format("recording an event of cuda device %d on a stream of cuda device %d",
                           event->device->index, stream->device->index));
  }
  event->recorded.store(true, std::memory_order_release);
  return XP_SUCCESS;
}

xpStatus eventQuery(xpbEvent *event) {
  const CudaApi &api = event->ctx->api;
  ScopedContext scope(api, *event->device);
  const CUresult r = api.cuEventQuery(event->event);  // a never-recorded event is complete
  if (r == CUDA_SUCCESS) return XP_SUCCESS;
  if (r == CUDA_ERROR_NOT_READY) return XP_ERROR_NOT_READY;
  return failCuda(event->ctx->host, api, "cuEventQuery", r,
                  format("on an event of cuda device %d", event->device->index));
}

xpStatus eventSynchronize(xpbEvent *event, uint64_t timeout_ns) {
  const CudaApi &api = event->ctx->api;
  ScopedContext scope(api, *event->device);
  const CUresult r = pollUntilDone([&] { return api.cuEventQuery(event->event); }, timeout_ns);
  if (r == CUDA_SUCCESS) return XP_SUCCESS;
  if (r == CUDA_ERROR_TIMEOUT) {
    return fail(event->ctx->host, XP_ERROR_TIMEOUT,
                format("an event of cuda device %d was not reached after %.3f s",
                       event->device->index, static_cast<double>(timeout_ns) / 1e9));
  }
  return failCuda(event->ctx->host, api, "cuEventQuery", r,
                  format("while waiting for an event of cuda device %d", event->device->index));
}

xpStatus eventElapsed(xpbEvent *start, xpbEvent *end, float *ms) {
  xpbContext *ctx = start->ctx;
  for (xpbEvent *event : {start, end}) {
    if ((event->flags & XP_EVENT_DISABLE_TIMING) != 0) {
      return fail(ctx->host, XP_ERROR_INVALID_VALUE,
                  format("the %s event was created with XP_EVENT_DISABLE_TIMING: it has no timing",
                         event == start ? "start" : "end"));
    }
    if (!event->recorded.load(std::memory_order_acquire)) {
      return fail(ctx->host, XP_ERROR_INVALID_VALUE,
                  format("the %s event was never recorded", event == start ? "start" : "end"));
    }
  }
  if (start->device != end->device) {
    return fail(ctx->host, XP_ERROR_INVALID_VALUE,
                format("events of cuda devices %d and %d share no clock: timing needs both on one "
                       "device",
                       start->device->index, end->device->index));
  }
  const CudaApi &api = ctx->api;
  ScopedContext scope(api, *start->device);
  if (CUresult r = api.cuEventElapsedTime(ms, start->event, end->event); r != CUDA_SUCCESS) {
    return failCuda(ctx->host, api, "cuEventElapsedTime", r,
                    r == CUDA_ERROR_NOT_READY ? std::string("(an event has not completed yet)")
                                              : format("between events of cuda devices %d and %d",
                                                       start->device->index, end->device->index));
  }
  return XP_SUCCESS;
}

xpStatus streamWaitEvent(xpbStream *stream, xpbEvent *event) {
  const CudaApi &api = stream->ctx->api;
  ScopedContext scope(api, *stream->device);
  // Works across devices: the event may belong to another context.
  if (CUresult r = api.cuStreamWaitEvent(stream->stream, event->event, CU_EVENT_WAIT_DEFAULT);
      r != CUDA_SUCCESS) {
    return failCuda(stream->ctx->host, api, "cuStreamWaitEvent", r,
                    format("making a stream of cuda device %d wait for an event of cuda device %d",
                           stream->device->index, event->device->index));
  }
  return XP_SUCCESS;
}

}  // namespace xpool::cuda
