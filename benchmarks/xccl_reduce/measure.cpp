#include "measure.h"

#include <algorithm>
#include <chrono>
#include <vector>

namespace xccl_reduce_bench {
namespace {

using Clock = std::chrono::steady_clock;

double secondsFor(const std::function<void()> &op, long calls) {
  const auto start = Clock::now();
  for (long i = 0; i < calls; ++i) op();
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Calls per batch so that a batch lasts about `seconds` (the first call
// also warms caches and the TLB, and is not counted).
long callsPerBatch(const std::function<void()> &op, double seconds) {
  op();
  long calls = 1;
  for (;;) {
    const double took = secondsFor(op, calls);
    if (took >= seconds / 4) return std::max(1L, static_cast<long>(calls * seconds / took));
    calls *= 4;
  }
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

}  // namespace

PairTiming timeAlternating(const Contender &first, const Contender &second,
                           const Sampling &sampling) {
  first.prepare();
  const long firstCalls = callsPerBatch(first.run, sampling.batchSeconds);
  second.prepare();
  const long secondCalls = callsPerBatch(second.run, sampling.batchSeconds);
  std::vector<double> firstTimes, secondTimes;
  for (int s = 0; s < sampling.samples; ++s) {
    first.prepare();
    firstTimes.push_back(secondsFor(first.run, firstCalls) / static_cast<double>(firstCalls));
    second.prepare();
    secondTimes.push_back(secondsFor(second.run, secondCalls) / static_cast<double>(secondCalls));
  }
  return {median(firstTimes), median(secondTimes)};
}

}  // namespace xccl_reduce_bench
