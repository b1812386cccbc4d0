// Which path each pair of ranks takes, and the wiring of the UCX pairs.
#pragma once

#include <vector>

#include "bootstrap.h"
#include "socket.h"

struct xcclComm;

namespace xpool::xccl {

// Decided from both ranks' PeerInfo, so both ends agree without a message:
// XCCL_TRANSPORT=tcp on either rank gives TCP, then ucx on either gives
// UCX; otherwise shared memory inside a node and, between nodes, UCX or
// TCP as connectUcxPeers settles it.
enum class PairPath { kShm, kTcp, kUcx, kUcxElseTcp };
PairPath pairPath(const PeerInfo &a, const PeerInfo &b);

// Gives each of `peers` (paths kUcx or kUcxElseTcp) its channel: the ranks
// swap offers (UCX worker address, or why not) over their control
// connection. A kUcx pair connects a UcxChannel when both ends opened UCX,
// else fails naming the rank and the reason. A kUcxElseTcp pair takes UCX
// only when both ends accept it for `auto` (XCCL_UCX_AUTO: by default only
// with an RDMA device, since UCX over TCP measured slower than xccl's TCP),
// else its TCP sockets from `data`, logging why.
xcclResult_t connectUcxPeers(xcclComm &comm, const std::vector<int> &peers,
                             std::vector<std::vector<Socket>> &data, Deadline deadline);

}  // namespace xpool::xccl
