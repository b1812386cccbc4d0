// Timing of a memory-bound operation: batches long enough for the clock,
// repeated, the median kept; two operations measured in alternation so
// that noise from a busy machine lands on both alike.
#pragma once

#include <cstddef>
#include <functional>

namespace xccl_reduce_bench {

struct Sampling {
  int samples = 21;             // median of this many batches
  double batchSeconds = 0.004;  // each batch at least this long
};

// One side of a comparison: `prepare` runs untimed before each batch (to
// select an instruction set, say), `run` is the call timed.
struct Contender {
  std::function<void()> prepare;
  std::function<void()> run;
};

// Median seconds per call of each contender.
struct PairTiming {
  double first;
  double second;
};

PairTiming timeAlternating(const Contender &first, const Contender &second,
                           const Sampling &sampling);

}  // namespace xccl_reduce_bench
