// Result check (-c): every rank's input is a deterministic function of its
// rank and the element index, so each rank computes on the host what its
// output must hold and counts the elements that differ (nccl-tests' #wrong).
//
// Inputs are small integers (sum, avg, max, min) or +-1/2 (prod), so that
// every partial result is exact in every type whatever order the library
// reduces in: a float result must then equal the host's exactly, except avg,
// which may differ by the rounding of one division.
#pragma once

#include <cstddef>
#include <cstdint>

#include "collective.h"
#include "datatypes.h"

namespace xccl_bench {

struct CheckSpec {
  Coll coll;
  DataType type;
  RedOp op;
  int root;
  int rank;
  int nranks;
  Shape shape;
};

// Writes this rank's input, spec.shape.send_elems elements, to `send`.
void fillInput(const CheckSpec &spec, void *send);

// Counts the elements of this rank's output that are wrong. `recv` holds the
// output region as the call left it: recv_elems elements out of place; in
// place, the whole recv_elems region for allgather and the rank's block
// (count elements) for reducescatter. A reduce's non-root output is not
// defined and counts as right.
size_t countWrong(const CheckSpec &spec, const void *recv);

// A byte pattern to fill receive buffers with before the checked call, so
// that an element the call never wrote shows up as wrong.
constexpr int kPoison = 0xA5;

}  // namespace xccl_bench
