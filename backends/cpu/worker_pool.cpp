#include "worker_pool.h"

#include <algorithm>
#include <chrono>

#include "spin_wait.h"

namespace xpool::cpu {

WorkerPool::WorkerPool(int threads) {
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { workerLoop(); });
}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto &thread : threads_) thread.join();
}

void WorkerPool::work(Job &job) {
  for (size_t i = job.next.fetch_add(1); i < job.count; i = job.next.fetch_add(1)) {
    (*job.fn)(i);
    if (job.done.fetch_add(1) + 1 == job.count) {
      std::lock_guard lock(mutex_);
      finished_.notify_all();
    }
  }
}

void WorkerPool::workerLoop() {
  std::unique_lock lock(mutex_);
  for (;;) {
    if (jobs_.empty() && !stopping_) {
      // Jobs tend to come in bursts (the chunks of one copy, launch after
      // launch): a short spin saves the 10 us or more of a wake-up.
      lock.unlock();
      const auto spin_until = std::chrono::steady_clock::now() + std::chrono::microseconds(50);
      SpinWait spin;
      while (queued_.load(std::memory_order_relaxed) == 0 &&
             std::chrono::steady_clock::now() < spin_until) {
        spin.once();
      }
      lock.lock();
    }
    wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
    if (stopping_) return;
    std::shared_ptr<Job> job = jobs_.front();
    if (job->next.load() >= job->count) {  // fully claimed: nothing left to take
      jobs_.pop_front();
      queued_.store(jobs_.size(), std::memory_order_relaxed);
      continue;
    }
    lock.unlock();
    work(*job);
    lock.lock();
  }
}

void WorkerPool::parallelFor(size_t count, const std::function<void(size_t)> &fn) {
  if (count == 0) return;
  if (threads_.empty() || count == 1) {
    for (size_t i = 0; i < count; ++i) fn(i);
    return;
  }
  auto job = std::make_shared<Job>();
  job->fn = &fn;
  job->count = count;
  {
    std::lock_guard lock(mutex_);
    jobs_.push_back(job);
    queued_.store(jobs_.size(), std::memory_order_relaxed);
  }
  if (count == 2) {
    wake_.notify_one();
  } else {
    wake_.notify_all();
  }
  work(*job);
  // Indices other threads claimed may still be running; a short spin covers
  // the common case without a sleep/wake round trip.
  const auto spin_until = std::chrono::steady_clock::now() + std::chrono::microseconds(50);
  SpinWait spin;
  while (job->done.load() < count && std::chrono::steady_clock::now() < spin_until) {
    spin.once();
  }
  std::unique_lock lock(mutex_);
  finished_.wait(lock, [&] { return job->done.load() >= count; });
  jobs_.erase(std::remove(jobs_.begin(), jobs_.end(), job), jobs_.end());
  queued_.store(jobs_.size(), std::memory_order_relaxed);
}

}  // namespace xpool::cpu
