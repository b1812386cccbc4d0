// Host work in CUDA stream order; the design is described in host_tasks.h.
#include "host_tasks.h"

#include <atomic>
#include <chrono>
#include <tuple>

namespace xpool::cuda {
namespace {

// What the fallback callback waits for.
struct Waiter {
  HostTaskGate *gate;
  uint64_t sequence;
};

// A callback usually follows the enqueue closely when the stream is nearly
// idle; spinning this long before sleeping saves a thread wake-up.
constexpr auto kSpin = std::chrono::microseconds(20);

// Flags sit a cache line apart, so workers of different streams do not
// write the same line.
constexpr size_t kFlagStride = 64;
constexpr size_t kFlagPage = 4096;

xpStatus acquireFlag(xpbContext *ctx, CudaDevice &device, uint32_t **host, CUdeviceptr *address) {
  const CudaApi &api = ctx->api;
  std::lock_guard lock(device.flag_mutex);
  if (device.free_flags.empty()) {
    void *page = nullptr;
    CUresult r =
        api.cuMemHostAlloc(&page, kFlagPage, CU_MEMHOSTALLOC_DEVICEMAP | CU_MEMHOSTALLOC_PORTABLE);
    if (r != CUDA_SUCCESS) {
      return failCuda(ctx->host, api, "cuMemHostAlloc", r,
                      format("allocating %zu bytes of host-function flags for cuda device %d",
                             kFlagPage, device.index));
    }
    CUdeviceptr base = 0;
    if ((r = api.cuMemHostGetDevicePointer(&base, page, 0)) != CUDA_SUCCESS) {
      api.cuMemFreeHost(page);
      return failCuda(ctx->host, api, "cuMemHostGetDevicePointer", r,
                      format("mapping host-function flags for cuda device %d", device.index));
    }
    device.flag_pages.push_back(page);
    for (size_t offset = kFlagPage; offset >= kFlagStride; offset -= kFlagStride) {
      device.free_flags.emplace_back(
          reinterpret_cast<uint32_t *>(static_cast<char *>(page) + offset - kFlagStride),
          base + offset - kFlagStride);
    }
  }
  std::tie(*host, *address) = device.free_flags.back();
  device.free_flags.pop_back();
  return XP_SUCCESS;
}

void releaseFlag(CudaDevice &device, uint32_t *host, CUdeviceptr address) {
  std::lock_guard lock(device.flag_mutex);
  device.free_flags.emplace_back(host, address);
}

}  // namespace

HostTaskGate::HostTaskGate(xpbContext *ctx, CudaDevice *device, CUstream stream)
    : ctx_(ctx), device_(device), stream_(stream) {}

void freeFlagPages(xpbContext *ctx, CudaDevice &device) {
  std::lock_guard lock(device.flag_mutex);
  if (device.flag_pages.empty() || device.keep_flag_pages) return;
  ScopedContext scope(ctx->api, device);
  for (void *page : device.flag_pages) ctx->api.cuMemFreeHost(page);
  device.flag_pages.clear();
  device.free_flags.clear();
}

xpStatus HostTaskGate::create(xpbContext *ctx, CudaDevice *device, CUstream stream,
                              std::unique_ptr<HostTaskGate> *out) {
  std::unique_ptr<HostTaskGate> gate(new HostTaskGate(ctx, device, stream));
  if (xpStatus status = acquireFlag(ctx, *device, &gate->flag_, &gate->flag_device_);
      status != XP_SUCCESS) {
    return status;
  }
  // The stream's first wait is for 1, so a slot starts at 0 (it comes back
  // to the pool only once its stream has passed every wait on it).
  std::atomic_ref<uint32_t>(*gate->flag_).store(0, std::memory_order_release);
  gate->worker_ = std::thread(&HostTaskGate::run, gate.get());
  *out = std::move(gate);
  return XP_SUCCESS;
}

HostTaskGate::~HostTaskGate() {
  if (worker_.joinable()) {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    worker_.join();
  }
  if (flag_ != nullptr) releaseFlag(*device_, flag_, flag_device_);
}

void CUDA_CB HostTaskGate::reached(void *gate) {
  // Runs on a driver thread: no CUDA calls and nothing that blocks for long.
  auto *self = static_cast<HostTaskGate *>(gate);
  self->reached_.fetch_add(1, std::memory_order_acq_rel);
  { std::lock_guard lock(self->mutex_); }  // the worker is waiting or will see the count
  self->wake_.notify_one();
}

void CUDA_CB HostTaskGate::holdUntilFinished(void *waiter) {
  // The fallback: holds the driver thread (but calls no CUDA) until task
  // `sequence` has returned.
  std::unique_ptr<Waiter> wait(static_cast<Waiter *>(waiter));
  HostTaskGate *self = wait->gate;
  std::unique_lock lock(self->mutex_);
  self->finished_cv_.wait(
      lock, [&] { return self->finished_.load(std::memory_order_acquire) >= wait->sequence; });
}

xpStatus HostTaskGate::enqueue(std::function<void()> task) {
  const CudaApi &api = ctx_->api;
  std::lock_guard order(enqueue_mutex_);
  const uint64_t sequence = enqueued_.load(std::memory_order_relaxed) + 1;
  {
    std::lock_guard lock(mutex_);
    tasks_.push_back(std::move(task));
  }
  enqueued_.store(sequence, std::memory_order_release);
  CUresult r = api.cuLaunchHostFunc(stream_, &HostTaskGate::reached, this);
  if (r != CUDA_SUCCESS) {
    // No callback will come for it, so the worker has not taken it.
    {
      std::lock_guard lock(mutex_);
      tasks_.pop_back();
    }
    enqueued_.store(sequence - 1, std::memory_order_release);
    return failCuda(ctx_->host, api, "cuLaunchHostFunc", r,
                    format("enqueueing host work on a stream of cuda device %d", device_->index));
  }
  if (device_->wait_value_supported.load(std::memory_order_relaxed)) {
    r = api.cuStreamWaitValue32(stream_, flag_device_, static_cast<cuuint32_t>(sequence),
                                CU_STREAM_WAIT_VALUE_GEQ);
    if (r == CUDA_SUCCESS) return XP_SUCCESS;
    if (r == CUDA_ERROR_NOT_SUPPORTED) device_->wait_value_supported.store(false);
    ctx_->log(XPB_LOG_WARN,
              format("cuStreamWaitValue32 on cuda device %d: %s; host functions now hold a "
                     "driver callback thread while they run",
                     device_->index, api.describe(r).c_str()));
  }
  auto *waiter = new Waiter{this, sequence};
  r = api.cuLaunchHostFunc(stream_, &HostTaskGate::holdUntilFinished, waiter);
  if (r != CUDA_SUCCESS) {
    delete waiter;
    return failCuda(ctx_->host, api, "cuLaunchHostFunc", r,
                    format("enqueueing the wait after host work on cuda device %d (the host work "
                           "still runs, but later work does not wait for it)",
                           device_->index));
  }
  return XP_SUCCESS;
}

bool HostTaskGate::idle() const {
  return finished_.load(std::memory_order_acquire) >= enqueued_.load(std::memory_order_acquire);
}

void HostTaskGate::run() {
  ctx_->api.cuCtxSetCurrent(device_->context);
  for (;;) {
    // started_ is only written by this thread.
    if (enqueued_.load(std::memory_order_acquire) > started_ &&
        reached_.load(std::memory_order_acquire) <= started_) {
      const auto until = std::chrono::steady_clock::now() + kSpin;
      while (reached_.load(std::memory_order_acquire) <= started_ &&
             std::chrono::steady_clock::now() < until) {
        std::this_thread::yield();
      }
    }
    std::function<void()> task;
    uint64_t sequence = 0;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] {
        return reached_.load(std::memory_order_acquire) > started_ ||
               (stopping_ && started_ >= enqueued_.load(std::memory_order_acquire));
      });
      if (reached_.load(std::memory_order_acquire) <= started_) break;  // stopping, drained
      if (tasks_.empty()) {  // cannot happen: every callback follows its task
        started_ = reached_.load();
        continue;
      }
      task = std::move(tasks_.front());
      tasks_.pop_front();
      sequence = ++started_;
    }
    task();
    // Release the stream's wait: x86 stores reach pinned memory in order, so
    // the device sees what the task wrote before it sees the flag.
    std::atomic_ref<uint32_t>(*flag_).store(static_cast<uint32_t>(sequence),
                                            std::memory_order_release);
    finished_.store(sequence, std::memory_order_release);
    { std::lock_guard lock(mutex_); }
    finished_cv_.notify_all();
  }
}

bool HostTaskGate::retire(std::unique_ptr<HostTaskGate> gate) {
  const CudaApi &api = gate->ctx_->api;
  bool pending = !gate->idle();
  if (!pending) {
    // The worker has released every wait, but the device may not have
    // evaluated the last one yet: it reads the flag until it does.
    ScopedContext scope(api, *gate->device_);
    const CUresult r =
        pollUntilDone([&] { return api.cuStreamQuery(gate->stream_); }, uint64_t{1000000000});
    pending = r == CUDA_ERROR_TIMEOUT;
  }
  if (!pending) return true;  // the destructor stops the worker and frees the flag
  HostTaskGate *self = gate.release();
  {
    std::lock_guard lock(self->device_->flag_mutex);
    self->device_->keep_flag_pages = true;
  }
  self->ctx_->log(
      XPB_LOG_WARN,
      format("a stream of cuda device %d was destroyed while busy (%llu host task(s) "
             "unfinished); its worker thread finishes them as the stream reaches them",
             self->device_->index,
             static_cast<unsigned long long>(self->enqueued_.load() - self->finished_.load())));
  {
    std::lock_guard lock(self->mutex_);
    self->stopping_ = true;
  }
  self->wake_.notify_all();
  self->worker_.detach();  // exits once every task has run; the gate stays allocated
  return false;
}

}  // namespace xpool::cuda
