// Which ranks of a communicator share a node, computed once when it forms.
// Two ranks are on one node when their PeerInfo.host_id is equal: the same
// identity that gives a pair shared memory rather than TCP (comm_init.cpp),
// so XCCL_HOSTNAME, which changes both, splits one machine into "nodes".
#pragma once

#include <vector>

namespace xpool::xccl {

struct PeerInfo;

struct NodeLayout {
  int nnodes = 1;
  int node = 0;                    // this rank's node; nodes are numbered by their lowest rank
  int local_rank = 0;              // this rank's position among its node's ranks
  int max_local = 1;               // the most ranks on any node
  std::vector<int> node_of;        // per rank
  std::vector<int> local_rank_of;  // per rank
  std::vector<std::vector<int>> members;  // per node, in rank order; members[k][0] leads it
  std::vector<int> leaders;               // members[k][0] per node k
  std::vector<int> by_node;               // every rank, node after node (rank order inside)
  std::vector<int> by_node_index;         // per rank: its position in by_node

  // Hierarchical algorithms have something to gain: several nodes, and at
  // least one of them with several ranks.
  bool hierarchical() const { return nnodes > 1 && max_local > 1; }
};

NodeLayout computeNodeLayout(const std::vector<PeerInfo> &infos, int rank);

}  // namespace xpool::xccl
