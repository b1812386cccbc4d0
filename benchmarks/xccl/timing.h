// The timed loop every program uses, so that xccl, MPI and Gloo are timed
// the same way: untimed warm-up calls, a barrier so that all ranks start
// together, `iters` calls back to back, one wait for the last to complete.
// The caller then averages the result over ranks (nccl-tests' -a 1).
#pragma once

#include <chrono>

namespace xccl_bench {

// Mean microseconds per call on this rank.
template <typename Launch, typename Wait, typename Barrier>
double timeCalls(int warmup, int iters, Launch &&launch, Wait &&wait, Barrier &&barrier) {
  for (int i = 0; i < warmup; ++i) launch();
  wait();
  barrier();
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < iters; ++i) launch();
  wait();
  const std::chrono::duration<double, std::micro> elapsed =
      std::chrono::steady_clock::now() - start;
  return elapsed.count() / iters;
}

}  // namespace xccl_bench
