#include "transfer.h"

#include <cstring>

#include "errors.h"
#include "logging.h"

namespace xpool {
namespace {

std::string describe(const Endpoint &endpoint) {
  if (endpoint.device == nullptr) return fmt::format("host memory {}", endpoint.ptr);
  return fmt::format("{} on device {} ({})", endpoint.ptr, endpoint.device->ordinal,
                     endpoint.device->backend->name);
}

// The xpbMemRef `device`'s backend should see for `endpoint`.
xpbMemRef refFor(const Endpoint &endpoint, const Device *device) {
  if (endpoint.device == device) {
    return {endpoint.buffer, endpoint.offset,
            device->props.host_addressable ? endpoint.ptr : nullptr};
  }
  return {nullptr, 0, endpoint.ptr};  // host memory, or another device's host-visible memory
}

// True when `device`'s backend can do the whole copy itself.
bool visibleTo(const Endpoint &endpoint, const Device *device) {
  return endpoint.device == device || endpoint.hostAccessible();
}

struct RuntimeWork {
  std::function<xpStatus()> fn;
  std::shared_ptr<StreamErrors> errors;
  std::string what;
};

void runRuntimeWork(void *user_data) {
  std::unique_ptr<RuntimeWork> work(static_cast<RuntimeWork *>(user_data));
  work->errors->setRunning(work->what);
  xpStatus status = work->fn();
  if (status != XP_SUCCESS) {
    logger("runtime")->error("{}: {}", work->what, lastError());
    work->errors->finishRunning(status, fmt::format("{}: {}", work->what, lastError()));
  } else {
    work->errors->finishRunning(XP_SUCCESS, {});
  }
}

// Synchronously runs one copy on `device`'s staging stream.
xpStatus copyOnDevice(Runtime &runtime, Device *device, const Endpoint &dst, const Endpoint &src,
                      size_t bytes) {
  xpbStream *stream = nullptr;
  XP_RETURN_IF_ERROR(runtime.stagingStream(device, &stream));
  XP_RETURN_IF_ERROR(
      device->api().memcpy_async(stream, refFor(dst, device), refFor(src, device), bytes));
  return device->api().stream_synchronize(stream, runtime.timeoutNs());
}

// Device to device across backends (or devices without a peer path):
// chunks go device -> pinned buffer -> device, the download of chunk i+1
// overlapping the upload of chunk i.
xpStatus copyThroughStaging(Runtime &runtime, const Endpoint &dst, const Endpoint &src,
                            size_t bytes) {
  constexpr int kBuffers = 3;
  Device *from = src.device;
  Device *to = dst.device;
  xpbStream *down = nullptr;
  xpbStream *up = nullptr;
  XP_RETURN_IF_ERROR(runtime.stagingStream(from, &down));
  XP_RETURN_IF_ERROR(runtime.stagingStream(to, &up));

  const size_t chunk = runtime.stagingChunkBytes();
  const size_t chunks = (bytes + chunk - 1) / chunk;
  const int used = static_cast<int>(std::min<size_t>(kBuffers, chunks));
  void *buffers[kBuffers] = {};
  xpbEvent *downloaded[kBuffers] = {};
  xpbEvent *uploaded[kBuffers] = {};
  bool upload_pending[kBuffers] = {};
  xpStatus status = XP_SUCCESS;

  for (int i = 0; i < used && status == XP_SUCCESS; ++i) {
    buffers[i] = runtime.takeStagingBuffer();
    if (buffers[i] == nullptr) {
      status =
          fail(XP_ERROR_OUT_OF_MEMORY, "no memory for a {} staging buffer", formatBytes(chunk));
      break;
    }
    status = from->api().event_create(from->backend->context, from->local, XP_EVENT_DISABLE_TIMING,
                                      &downloaded[i]);
    if (status == XP_SUCCESS) {
      status = to->api().event_create(to->backend->context, to->local, XP_EVENT_DISABLE_TIMING,
                                      &uploaded[i]);
    }
  }

  auto download = [&](size_t index) -> xpStatus {
    const int slot = static_cast<int>(index % kBuffers);
    if (upload_pending[slot]) {  // the buffer is still being uploaded from
      XP_RETURN_IF_ERROR(to->api().event_synchronize(uploaded[slot], runtime.timeoutNs()));
      upload_pending[slot] = false;
    }
    const size_t offset = index * chunk;
    const size_t length = std::min(chunk, bytes - offset);
    xpbMemRef source{src.buffer, src.offset + offset, nullptr};
    XP_RETURN_IF_ERROR(from->api().memcpy_async(down, {nullptr, 0, buffers[slot]}, source, length));
    return from->api().event_record(downloaded[slot], down);
  };

  if (status == XP_SUCCESS) status = download(0);
  for (size_t index = 0; index < chunks && status == XP_SUCCESS; ++index) {
    if (index + 1 < chunks) {
      status = download(index + 1);
      if (status != XP_SUCCESS) break;
    }
    const int slot = static_cast<int>(index % kBuffers);
    status = from->api().event_synchronize(downloaded[slot], runtime.timeoutNs());
    if (status != XP_SUCCESS) break;
    const size_t offset = index * chunk;
    const size_t length = std::min(chunk, bytes - offset);
    xpbMemRef target{dst.buffer, dst.offset + offset, nullptr};
    status = to->api().memcpy_async(up, target, {nullptr, 0, buffers[slot]}, length);
    if (status == XP_SUCCESS) status = to->api().event_record(uploaded[slot], up);
    upload_pending[slot] = status == XP_SUCCESS;
  }
  // Drain before the buffers go back to the pool, even after a failure.
  xpStatus drained_down = from->api().stream_synchronize(down, runtime.timeoutNs());
  xpStatus drained_up = to->api().stream_synchronize(up, runtime.timeoutNs());
  if (status == XP_SUCCESS) status = drained_down != XP_SUCCESS ? drained_down : drained_up;

  for (int i = 0; i < kBuffers; ++i) {
    if (downloaded[i] != nullptr) from->api().event_destroy(downloaded[i]);
    if (uploaded[i] != nullptr) to->api().event_destroy(uploaded[i]);
    if (buffers[i] != nullptr) runtime.giveStagingBuffer(buffers[i]);
  }
  return status;
}

// Any two endpoints, synchronously, on the runtime's staging streams.
xpStatus copyNow(Runtime &runtime, const Endpoint &dst, const Endpoint &src, size_t bytes) {
  if (dst.hostAccessible() && src.hostAccessible()) {
    std::memcpy(dst.ptr, src.ptr, bytes);
    return XP_SUCCESS;
  }
  if (src.hostAccessible()) return copyOnDevice(runtime, dst.device, dst, src, bytes);
  if (dst.hostAccessible()) return copyOnDevice(runtime, src.device, dst, src, bytes);
  return copyThroughStaging(runtime, dst, src, bytes);
}

}  // namespace

xpStatus resolveEndpoint(Runtime &runtime, const char *call, const char *role, const void *ptr,
                         size_t bytes, Endpoint *out) {
  if (ptr == nullptr) {
    return fail(XP_ERROR_INVALID_VALUE, "{}: the {} pointer is NULL ({} bytes)", call, role, bytes);
  }
  Endpoint endpoint;
  endpoint.ptr = const_cast<void *>(ptr);
  if (auto allocation = runtime.allocations.find(ptr)) {
    const size_t offset = reinterpret_cast<uintptr_t>(ptr) - allocation->base;
    if (bytes > allocation->size - offset) {
      return fail(XP_ERROR_INVALID_VALUE,
                  "{}: {} bytes at {} ({}, {} bytes into a {}-byte allocation) overrun it by {} "
                  "bytes",
                  call, bytes, ptr, role, offset, allocation->size,
                  bytes - (allocation->size - offset));
    }
    if (allocation->type == XP_MEMORY_DEVICE) {
      endpoint.device = runtime.devices[static_cast<size_t>(allocation->device)].get();
      endpoint.buffer = allocation->buffer;
      endpoint.offset = offset;
    }
  }
  *out = endpoint;
  return XP_SUCCESS;
}

xpStatus enqueueRuntimeWork(xpStream stream, std::string what, std::function<xpStatus()> fn) {
  auto work =
      std::make_unique<RuntimeWork>(RuntimeWork{std::move(fn), stream->errors, std::move(what)});
  xpStatus status =
      stream->device->api().launch_host_func(stream->native, runRuntimeWork, work.get());
  if (status == XP_SUCCESS) work.release();  // the host function owns it now
  return status;
}

xpStatus enqueueCopy(Runtime &runtime, xpStream stream, const Endpoint &dst, const Endpoint &src,
                     size_t bytes) {
  Device *device = stream->device;
  const xpbBackend &api = device->api();
  if (visibleTo(dst, device) && visibleTo(src, device)) {
    return api.memcpy_async(stream->native, refFor(dst, device), refFor(src, device), bytes);
  }
  // Two devices of this stream's backend: ask for a native peer copy.
  if (dst.device != nullptr && src.device != nullptr && dst.device->backend == device->backend &&
      src.device->backend == device->backend && api.memcpy_peer_async != nullptr) {
    xpStatus status =
        api.memcpy_peer_async(stream->native, dst.device->local, {dst.buffer, dst.offset, nullptr},
                              src.device->local, {src.buffer, src.offset, nullptr}, bytes);
    if (status != XPB_FALLBACK) return status;
  }
  logger("runtime")->debug("staged copy of {} from {} to {}", formatBytes(bytes), describe(src),
                           describe(dst));
  Runtime *rt = &runtime;
  return enqueueRuntimeWork(
      stream, fmt::format("copy of {} bytes from {} to {}", bytes, describe(src), describe(dst)),
      [rt, dst, src, bytes] { return copyNow(*rt, dst, src, bytes); });
}

xpStatus enqueueFill(Runtime &runtime, xpStream stream, const Endpoint &dst, int value,
                     size_t bytes) {
  Device *device = stream->device;
  if (visibleTo(dst, device)) {
    return device->api().memset_async(stream->native, refFor(dst, device), value, bytes);
  }
  // Memory of another device that the host cannot touch: fill it on its own
  // device, in this stream's order.
  Runtime *rt = &runtime;
  return enqueueRuntimeWork(stream, fmt::format("fill of {} bytes at {}", bytes, describe(dst)),
                            [rt, dst, value, bytes]() -> xpStatus {
                              xpbStream *native = nullptr;
                              XP_RETURN_IF_ERROR(rt->stagingStream(dst.device, &native));
                              XP_RETURN_IF_ERROR(dst.device->api().memset_async(
                                  native, refFor(dst, dst.device), value, bytes));
                              return dst.device->api().stream_synchronize(native, rt->timeoutNs());
                            });
}

xpStatus synchronizeStream(xpStream stream, uint64_t timeout_ns, const char *call) {
  xpStatus status = stream->device->api().stream_synchronize(stream->native, timeout_ns);
  if (status != XP_SUCCESS) {
    // Say what the stream is stuck in when it is the runtime's own work
    // (a wait for another backend's event, a staged copy).
    const std::string stuck = stream->errors->describeStuck();
    return fail(status, "{}: stream {} on device {} ({}): {}{}{}", call,
                static_cast<void *>(stream), stream->device->ordinal, stream->device->backend->name,
                lastError(), stuck.empty() ? "" : "; ", stuck);
  }
  std::string what;
  status = stream->errors->take(&what);
  if (status != XP_SUCCESS) return fail(status, "{}: earlier work failed: {}", call, what);
  return XP_SUCCESS;
}

}  // namespace xpool
