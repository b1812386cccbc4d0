// The memory-traffic ceiling printed next to every row: how fast one thread
// copies a row's bytes with memcpy on this machine, in this run. A busbw
// near it means the collective moves data about as fast as one core can
// move memory at all; a busbw far below it is the library's overhead.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

namespace xccl_bench {

struct MemcpyCeiling {
  std::map<size_t, double> gbps;  // bytes -> GB/s (1e9), bytes / time
  double at(size_t bytes) const;  // 0 when not measured
};

// One thread, one pair of buffers of the largest size, touched before any
// timing; per size the median of timed repeats (small sizes timed in
// batches long enough for the clock).
MemcpyCeiling measureMemcpy(const std::vector<size_t> &bytes);

// The sentence the table's header says about the column.
std::string memcpyNote();

}  // namespace xccl_bench
