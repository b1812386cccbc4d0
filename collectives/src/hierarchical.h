// Hierarchical collectives: inside each node first (shared memory), then
// across nodes (TCP), then inside each node again. They need a communicator
// whose layout is hierarchical() (several nodes, some with several ranks);
// algorithms.cpp only calls them then. Every rank gets the same bits: each
// element is reduced once, by ranks that all combine the same values in the
// same order, and copied from there.
#pragma once

#include <cstddef>

#include "op_label.h"

#include "xpool/xccl.h"

struct xcclComm;

namespace xpool::xccl {

xcclResult_t hierAllReduce(xcclComm &comm, const char *send, char *recv, size_t count,
                           xcclDataType_t type, xcclRedOp_t op, const OpLabel &what);
// `data` holds the message on the root and receives it elsewhere.
xcclResult_t hierBroadcast(xcclComm &comm, char *data, size_t bytes, int root, const OpLabel &what);
xcclResult_t hierReduce(xcclComm &comm, const char *send, char *recv, size_t count,
                        xcclDataType_t type, xcclRedOp_t op, int root, const OpLabel &what);
// `recv` already holds this rank's block of `block` bytes at rank * block.
xcclResult_t hierAllGather(xcclComm &comm, char *recv, size_t block, const OpLabel &what);

// Whether hierReduceScatter serves this layout: every node holds as many
// ranks (the two-dimensional scheme needs a full grid).
bool hierReduceScatterFits(const xcclComm &comm);
// Reduce-scatter as a grid: inside each node first, then across nodes
// among the ranks of equal local rank. `count` elements per rank.
xcclResult_t hierReduceScatter(xcclComm &comm, const char *send, char *recv, size_t count,
                               xcclDataType_t type, xcclRedOp_t op, const OpLabel &what);

}  // namespace xpool::xccl
