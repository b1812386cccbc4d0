#include "hierarchical.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "algorithm_steps.h"
#include "communicator.h"
#include "reduce.h"

namespace xpool::xccl {
namespace {

// This rank's node as a group, in rank order.
Group localGroup(const xcclComm &comm) {
  const NodeLayout &layout = comm.layout;
  const std::vector<int> &members = layout.members[static_cast<size_t>(layout.node)];
  return Group{members.data(), static_cast<int>(members.size()), layout.local_rank};
}

// The rank that speaks for each node: the root on the root's node, the
// leader elsewhere.
std::vector<int> representatives(const NodeLayout &layout, int root) {
  std::vector<int> reps = layout.leaders;
  reps[static_cast<size_t>(layout.node_of[static_cast<size_t>(root)])] = root;
  return reps;
}

// The pieces of the inter-node step. Node k's ring reduce-scatter leaves
// its segment i (of members[k].size() equal segments) on local rank i - 1;
// nodes of different sizes cut at different places, so the pieces are the
// intervals between all the cuts: each lies inside one segment of every
// node, and its owners (one per node) reduce it together.
struct Piece {
  size_t begin, end;
  std::vector<int> owners;  // per node
};

std::vector<Piece> pieces(const NodeLayout &layout, size_t count) {
  std::vector<size_t> cuts{count};
  for (const std::vector<int> &members : layout.members) {
    const Segments segments{count, members.size()};
    for (int i = 0; i < static_cast<int>(members.size()); ++i) cuts.push_back(segments.offset(i));
  }
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  std::vector<Piece> out;
  for (size_t j = 0; j + 1 < cuts.size(); ++j) {
    Piece piece{cuts[j], cuts[j + 1], {}};
    for (const std::vector<int> &members : layout.members) {
      const int k = static_cast<int>(members.size());
      const Segments segments{count, members.size()};
      int segment = k - 1;
      while (segments.offset(segment) > piece.begin) --segment;
      piece.owners.push_back(members[static_cast<size_t>(mod(segment - 1, k))]);
    }
    out.push_back(std::move(piece));
  }
  return out;
}

size_t smallestPiece(const std::vector<Piece> &all) {
  size_t smallest = SIZE_MAX;
  for (const Piece &piece : all) smallest = std::min(smallest, piece.end - piece.begin);
  return smallest;
}

bool large(const xcclComm &comm, size_t count, size_t bytes) {
  // Below this every step is latency: the variant through one leader per
  // node sends fewer messages. The ring variants need a segment per rank.
  return bytes > comm.config.direct_max_bytes && count >= static_cast<size_t>(comm.nranks);
}

// Small: members -> leader (reduced in local rank order), leaders reduce
// among themselves in node order, leader -> members.
xcclResult_t allReduceThroughLeaders(xcclComm &comm, const char *send, char *recv, size_t count,
                                     xcclDataType_t type, xcclRedOp_t op, const OpLabel &what) {
  const NodeLayout &layout = comm.layout;
  const size_t bytes = count * typeSize(type);
  const Group local = localGroup(comm);
  XCCL_RETURN_IF_ERROR(directReduce(comm, local, 0, send, recv, count, type, op, what));
  if (layout.local_rank == 0) {
    const Group leaders{layout.leaders.data(), layout.nnodes, layout.node};
    XCCL_RETURN_IF_ERROR(directAllReduce(comm, leaders, recv, recv, count, type, op, what));
    if (op == xcclAvg) divide(recv, count, type, comm.nranks);
  }
  return directBroadcast(comm, local, 0, recv, bytes, what);
}

}  // namespace

xcclResult_t hierAllReduce(xcclComm &comm, const char *send, char *recv, size_t count,
                           xcclDataType_t type, xcclRedOp_t op, const OpLabel &what) {
  const NodeLayout &layout = comm.layout;
  const size_t element = typeSize(type);
  if (!large(comm, count, count * element)) {
    return allReduceThroughLeaders(comm, send, recv, count, type, op, what);
  }
  // 1. Reduce-scatter inside the node: local rank i holds segment i + 1 of
  //    the node's sum.
  const Group local = localGroup(comm);
  const Segments node_segments{count, static_cast<size_t>(local.n)};
  if (local.n > 1) {
    XCCL_RETURN_IF_ERROR(ringReduceScatter(comm, local, send, recv, node_segments, type, op, what));
  } else {
    copyIfApart(recv, send, count * element);
  }
  // 2. Across nodes, each piece among its owners (one rank per node, the
  //    same local rank when nodes are equal): every local rank drives its
  //    own share of the inter-node traffic. Pieces go in ascending order on
  //    every rank, so two ranks that share several pieces meet in the same
  //    order.
  const int divisor = op == xcclAvg ? comm.nranks : 0;
  for (const Piece &piece : pieces(layout, count)) {
    if (piece.owners[static_cast<size_t>(layout.node)] != comm.rank) continue;
    const Group owners{piece.owners.data(), layout.nnodes, layout.node};
    char *data = recv + piece.begin * element;
    const size_t length = piece.end - piece.begin;
    if (length * element > comm.config.direct_max_bytes &&
        length >= static_cast<size_t>(layout.nnodes)) {
      XCCL_RETURN_IF_ERROR(
          ringAllReduce(comm, owners, data, data, length, type, op, divisor, what));
    } else {
      XCCL_RETURN_IF_ERROR(directAllReduce(comm, owners, data, data, length, type, op, what));
      if (divisor > 0) divide(data, length, type, divisor);
    }
  }
  // 3. All-gather inside the node.
  if (local.n > 1) {
    XCCL_RETURN_IF_ERROR(ringAllGather(comm, local, recv, node_segments, element, 1, what));
  }
  return xcclSuccess;
}

xcclResult_t hierBroadcast(xcclComm &comm, char *data, size_t bytes, int root,
                           const OpLabel &what) {
  const NodeLayout &layout = comm.layout;
  if (bytes > comm.config.direct_max_bytes) {
    // One chain through the ranks node after node: it crosses between nodes
    // once per node instead of wherever consecutive ranks live apart, and
    // stays pipelined end to end.
    const Group chain{layout.by_node.data(), comm.nranks,
                      layout.by_node_index[static_cast<size_t>(comm.rank)]};
    return chainBroadcast(comm, chain, layout.by_node_index[static_cast<size_t>(root)], data, bytes,
                          what);
  }
  // Root -> one rank per node -> the rest of each node: one message per
  // node crosses the network instead of one per rank.
  const std::vector<int> reps = representatives(layout, root);
  const int my_rep = reps[static_cast<size_t>(layout.node)];
  if (my_rep == comm.rank) {
    const Group across{reps.data(), layout.nnodes, layout.node};
    XCCL_RETURN_IF_ERROR(directBroadcast(comm, across, layout.node_of[static_cast<size_t>(root)],
                                         data, bytes, what));
  }
  return directBroadcast(comm, localGroup(comm), layout.local_rank_of[static_cast<size_t>(my_rep)],
                         data, bytes, what);
}

xcclResult_t hierReduce(xcclComm &comm, const char *send, char *recv, size_t count,
                        xcclDataType_t type, xcclRedOp_t op, int root, const OpLabel &what) {
  const NodeLayout &layout = comm.layout;
  const size_t element = typeSize(type);
  const size_t bytes = count * element;
  const int root_node = layout.node_of[static_cast<size_t>(root)];
  const Group local = localGroup(comm);
  const int divisor = op == xcclAvg ? comm.nranks : 0;
  const std::vector<Piece> all =
      large(comm, count, bytes) ? pieces(layout, count) : std::vector<Piece>{};
  // The ring variant cuts every piece once more among the nodes.
  if (all.empty() || smallestPiece(all) < static_cast<size_t>(layout.nnodes)) {
    // Members -> their node's representative (reduced in local rank order)
    // -> the root (reduced in node order).
    const std::vector<int> reps = representatives(layout, root);
    const int my_rep = reps[static_cast<size_t>(layout.node)];
    const int rep_position = layout.local_rank_of[static_cast<size_t>(my_rep)];
    if (my_rep != comm.rank) {
      return directReduce(comm, local, rep_position, send, nullptr, count, type, op, what);
    }
    void *scratch = nullptr;
    XCCL_RETURN_IF_ERROR(comm.scratch.reserve(bytes, false, &scratch));
    char *partial = static_cast<char *>(scratch);
    XCCL_RETURN_IF_ERROR(accumulateInOrder(comm, local, send, partial, count, type, op, what));
    const Group across{reps.data(), layout.nnodes, layout.node};
    if (comm.rank != root) {
      return directReduce(comm, across, root_node, partial, nullptr, count, type, op, what);
    }
    XCCL_RETURN_IF_ERROR(accumulateInOrder(comm, across, partial, recv, count, type, op, what));
    if (divisor > 0) divide(recv, count, type, divisor);
    return xcclSuccess;
  }
  // 1. Reduce-scatter inside the node, into recv on the root and scratch
  //    elsewhere; 2. each piece reduced across nodes onto its owner on the
  //    root's node; 3. those owners send their segments to the root.
  char *work = recv;
  if (comm.rank != root) {
    void *scratch = nullptr;
    XCCL_RETURN_IF_ERROR(comm.scratch.reserve(bytes, false, &scratch));
    work = static_cast<char *>(scratch);
  }
  const Segments node_segments{count, static_cast<size_t>(local.n)};
  if (local.n > 1) {
    XCCL_RETURN_IF_ERROR(ringReduceScatter(comm, local, send, work, node_segments, type, op, what));
  } else {
    copyIfApart(work, send, bytes);
  }
  for (const Piece &piece : all) {
    if (piece.owners[static_cast<size_t>(layout.node)] != comm.rank) continue;
    const Group owners{piece.owners.data(), layout.nnodes, layout.node};
    char *data = work + piece.begin * element;
    XCCL_RETURN_IF_ERROR(ringReduce(comm, owners, root_node, data, data, piece.end - piece.begin,
                                    type, op, divisor, what));
  }
  if (layout.node != root_node || local.n == 1) return xcclSuccess;
  const int root_position = layout.local_rank_of[static_cast<size_t>(root)];
  std::vector<Request> requests;
  requests.reserve(static_cast<size_t>(local.n));
  if (comm.rank == root) {
    for (int p = 0; p < local.n; ++p) {
      if (p == root_position) continue;
      const int segment = mod(p + 1, local.n);
      requests.push_back(Request::recv(local.at(p), recv + node_segments.offset(segment) * element,
                                       node_segments.size(segment) * element));
    }
  } else {
    const int segment = mod(local.me + 1, local.n);
    requests.push_back(Request::send(root, work + node_segments.offset(segment) * element,
                                     node_segments.size(segment) * element));
  }
  for (Request &request : requests) comm.engine.post(&request);
  return waitAll(comm, requests, what);
}

xcclResult_t hierAllGather(xcclComm &comm, char *recv, size_t block, const OpLabel &what) {
  const NodeLayout &layout = comm.layout;
  // The ring node after node: it crosses between nodes once per node.
  // Position p's block is rank by_node[p]'s, wherever that lies in recv.
  const Group ring{layout.by_node.data(), comm.nranks,
                   layout.by_node_index[static_cast<size_t>(comm.rank)]};
  const Segments blocks{block * static_cast<size_t>(comm.nranks), static_cast<size_t>(comm.nranks),
                        layout.by_node.data()};
  return ringAllGather(comm, ring, recv, blocks, 1, 0, what);
}

bool hierReduceScatterFits(const xcclComm &comm) {
  const std::vector<std::vector<int>> &members = comm.layout.members;
  return std::all_of(members.begin(), members.end(), [&](const std::vector<int> &node) {
    return node.size() == members.front().size();
  });
}

// N nodes of L ranks; block b of the input is rank b's share.
// 1. Inside the node, one ring reduce-scatter per node m over node m's L
//    blocks: local rank j ends with its node's partial sum of the block of
//    rank (m, j), for every m.
// 2. Across nodes, the N ranks of local rank j reduce-scatter those N
//    partial sums: rank (m, j) ends with the total of its own block.
// Rings address blocks where they lie (Segments' order), so nothing is
// packed. Each rank reduces n - 1 blocks, as in the flat ring, and sends
// N - 1 of them across nodes, on all L of each node's links at once, where
// the flat ring crosses between nodes only at its N node boundaries.
xcclResult_t hierReduceScatter(xcclComm &comm, const char *send, char *recv, size_t count,
                               xcclDataType_t type, xcclRedOp_t op, const OpLabel &what) {
  const NodeLayout &layout = comm.layout;
  const int nodes = layout.nnodes;
  const int width = static_cast<int>(layout.members.front().size());
  const size_t element = typeSize(type);
  const size_t block = count * element;
  const size_t total = count * static_cast<size_t>(comm.nranks);
  void *scratch = nullptr;
  XCCL_RETURN_IF_ERROR(
      comm.scratch.reserve(block * static_cast<size_t>(comm.nranks), false, &scratch));
  char *work = static_cast<char *>(scratch);
  // A ring leaves segment p + 1 on position p: segment i is the block of
  // position i - 1.
  const Group local = localGroup(comm);
  std::vector<int> order(static_cast<size_t>(std::max(width, nodes)));
  for (int m = 0; m < nodes; ++m) {
    const std::vector<int> &members = layout.members[static_cast<size_t>(m)];
    for (int i = 0; i < width; ++i) {
      order[static_cast<size_t>(i)] = members[static_cast<size_t>(mod(i - 1, width))];
    }
    const Segments blocks{total, static_cast<size_t>(comm.nranks), order.data()};
    XCCL_RETURN_IF_ERROR(ringReduceScatter(comm, local, send, work, blocks, type, op, what));
  }
  std::vector<int> peers(static_cast<size_t>(nodes));
  for (int m = 0; m < nodes; ++m) {
    peers[static_cast<size_t>(m)] =
        layout.members[static_cast<size_t>(m)][static_cast<size_t>(layout.local_rank)];
  }
  for (int i = 0; i < nodes; ++i) {
    order[static_cast<size_t>(i)] = peers[static_cast<size_t>(mod(i - 1, nodes))];
  }
  const Group across{peers.data(), nodes, layout.node};
  const Segments blocks{total, static_cast<size_t>(comm.nranks), order.data()};
  XCCL_RETURN_IF_ERROR(ringReduceScatter(comm, across, work, work, blocks, type, op, what));
  std::memcpy(recv, work + static_cast<size_t>(comm.rank) * block, block);
  if (op == xcclAvg) divide(recv, count, type, comm.nranks);
  return xcclSuccess;
}

}  // namespace xpool::xccl
