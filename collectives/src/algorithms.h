// Collective algorithms over host-addressable buffers. Each runs on the
// calling thread, posting requests to the engine and waiting for them.
// `what` names the operation in error messages.
#pragma once

#include <cstddef>
#include <string>

#include "op_label.h"

#include "xpool/xccl.h"

struct xcclComm;

namespace xpool::xccl {

enum class Algorithm { kRing, kDirect, kTree, kHier };
const char *algorithmName(Algorithm algorithm);

// The algorithm for a collective of `bytes` per rank (XCCL_ALGO overrides).
// kHier only where the communicator's layout is hierarchical().
Algorithm chooseAlgorithm(const xcclComm &comm, size_t bytes);
// The same for collectives without a hierarchical form: auto's flat choice
// in place of kHier.
Algorithm chooseFlatAlgorithm(const xcclComm &comm, size_t bytes);

// Logs (XCCL_DEBUG=INFO) the rank's place in the node layout, and when
// XCCL_ALGO=hier has to fall back to the flat algorithms.
void logLayout(const xcclComm &comm);

xcclResult_t allReduce(xcclComm &comm, const char *send, char *recv, size_t count,
                       xcclDataType_t type, xcclRedOp_t op, const OpLabel &what);
xcclResult_t broadcast(xcclComm &comm, const char *send, char *recv, size_t count,
                       xcclDataType_t type, int root, const OpLabel &what);
xcclResult_t reduceToRoot(xcclComm &comm, const char *send, char *recv, size_t count,
                          xcclDataType_t type, xcclRedOp_t op, int root, const OpLabel &what);
xcclResult_t allGather(xcclComm &comm, const char *send, char *recv, size_t count,
                       xcclDataType_t type, const OpLabel &what);
xcclResult_t reduceScatter(xcclComm &comm, const char *send, char *recv, size_t count,
                           xcclDataType_t type, xcclRedOp_t op, const OpLabel &what);
xcclResult_t allToAll(xcclComm &comm, const char *send, char *recv, size_t count,
                      xcclDataType_t type, const OpLabel &what);
xcclResult_t barrier(xcclComm &comm, const OpLabel &what);

}  // namespace xpool::xccl
