// Streams of the hip backend: submission, host work, copies and fills.
// See hip_stream.h for how host functions keep the stream's order.
#include "hip_stream.h"

#include <algorithm>
#include <cstring>
#include <utility>

namespace xpool::hip {
namespace {

// Waits, with no deadline (the stream's own synchronize has one), until the
// HIP stream has finished everything submitted to it. Only the worker calls
// it, while no later work has been submitted.
Outcome waitUntilIdle(xpbStream *stream) {
  const HipApi *api = stream->ctx->api;
  hipError_t error = hipSuccess;
  pollUntil(Clock::time_point::max(), [&] {
    error = api->hipStreamQuery(stream->stream);
    return error != hipErrorNotReady;
  });
  if (error != hipSuccess) {
    return hipOutcome(api, "hipStreamQuery", error,
                      "waiting for the work before a host function on hip device %d",
                      stream->device);
  }
  return {};
}

void workerLoop(xpbStream *stream) {
  const HipApi *api = stream->ctx->api;
  // The current device is per thread: once is enough for this one.
  const hipError_t set = api->hipSetDevice(stream->device);
  std::unique_lock lock(stream->mutex);
  for (;;) {
    stream->wake.wait(lock, [stream] { return stream->stopping || !stream->tasks.empty(); });
    if (stream->tasks.empty()) return;  // stopping, and nothing left
    StreamTask task = std::move(stream->tasks.front());
    stream->tasks.pop_front();
    stream->busy = true;
    lock.unlock();

    Outcome result;
    if (set != hipSuccess) {
      result = hipOutcome(api, "hipSetDevice", set, "on the worker of a stream of hip device %d",
                          stream->device);
    }
    if (task.host) {
      if (result.ok()) result = waitUntilIdle(stream);
      // Host work runs even after a failure: the runtime's host functions
      // own resources, and work queued behind them must not wait forever.
      // The failure is reported by the next synchronize.
      Outcome ran = task.work();
      if (result.ok()) result = std::move(ran);
    } else if (result.ok()) {
      result = task.work();
    }

    lock.lock();
    if (!result.ok() && stream->error.ok()) stream->error = std::move(result);
    stream->busy = false;
    if (stream->tasks.empty()) stream->drained.notify_all();
  }
}

void *addressOf(const xpbMemRef &ref) {
  if (ref.buffer != nullptr) return static_cast<char *>(ref.buffer) + ref.offset;
  return ref.host;
}

const char *kindName(hipMemcpyKind kind) {
  switch (kind) {
    case hipMemcpyHostToDevice:
      return "host to device";
    case hipMemcpyDeviceToHost:
      return "device to host";
    case hipMemcpyDeviceToDevice:
      return "device to device";
    default:
      return "host to host";
  }
}

// Makes peer access between two devices work in both directions, once per
// pair, so that peer copies take the direct path where there is one.
void enablePeerAccess(xpbContext *ctx, int a, int b) {
  const HipApi *api = ctx->api;
  std::lock_guard lock(ctx->peer_mutex);
  for (auto [from, to] : {std::pair{a, b}, std::pair{b, a}}) {
    if (!ctx->peer_tried.insert({from, to}).second) continue;
    int can = 0;
    hipError_t error = api->hipDeviceCanAccessPeer(&can, from, to);
    if (error != hipSuccess || can == 0) {
      logf(ctx, XPB_LOG_DEBUG, "hip device %d cannot access device %d directly; copies stage", from,
           to);
      continue;
    }
    if (api->hipSetDevice(from) != hipSuccess) continue;
    error = api->hipDeviceEnablePeerAccess(to, 0);
    if (error != hipSuccess && error != hipErrorPeerAccessAlreadyEnabled) {
      logf(ctx, XPB_LOG_WARN, "%s",
           describeHipFailure(api, "hipDeviceEnablePeerAccess", error,
                              formatText("from hip device %d to %d", from, to))
               .c_str());
    }
  }
}

}  // namespace

xpStatus submitDevice(xpbStream *stream, std::function<Outcome()> work) {
  std::unique_lock lock(stream->mutex);
  if (!stream->busy && stream->tasks.empty()) {
    if (xpStatus status = useDevice(stream->ctx, stream->device); status != XP_SUCCESS) {
      return status;
    }
    return report(stream->ctx, work());  // under the lock: keeps concurrent submitters in order
  }
  stream->tasks.push_back({false, std::move(work)});
  lock.unlock();
  stream->wake.notify_one();
  return XP_SUCCESS;
}

xpStatus submitHost(xpbStream *stream, std::function<Outcome()> work) {
  {
    std::lock_guard lock(stream->mutex);
    if (!stream->worker.joinable()) {
      try {
        stream->worker = std::thread(workerLoop, stream);
      } catch (const std::system_error &e) {
        return xpbFail(stream->ctx->host, XP_ERROR_OUT_OF_MEMORY,
                       "could not start the host-function thread of a stream of hip device %d: %s",
                       stream->device, e.what());
      }
    }
    stream->tasks.push_back({true, std::move(work)});
  }
  stream->wake.notify_one();
  return XP_SUCCESS;
}

xpStatus drainDevice(xpbContext *ctx, int device, const char *what) {
  const uint64_t timeout_ns = defaultTimeoutNs();
  const auto deadline = deadlineAfter(timeout_ns);
  const double seconds = static_cast<double>(timeout_ns) / 1e9;
  const HipApi *api = ctx->api;
  // Pin the device's streams (stream_destroy waits for pins to go) rather
  // than hold the list's lock while waiting: a host function being waited
  // for may create a stream.
  std::vector<xpbStream *> targets;
  {
    std::lock_guard lock(ctx->streams_mutex);
    for (xpbStream *stream : ctx->streams) {
      if (stream->device != device) continue;
      ++stream->pins;
      targets.push_back(stream);
    }
  }
  xpStatus status = XP_SUCCESS;
  for (xpbStream *stream : targets) {
    std::unique_lock lock(stream->mutex);
    if (stream->worker.get_id() == std::this_thread::get_id()) continue;
    if (!stream->drained.wait_until(lock, deadline,
                                    [stream] { return !stream->busy && stream->tasks.empty(); })) {
      status = xpbFail(ctx->host, XP_ERROR_TIMEOUT,
                       "%s: a stream of hip device %d still has work queued behind a host "
                       "function after %.3f s",
                       what, device, seconds);
      break;
    }
    lock.unlock();
    // A failed stream counts as finished: its error surfaces at its own
    // synchronize.
    if (!pollUntil(deadline,
                   [&] { return api->hipStreamQuery(stream->stream) != hipErrorNotReady; })) {
      status =
          xpbFail(ctx->host, XP_ERROR_TIMEOUT,
                  "%s: a stream of hip device %d still busy after %.3f s", what, device, seconds);
      break;
    }
  }
  {
    std::lock_guard lock(ctx->streams_mutex);
    for (xpbStream *stream : targets) --stream->pins;
  }
  ctx->streams_unpinned.notify_all();
  return status;
}

xpStatus streamCreate(xpbContext *ctx, int device, xpbStream **out) {
  if (xpStatus status = useDevice(ctx, device); status != XP_SUCCESS) return status;
  auto stream = std::make_unique<xpbStream>();
  stream->ctx = ctx;
  stream->device = device;
  // Non-blocking: no implicit synchronisation with the legacy null stream
  // that other code in the process may use.
  hipError_t error = ctx->api->hipStreamCreateWithFlags(&stream->stream, hipStreamNonBlocking);
  if (error != hipSuccess) {
    return hipFail(ctx, "hipStreamCreateWithFlags", error, "on hip device %d", device);
  }
  {
    std::lock_guard lock(ctx->streams_mutex);
    ctx->streams.push_back(stream.get());
  }
  *out = stream.release();
  return XP_SUCCESS;
}

xpStatus streamDestroy(xpbStream *stream) {
  {
    std::unique_lock lock(stream->ctx->streams_mutex);
    auto &streams = stream->ctx->streams;
    streams.erase(std::remove(streams.begin(), streams.end(), stream), streams.end());
    stream->ctx->streams_unpinned.wait(lock, [stream] { return stream->pins == 0; });
  }
  {
    std::lock_guard lock(stream->mutex);
    stream->stopping = true;
  }
  stream->wake.notify_all();
  if (stream->worker.joinable()) stream->worker.join();  // runs what is left first
  xpbContext *ctx = stream->ctx;
  const int device = stream->device;
  xpStatus status = useDevice(ctx, device);
  if (status == XP_SUCCESS) {
    hipError_t error = ctx->api->hipStreamDestroy(stream->stream);
    if (error != hipSuccess) {
      status = hipFail(ctx, "hipStreamDestroy", error, "on hip device %d", device);
    }
  }
  delete stream;
  return status;
}

xpStatus streamQuery(xpbStream *stream) {
  {
    std::lock_guard lock(stream->mutex);
    if (stream->busy || !stream->tasks.empty()) return XP_ERROR_NOT_READY;
  }
  if (xpStatus status = useDevice(stream->ctx, stream->device); status != XP_SUCCESS) {
    return status;
  }
  hipError_t error = stream->ctx->api->hipStreamQuery(stream->stream);
  if (error == hipSuccess) return XP_SUCCESS;
  if (error == hipErrorNotReady) return XP_ERROR_NOT_READY;
  return hipFail(stream->ctx, "hipStreamQuery", error, "on hip device %d", stream->device);
}

xpStatus streamSynchronize(xpbStream *stream, uint64_t timeout_ns) {
  const auto deadline = deadlineAfter(timeout_ns);
  const double seconds = static_cast<double>(timeout_ns) / 1e9;
  {
    // First the host work and what queued behind it...
    std::unique_lock lock(stream->mutex);
    if (!stream->drained.wait_until(lock, deadline,
                                    [stream] { return !stream->busy && stream->tasks.empty(); })) {
      return xpbFail(stream->ctx->host, XP_ERROR_TIMEOUT,
                     "hip stream on device %d still has %zu queued operation(s) and a host "
                     "function or submission in progress after %.3f s",
                     stream->device, stream->tasks.size(), seconds);
    }
  }
  // ...then the device work. hipStreamSynchronize has no deadline: poll.
  if (xpStatus status = useDevice(stream->ctx, stream->device); status != XP_SUCCESS) {
    return status;
  }
  const HipApi *api = stream->ctx->api;
  hipError_t error = hipSuccess;
  const bool finished = pollUntil(deadline, [&] {
    error = api->hipStreamQuery(stream->stream);
    return error != hipErrorNotReady;
  });
  if (!finished) {
    return xpbFail(stream->ctx->host, XP_ERROR_TIMEOUT,
                   "hip stream on device %d still busy after %.3f s (hipStreamQuery: "
                   "hipErrorNotReady)",
                   stream->device, seconds);
  }
  if (error != hipSuccess) {
    return hipFail(stream->ctx, "hipStreamQuery", error, "synchronizing a stream of hip device %d",
                   stream->device);
  }
  Outcome earlier;
  {
    std::lock_guard lock(stream->mutex);
    earlier = std::exchange(stream->error, Outcome{});
  }
  return report(stream->ctx, earlier);
}

xpStatus memcpyAsync(xpbStream *stream, xpbMemRef dst, xpbMemRef src, size_t bytes) {
  void *to = addressOf(dst);
  const void *from = addressOf(src);
  if (dst.buffer == nullptr && src.buffer == nullptr) {
    // Host to host: HIP would block the caller until the stream drains;
    // the worker does it in order instead.
    return submitHost(stream, [to, from, bytes] {
      std::memmove(to, from, bytes);
      return Outcome{};
    });
  }
  const hipMemcpyKind kind =
      dst.buffer != nullptr
          ? (src.buffer != nullptr ? hipMemcpyDeviceToDevice : hipMemcpyHostToDevice)
          : hipMemcpyDeviceToHost;
  const HipApi *api = stream->ctx->api;
  hipStream_t native = stream->stream;
  const int device = stream->device;
  return submitDevice(stream, [=]() -> Outcome {
    hipError_t error = api->hipMemcpyAsync(to, from, bytes, kind, native);
    if (error == hipSuccess) return {};
    return hipOutcome(api, "hipMemcpyAsync", error,
                      "copying %zu bytes %s (%p to %p) on hip device %d", bytes, kindName(kind),
                      from, to, device);
  });
}

xpStatus memsetAsync(xpbStream *stream, xpbMemRef dst, int value, size_t bytes) {
  void *to = addressOf(dst);
  if (dst.buffer == nullptr) {
    return submitHost(stream, [to, value, bytes] {
      std::memset(to, value, bytes);
      return Outcome{};
    });
  }
  const HipApi *api = stream->ctx->api;
  hipStream_t native = stream->stream;
  const int device = stream->device;
  const int byte = static_cast<unsigned char>(value);
  return submitDevice(stream, [=]() -> Outcome {
    hipError_t error = api->hipMemsetAsync(to, byte, bytes, native);
    if (error == hipSuccess) return {};
    return hipOutcome(api, "hipMemsetAsync", error,
                      "filling %zu bytes at %p with 0x%02x on hip device %d", bytes, to, byte,
                      device);
  });
}

xpStatus streamNative(xpbStream *stream, void **native_stream, void **native_context,
                      int *ordinal) {
  *native_stream = stream->stream;
  *native_context = nullptr;
  *ordinal = stream->device;
  return XP_SUCCESS;
}

xpStatus launchHostFunc(xpbStream *stream, xpHostFn fn, void *user_data) {
  return submitHost(stream, [fn, user_data] {
    fn(user_data);
    return Outcome{};
  });
}

xpStatus memcpyPeerAsync(xpbStream *stream, int dst_device, xpbMemRef dst, int src_device,
                         xpbMemRef src, size_t bytes) {
  void *to = addressOf(dst);
  const void *from = addressOf(src);
  if (dst_device == src_device) return memcpyAsync(stream, dst, src, bytes);
  enablePeerAccess(stream->ctx, dst_device, src_device);
  const HipApi *api = stream->ctx->api;
  hipStream_t native = stream->stream;
  return submitDevice(stream, [=]() -> Outcome {
    // Without peer access HIP stages through host memory itself.
    hipError_t error = api->hipMemcpyPeerAsync(to, dst_device, from, src_device, bytes, native);
    if (error == hipSuccess) return {};
    return hipOutcome(api, "hipMemcpyPeerAsync", error,
                      "copying %zu bytes from hip device %d (%p) to hip device %d (%p)", bytes,
                      src_device, from, dst_device, to);
  });
}

}  // namespace xpool::hip
