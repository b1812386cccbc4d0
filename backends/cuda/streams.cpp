// Streams of the cuda backend: copies, fills, host functions, synchronize.
#include "streams.h"

#include <cstring>
#include <utility>

namespace xpool::cuda {
namespace {

// The stream's gate, created on first use. The caller holds the context.
xpStatus gateOf(xpbStream *stream, HostTaskGate **out) {
  std::lock_guard lock(stream->mutex);
  if (stream->gate == nullptr) {
    if (xpStatus status =
            HostTaskGate::create(stream->ctx, stream->device, stream->stream, &stream->gate);
        status != XP_SUCCESS) {
      return status;
    }
  }
  *out = stream->gate.get();
  return XP_SUCCESS;
}

// True when pending host tasks come before anything enqueued now.
bool hostTasksPending(xpbStream *stream) {
  std::lock_guard lock(stream->mutex);
  return stream->gate != nullptr && !stream->gate->idle();
}

// True for pinned (page-locked, registered) host memory, which the copy
// engines read and write when the stream reaches the copy.
bool isPinned(const CudaApi &api, const void *host) {
  unsigned int type = 0;
  return api.cuPointerGetAttribute(&type, CU_POINTER_ATTRIBUTE_MEMORY_TYPE,
                                   reinterpret_cast<CUdeviceptr>(host)) == CUDA_SUCCESS &&
         type == CU_MEMORYTYPE_HOST;
}

// Whether a copy to or from `host` may go to CUDA directly. CUDA stages
// pageable memory through its own buffers when the copy is *enqueued*: a
// host-to-device copy may read the memory before earlier host tasks of the
// stream have written it, and a device-to-host copy blocks the caller until
// the stream reaches it, which may be behind a host task that waits for the
// caller. Pinned memory, or a stream without pending host tasks, has
// neither problem; the rest is copied by a host task in stream order.
bool directCopyOk(xpbStream *stream, const void *host) {
  return !hostTasksPending(stream) || isPinned(stream->ctx->api, host);
}

xpStatus sideStreamOf(xpbStream *stream, CUstream *out) {
  std::lock_guard lock(stream->mutex);
  if (stream->side_stream == nullptr) {
    if (CUresult r = stream->ctx->api.cuStreamCreate(&stream->side_stream, CU_STREAM_NON_BLOCKING);
        r != CUDA_SUCCESS) {
      stream->side_stream = nullptr;
      return failCuda(stream->ctx->host, stream->ctx->api, "cuStreamCreate", r,
                      format("creating a copy stream on cuda device %d", stream->device->index));
    }
  }
  *out = stream->side_stream;
  return XP_SUCCESS;
}

xpStatus enqueueHostTask(xpbStream *stream, std::function<void()> task) {
  HostTaskGate *gate = nullptr;
  if (xpStatus status = gateOf(stream, &gate); status != XP_SUCCESS) return status;
  return gate->enqueue(std::move(task));
}

enum class Direction { kHostToDevice, kDeviceToHost };

// A copy between pageable host memory and the device, run by a host task:
// the stream is held at this point, so the copy goes through the side stream
// and is waited for here.
xpStatus enqueueStagedCopy(xpbStream *stream, Direction direction, xpbMemRef dst, xpbMemRef src,
                           size_t bytes) {
  CUstream side = nullptr;
  if (xpStatus status = sideStreamOf(stream, &side); status != XP_SUCCESS) return status;
  return enqueueHostTask(stream, [stream, side, direction, dst, src, bytes] {
    const CudaApi &api = stream->ctx->api;
    ScopedContext scope(api, *stream->device);
    const bool up = direction == Direction::kHostToDevice;
    CUresult r = up ? api.cuMemcpyHtoDAsync(devicePointer(dst), src.host, bytes, side)
                    : api.cuMemcpyDtoHAsync(dst.host, devicePointer(src), bytes, side);
    const char *call = up ? "cuMemcpyHtoDAsync" : "cuMemcpyDtoHAsync";
    if (r == CUDA_SUCCESS) {
      call = "cuStreamQuery";
      r = pollUntilDone([&] { return api.cuStreamQuery(side); }, defaultTimeoutNs());
    }
    if (r != CUDA_SUCCESS) {
      stream->fail(
          r == CUDA_ERROR_TIMEOUT ? XP_ERROR_TIMEOUT : statusOf(r),
          format("%s: %s copying %zu bytes %s pageable host memory on cuda device %d", call,
                 api.describe(r).c_str(), bytes, up ? "from" : "to", stream->device->index));
    }
  });
}

}  // namespace

xpStatus streamCreate(xpbContext *ctx, int index, xpbStream **out) {
  CudaDevice &device = ctx->device(index);
  const CudaApi &api = ctx->api;
  ScopedContext scope(api, device);
  CUstream handle = nullptr;
  if (CUresult r = api.cuStreamCreate(&handle, CU_STREAM_NON_BLOCKING); r != CUDA_SUCCESS) {
    return failCuda(ctx->host, api, "cuStreamCreate", r,
                    format("creating a stream on cuda device %d", index));
  }
  CUevent sync_event = nullptr;
  if (CUresult r = api.cuEventCreate(&sync_event, CU_EVENT_DISABLE_TIMING); r != CUDA_SUCCESS) {
    api.cuStreamDestroy(handle);
    return failCuda(ctx->host, api, "cuEventCreate", r,
                    format("creating the synchronize event of a stream on cuda device %d", index));
  }
  auto *stream = new xpbStream;
  stream->ctx = ctx;
  stream->device = &device;
  stream->stream = handle;
  stream->sync_event = sync_event;
  *out = stream;
  return XP_SUCCESS;
}

xpStatus streamDestroy(xpbStream *stream) {
  const CudaApi &api = stream->ctx->api;
  ScopedContext scope(api, *stream->device);
  bool gate_freed = true;
  if (stream->gate != nullptr) gate_freed = HostTaskGate::retire(std::move(stream->gate));
  // A gate left running may still copy through the side stream.
  if (stream->side_stream != nullptr && gate_freed) api.cuStreamDestroy(stream->side_stream);
  api.cuEventDestroy(stream->sync_event);
  // Work still queued completes first; CUDA frees the stream after it.
  const CUresult r = api.cuStreamDestroy(stream->stream);
  const int index = stream->device->index;
  xpbContext *ctx = stream->ctx;
  delete stream;
  if (r != CUDA_SUCCESS) {
    return failCuda(ctx->host, api, "cuStreamDestroy", r,
                    format("destroying a stream of cuda device %d", index));
  }
  return XP_SUCCESS;
}

xpStatus streamSynchronize(xpbStream *stream, uint64_t timeout_ns) {
  const CudaApi &api = stream->ctx->api;
  ScopedContext scope(api, *stream->device);
  // cuStreamSynchronize has no deadline: mark the end of the stream with an
  // event and poll it instead.
  if (CUresult r = api.cuEventRecord(stream->sync_event, stream->stream); r != CUDA_SUCCESS) {
    return failCuda(stream->ctx->host, api, "cuEventRecord", r,
                    format("marking the end of a stream on cuda device %d", stream->device->index));
  }
  const CUresult r =
      pollUntilDone([&] { return api.cuEventQuery(stream->sync_event); }, timeout_ns);
  if (r == CUDA_ERROR_TIMEOUT) {
    return fail(
        stream->ctx->host, XP_ERROR_TIMEOUT,
        format("a stream of cuda device %d is still busy after %.3f s%s", stream->device->index,
               static_cast<double>(timeout_ns) / 1e9,
               hostTasksPending(stream) ? " (a host function on it has not returned)" : ""));
  }
  if (r != CUDA_SUCCESS) {
    return failCuda(
        stream->ctx->host, api, "cuEventQuery", r,
        format("while synchronizing a stream of cuda device %d", stream->device->index));
  }
  std::lock_guard lock(stream->mutex);
  if (stream->error != XP_SUCCESS) {
    const xpStatus status = std::exchange(stream->error, XP_SUCCESS);
    return fail(stream->ctx->host, status, std::exchange(stream->error_message, {}));
  }
  return XP_SUCCESS;
}

xpStatus streamQuery(xpbStream *stream) {
  const CudaApi &api = stream->ctx->api;
  ScopedContext scope(api, *stream->device);
  const CUresult r = api.cuStreamQuery(stream->stream);
  if (r == CUDA_SUCCESS) return XP_SUCCESS;
  if (r == CUDA_ERROR_NOT_READY) return XP_ERROR_NOT_READY;
  return failCuda(stream->ctx->host, api, "cuStreamQuery", r,
                  format("on cuda device %d", stream->device->index));
}

xpStatus memcpyAsync(xpbStream *stream, xpbMemRef dst, xpbMemRef src, size_t bytes) {
  const CudaApi &api = stream->ctx->api;
  ScopedContext scope(api, *stream->device);
  const int index = stream->device->index;
  CUresult r = CUDA_SUCCESS;
  const char *call = "";
  if (dst.buffer != nullptr && src.buffer != nullptr) {
    call = "cuMemcpyDtoDAsync";
    r = api.cuMemcpyDtoDAsync(devicePointer(dst), devicePointer(src), bytes, stream->stream);
  } else if (dst.buffer != nullptr) {
    if (!directCopyOk(stream, src.host)) {
      return enqueueStagedCopy(stream, Direction::kHostToDevice, dst, src, bytes);
    }
    call = "cuMemcpyHtoDAsync";
    r = api.cuMemcpyHtoDAsync(devicePointer(dst), src.host, bytes, stream->stream);
  } else if (src.buffer != nullptr) {
    if (!directCopyOk(stream, dst.host)) {
      return enqueueStagedCopy(stream, Direction::kDeviceToHost, dst, src, bytes);
    }
    call = "cuMemcpyDtoHAsync";
    r = api.cuMemcpyDtoHAsync(dst.host, devicePointer(src), bytes, stream->stream);
  } else {
    // Host to host: a host task, so it happens in stream order.
    void *to = dst.host;
    const void *from = src.host;
    return enqueueHostTask(stream, [to, from, bytes] { std::memmove(to, from, bytes); });
  }
  if (r != CUDA_SUCCESS) {
    return failCuda(
        stream->ctx->host, api, call, r,
        format("copying %zu bytes to %p from %p on cuda device %d", bytes,
               dst.buffer != nullptr ? reinterpret_cast<void *>(devicePointer(dst)) : dst.host,
               src.buffer != nullptr ? reinterpret_cast<void *>(devicePointer(src)) : src.host,
               index));
  }
  return XP_SUCCESS;
}

xpStatus memsetAsync(xpbStream *stream, xpbMemRef dst, int value, size_t bytes) {
  const CudaApi &api = stream->ctx->api;
  ScopedContext scope(api, *stream->device);
  if (dst.buffer == nullptr) {
    void *to = dst.host;
    return enqueueHostTask(stream, [to, value, bytes] { std::memset(to, value, bytes); });
  }
  if (CUresult r = api.cuMemsetD8Async(devicePointer(dst), static_cast<unsigned char>(value), bytes,
                                       stream->stream);
      r != CUDA_SUCCESS) {
    return failCuda(stream->ctx->host, api, "cuMemsetD8Async", r,
                    format("filling %zu bytes at %p with 0x%02x on cuda device %d", bytes,
                           reinterpret_cast<void *>(devicePointer(dst)),
                           static_cast<unsigned char>(value), stream->device->index));
  }
  return XP_SUCCESS;
}

xpStatus launchHostFunc(xpbStream *stream, xpHostFn fn, void *user_data) {
  ScopedContext scope(stream->ctx->api, *stream->device);
  return enqueueHostTask(stream, [fn, user_data] { fn(user_data); });
}

xpStatus memcpyPeerAsync(xpbStream *stream, int dst_device, xpbMemRef dst, int src_device,
                         xpbMemRef src, size_t bytes) {
  xpbContext *ctx = stream->ctx;
  const CudaApi &api = ctx->api;
  enablePeerAccess(ctx, dst_device, src_device);
  ScopedContext scope(api, *stream->device);
  const CUresult r =
      api.cuMemcpyPeerAsync(devicePointer(dst), ctx->device(dst_device).context, devicePointer(src),
                            ctx->device(src_device).context, bytes, stream->stream);
  if (r != CUDA_SUCCESS) {
    return failCuda(ctx->host, api, "cuMemcpyPeerAsync", r,
                    format("copying %zu bytes from %p on cuda device %d to %p on cuda device %d",
                           bytes, reinterpret_cast<void *>(devicePointer(src)), src_device,
                           reinterpret_cast<void *>(devicePointer(dst)), dst_device));
  }
  return XP_SUCCESS;
}

xpStatus streamNative(xpbStream *stream, void **native_stream, void **native_context,
                      int *ordinal) {
  // Work the caller enqueues on the CUstream is ordered with xpool's: host
  // tasks hold the CUstream itself (host_tasks.h), and synchronize records
  // its event on the CUstream.
  *native_stream = stream->stream;
  *native_context = stream->device->context;
  *ordinal = stream->device->cuda_ordinal;
  return XP_SUCCESS;
}

}  // namespace xpool::cuda

void xpbStream::fail(xpStatus status, std::string message) {
  std::lock_guard lock(mutex);
  if (error == XP_SUCCESS) {
    error = status;
    error_message = std::move(message);
  }
}
