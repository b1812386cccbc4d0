// One rank of xccl-perf, whichever way it was started (a process under
// mpirun or --np, or a thread with -t): given its communicator, it
// allocates its buffers on its device, measures every collective and size,
// and (rank 0) prints the table.
#pragma once

#include <string>

#include "options.h"
#include "xpool/xccl.h"

namespace xccl_bench {

struct RankResult {
  int rank = -1;      // in the communicator
  long wrong = 0;     // wrong elements over all ranks
  std::string error;  // empty when the rank ran to the end
};

// Runs the whole benchmark on `comm` and destroys it (aborts it on error,
// so that the peers fail fast instead of waiting for this rank).
RankResult runRank(const Options &options, xcclComm_t comm, int threads);

}  // namespace xccl_bench
