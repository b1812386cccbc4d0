// Streams, events and host functions.
#include "errors.h"
#include "registry.h"
#include "transfer.h"

using xpool::Device;
using xpool::fail;
using xpool::Runtime;

namespace {

uint64_t toNs(uint32_t timeout_ms) {
  return static_cast<uint64_t>(timeout_ms) * 1000000ull;
}

xpStatus eventSynchronize(const char *call, xpEvent event, uint64_t timeout_ns) {
  Runtime *runtime = Runtime::acquire(call);
  if (runtime == nullptr) return XP_ERROR_NOT_INITIALIZED;
  XP_RETURN_IF_ERROR(runtime->checkEvent(call, event));
  EventObject &object = *event->object;
  xpStatus status = object.device->api().event_synchronize(object.native, timeout_ns);
  if (status != XP_SUCCESS) {
    return fail(status, "{}: event {} on device {} ({}): {}", call, static_cast<void *>(event),
                object.device->ordinal, object.device->backend->name, xpool::lastError());
  }
  return XP_SUCCESS;
}

xpStatus streamSynchronize(const char *call, xpStream stream, uint64_t timeout_ns) {
  Runtime *runtime = Runtime::acquire(call);
  if (runtime == nullptr) return XP_ERROR_NOT_INITIALIZED;
  XP_RETURN_IF_ERROR(runtime->checkStream(call, stream));
  return xpool::synchronizeStream(stream, timeout_ns, call);
}

}  // namespace

extern "C" {

xpStatus xpStreamCreate(int ordinal, xpStream *stream) {
  Runtime *runtime = Runtime::acquire("xpStreamCreate");
  if (runtime == nullptr) return XP_ERROR_NOT_INITIALIZED;
  if (stream == nullptr) return fail(XP_ERROR_INVALID_VALUE, "xpStreamCreate: stream is NULL");
  *stream = nullptr;
  Device *device = nullptr;
  XP_RETURN_IF_ERROR(runtime->device("xpStreamCreate", ordinal, &device));
  xpbStream *native = nullptr;
  xpStatus status = device->api().stream_create(device->backend->context, device->local, &native);
  if (status != XP_SUCCESS) {
    return fail(status, "xpStreamCreate: device {} ({}): {}", ordinal, device->backend->name,
                xpool::lastError());
  }
  auto *created = new xpStream_st{device, native};
  runtime->addHandle(created, "stream");
  *stream = created;
  return XP_SUCCESS;
}

xpStatus xpStreamDestroy(xpStream stream) {
  Runtime *runtime = Runtime::acquire("xpStreamDestroy");
  if (runtime == nullptr) return XP_ERROR_NOT_INITIALIZED;
  XP_RETURN_IF_ERROR(runtime->checkStream("xpStreamDestroy", stream));
  // Work still queued may reference the stream: let it finish first. On a
  // timeout the stream stays alive (and valid) so nothing runs on freed state.
  XP_RETURN_IF_ERROR(xpool::synchronizeStream(stream, runtime->timeoutNs(), "xpStreamDestroy"));
  runtime->removeHandle(stream);
  stream->device->api().stream_destroy(stream->native);
  delete stream;
  return XP_SUCCESS;
}

xpStatus xpStreamGetDevice(xpStream stream, int *ordinal) {
  Runtime *runtime = Runtime::acquire("xpStreamGetDevice");
  if (runtime == nullptr) return XP_ERROR_NOT_INITIALIZED;
  XP_RETURN_IF_ERROR(runtime->checkStream("xpStreamGetDevice", stream));
  if (ordinal == nullptr) return fail(XP_ERROR_INVALID_VALUE, "xpStreamGetDevice: device is NULL");
  *ordinal = stream->device->ordinal;
  return XP_SUCCESS;
}

xpStatus xpStreamGetNative(xpStream stream, xpNativeStream *out) {
  constexpr const char *kCall = "xpStreamGetNative";
  Runtime *runtime = Runtime::acquire(kCall);
  if (runtime == nullptr) return XP_ERROR_NOT_INITIALIZED;
  XP_RETURN_IF_ERROR(runtime->checkStream(kCall, stream));
  if (out == nullptr) return fail(XP_ERROR_INVALID_VALUE, "xpStreamGetNative: out is NULL");
  if (out->struct_size < sizeof(xpNativeStream)) {
    return fail(XP_ERROR_INVALID_VALUE,
                "xpStreamGetNative: out->struct_size is {}, expected at least {}", out->struct_size,
                sizeof(xpNativeStream));
  }
  Device *device = stream->device;
  const xpbBackend &api = device->api();
  // The plugin's own name: a string literal of a library that stays mapped.
  const char *backend = api.name != nullptr ? api.name : "unknown";
  xpNativeStream result{};
  result.struct_size = sizeof result;
  result.backend = backend;
  result.device_ordinal = -1;
  *out = result;
  if (api.stream_native == nullptr) {
    return fail(XP_ERROR_NOT_SUPPORTED,
                "xpStreamGetNative: the {} backend's streams have no native handle", backend);
  }
  void *native_stream = nullptr;
  void *native_context = nullptr;
  int ordinal = -1;
  xpClearLastError();  // so that a backend's silent NOT_SUPPORTED adds no stale message
  xpStatus status = api.stream_native(stream->native, &native_stream, &native_context, &ordinal);
  if (status == XP_ERROR_NOT_SUPPORTED) {
    return fail(XP_ERROR_NOT_SUPPORTED,
                "xpStreamGetNative: the {} backend's streams have no native handle{}{}", backend,
                xpool::lastError().empty() ? "" : ": ", xpool::lastError());
  }
  if (status != XP_SUCCESS) {
    return fail(status, "xpStreamGetNative: stream {} on device {} ({}): {}",
                static_cast<void *>(stream), device->ordinal, backend, xpool::lastError());
  }
  result.stream = native_stream;
  result.context = native_context;
  result.device_ordinal = ordinal;
  *out = result;
  return XP_SUCCESS;
}

xpStatus xpStreamSynchronize(xpStream stream) {
  Runtime *runtime = Runtime::acquire("xpStreamSynchronize");
  if (runtime == nullptr) return XP_ERROR_NOT_INITIALIZED;
  return streamSynchronize("xpStreamSynchronize", stream, runtime->timeoutNs());
}

xpStatus xpStreamSynchronizeTimeout(xpStream stream, uint32_t timeout_ms) {
  return streamSynchronize("xpStreamSynchronizeTimeout", stream, toNs(timeout_ms));
}

xpStatus xpStreamQuery(xpStream stream) {
  Runtime *runtime = Runtime::acquire("xpStreamQuery");
  if (runtime == nullptr) return XP_ERROR_NOT_INITIALIZED;
  XP_RETURN_IF_ERROR(runtime->checkStream("xpStreamQuery", stream));
  return stream->device->api().stream_query(stream->native);
}

xpStatus xpStreamWaitEvent(xpStream stream, xpEvent event) {
  Runtime *runtime = Runtime::acquire("xpStreamWaitEvent");
  if (runtime == nullptr) return XP_ERROR_NOT_INITIALIZED;
  XP_RETURN_IF_ERROR(runtime->checkStream("xpStreamWaitEvent", stream));
  XP_RETURN_IF_ERROR(runtime->checkEvent("xpStreamWaitEvent", event));
  std::shared_ptr<EventObject> object = event->object;
  if (object->device->backend == stream->device->backend) {
    xpStatus status = stream->device->api().stream_wait_event(stream->native, object->native);
    if (status != XPB_FALLBACK) return status;
  }
  // Another backend (or no native path): a runtime thread waits for the
  // event in the stream's order, with the runtime's deadline.
  const uint64_t timeout_ns = runtime->timeoutNs();
  return xpool::enqueueRuntimeWork(
      stream,
      fmt::format("wait for event {} of device {} ({})", static_cast<void *>(event),
                  object->device->ordinal, object->device->backend->name),
      [object, timeout_ns] {
        return object->device->api().event_synchronize(object->native, timeout_ns);
      });
}

xpStatus xpLaunchHostFunc(xpStream stream, xpHostFn fn, void *user_data) {
  Runtime *runtime = Runtime::acquire("xpLaunchHostFunc");
  if (runtime == nullptr) return XP_ERROR_NOT_INITIALIZED;
  XP_RETURN_IF_ERROR(runtime->checkStream("xpLaunchHostFunc", stream));
  if (fn == nullptr) return fail(XP_ERROR_INVALID_VALUE, "xpLaunchHostFunc: fn is NULL");
  return stream->device->api().launch_host_func(stream->native, fn, user_data);
}

xpStatus xpDeviceSynchronize(int ordinal) {
  Runtime *runtime = Runtime::acquire("xpDeviceSynchronize");
  if (runtime == nullptr) return XP_ERROR_NOT_INITIALIZED;
  Device *device = nullptr;
  XP_RETURN_IF_ERROR(runtime->device("xpDeviceSynchronize", ordinal, &device));
  std::vector<xpStream> streams = runtime->streamsOf(device);
  for (xpStream stream : streams) {
    XP_RETURN_IF_ERROR(
        xpool::synchronizeStream(stream, runtime->timeoutNs(), "xpDeviceSynchronize"));
  }
  return XP_SUCCESS;
}

xpStatus xpEventCreate(int ordinal, unsigned flags, xpEvent *event) {
  Runtime *runtime = Runtime::acquire("xpEventCreate");
  if (runtime == nullptr) return XP_ERROR_NOT_INITIALIZED;
  if (event == nullptr) return fail(XP_ERROR_INVALID_VALUE, "xpEventCreate: event is NULL");
  *event = nullptr;
  if ((flags & ~XP_EVENT_DISABLE_TIMING) != 0) {
    return fail(XP_ERROR_INVALID_VALUE, "xpEventCreate: unknown flags {:#x}", flags);
  }
  Device *device = nullptr;
  XP_RETURN_IF_ERROR(runtime->device("xpEventCreate", ordinal, &device));
  auto object = std::make_shared<EventObject>();
  object->device = device;
  object->flags = flags;
  xpStatus status =
      device->api().event_create(device->backend->context, device->local, flags, &object->native);
  if (status != XP_SUCCESS) {
    return fail(status, "xpEventCreate: device {}: {}", ordinal, xpool::lastError());
  }
  auto *created = new xpEvent_st{std::move(object)};
  runtime->addHandle(created, "event");
  *event = created;
  return XP_SUCCESS;
}

xpStatus xpEventDestroy(xpEvent event) {
  Runtime *runtime = Runtime::acquire("xpEventDestroy");
  if (runtime == nullptr) return XP_ERROR_NOT_INITIALIZED;
  XP_RETURN_IF_ERROR(runtime->checkEvent("xpEventDestroy", event));
  runtime->removeHandle(event);
  delete event;  // the backend event lives on while a pending wait holds it
  return XP_SUCCESS;
}

xpStatus xpEventRecord(xpEvent event, xpStream stream) {
  Runtime *runtime = Runtime::acquire("xpEventRecord");
  if (runtime == nullptr) return XP_ERROR_NOT_INITIALIZED;
  XP_RETURN_IF_ERROR(runtime->checkEvent("xpEventRecord", event));
  if (stream == nullptr) {
    XP_RETURN_IF_ERROR(runtime->defaultStream(event->object->device, &stream));
  } else {
    XP_RETURN_IF_ERROR(runtime->checkStream("xpEventRecord", stream));
  }
  if (stream->device != event->object->device) {
    return fail(XP_ERROR_INVALID_VALUE,
                "xpEventRecord: the event belongs to device {} but the stream to device {}",
                event->object->device->ordinal, stream->device->ordinal);
  }
  return stream->device->api().event_record(event->object->native, stream->native);
}

xpStatus xpEventQuery(xpEvent event) {
  Runtime *runtime = Runtime::acquire("xpEventQuery");
  if (runtime == nullptr) return XP_ERROR_NOT_INITIALIZED;
  XP_RETURN_IF_ERROR(runtime->checkEvent("xpEventQuery", event));
  return event->object->device->api().event_query(event->object->native);
}

xpStatus xpEventSynchronize(xpEvent event) {
  Runtime *runtime = Runtime::acquire("xpEventSynchronize");
  if (runtime == nullptr) return XP_ERROR_NOT_INITIALIZED;
  return eventSynchronize("xpEventSynchronize", event, runtime->timeoutNs());
}

xpStatus xpEventSynchronizeTimeout(xpEvent event, uint32_t timeout_ms) {
  return eventSynchronize("xpEventSynchronizeTimeout", event, toNs(timeout_ms));
}

xpStatus xpEventElapsedTime(float *ms, xpEvent start, xpEvent end) {
  Runtime *runtime = Runtime::acquire("xpEventElapsedTime");
  if (runtime == nullptr) return XP_ERROR_NOT_INITIALIZED;
  if (ms == nullptr) return fail(XP_ERROR_INVALID_VALUE, "xpEventElapsedTime: ms is NULL");
  XP_RETURN_IF_ERROR(runtime->checkEvent("xpEventElapsedTime", start));
  XP_RETURN_IF_ERROR(runtime->checkEvent("xpEventElapsedTime", end));
  const EventObject &a = *start->object;
  const EventObject &b = *end->object;
  if (((a.flags | b.flags) & XP_EVENT_DISABLE_TIMING) != 0) {
    return fail(XP_ERROR_INVALID_VALUE,
                "xpEventElapsedTime: event {} was created with XP_EVENT_DISABLE_TIMING",
                static_cast<void *>((a.flags & XP_EVENT_DISABLE_TIMING) != 0 ? start : end));
  }
  if (a.device->backend != b.device->backend) {
    return fail(XP_ERROR_INVALID_VALUE,
                "xpEventElapsedTime: the events are on devices {} ({}) and {} ({}), whose "
                "backends share no clock",
                a.device->ordinal, a.device->backend->name, b.device->ordinal,
                b.device->backend->name);
  }
  return a.device->api().event_elapsed(a.native, b.native, ms);
}

}  // extern "C"
