// Device memory the host cannot address (an OpenCL or CUDA buffer) reaches
// the host algorithms through pinned staging buffers. Element-wise
// collectives run chunk by chunk in every rank of a communicator that has
// such a device, so that copying one chunk overlaps the network traffic
// of the chunk before it.
#pragma once

#include <functional>

#include "errors.h"
#include "op_label.h"
#include "xpool/runtime.h"

struct xcclComm;

namespace xpool::xccl {

// True when `pointer` is device memory of a device the host cannot address.
bool needsStaging(const xcclComm &comm, const void *pointer);

// Copies through the communicator's copy stream and waits (deadline).
xcclResult_t copyAndWait(xcclComm &comm, void *dst, const void *src, size_t bytes,
                         const OpLabel &what);

// Runs an element-wise collective over `bytes` in chunks. `copy_in` and
// `copy_out` say whether this rank's input and output pass through the
// staging buffers; `run(send, recv, offset, length)` runs the collective on
// one chunk (host pointers, byte offset and length of the chunk).
using ChunkRun =
    std::function<xcclResult_t(const char *send, char *recv, size_t offset, size_t length)>;
xcclResult_t runInChunks(xcclComm &comm, const void *send, void *recv, size_t bytes, size_t element,
                         bool copy_in, bool copy_out, const OpLabel &what, const ChunkRun &run);

}  // namespace xpool::xccl
