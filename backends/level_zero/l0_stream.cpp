// Streams of the level_zero backend: immediate command lists, host work,
// copies and fills. See l0_stream.h for the ordering and slot rules.
#include "l0_stream.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <system_error>
#include <utility>

namespace xpool::level_zero {
namespace {

// How long one zeEventHostSynchronize of the worker lasts before it looks
// again; the wait itself has no deadline (the stream's synchronize has one).
constexpr uint64_t kWorkerSliceNs = 100'000'000;

void workerLoop(xpbStream *stream) {
  const ZeApi *api = stream->ctx->api;
  std::unique_lock lock(stream->work_mutex);
  for (;;) {
    stream->wake.wait(lock, [stream] { return stream->stopping || !stream->tasks.empty(); });
    if (stream->tasks.empty()) return;  // stopping, and nothing left
    HostTask task = std::move(stream->tasks.front());
    stream->tasks.pop_front();
    lock.unlock();

    Outcome result;
    for (;;) {
      ze_result_t waited = api->zeEventHostSynchronize(task.done->event, kWorkerSliceNs);
      if (waited == ZE_RESULT_SUCCESS) break;
      if (waited != ZE_RESULT_NOT_READY) {
        result = zeOutcome("zeEventHostSynchronize", waited,
                           "waiting for the work before a host function on level_zero device %d",
                           stream->device->index);
        break;
      }
    }
    // Host work runs even after a failure: the runtime's host functions own
    // resources, and the gate must open or the stream never drains.
    Outcome ran = task.work();
    if (result.ok()) result = std::move(ran);
    // Keep the failure before opening the gate: a synchronize that sees the
    // stream drained must also see it.
    if (!result.ok()) {
      std::lock_guard error_lock(stream->work_mutex);
      if (stream->error.ok()) stream->error = std::move(result);
    }
    ze_result_t signalled = api->zeEventHostSignal(task.gate->event);
    if (signalled != ZE_RESULT_SUCCESS) {
      Outcome failure = zeOutcome("zeEventHostSignal", signalled,
                                  "opening the gate after a host function on level_zero device %d",
                                  stream->device->index);
      std::lock_guard error_lock(stream->work_mutex);
      if (stream->error.ok()) stream->error = std::move(failure);
    }
    task = HostTask{};  // let go of the slots outside the lock
    lock.lock();
  }
}

void *addressOf(const xpbMemRef &ref) {
  if (ref.buffer != nullptr) return static_cast<char *>(ref.buffer) + ref.offset;
  return ref.host;
}

// Fill patterns that outlive any command that reads them.
const uint8_t *patternFor(int value) {
  static const auto patterns = [] {
    std::array<uint8_t, 256> all{};
    for (int i = 0; i < 256; ++i) all[static_cast<size_t>(i)] = static_cast<uint8_t>(i);
    return all;
  }();
  return &patterns[static_cast<unsigned char>(value)];
}

bool canAccessPeer(xpbContext *ctx, const Device &from, const Device &to) {
  const uint64_t key = (static_cast<uint64_t>(from.index) << 32) | static_cast<uint32_t>(to.index);
  std::lock_guard lock(ctx->peer_mutex);
  if (auto found = ctx->peer_access.find(key); found != ctx->peer_access.end()) {
    return found->second;
  }
  ze_bool_t can = 0;
  const bool answer =
      ctx->api->zeDeviceCanAccessPeer(from.handle, to.handle, &can) == ZE_RESULT_SUCCESS &&
      can != 0;
  ctx->peer_access[key] = answer;
  return answer;
}

}  // namespace

void collectRetained(xpbStream *stream) {
  const ZeApi *api = stream->ctx->api;
  // Markers signal in stream order: stop at the first that has not.
  while (!stream->retained.empty() &&
         api->zeEventQueryStatus(stream->retained.front().progress->event) == ZE_RESULT_SUCCESS) {
    stream->retained.pop_front();
  }
}

Outcome markTail(xpbStream *stream, SlotRef *out) {
  if (stream->tail && stream->tail_current) {
    *out = stream->tail;
    return {};
  }
  SlotRef marker;
  if (Outcome got = stream->device->driver->plain->acquire(&marker); !got.ok()) return got;
  ze_result_t result =
      stream->ctx->api->zeCommandListAppendBarrier(stream->list, marker->event, 0, nullptr);
  if (result != ZE_RESULT_SUCCESS) {
    return zeOutcome("zeCommandListAppendBarrier", result,
                     "marking the end of a stream of level_zero device %d", stream->device->index);
  }
  stream->retained.push_back({{}, marker});
  stream->tail = marker;
  stream->tail_current = true;
  *out = std::move(marker);
  return {};
}

xpStatus enqueueHostWork(xpbStream *stream, std::function<Outcome()> work) {
  xpbContext *ctx = stream->ctx;
  const ZeApi *api = ctx->api;
  SlotPool &pool = *stream->device->driver->plain;
  SlotRef done, gate, progress;
  for (SlotRef *slot : {&done, &gate, &progress}) {
    if (Outcome got = pool.acquire(slot); !got.ok()) return report(ctx, got);
  }
  std::lock_guard lock(stream->mutex);
  {
    std::lock_guard work_lock(stream->work_mutex);
    if (!stream->worker.joinable()) {
      try {
        stream->worker = std::thread(workerLoop, stream);
      } catch (const std::system_error &e) {
        return xpbFail(ctx->host, XP_ERROR_OUT_OF_MEMORY,
                       "could not start the host-function thread of a stream of level_zero "
                       "device %d: %s",
                       stream->device->index, e.what());
      }
    }
  }
  ze_result_t result = api->zeCommandListAppendBarrier(stream->list, done->event, 0, nullptr);
  if (result != ZE_RESULT_SUCCESS) {
    return zeFail(ctx, "zeCommandListAppendBarrier", result,
                  "before a host function on level_zero device %d", stream->device->index);
  }
  result = api->zeCommandListAppendWaitOnEvents(stream->list, 1, &gate->event);
  const char *failed = "zeCommandListAppendWaitOnEvents";
  if (result == ZE_RESULT_SUCCESS) {
    // Orders later commands after the gate, in either list mode.
    result = api->zeCommandListAppendBarrier(stream->list, progress->event, 0, nullptr);
    failed = "zeCommandListAppendBarrier";
  }
  stream->tail_current = false;
  if (result != ZE_RESULT_SUCCESS) {
    // Part of it is in the list: open the gate now so nothing hangs, and
    // keep the slots until the stream goes away.
    (void)api->zeEventHostSignal(gate->event);
    stream->abandoned.insert(stream->abandoned.end(), {done, gate, progress});
    return zeFail(ctx, failed, result, "for a host function on level_zero device %d",
                  stream->device->index);
  }
  stream->retained.push_back({{done, gate}, progress});
  {
    // Still under the stream's mutex: the worker meets host functions in the
    // order their gates are in the list.
    std::lock_guard work_lock(stream->work_mutex);
    stream->tasks.push_back({std::move(done), std::move(gate), std::move(work)});
  }
  stream->wake.notify_one();
  return XP_SUCCESS;
}

xpStatus drainDevice(xpbContext *ctx, const Device &device, const char *what) {
  const uint64_t timeout_ns = defaultTimeoutNs();
  const auto deadline = Clock::now() + std::chrono::nanoseconds(timeout_ns);
  // Pin the device's streams (stream_destroy waits for pins to go) rather
  // than hold the list's lock while waiting: a host function being waited
  // for may create a stream.
  std::vector<xpbStream *> targets;
  {
    std::lock_guard lock(ctx->streams_mutex);
    for (xpbStream *stream : ctx->streams) {
      if (stream->device != &device) continue;
      ++stream->pins;
      targets.push_back(stream);
    }
  }
  xpStatus status = XP_SUCCESS;
  for (xpbStream *stream : targets) {
    {
      std::lock_guard lock(stream->work_mutex);
      if (stream->worker.get_id() == std::this_thread::get_id()) continue;
    }
    SlotRef tail;
    {
      std::lock_guard lock(stream->mutex);
      if (Outcome marked = markTail(stream, &tail); !marked.ok()) {
        status = report(ctx, marked);
        break;
      }
    }
    const auto now = Clock::now();
    const uint64_t left =
        now >= deadline
            ? 0
            : static_cast<uint64_t>(
                  std::chrono::duration_cast<std::chrono::nanoseconds>(deadline - now).count());
    // A failed stream counts as finished: its error surfaces at its own
    // synchronize.
    if (ctx->api->zeEventHostSynchronize(tail->event, left) == ZE_RESULT_NOT_READY) {
      status = xpbFail(ctx->host, XP_ERROR_TIMEOUT,
                       "%s: a stream of level_zero device %d still busy after %.3f s", what,
                       device.index, static_cast<double>(timeout_ns) / 1e9);
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

xpStatus streamCreate(xpbContext *ctx, int index, xpbStream **out) {
  Device &device = *ctx->devices[static_cast<size_t>(index)];
  auto stream = std::make_unique<xpbStream>();
  stream->ctx = ctx;
  stream->device = &device;
  ze_command_queue_desc_t desc{};
  desc.stype = ZE_STRUCTURE_TYPE_COMMAND_QUEUE_DESC;
  desc.ordinal = device.compute_ordinal;
  desc.index = 0;
  desc.mode = ZE_COMMAND_QUEUE_MODE_ASYNCHRONOUS;
  desc.priority = ZE_COMMAND_QUEUE_PRIORITY_NORMAL;
  ze_result_t result = ZE_RESULT_ERROR_UNSUPPORTED_FEATURE;
  if (device.driver->api_version >= kZeApi_1_7) {
    desc.flags = kZeCommandQueueFlagInOrder;
    result = ctx->api->zeCommandListCreateImmediate(device.driver->context, device.handle, &desc,
                                                    &stream->list);
    stream->in_order = result == ZE_RESULT_SUCCESS;
  }
  if (result != ZE_RESULT_SUCCESS) {
    desc.flags = 0;  // barriers keep the order instead
    result = ctx->api->zeCommandListCreateImmediate(device.driver->context, device.handle, &desc,
                                                    &stream->list);
  }
  if (result != ZE_RESULT_SUCCESS) {
    return zeFail(ctx, "zeCommandListCreateImmediate", result,
                  "on queue group %u of level_zero device %d", device.compute_ordinal, index);
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
    std::lock_guard lock(stream->work_mutex);
    stream->stopping = true;
  }
  stream->wake.notify_all();
  if (stream->worker.joinable()) stream->worker.join();  // runs what is left first
  xpbContext *ctx = stream->ctx;
  const int index = stream->device->index;
  ze_result_t result = ctx->api->zeCommandListDestroy(stream->list);
  // The runtime synchronised the stream: every retained slot is free again.
  stream->retained.clear();
  stream->tail.reset();
  stream->abandoned.clear();
  delete stream;
  if (result != ZE_RESULT_SUCCESS) {
    return zeFail(ctx, "zeCommandListDestroy", result, "on level_zero device %d", index);
  }
  return XP_SUCCESS;
}

xpStatus streamQuery(xpbStream *stream) {
  SlotRef tail;
  {
    std::lock_guard lock(stream->mutex);
    if (Outcome marked = markTail(stream, &tail); !marked.ok()) return report(stream->ctx, marked);
    collectRetained(stream);
  }
  ze_result_t result = stream->ctx->api->zeEventQueryStatus(tail->event);
  if (result == ZE_RESULT_SUCCESS) return XP_SUCCESS;
  if (result == ZE_RESULT_NOT_READY) return XP_ERROR_NOT_READY;
  return zeFail(stream->ctx, "zeEventQueryStatus", result,
                "querying a stream of level_zero device %d", stream->device->index);
}

xpStatus streamSynchronize(xpbStream *stream, uint64_t timeout_ns) {
  SlotRef tail;
  {
    std::lock_guard lock(stream->mutex);
    if (Outcome marked = markTail(stream, &tail); !marked.ok()) return report(stream->ctx, marked);
  }
  // zeEventHostSynchronize takes the deadline itself (0 polls, UINT64_MAX
  // waits for ever).
  ze_result_t result = stream->ctx->api->zeEventHostSynchronize(tail->event, timeout_ns);
  if (result == ZE_RESULT_NOT_READY) {
    size_t queued = 0;
    {
      std::lock_guard lock(stream->work_mutex);
      queued = stream->tasks.size();
    }
    return xpbFail(stream->ctx->host, XP_ERROR_TIMEOUT,
                   "level_zero stream on device %d still busy after %.3f s%s",
                   stream->device->index, static_cast<double>(timeout_ns) / 1e9,
                   queued > 0 ? " (host functions are still waiting or running)" : "");
  }
  if (result != ZE_RESULT_SUCCESS) {
    return zeFail(stream->ctx, "zeEventHostSynchronize", result,
                  "synchronizing a stream of level_zero device %d", stream->device->index);
  }
  {
    std::lock_guard lock(stream->mutex);
    collectRetained(stream);
  }
  Outcome earlier;
  {
    std::lock_guard lock(stream->work_mutex);
    earlier = std::exchange(stream->error, Outcome{});
  }
  return report(stream->ctx, earlier);
}

xpStatus memcpyAsync(xpbStream *stream, xpbMemRef dst, xpbMemRef src, size_t bytes) {
  void *to = addressOf(dst);
  const void *from = addressOf(src);
  if (dst.buffer == nullptr && src.buffer == nullptr) {
    // Host to host: not device-accessible memory in general; the worker
    // copies it in stream order.
    return enqueueHostWork(stream, [to, from, bytes] {
      std::memmove(to, from, bytes);
      return Outcome{};
    });
  }
  const ZeApi *api = stream->ctx->api;
  ze_result_t result = appendInOrder(stream, [&](ze_command_list_handle_t list) {
    return api->zeCommandListAppendMemoryCopy(list, to, from, bytes, nullptr, 0, nullptr);
  });
  if (result != ZE_RESULT_SUCCESS) {
    return zeFail(stream->ctx, "zeCommandListAppendMemoryCopy", result,
                  "copying %zu bytes (%p to %p) on level_zero device %d", bytes, from, to,
                  stream->device->index);
  }
  return XP_SUCCESS;
}

xpStatus memsetAsync(xpbStream *stream, xpbMemRef dst, int value, size_t bytes) {
  void *to = addressOf(dst);
  if (dst.buffer == nullptr) {
    return enqueueHostWork(stream, [to, value, bytes] {
      std::memset(to, value, bytes);
      return Outcome{};
    });
  }
  const ZeApi *api = stream->ctx->api;
  const uint8_t *pattern = patternFor(value);
  ze_result_t result = appendInOrder(stream, [&](ze_command_list_handle_t list) {
    return api->zeCommandListAppendMemoryFill(list, to, pattern, 1, bytes, nullptr, 0, nullptr);
  });
  if (result != ZE_RESULT_SUCCESS) {
    return zeFail(stream->ctx, "zeCommandListAppendMemoryFill", result,
                  "filling %zu bytes at %p with 0x%02x on level_zero device %d", bytes, to,
                  *pattern, stream->device->index);
  }
  return XP_SUCCESS;
}

xpStatus launchHostFunc(xpbStream *stream, xpHostFn fn, void *user_data) {
  return enqueueHostWork(stream, [fn, user_data] {
    fn(user_data);
    return Outcome{};
  });
}

xpStatus memcpyPeerAsync(xpbStream *stream, int dst_device, xpbMemRef dst, int src_device,
                         xpbMemRef src, size_t bytes) {
  xpbContext *ctx = stream->ctx;
  const Device &to_device = *ctx->devices[static_cast<size_t>(dst_device)];
  const Device &from_device = *ctx->devices[static_cast<size_t>(src_device)];
  // Different drivers are different contexts: the runtime stages. Within a
  // context, the stream's device must reach the other one.
  if (to_device.driver != from_device.driver) return XPB_FALLBACK;
  const Device &other = stream->device == &to_device ? from_device : to_device;
  if (&other != stream->device && !canAccessPeer(ctx, *stream->device, other)) {
    return XPB_FALLBACK;
  }
  void *to = addressOf(dst);
  const void *from = addressOf(src);
  const ZeApi *api = ctx->api;
  ze_result_t result = appendInOrder(stream, [&](ze_command_list_handle_t list) {
    return api->zeCommandListAppendMemoryCopy(list, to, from, bytes, nullptr, 0, nullptr);
  });
  if (result != ZE_RESULT_SUCCESS) {
    return zeFail(ctx, "zeCommandListAppendMemoryCopy", result,
                  "copying %zu bytes from level_zero device %d (%p) to level_zero device %d (%p)",
                  bytes, src_device, from, dst_device, to);
  }
  return XP_SUCCESS;
}

}  // namespace xpool::level_zero
