#include "bench.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

namespace membench {

namespace {
using Clock = std::chrono::steady_clock;

double secondsOf(const std::function<void()> &op, int calls) {
  const auto start = Clock::now();
  for (int i = 0; i < calls; ++i) op();
  return std::chrono::duration<double>(Clock::now() - start).count();
}
}  // namespace

void xpCheck(xpStatus status, const char *call) {
  if (status == XP_SUCCESS) return;
  throw BenchError(std::string(call) + " failed: " + xpStatusName(status) + ": " +
                   xpGetLastError());
}

std::vector<double> medianSeconds(const std::vector<std::function<void()>> &ops,
                                  const TimingPlan &plan) {
  const size_t count = ops.size();
  std::vector<int> batch(count, 1);
  double round = 0;  // seconds of one round: one batch of every op
  for (size_t i = 0; i < count; ++i) {
    secondsOf(ops[i], 1);                          // warm-up: first-use costs stay out
    const double estimate = secondsOf(ops[i], 1);  // one warm call
    if (plan.min_batch_seconds > 0 && estimate < plan.min_batch_seconds) {
      batch[i] = static_cast<int>(std::ceil(plan.min_batch_seconds / std::max(estimate, 1e-9)));
    }
    round += estimate * batch[i];
  }
  const int reps = std::clamp(
      static_cast<int>(plan.target_seconds * static_cast<double>(count) / std::max(round, 1e-9)),
      plan.min_reps, plan.max_reps);
  std::vector<std::vector<double>> samples(count, std::vector<double>(static_cast<size_t>(reps)));
  for (int rep = 0; rep < reps; ++rep) {
    // Each round starts with the next op, so that none always follows the
    // same one (threads an op leaves spinning briefly slow what comes next).
    for (size_t k = 0; k < count; ++k) {
      const size_t i = (static_cast<size_t>(rep) + k) % count;
      samples[i][static_cast<size_t>(rep)] = secondsOf(ops[i], batch[i]) / batch[i];
    }
  }
  std::vector<double> medians;
  for (auto &times : samples) {
    auto middle = times.begin() + reps / 2;
    std::nth_element(times.begin(), middle, times.end());
    medians.push_back(*middle);
  }
  return medians;
}

std::vector<double> medianCallSeconds(const std::vector<std::function<void()>> &ops,
                                      const TurnPlan &plan) {
  const size_t count = ops.size();
  std::vector<std::vector<double>> samples(count);
  for (int turn = 0; turn < plan.turns; ++turn) {
    for (size_t k = 0; k < count; ++k) {
      const size_t i = (static_cast<size_t>(turn) + k) % count;
      const auto settled = Clock::now() + std::chrono::duration<double>(plan.settle_seconds);
      while (Clock::now() < settled) ops[i]();
      const auto turn_end = Clock::now() + std::chrono::duration<double>(plan.turn_seconds);
      for (auto start = Clock::now(); start < turn_end;) {
        ops[i]();
        const auto end = Clock::now();
        samples[i].push_back(std::chrono::duration<double>(end - start).count());
        start = end;
      }
    }
  }
  std::vector<double> medians;
  for (auto &times : samples) {
    auto middle = times.begin() + static_cast<std::ptrdiff_t>(times.size() / 2);
    std::nth_element(times.begin(), middle, times.end());
    medians.push_back(*middle);
  }
  return medians;
}

void fillPattern(void *dst, size_t bytes) {
  auto *words = static_cast<uint64_t *>(dst);
  const size_t count = bytes / sizeof(uint64_t);
  for (size_t i = 0; i < count; ++i) words[i] = (i + 1) * 0x9e3779b97f4a7c15ull;
  auto *tail = static_cast<unsigned char *>(dst);
  for (size_t i = count * sizeof(uint64_t); i < bytes; ++i) tail[i] = static_cast<unsigned char>(i);
}

void verify(const void *expected, const void *got, size_t bytes, const std::string &what) {
  if (std::memcmp(expected, got, bytes) == 0) return;
  const auto *e = static_cast<const unsigned char *>(expected);
  const auto *g = static_cast<const unsigned char *>(got);
  size_t first = 0;
  while (first < bytes && e[first] == g[first]) ++first;
  size_t wrong = 0;
  for (size_t i = first; i < bytes; ++i) wrong += e[i] != g[i];
  char detail[160];
  std::snprintf(detail, sizeof detail,
                "%zu of %zu bytes wrong, the first at offset %zu (expected 0x%02x, got 0x%02x)",
                wrong, bytes, first, e[first], g[first]);
  throw VerifyError(what + ": the copied data differ from the source: " + detail);
}

}  // namespace membench
