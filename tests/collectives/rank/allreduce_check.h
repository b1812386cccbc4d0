// One checked AllReduce on any communicator (a split, a parent), for the
// scenarios that need a working collective rather than the whole matrix.
#pragma once

#include <string>

#include "rank/scenario.h"

namespace xccltest {

// Runs an AllReduce of `count` elements on `comm` (on `stream`, a stream of
// the comm's device, or NULL) with the inputs of values.h for the comm's own
// rank and size, and checks every element. Reports and returns false when the
// call failed or a result is wrong.
bool checkedAllReduce(const Context &ctx, xcclComm_t comm, xpStream stream, xcclDataType_t type,
                      xcclRedOp_t op, size_t count, uint64_t seed, const std::string &label);

}  // namespace xccltest
