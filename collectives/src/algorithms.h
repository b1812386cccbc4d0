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

enum class Algorithm { kRing, kDirect, kTree };
const char *algorithmName(Algorithm algorithm);

// The algorithm for a collective of `bytes` per rank (XCCL_ALGO overrides).
Algorithm chooseAlgorithm(const xcclComm &comm, size_t bytes);

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
