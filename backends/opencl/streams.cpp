// Streams: one in-order, profiling-enabled command queue each, plus a lazily
// started worker thread for host functions.
//
// A host function enqueues a marker M and gates the stream (see xpbStream).
// The callback of M, on the OpenCL runtime's thread, only hands the task to
// the stream's worker; the worker runs fn, then reopens the stream, which
// enqueues what was deferred meanwhile. fn may block for as long as it likes
// without holding up the OpenCL runtime or the threads enqueueing work.
#include "objects.h"

xpbStream::~xpbStream() {
  deferred.clear();  // releases what deferred operations hold
  if (last != nullptr) cl->clReleaseEvent(last);
  // Queued commands still complete: OpenCL keeps the queue until they are done.
  if (queue != nullptr) cl->clReleaseCommandQueue(queue);
}

xpStatus xpbStream::submit(xpool::opencl::Op op) {
  if (gated) {
    deferred.push_back(std::move(op));
    return XP_SUCCESS;
  }
  return xpool::opencl::report(ctx->host, op());
}

void xpbStream::setLast(cl_event event) {
  if (last != nullptr) cl->clReleaseEvent(last);
  last = event;
  // Flush at once: commands of other queues may wait on this one, and a wait
  // through clSetEventCallback does not flush.
  cl->clFlush(queue);
}

void xpbStream::reopen() {
  gated = false;
  while (!gated && !deferred.empty()) {
    xpool::opencl::Op op = std::move(deferred.front());
    deferred.pop_front();
    xpool::opencl::OpStatus result = op();
    if (!result.ok() && async_failure.ok()) async_failure = std::move(result);
  }
}

namespace xpool::opencl {

namespace {

constexpr auto kWorkerExitTimeout = std::chrono::seconds(10);

struct MarkerCallback {
  std::shared_ptr<HostWorker> worker;
  HostWorker::Task task;
};

void CL_CALLBACK onHostMarker(cl_event, cl_int, void *user_data) {
  // Also called when earlier work failed (negative status): fn still runs,
  // since the runtime's host functions release waiters and staging buffers;
  // the failure reaches the caller through synchronize.
  auto *data = static_cast<MarkerCallback *>(user_data);
  {
    std::lock_guard<std::mutex> lock(data->worker->mu);
    --data->worker->pending;
    data->worker->ready.push_back(std::move(data->task));
    data->worker->cv.notify_all();
  }
  delete data;
  callbackFinished();
}

void stopWorker(xpbStream *stream, const std::shared_ptr<HostWorker> &worker) {
  std::unique_lock<std::mutex> lock(worker->mu);
  worker->closing = true;
  worker->cv.notify_all();
  if (worker->thread.get_id() == std::this_thread::get_id()) {
    // Destroyed from one of its own host functions: the thread ends by itself.
    lock.unlock();
    worker->thread.detach();
    ++stream->ctx->abandoned_workers;
    return;
  }
  bool exited = worker->cv.wait_for(lock, kWorkerExitTimeout, [&] { return worker->exited; });
  lock.unlock();
  if (exited) {
    worker->thread.join();
    return;
  }
  logf(stream->ctx->host, XPB_LOG_WARN,
       "stream_destroy on %s: a host function is still running or waiting for earlier work "
       "after %lld s; its thread is left to finish on its own",
       stream->dev->label.c_str(), static_cast<long long>(kWorkerExitTimeout.count()));
  worker->thread.detach();
  ++stream->ctx->abandoned_workers;
}

}  // namespace

void HostWorker::run() {
  std::unique_lock<std::mutex> lock(mu);
  for (;;) {
    cv.wait(lock, [&] { return !ready.empty() || (closing && pending == 0); });
    if (ready.empty()) break;
    Task task = std::move(ready.front());
    ready.pop_front();
    lock.unlock();
    task.fn(task.user_data);
    if (task.marker != nullptr) task.stream->cl->clReleaseEvent(task.marker);
    {
      std::lock_guard<std::mutex> stream_lock(task.stream->mu);
      task.stream->reopen();
    }
    task.stream.reset();  // may destroy a stream whose destroy call has returned
    lock.lock();
  }
  exited = true;
  cv.notify_all();
}

OpStatus startHostTask(xpbStream *stream, xpHostFn fn, void *user_data) {
  const ClApi &cl = *stream->cl;
  const char *label = stream->dev->label.c_str();
  if (!stream->worker) {
    auto worker = std::make_shared<HostWorker>();
    try {
      worker->thread = std::thread([worker] { worker->run(); });
    } catch (const std::system_error &e) {
      return OpStatus{XP_ERROR_BACKEND,
                      std::string("launch_host_func: cannot start the host-function thread of a "
                                  "stream on ") +
                          label + ": " + e.what()};
    }
    stream->worker = std::move(worker);
  }
  HostWorker &worker = *stream->worker;
  cl_event marker = nullptr;
  cl_int err = cl.clEnqueueMarkerWithWaitList(stream->queue, 0, nullptr, &marker);
  if (err != CL_SUCCESS) {
    return clError("clEnqueueMarkerWithWaitList", err, "launching a host function on %s", label);
  }
  cl.clRetainEvent(marker);
  stream->setLast(marker);
  stream->gated = true;  // reopened by the worker, which needs mu, held here
  {
    std::lock_guard<std::mutex> lock(worker.mu);
    ++worker.pending;
  }
  auto *data = new MarkerCallback{
      stream->worker, HostWorker::Task{fn, user_data, marker, stream->shared_from_this()}};
  callbackRegistered();
  err = cl.clSetEventCallback(marker, CL_COMPLETE, onHostMarker, data);
  if (err != CL_SUCCESS) {
    {
      std::lock_guard<std::mutex> lock(worker.mu);
      --worker.pending;
    }
    delete data;  // drops its stream reference; the marker is released below
    callbackFinished();
    cl.clReleaseEvent(marker);
    stream->gated = false;
    return clError("clSetEventCallback", err, "launching a host function on %s", label);
  }
  return OpStatus{};
}

Op recordOp(xpbStream *stream, std::shared_ptr<Record> record) {
  return [stream, record = std::move(record)]() -> OpStatus {
    cl_event marker = nullptr;
    cl_int err = stream->cl->clEnqueueMarkerWithWaitList(stream->queue, 0, nullptr, &marker);
    if (err != CL_SUCCESS) {
      OpStatus failure = clError("clEnqueueMarkerWithWaitList", err, "recording a marker on %s",
                                 stream->dev->label.c_str());
      record->resolve(nullptr, failure);
      return failure;
    }
    stream->cl->clRetainEvent(marker);
    stream->setLast(marker);
    record->resolve(marker, OpStatus{});
    return OpStatus{};
  };
}

xpStatus streamCreate(xpbContext *ctx, int device, xpbStream **out) {
  Device *d = deviceAt(ctx, device, "stream_create");
  if (d == nullptr) return XP_ERROR_INVALID_VALUE;
  if (out == nullptr)
    return xpbFail(ctx->host, XP_ERROR_INVALID_VALUE, "stream_create: out is NULL");
  cl_int err = CL_SUCCESS;
  cl_command_queue queue =
      ctx->cl->clCreateCommandQueue(d->platform->context, d->id, CL_QUEUE_PROFILING_ENABLE, &err);
  if (queue == nullptr || err != CL_SUCCESS) {
    return clFail(ctx->host, "clCreateCommandQueue", err, "creating a stream on %s",
                  d->label.c_str());
  }
  auto stream = std::make_shared<xpbStream>();
  stream->ctx = ctx;
  stream->dev = d;
  stream->cl = ctx->cl;
  stream->queue = queue;
  *out = stream.get();
  std::lock_guard<std::mutex> lock(ctx->mu);
  ctx->streams.emplace(stream.get(), std::move(stream));
  return XP_SUCCESS;
}

xpStatus streamDestroy(xpbStream *raw) {
  if (raw == nullptr) return XP_ERROR_INVALID_HANDLE;
  xpbContext *ctx = raw->ctx;
  std::shared_ptr<xpbStream> stream;
  {
    std::lock_guard<std::mutex> lock(ctx->mu);
    auto it = ctx->streams.find(raw);
    if (it == ctx->streams.end()) {
      return xpbFail(ctx->host, XP_ERROR_INVALID_HANDLE, "stream_destroy: %p is not a live stream",
                     static_cast<void *>(raw));
    }
    stream = std::move(it->second);
    ctx->streams.erase(it);
  }
  std::shared_ptr<HostWorker> worker;
  {
    std::lock_guard<std::mutex> lock(stream->mu);
    worker = stream->worker;
  }
  if (worker) stopWorker(stream.get(), worker);
  // The stream itself goes when the last task holding it has finished.
  return XP_SUCCESS;
}

xpStatus streamSynchronize(xpbStream *stream, uint64_t timeout_ns) {
  xpbContext *ctx = stream->ctx;
  Deadline deadline = deadlineAfter(timeout_ns);
  const char *label = stream->dev->label.c_str();
  double ms = static_cast<double>(timeout_ns) / 1e6;

  // The queue is in order, so when no host function holds work back, its
  // last command ending means everything has: wait for that one directly.
  // Only a gated stream needs a marker behind the held work (about 25 us
  // more per synchronize on PoCL), and an exported one, whose last command
  // may be the caller's.
  cl_event target = nullptr;
  std::shared_ptr<Record> record;
  {
    std::lock_guard<std::mutex> lock(stream->mu);
    if (!stream->gated && !stream->exported) {
      target = stream->last;
      if (target != nullptr) stream->cl->clRetainEvent(target);
    } else {
      record = std::make_shared<Record>(stream->cl, stream);
      xpStatus status = stream->submit(recordOp(stream, record));
      if (status != XP_SUCCESS) return status;
    }
  }
  if (record != nullptr) {
    if (!record->waitResolved(deadline)) {
      return xpbFail(ctx->host, XP_ERROR_TIMEOUT,
                     "stream_synchronize: a host function on %s still running after %.3f ms", label,
                     ms);
    }
    if (!record->failure.ok()) return report(ctx->host, record->failure);
    target = record->event;
    stream->cl->clRetainEvent(target);
  }
  cl_int status = CL_SUCCESS;
  if (target != nullptr) {
    WaitResult waited = waitForEvent(*stream->cl, target, deadline, &status);
    stream->cl->clReleaseEvent(target);
    switch (waited) {
      case WaitResult::kTimeout:
        return xpbFail(ctx->host, XP_ERROR_TIMEOUT,
                       "stream_synchronize: work on %s still running after %.3f ms", label, ms);
      case WaitResult::kApiError:
        return clFail(ctx->host, "clSetEventCallback", status, "waiting for a stream on %s", label);
      case WaitResult::kDone:
        break;
    }
  }
  OpStatus failure;
  {
    std::lock_guard<std::mutex> lock(stream->mu);
    std::swap(failure, stream->async_failure);
  }
  if (!failure.ok()) return report(ctx->host, failure);
  if (status < 0) {
    return clFailAs(ctx->host, XP_ERROR_BACKEND, "stream_synchronize", status,
                    "work queued on %s failed", label);
  }
  return XP_SUCCESS;
}

namespace {

// The end of the queue's work as stream_query reads it: XP_SUCCESS (done),
// XP_ERROR_NOT_READY, or a failure reported through set_error.
xpStatus queryEvent(xpbStream *stream, cl_event event) {
  cl_int exec = CL_QUEUED;
  cl_int err = eventStatus(*stream->cl, event, &exec);
  if (err != CL_SUCCESS) {
    return clFail(stream->ctx->host, "clGetEventInfo", err, "querying a stream on %s",
                  stream->dev->label.c_str());
  }
  if (exec < 0) {
    return clFailAs(stream->ctx->host, XP_ERROR_BACKEND, "stream_query", exec,
                    "work queued on %s failed", stream->dev->label.c_str());
  }
  return exec == CL_COMPLETE ? XP_SUCCESS : XP_ERROR_NOT_READY;
}

// How long stream_query waits for the marker behind a handed-out queue's
// work: an idle queue passes it within microseconds.
constexpr uint64_t kExportedQueryGraceNs = 1000000;  // 1 ms

}  // namespace

xpStatus streamQuery(xpbStream *stream) {
  xpbContext *ctx = stream->ctx;
  cl_event last = nullptr;
  bool exported = false;
  {
    std::lock_guard<std::mutex> lock(stream->mu);
    if (stream->gated) return XP_ERROR_NOT_READY;
    exported = stream->exported;
    if (stream->last == nullptr && !exported) return XP_SUCCESS;
    last = stream->last;
    if (last != nullptr) stream->cl->clRetainEvent(last);
  }
  // The queue is in order: its last command ending means all of them have.
  if (last != nullptr) {
    const xpStatus status = queryEvent(stream, last);
    stream->cl->clReleaseEvent(last);
    if (status != XP_SUCCESS || !exported) return status;
  }
  // A handed-out queue (stream_native) may hold the caller's commands after
  // ours: a marker behind them says whether they are done, given a moment to
  // pass an idle queue.
  auto record = std::make_shared<Record>(stream->cl, stream);
  {
    std::lock_guard<std::mutex> lock(stream->mu);
    if (stream->gated) return XP_ERROR_NOT_READY;
    OpStatus marked = recordOp(stream, record)();
    if (!marked.ok()) return report(ctx->host, marked);
  }
  cl_int status = CL_SUCCESS;
  switch (waitForEvent(*stream->cl, record->event, deadlineAfter(kExportedQueryGraceNs), &status)) {
    case WaitResult::kTimeout:
      return XP_ERROR_NOT_READY;
    case WaitResult::kApiError:
      return clFail(ctx->host, "clSetEventCallback", status, "querying a stream on %s",
                    stream->dev->label.c_str());
    case WaitResult::kDone:
      break;
  }
  if (status < 0) {
    return clFailAs(ctx->host, XP_ERROR_BACKEND, "stream_query", status, "work queued on %s failed",
                    stream->dev->label.c_str());
  }
  return XP_SUCCESS;
}

xpStatus launchHostFunc(xpbStream *stream, xpHostFn fn, void *user_data) {
  if (fn == nullptr) {
    return xpbFail(stream->ctx->host, XP_ERROR_INVALID_VALUE, "launch_host_func: fn is NULL");
  }
  std::lock_guard<std::mutex> lock(stream->mu);
  if (stream->gated) {
    // Deferred: started when the host function before it has returned. If
    // the marker cannot be enqueued then, fn still runs (its caller may be
    // waiting for it); the failure is reported by synchronize.
    stream->deferred.push_back([stream, fn, user_data]() -> OpStatus {
      OpStatus result = startHostTask(stream, fn, user_data);
      if (!result.ok() && stream->worker) {
        std::lock_guard<std::mutex> worker_lock(stream->worker->mu);
        stream->worker->ready.push_back(
            HostWorker::Task{fn, user_data, nullptr, stream->shared_from_this()});
        stream->gated = true;
        stream->worker->cv.notify_all();
      }
      return result;
    });
    return XP_SUCCESS;
  }
  return report(stream->ctx->host, startHostTask(stream, fn, user_data));
}

xpStatus streamNative(xpbStream *stream, void **native_stream, void **native_context,
                      int *ordinal) {
  std::lock_guard<std::mutex> lock(stream->mu);
  stream->exported = true;
  *native_stream = stream->queue;
  *native_context = stream->dev->platform->context;
  *ordinal = stream->dev->index;
  return XP_SUCCESS;
}

}  // namespace xpool::opencl
