// Host buffers on the NCCL path. NCCL needs memory its GPU can address, and
// every rank of a communicator must make the same choice of path, whatever
// its own buffers: so a rank whose buffers are host memory stages them
// through device scratch, in stream order and without blocking the caller:
//   a host function copies the input into pinned memory, an upload moves it
//   to the scratch; NCCL runs there; a download moves the result to pinned
//   memory and a host function copies it out.
// (Copies between device and pageable memory would be synchronous in CUDA
// and block the call, without a deadline, until NCCL's kernel has run.)
#pragma once

#include <cstddef>
#include <vector>

#include "exec.h"

namespace xpool::xccl {

struct NcclComm;

// An operation as NCCL sees it: the caller's buffers, or slots of the
// scratch where the caller's are host memory, with the copies around it.
struct StagedOp {
  const void *send = nullptr;  // until stageIn, the slot's offset when send_staged
  void *recv = nullptr;
  bool send_staged = false, recv_staged = false;
  const void *upload_from = nullptr;  // host bytes staged before
  size_t upload_at = 0, upload_bytes = 0;
  void *download_to = nullptr;  // host bytes copied out after
  size_t download_at = 0, download_bytes = 0;
};

// Lays out the slots of `ops` (memory of `device` needs none); returns the
// scratch bytes they need (0: nothing to stage).
size_t planStaging(int device, const std::vector<Op> &ops, std::vector<StagedOp> *staged);

// Makes the scratch at least `bytes`, usable in `stream` order, and
// enqueues the inputs' way in; fills in the slots' addresses.
xcclResult_t stageIn(NcclComm &nccl, size_t bytes, const std::vector<Op> &ops,
                     std::vector<StagedOp> &staged, xpStream stream);

// Enqueues the results' way out, after NCCL's work on `stream`.
xcclResult_t stageOut(NcclComm &nccl, const std::vector<Op> &ops,
                      const std::vector<StagedOp> &staged, xpStream stream);

// Frees the scratch once its last use is done (the communicator's end).
void releaseStaging(NcclComm &nccl);

}  // namespace xpool::xccl
