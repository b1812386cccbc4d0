#include "topology.h"

#include <algorithm>

#include "bootstrap.h"

namespace xpool::xccl {

NodeLayout computeNodeLayout(const std::vector<PeerInfo> &infos, int rank) {
  NodeLayout layout;
  const int n = static_cast<int>(infos.size());
  layout.node_of.assign(infos.size(), -1);
  layout.local_rank_of.assign(infos.size(), 0);
  layout.members.clear();
  // Quadratic in the rank count, once per communicator: a few thousand
  // ranks cost milliseconds, next to the bootstrap's round trips.
  for (int p = 0; p < n; ++p) {
    if (layout.node_of[static_cast<size_t>(p)] >= 0) continue;
    const int node = static_cast<int>(layout.members.size());
    std::vector<int> ranks;
    for (int q = p; q < n; ++q) {
      if (infos[static_cast<size_t>(q)].host_id != infos[static_cast<size_t>(p)].host_id) continue;
      layout.node_of[static_cast<size_t>(q)] = node;
      layout.local_rank_of[static_cast<size_t>(q)] = static_cast<int>(ranks.size());
      ranks.push_back(q);
    }
    layout.members.push_back(std::move(ranks));
  }
  layout.nnodes = static_cast<int>(layout.members.size());
  layout.node = layout.node_of[static_cast<size_t>(rank)];
  layout.local_rank = layout.local_rank_of[static_cast<size_t>(rank)];
  layout.max_local = 1;
  layout.by_node.clear();
  layout.by_node_index.assign(infos.size(), 0);
  for (const std::vector<int> &ranks : layout.members) {
    layout.max_local = std::max(layout.max_local, static_cast<int>(ranks.size()));
    layout.leaders.push_back(ranks.front());
    for (int q : ranks) {
      layout.by_node_index[static_cast<size_t>(q)] = static_cast<int>(layout.by_node.size());
      layout.by_node.push_back(q);
    }
  }
  return layout;
}

}  // namespace xpool::xccl
