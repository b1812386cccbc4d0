// A pool of threads that runs index ranges in parallel (kernel grids, large
// copies). The calling thread works too, so a pool of N threads gives N+1-way
// parallelism, and several streams may share one pool at once.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace xpool::cpu {

class WorkerPool {
 public:
  explicit WorkerPool(int threads);
  ~WorkerPool();
  WorkerPool(const WorkerPool &) = delete;
  WorkerPool &operator=(const WorkerPool &) = delete;

  // Runs fn(i) for every i in [0, count), returning when all are done.
  void parallelFor(size_t count, const std::function<void(size_t)> &fn);
  int parallelism() const { return static_cast<int>(threads_.size()) + 1; }

 private:
  struct Job {
    const std::function<void(size_t)> *fn = nullptr;
    size_t count = 0;
    std::atomic<size_t> next{0};
    std::atomic<size_t> done{0};
  };
  void work(Job &job);
  void workerLoop();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable finished_;
  std::deque<std::shared_ptr<Job>> jobs_;
  std::atomic<size_t> queued_{0};  // jobs_.size(), readable without the lock
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace xpool::cpu
