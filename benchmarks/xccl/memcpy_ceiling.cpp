#include "memcpy_ceiling.h"

#include <algorithm>
#include <chrono>
#include <cstring>

#include "host_buffer.h"

namespace xccl_bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr double kMinBatchSeconds = 20e-6;  // the clock's cost stays below 1%
constexpr double kSizeBudgetSeconds = 0.03;
constexpr int kMinSamples = 7, kMaxSamples = 101;

// Seconds per copy of `batch` back-to-back copies.
double timeBatch(char *dst, const char *src, size_t bytes, int batch) {
  const auto start = Clock::now();
  for (int i = 0; i < batch; ++i) {
    std::memcpy(dst, src, bytes);
    // Tells the compiler the copy is observed, so it is neither dropped nor
    // merged across iterations.
    asm volatile("" : : "r"(dst), "r"(src) : "memory");
  }
  return std::chrono::duration<double>(Clock::now() - start).count() / batch;
}

double medianGbps(char *dst, const char *src, size_t bytes) {
  const double first = std::max(timeBatch(dst, src, bytes, 1), 1e-9);
  const int batch = static_cast<int>(std::clamp(kMinBatchSeconds / first, 1.0, 1e6));
  const int samples = static_cast<int>(
      std::clamp(kSizeBudgetSeconds / (first * batch), double{kMinSamples}, double{kMaxSamples}));
  std::vector<double> seconds;
  for (int s = 0; s < samples; ++s) seconds.push_back(timeBatch(dst, src, bytes, batch));
  std::nth_element(seconds.begin(), seconds.begin() + samples / 2, seconds.end());
  return static_cast<double>(bytes) / seconds[samples / 2] / 1e9;
}

}  // namespace

double MemcpyCeiling::at(size_t bytes) const {
  const auto found = gbps.find(bytes);
  return found == gbps.end() ? 0.0 : found->second;
}

MemcpyCeiling measureMemcpy(const std::vector<size_t> &bytes) {
  MemcpyCeiling ceiling;
  if (bytes.empty()) return ceiling;
  const size_t largest = *std::max_element(bytes.begin(), bytes.end());
  const HostBuffer src = touchedBuffer(largest);
  const HostBuffer dst = touchedBuffer(largest);
  for (size_t size : bytes) {
    if (size > 0 && !ceiling.gbps.contains(size)) {
      ceiling.gbps[size] = medianGbps(dst.get(), src.get(), size);
    }
  }
  return ceiling;
}

std::string memcpyNote() {
  return "memcpy(GB/s): one thread on rank 0 copying the row's size with memcpy, median of " +
         std::to_string(kMinSamples) + "-" + std::to_string(kMaxSamples) +
         " timed repeats, buffers touched first; size / time, as algbw. Compare busbw to it.";
}

}  // namespace xccl_bench
