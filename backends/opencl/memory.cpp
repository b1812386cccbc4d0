// Buffers and the stream-ordered copies and fills between them and the host.
#include <cstring>

#include "objects.h"

namespace xpool::opencl {

namespace {

// Checks a device-side reference: a live buffer of this backend, in the
// stream's context, with [offset, offset + bytes) inside it.
xpStatus checkBufferRef(xpbStream *stream, const xpbMemRef &ref, size_t bytes, const char *call,
                        const char *side, Allocation *out) {
  xpbContext *ctx = stream->ctx;
  if (!ctx->findAllocation(ref.buffer, out)) {
    return xpbFail(ctx->host, XP_ERROR_INVALID_VALUE,
                   "%s: %s buffer %p is not a live opencl buffer", call, side, ref.buffer);
  }
  if (out->device->platform != stream->dev->platform) {
    return xpbFail(ctx->host, XP_ERROR_INVALID_VALUE,
                   "%s: %s buffer %p belongs to %s, which does not share an OpenCL context with "
                   "the stream's %s",
                   call, side, ref.buffer, out->device->label.c_str(), stream->dev->label.c_str());
  }
  if (ref.offset > out->bytes || bytes > out->bytes - ref.offset) {
    return xpbFail(ctx->host, XP_ERROR_INVALID_VALUE,
                   "%s: %zu bytes at offset %zu of the %s buffer exceed its %zu-byte allocation on "
                   "%s",
                   call, bytes, ref.offset, side, out->bytes, out->device->label.c_str());
  }
  return XP_SUCCESS;
}

// The source, destination and size of a copy or fill between host buffers,
// done in stream order by a host function.
struct HostCopy {
  void *dst = nullptr;
  const void *src = nullptr;
  size_t bytes = 0;
  int value = 0;
};

void hostCopy(void *user_data) {
  auto *copy = static_cast<HostCopy *>(user_data);
  std::memmove(copy->dst, copy->src, copy->bytes);
  delete copy;
}

void hostFill(void *user_data) {
  auto *fill = static_cast<HostCopy *>(user_data);
  std::memset(fill->dst, fill->value, fill->bytes);
  delete fill;
}

xpStatus enqueueHostWork(xpbStream *stream, xpHostFn fn, HostCopy *work) {
  // On failure fn will not run: free its data here.
  xpStatus status = launchHostFunc(stream, fn, work);
  if (status != XP_SUCCESS) delete work;
  return status;
}

}  // namespace

MemHold holdMem(const ClApi &cl, cl_mem mem) {
  cl.clRetainMemObject(mem);
  const ClApi *api = &cl;
  return MemHold(mem, [api](cl_mem m) { api->clReleaseMemObject(m); });
}

xpStatus memAlloc(xpbContext *ctx, int device, size_t bytes, xpbAllocation *out) {
  Device *d = deviceAt(ctx, device, "mem_alloc");
  if (d == nullptr) return XP_ERROR_INVALID_VALUE;
  if (out == nullptr) return xpbFail(ctx->host, XP_ERROR_INVALID_VALUE, "mem_alloc: out is NULL");
  if (bytes == 0) {
    return xpbFail(ctx->host, XP_ERROR_INVALID_VALUE, "mem_alloc: 0 bytes on %s", d->label.c_str());
  }
  if (bytes > d->max_alloc) {
    return xpbFail(ctx->host, XP_ERROR_OUT_OF_MEMORY,
                   "mem_alloc: %zu bytes on %s exceed its CL_DEVICE_MAX_MEM_ALLOC_SIZE of %llu "
                   "bytes (the largest single OpenCL buffer)",
                   bytes, d->label.c_str(), static_cast<unsigned long long>(d->max_alloc));
  }
  cl_int err = CL_SUCCESS;
  cl_mem buffer =
      ctx->cl->clCreateBuffer(d->platform->context, CL_MEM_READ_WRITE, bytes, nullptr, &err);
  if (buffer == nullptr || err != CL_SUCCESS) {
    if (err == CL_SUCCESS) err = CL_MEM_OBJECT_ALLOCATION_FAILURE;
    return clFail(ctx->host, "clCreateBuffer", err, "allocating %zu bytes on %s", bytes,
                  d->label.c_str());
  }
  {
    std::lock_guard<std::mutex> lock(ctx->mu);
    ctx->allocations[buffer] = Allocation{d, bytes};
  }
  d->allocated += bytes;
  out->buffer = buffer;
  out->address = nullptr;  // the runtime reserves a pool address range
  return XP_SUCCESS;
}

xpStatus memFree(xpbContext *ctx, int device, void *buffer) {
  Allocation allocation;
  {
    std::lock_guard<std::mutex> lock(ctx->mu);
    auto it = ctx->allocations.find(static_cast<cl_mem>(buffer));
    if (it == ctx->allocations.end()) {
      return xpbFail(ctx->host, XP_ERROR_INVALID_VALUE,
                     "mem_free: %p is not a live opencl buffer (device %d)", buffer, device);
    }
    if (it->second.device->index != device) {
      return xpbFail(ctx->host, XP_ERROR_INVALID_VALUE,
                     "mem_free: buffer %p was allocated on %s, not on opencl device %d", buffer,
                     it->second.device->label.c_str(), device);
    }
    allocation = it->second;
    ctx->allocations.erase(it);
  }
  allocation.device->allocated -= allocation.bytes;
  // OpenCL defers the release until queued commands using the buffer are done.
  cl_int err = ctx->cl->clReleaseMemObject(static_cast<cl_mem>(buffer));
  if (err != CL_SUCCESS) {
    return clFail(ctx->host, "clReleaseMemObject", err, "freeing %zu bytes on %s", allocation.bytes,
                  allocation.device->label.c_str());
  }
  return XP_SUCCESS;
}

void freeAllAllocations(xpbContext *ctx) {
  std::lock_guard<std::mutex> lock(ctx->mu);
  if (!ctx->allocations.empty()) {
    logf(ctx->host, XPB_LOG_DEBUG, "shutdown frees %zu buffer(s)", ctx->allocations.size());
  }
  for (auto &[buffer, allocation] : ctx->allocations) {
    allocation.device->allocated -= allocation.bytes;
    ctx->cl->clReleaseMemObject(buffer);
  }
  ctx->allocations.clear();
}

xpStatus memcpyAsync(xpbStream *stream, xpbMemRef dst, xpbMemRef src, size_t bytes) {
  xpbContext *ctx = stream->ctx;
  const ClApi &cl = *ctx->cl;
  if (bytes == 0) return XP_SUCCESS;
  if ((dst.buffer == nullptr && dst.host == nullptr) ||
      (src.buffer == nullptr && src.host == nullptr)) {
    return xpbFail(ctx->host, XP_ERROR_INVALID_VALUE,
                   "memcpy_async: NULL %s pointer copying %zu bytes on %s",
                   dst.buffer == nullptr && dst.host == nullptr ? "destination" : "source", bytes,
                   stream->dev->label.c_str());
  }
  if (dst.buffer == nullptr && src.buffer == nullptr) {
    auto *copy = new HostCopy{dst.host, src.host, bytes, 0};
    return enqueueHostWork(stream, hostCopy, copy);
  }
  Allocation dst_alloc, src_alloc;
  if (dst.buffer != nullptr) {
    xpStatus status = checkBufferRef(stream, dst, bytes, "memcpy_async", "destination", &dst_alloc);
    if (status != XP_SUCCESS) return status;
  }
  if (src.buffer != nullptr) {
    xpStatus status = checkBufferRef(stream, src, bytes, "memcpy_async", "source", &src_alloc);
    if (status != XP_SUCCESS) return status;
  }
  const ClApi *api = &cl;
  MemHold dst_mem = dst.buffer != nullptr ? holdMem(cl, static_cast<cl_mem>(dst.buffer)) : nullptr;
  MemHold src_mem = src.buffer != nullptr ? holdMem(cl, static_cast<cl_mem>(src.buffer)) : nullptr;
  Op op = [stream, api, dst, src, bytes, dst_mem, src_mem]() -> OpStatus {
    const char *label = stream->dev->label.c_str();
    cl_event event = nullptr;
    cl_int err = CL_SUCCESS;
    if (src_mem == nullptr) {
      err = api->clEnqueueWriteBuffer(stream->queue, dst_mem.get(), CL_FALSE, dst.offset, bytes,
                                      src.host, 0, nullptr, &event);
      if (err != CL_SUCCESS) {
        return clError("clEnqueueWriteBuffer", err,
                       "copying %zu bytes from host %p to offset %zu of buffer %p on %s", bytes,
                       src.host, dst.offset, dst.buffer, label);
      }
    } else if (dst_mem == nullptr) {
      err = api->clEnqueueReadBuffer(stream->queue, src_mem.get(), CL_FALSE, src.offset, bytes,
                                     dst.host, 0, nullptr, &event);
      if (err != CL_SUCCESS) {
        return clError("clEnqueueReadBuffer", err,
                       "copying %zu bytes from offset %zu of buffer %p on %s to host %p", bytes,
                       src.offset, src.buffer, label, dst.host);
      }
    } else {
      err = api->clEnqueueCopyBuffer(stream->queue, src_mem.get(), dst_mem.get(), src.offset,
                                     dst.offset, bytes, 0, nullptr, &event);
      if (err != CL_SUCCESS) {
        return clError("clEnqueueCopyBuffer", err,
                       "copying %zu bytes from offset %zu of buffer %p to offset %zu of buffer %p "
                       "on %s",
                       bytes, src.offset, src.buffer, dst.offset, dst.buffer, label);
      }
    }
    stream->setLast(event);
    return OpStatus{};
  };
  std::lock_guard<std::mutex> lock(stream->mu);
  return stream->submit(std::move(op));
}

xpStatus memsetAsync(xpbStream *stream, xpbMemRef dst, int value, size_t bytes) {
  xpbContext *ctx = stream->ctx;
  if (bytes == 0) return XP_SUCCESS;
  if (dst.buffer == nullptr) {
    if (dst.host == nullptr) {
      return xpbFail(ctx->host, XP_ERROR_INVALID_VALUE, "memset_async: NULL destination on %s",
                     stream->dev->label.c_str());
    }
    auto *fill = new HostCopy{dst.host, nullptr, bytes, value};
    return enqueueHostWork(stream, hostFill, fill);
  }
  Allocation alloc;
  xpStatus status = checkBufferRef(stream, dst, bytes, "memset_async", "destination", &alloc);
  if (status != XP_SUCCESS) return status;
  const unsigned char pattern = static_cast<unsigned char>(value);
  const ClApi *api = ctx->cl;
  MemHold mem = holdMem(*api, static_cast<cl_mem>(dst.buffer));
  Op op = [stream, api, dst, pattern, bytes, mem]() -> OpStatus {
    cl_event event = nullptr;
    cl_int err = api->clEnqueueFillBuffer(stream->queue, mem.get(), &pattern, 1, dst.offset, bytes,
                                          0, nullptr, &event);
    if (err != CL_SUCCESS) {
      return clError("clEnqueueFillBuffer", err,
                     "filling %zu bytes at offset %zu of buffer %p on %s with 0x%02x", bytes,
                     dst.offset, dst.buffer, stream->dev->label.c_str(), pattern);
    }
    stream->setLast(event);
    return OpStatus{};
  };
  std::lock_guard<std::mutex> lock(stream->mu);
  return stream->submit(std::move(op));
}

xpStatus memcpyPeerAsync(xpbStream *stream, int dst_device, xpbMemRef dst, int src_device,
                         xpbMemRef src, size_t bytes) {
  xpbContext *ctx = stream->ctx;
  if (bytes == 0) return XP_SUCCESS;
  if (dst.buffer == nullptr || src.buffer == nullptr) return XPB_FALLBACK;
  Allocation dst_alloc, src_alloc;
  if (!ctx->findAllocation(dst.buffer, &dst_alloc) ||
      !ctx->findAllocation(src.buffer, &src_alloc)) {
    return xpbFail(ctx->host, XP_ERROR_INVALID_VALUE,
                   "memcpy_peer_async: buffer %p (device %d) or %p (device %d) is not a live "
                   "opencl buffer",
                   dst.buffer, dst_device, src.buffer, src_device);
  }
  if (dst_alloc.device->index != dst_device || src_alloc.device->index != src_device) {
    return xpbFail(ctx->host, XP_ERROR_INVALID_VALUE,
                   "memcpy_peer_async: buffers belong to opencl devices %d and %d, not %d and %d",
                   dst_alloc.device->index, src_alloc.device->index, dst_device, src_device);
  }
  // One context holds both devices: OpenCL moves the data itself.
  // Different contexts (platforms) cannot share buffers: the runtime stages.
  if (dst_alloc.device->platform != src_alloc.device->platform ||
      dst_alloc.device->platform != stream->dev->platform) {
    return XPB_FALLBACK;
  }
  return memcpyAsync(stream, dst, src, bytes);
}

}  // namespace xpool::opencl
