#include "raw_cpu.h"

#include <dlfcn.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <thread>
#include <vector>

#include "xpool/cpu_kernel.h"

namespace membench {

namespace {

// Persistent helper threads for the multi-threaded memcpy: waking them per
// copy must cost no more than the backend's own pool does (spin, then sleep).
class Team {
 public:
  explicit Team(int threads) : threads_(threads) {
    for (int i = 1; i < threads; ++i) helpers_.emplace_back([this, i] { loop(i); });
  }
  ~Team() {
    stop_.store(true);
    generation_.fetch_add(1, std::memory_order_release);
    generation_.notify_all();
    for (auto &helper : helpers_) helper.join();
  }
  Team(const Team &) = delete;
  Team &operator=(const Team &) = delete;

  int size() const { return threads_; }

  // Runs fn(0..size-1) at once, fn(0) on the calling thread.
  void run(const std::function<void(int)> &fn) {
    fn_ = &fn;
    finished_.store(0, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
    generation_.notify_all();
    fn(0);
    while (finished_.load(std::memory_order_acquire) < threads_ - 1) std::this_thread::yield();
  }

 private:
  void loop(int index) {
    uint64_t seen = 0;
    for (;;) {
      const auto spin_until = std::chrono::steady_clock::now() + std::chrono::microseconds(50);
      while (generation_.load(std::memory_order_acquire) == seen &&
             std::chrono::steady_clock::now() < spin_until) {
        std::this_thread::yield();
      }
      generation_.wait(seen, std::memory_order_acquire);
      if (stop_.load()) return;
      seen = generation_.load(std::memory_order_acquire);
      (*fn_)(index);
      finished_.fetch_add(1, std::memory_order_release);
    }
  }

  const int threads_;
  const std::function<void(int)> *fn_ = nullptr;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> finished_{0};
  std::atomic<bool> stop_{false};
  std::vector<std::thread> helpers_;
};

class RawCpu : public RawDevice {
 public:
  RawCpu(void *a, void *b, int cores, const std::string &kernel_path,
         const std::string &kernel_name)
      : team_(cores < 2 ? 2 : cores), cores_(cores < 1 ? 1 : cores) {
    buffers_[0] = static_cast<char *>(a);
    buffers_[1] = static_cast<char *>(b);
    library_ = dlopen(kernel_path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (library_ == nullptr) {
      const char *why = dlerror();
      throw std::runtime_error("dlopen " + kernel_path + ": " + (why ? why : "unknown error"));
    }
    kernel_ = reinterpret_cast<xpCpuKernelFn>(dlsym(library_, kernel_name.c_str()));
    if (kernel_ == nullptr) {
      dlclose(library_);
      throw std::runtime_error("dlsym " + kernel_name + " in " + kernel_path + ": not found");
    }
    context_.struct_size = sizeof context_;
    context_.grid_dim = {1, 1, 1};
    context_.block_dim = {1, 1, 1};
    context_.block_idx = {0, 0, 0};
  }
  ~RawCpu() override { dlclose(library_); }

  std::string describe() const override {
    return "host memcpy on the same buffers (1 thread, and " + std::to_string(team_.size()) +
           " threads; raw = the faster); launch = " + launchPeer() +
           " over the grid of 1 block, calling the kernel function (dlopen/dlsym of the same .so)";
  }
  std::vector<std::string> copyVariants() const override {
    return {"memcpy 1T", "memcpy " + std::to_string(team_.size()) + "T"};
  }
  bool ownsBuffers() const override { return false; }
  void allocate(size_t) override {}  // xpool's buffers, already touched

  void toDevice(int variant, Buf dst, const void *src, size_t bytes) override {
    copy(variant, buffer(dst), src, bytes);
  }
  void toHost(int variant, void *dst, Buf src, size_t bytes) override {
    copy(variant, dst, buffer(src), bytes);
  }
  void deviceToDevice(int variant, Buf dst, Buf src, size_t bytes) override {
    copy(variant, buffer(dst), buffer(src), bytes);
  }
  void fill(Buf dst, int value, size_t bytes) override { std::memset(buffer(dst), value, bytes); }

  // The grid on the device's cores, as host code would run it without xpool.
  // An OpenMP region returns when every block is done: launch and
  // synchronize in one.
  void launch() override {
    const int blocks = 1;
#if defined(_OPENMP)
#pragma omp parallel for num_threads(cores_)
#endif
    for (int block = 0; block < blocks; ++block) kernel_(&context_, nullptr);
  }
  void synchronize() override {}
  std::string launchFloorName() const override {
    return "direct call of the kernel function on the calling thread";
  }
  void launchFloor() override {
    kernel_(&context_, nullptr);
  }

 private:
  char *buffer(Buf which) {
    return buffers_[static_cast<int>(which)];
  }

  void copy(int variant, void *dst, const void *src, size_t bytes) {
    if (variant == 0) {
      std::memcpy(dst, src, bytes);
      return;
    }
    // Equal page-aligned parts, one per thread.
    const size_t parts = static_cast<size_t>(team_.size());
    const size_t part = ((bytes + parts - 1) / parts + 4095) & ~size_t{4095};
    team_.run([&](int index) {
      const size_t offset = static_cast<size_t>(index) * part;
      if (offset >= bytes) return;
      std::memcpy(static_cast<char *>(dst) + offset, static_cast<const char *>(src) + offset,
                  std::min(part, bytes - offset));
    });
  }

  static std::string launchPeer() {
#if defined(_OPENMP)
    return "an OpenMP parallel for (libgomp) on the device's cores";
#else
    return "a loop on the calling thread (built without OpenMP)";
#endif
  }

  Team team_;
  const int cores_;
  char *buffers_[2] = {};
  void *library_ = nullptr;
  xpCpuKernelFn kernel_ = nullptr;
  xpCpuKernelContext context_{};
};

}  // namespace

std::unique_ptr<RawDevice> makeRawCpu(void *a, void *b, int cores, const std::string &kernel_path,
                                      const std::string &kernel_name) {
  return std::make_unique<RawCpu>(a, b, cores, kernel_path, kernel_name);
}

}  // namespace membench
