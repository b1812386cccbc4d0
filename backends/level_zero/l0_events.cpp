// Events of the level_zero backend. Each record takes a fresh slot, so a
// stream that waits on an earlier record keeps waiting on that one.
//
// Timing: spec 1.4 leaves the timestamps of a kernel-timestamp event
// signalled by anything but a kernel undefined (zeCommandListAppendSignalEvent
// says so). A timing record therefore writes the device's global timestamp
// into a host cell with zeCommandListAppendWriteGlobalTimestamp, after a
// barrier so that it is taken when the earlier work has finished, and
// signals the slot from that same command. Elapsed time is the difference of
// two cells in ticks (masked to timestampValidBits) times the device's timer
// resolution.
#include "l0_stream.h"

namespace xpool::level_zero {
namespace {

SlotRef latestOf(xpbEvent *event) {
  std::lock_guard lock(event->mutex);
  return event->latest;
}

xpStatus queryEvent(xpbEvent *event, const SlotRef &slot) {
  ze_result_t result = event->ctx->api->zeEventQueryStatus(slot->event);
  if (result == ZE_RESULT_SUCCESS) return XP_SUCCESS;
  if (result == ZE_RESULT_NOT_READY) return XP_ERROR_NOT_READY;
  return zeFail(event->ctx, "zeEventQueryStatus", result, "on an event of level_zero device %d",
                event->device->index);
}

}  // namespace

xpStatus eventCreate(xpbContext *ctx, int device, unsigned flags, xpbEvent **out) {
  auto *event = new xpbEvent;
  event->ctx = ctx;
  event->device = ctx->devices[static_cast<size_t>(device)].get();
  event->timing = (flags & XP_EVENT_DISABLE_TIMING) == 0;
  *out = event;
  return XP_SUCCESS;
}

xpStatus eventDestroy(xpbEvent *event) {
  // Streams whose commands still signal or wait on its slots hold them.
  delete event;
  return XP_SUCCESS;
}

xpStatus eventRecord(xpbEvent *event, xpbStream *stream) {
  xpbContext *ctx = event->ctx;
  const ZeApi *api = ctx->api;
  Driver &driver = *event->device->driver;
  SlotRef slot;
  if (Outcome got = (event->timing ? driver.timing : driver.plain)->acquire(&slot); !got.ok()) {
    return report(ctx, got);
  }
  {
    std::lock_guard lock(stream->mutex);
    ze_result_t result;
    const char *call;
    if (event->timing) {
      call = "zeCommandListAppendBarrier";
      result = api->zeCommandListAppendBarrier(stream->list, nullptr, 0, nullptr);
      if (result == ZE_RESULT_SUCCESS) {
        call = "zeCommandListAppendWriteGlobalTimestamp";
        result = api->zeCommandListAppendWriteGlobalTimestamp(stream->list, slot->timestamp,
                                                              slot->event, 0, nullptr);
      }
      if (result == ZE_RESULT_SUCCESS && !stream->in_order) {
        call = "zeCommandListAppendBarrier";
        result = api->zeCommandListAppendBarrier(stream->list, nullptr, 0, nullptr);
      }
    } else {
      // A barrier after everything before it, signalling the slot.
      call = "zeCommandListAppendBarrier";
      result = api->zeCommandListAppendBarrier(stream->list, slot->event, 0, nullptr);
    }
    stream->tail_current = false;
    if (result != ZE_RESULT_SUCCESS) {
      stream->abandoned.push_back(slot);
      return zeFail(ctx, call, result, "recording an event on level_zero device %d",
                    stream->device->index);
    }
    stream->retained.push_back({{}, slot});
    collectRetained(stream);
  }
  std::lock_guard lock(event->mutex);
  event->latest = std::move(slot);
  return XP_SUCCESS;
}

xpStatus eventQuery(xpbEvent *event) {
  SlotRef slot = latestOf(event);
  if (!slot) return XP_SUCCESS;  // never recorded
  return queryEvent(event, slot);
}

xpStatus eventSynchronize(xpbEvent *event, uint64_t timeout_ns) {
  SlotRef slot = latestOf(event);
  if (!slot) return XP_SUCCESS;
  ze_result_t result = event->ctx->api->zeEventHostSynchronize(slot->event, timeout_ns);
  if (result == ZE_RESULT_SUCCESS) return XP_SUCCESS;
  if (result == ZE_RESULT_NOT_READY) {
    return xpbFail(event->ctx->host, XP_ERROR_TIMEOUT,
                   "level_zero event on device %d not reached after %.3f s", event->device->index,
                   static_cast<double>(timeout_ns) / 1e9);
  }
  return zeFail(event->ctx, "zeEventHostSynchronize", result,
                "waiting for an event of level_zero device %d", event->device->index);
}

xpStatus eventElapsed(xpbEvent *start, xpbEvent *end, float *ms) {
  xpbContext *ctx = start->ctx;
  SlotRef slots[2] = {latestOf(start), latestOf(end)};
  xpbEvent *events[2] = {start, end};
  const char *roles[2] = {"start", "end"};
  for (int i = 0; i < 2; ++i) {
    if (!slots[i]) {
      return xpbFail(ctx->host, XP_ERROR_INVALID_VALUE, "the %s event was never recorded",
                     roles[i]);
    }
    if (slots[i]->timestamp == nullptr) {
      return xpbFail(ctx->host, XP_ERROR_INVALID_VALUE,
                     "the %s event was created with XP_EVENT_DISABLE_TIMING", roles[i]);
    }
  }
  if (start->device != end->device) {
    return xpbFail(ctx->host, XP_ERROR_INVALID_VALUE,
                   "the events are on level_zero devices %d and %d, whose timers are unrelated",
                   start->device->index, end->device->index);
  }
  for (int i = 0; i < 2; ++i) {
    xpStatus status = queryEvent(events[i], slots[i]);
    if (status == XP_ERROR_NOT_READY) {
      return xpbFail(ctx->host, XP_ERROR_NOT_READY, "the %s event has not completed", roles[i]);
    }
    if (status != XP_SUCCESS) return status;
  }
  // The slots signalled with host scope after the timestamps were written.
  const Device &device = *start->device;
  const uint64_t t0 =
      *static_cast<volatile uint64_t *>(slots[0]->timestamp) & device.timestamp_mask;
  const uint64_t t1 =
      *static_cast<volatile uint64_t *>(slots[1]->timestamp) & device.timestamp_mask;
  const uint64_t forward = (t1 - t0) & device.timestamp_mask;
  const uint64_t backward = (t0 - t1) & device.timestamp_mask;
  // The shorter way round the (possibly wrapped) counter gives the sign.
  const double ticks =
      forward <= backward ? static_cast<double>(forward) : -static_cast<double>(backward);
  *ms = static_cast<float>(ticks * device.ns_per_tick / 1e6);
  return XP_SUCCESS;
}

xpStatus streamWaitEvent(xpbStream *stream, xpbEvent *event) {
  SlotRef slot = latestOf(event);
  if (!slot) return XP_SUCCESS;  // never recorded: nothing to wait for
  // Another driver is another context: its events cannot be waited on here.
  if (event->device->driver != stream->device->driver) return XPB_FALLBACK;
  xpbContext *ctx = stream->ctx;
  const ZeApi *api = ctx->api;
  SlotRef progress;
  if (Outcome got = stream->device->driver->plain->acquire(&progress); !got.ok()) {
    return report(ctx, got);
  }
  std::lock_guard lock(stream->mutex);
  ze_result_t result = api->zeCommandListAppendWaitOnEvents(stream->list, 1, &slot->event);
  const char *call = "zeCommandListAppendWaitOnEvents";
  if (result == ZE_RESULT_SUCCESS) {
    // Holds later commands until the wait is over, in either list mode, and
    // tells when the slot may be let go.
    result = api->zeCommandListAppendBarrier(stream->list, progress->event, 0, nullptr);
    call = "zeCommandListAppendBarrier";
  }
  stream->tail_current = false;
  if (result != ZE_RESULT_SUCCESS) {
    stream->abandoned.insert(stream->abandoned.end(), {slot, progress});
    return zeFail(ctx, call, result,
                  "making a stream of level_zero device %d wait for an event of device %d",
                  stream->device->index, event->device->index);
  }
  stream->retained.push_back({{slot}, progress});
  collectRetained(stream);
  return XP_SUCCESS;
}

}  // namespace xpool::level_zero
