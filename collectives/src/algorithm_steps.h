// The building blocks of the collective algorithms, over a group of ranks:
// the whole communicator for the flat algorithms, a node or one rank per
// node for the hierarchical ones (hierarchical.cpp). Each runs on the
// calling thread, posting requests to the engine and waiting for them.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <vector>

#include "channel.h"
#include "op_label.h"

#include "xpool/xccl.h"

struct xcclComm;

namespace xpool::xccl {

inline int mod(int value, int n) {
  return ((value % n) + n) % n;
}

// An ordered subset of the communicator's ranks: position p is
// communicator rank ranks[p] (ranks NULL: rank p itself). `me` is this
// rank's position. A view: `ranks` must outlive the group.
struct Group {
  const int *ranks = nullptr;
  int n = 1;
  int me = 0;
  int at(int position) const {
    const int p = mod(position, n);
    return ranks != nullptr ? ranks[p] : p;
  }
};

// Every rank of the communicator, in rank order.
Group everyone(const xcclComm &comm);

// Splits `count` elements into n nearly equal consecutive slots; segment i
// is slot order[i] (order NULL: slot i), so that a ring in another order
// than the slots' (nodes first: hierarchical.cpp) still finds its blocks.
struct Segments {
  Segments(size_t count_, size_t n_, const int *order_ = nullptr)
      : count(count_), n(n_), order(order_) {}
  size_t count;
  size_t n;
  const int *order;
  size_t offset(int i) const {
    const size_t slot = static_cast<size_t>(order != nullptr ? order[i] : i);
    return slot * (count / n) + std::min(slot, count % n);
  }
  size_t size(int i) const {
    const size_t slot = static_cast<size_t>(order != nullptr ? order[i] : i);
    return count / n + (slot < count % n ? 1 : 0);
  }
};

inline void copyIfApart(char *dst, const char *src, size_t bytes) {
  if (dst != src && bytes > 0) std::memcpy(dst, src, bytes);
}

xcclResult_t waitAll(xcclComm &comm, std::vector<Request> &requests, const OpLabel &what);

// A private copy of this rank's contribution when the output overwrites it
// (in comm.scratch: the caller must not hold another scratch pointer).
xcclResult_t keepInput(xcclComm &comm, const char *send, size_t bytes, const char **kept);

// dst = contributions of group positions 0..n-1 reduced in position order,
// so every rank that computes it gets the same bits. `mine` is this rank's
// contribution (not aliasing dst); every other position sends its own.
xcclResult_t accumulateInOrder(xcclComm &comm, const Group &group, const char *mine, char *dst,
                               size_t count, xcclDataType_t type, xcclRedOp_t op,
                               const OpLabel &what);

// Every position sends `send` to every other and reduces the n
// contributions in position order into `recv` (may equal send).
xcclResult_t directAllReduce(xcclComm &comm, const Group &group, const char *send, char *recv,
                             size_t count, xcclDataType_t type, xcclRedOp_t op,
                             const OpLabel &what);

// Ring reduce-scatter over `segments` (n of them): segment (me + 1) mod n of
// `work` ends fully reduced. Step 0 reads `send`; later steps read the
// partial results in `work` (work may equal send).
xcclResult_t ringReduceScatter(xcclComm &comm, const Group &group, const char *send, char *work,
                               const Segments &segments, xcclDataType_t type, xcclRedOp_t op,
                               const OpLabel &what);

// Ring all-gather: segment (me + first_owned_offset) mod n of `work` is this
// position's; afterwards every segment is everyone's.
xcclResult_t ringAllGather(xcclComm &comm, const Group &group, char *work, const Segments &segments,
                           size_t element, int first_owned_offset, const OpLabel &what);

// Ring all-reduce (reduce-scatter then all-gather) of `count` >= group.n
// elements; divides by `divisor` (0: not) before the all-gather, so the
// quotient too is computed once and copied.
xcclResult_t ringAllReduce(xcclComm &comm, const Group &group, const char *send, char *recv,
                           size_t count, xcclDataType_t type, xcclRedOp_t op, int divisor,
                           const OpLabel &what);

// The root position sends `data` to every other position, which receives
// it into `data`.
xcclResult_t directBroadcast(xcclComm &comm, const Group &group, int root, char *data, size_t bytes,
                             const OpLabel &what);

// A chain from the root position through the positions after it,
// pipelined in chunks of comm.config.chunk_bytes.
xcclResult_t chainBroadcast(xcclComm &comm, const Group &group, int root, char *data, size_t bytes,
                            const OpLabel &what);

// Every other position sends `send` to `root`, which reduces the n
// contributions in position order into `recv` (may equal send; then
// comm.scratch keeps the input).
xcclResult_t directReduce(xcclComm &comm, const Group &group, int root, const char *send,
                          char *recv, size_t count, xcclDataType_t type, xcclRedOp_t op,
                          const OpLabel &what);

// Ring reduce-scatter, then every position sends its segment to `target`:
// the target's `work` ends with the reduction of every position's `send`
// (count >= group.n elements; others' `work` is scratch). Divides by
// `divisor` (0: not).
xcclResult_t ringReduce(xcclComm &comm, const Group &group, int target, const char *send,
                        char *work, size_t count, xcclDataType_t type, xcclRedOp_t op, int divisor,
                        const OpLabel &what);

}  // namespace xpool::xccl
