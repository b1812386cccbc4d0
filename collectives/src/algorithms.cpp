#include "algorithms.h"

#include <cstring>
#include <vector>

#include "algorithm_steps.h"
#include "communicator.h"
#include "hierarchical.h"
#include "logging.h"
#include "reduce.h"

namespace xpool::xccl {
namespace {

// Recursive doubling: log2(n) exchanges of the whole vector. With n not a
// power of two, the first 2 * extra ranks pair up first (the even one hands
// its data to the odd one and waits for the result). Partners combine the
// same two values, and sum, prod, min and max are commutative bit for bit,
// so every rank ends with the same bits.
xcclResult_t recursiveDoubling(xcclComm &comm, char *data, size_t count, xcclDataType_t type,
                               xcclRedOp_t op, const OpLabel &what) {
  const int n = comm.nranks, r = comm.rank;
  const size_t bytes = count * typeSize(type);
  int power = 1;
  while (power * 2 <= n) power *= 2;
  const int extra = n - power;
  void *scratch = nullptr;
  XCCL_RETURN_IF_ERROR(comm.scratch.reserve(bytes, false, &scratch));
  char *incoming = static_cast<char *>(scratch);
  auto exchange = [&](int partner) -> xcclResult_t {
    Request out = Request::send(partner, data, bytes);
    Request in = Request::recv(partner, incoming, bytes);
    comm.engine.post(&out);
    comm.engine.post(&in);
    Request *both[] = {&out, &in};
    XCCL_RETURN_IF_ERROR(comm.engine.wait(both, 2, what));
    reduce(data, data, incoming, count, type, op);
    return xcclSuccess;
  };
  if (r < 2 * extra && r % 2 == 0) {
    // Hand the data to r + 1, then take the final result from it.
    Request out = Request::send(r + 1, data, bytes);
    comm.engine.post(&out);
    XCCL_RETURN_IF_ERROR(comm.engine.wait(&out, what));
    Request in = Request::recv(r + 1, data, bytes);
    comm.engine.post(&in);
    return comm.engine.wait(&in, what);
  }
  if (r < 2 * extra) {
    Request in = Request::recvReduce(r - 1, data, data, bytes, type, op);
    comm.engine.post(&in);
    XCCL_RETURN_IF_ERROR(comm.engine.wait(&in, what));
  }
  // Ranks of the power-of-two phase, renumbered 0..power-1.
  const int virtual_rank = r < 2 * extra ? r / 2 : r - extra;
  auto real = [&](int v) { return v < extra ? 2 * v + 1 : v + extra; };
  for (int mask = 1; mask < power; mask *= 2) {
    XCCL_RETURN_IF_ERROR(exchange(real(virtual_rank ^ mask)));
  }
  if (r < 2 * extra) {
    Request out = Request::send(r - 1, data, bytes);
    comm.engine.post(&out);
    return comm.engine.wait(&out, what);
  }
  return xcclSuccess;
}

}  // namespace

const char *algorithmName(Algorithm algorithm) {
  switch (algorithm) {
    case Algorithm::kRing:
      return "ring";
    case Algorithm::kDirect:
      return "direct";
    case Algorithm::kTree:
      return "tree";
    case Algorithm::kHier:
      return "hier";
  }
  return "?";
}

namespace {

// auto's flat choice: direct for small messages (recursive doubling above
// 8 ranks, where n - 1 messages per rank cost more than log2(n) rounds),
// ring for large ones. Collectives other than all-reduce send kTree direct.
Algorithm smallOrLarge(const xcclComm &comm, size_t bytes) {
  if (bytes > comm.config.direct_max_bytes) return Algorithm::kRing;
  return comm.nranks > 8 ? Algorithm::kTree : Algorithm::kDirect;
}

}  // namespace

Algorithm chooseAlgorithm(const xcclComm &comm, size_t bytes) {
  switch (comm.config.algo) {
    case AlgoChoice::kRing:
      return Algorithm::kRing;
    case AlgoChoice::kDirect:
      return Algorithm::kDirect;
    case AlgoChoice::kTree:
      return Algorithm::kTree;
    case AlgoChoice::kHier:
      // Without several nodes, or with one rank per node, there is no inside
      // to go through first: auto's flat choice (logged when the
      // communicator formed, see logLayout).
      if (comm.layout.hierarchical()) return Algorithm::kHier;
      break;
    case AlgoChoice::kAuto:
      if (comm.layout.hierarchical() && bytes >= comm.config.hier_min_bytes) {
        return Algorithm::kHier;
      }
      break;
  }
  return smallOrLarge(comm, bytes);
}

Algorithm chooseFlatAlgorithm(const xcclComm &comm, size_t bytes) {
  const Algorithm algorithm = chooseAlgorithm(comm, bytes);
  return algorithm == Algorithm::kHier ? smallOrLarge(comm, bytes) : algorithm;
}

void logLayout(const xcclComm &comm) {
  const NodeLayout &layout = comm.layout;
  logger()->info("rank {} of {}: node {} of {} (local rank {} of {}; at most {} ranks per node)",
                 comm.rank, comm.nranks, layout.node, layout.nnodes, layout.local_rank,
                 layout.members[static_cast<size_t>(layout.node)].size(), layout.max_local);
  if (comm.config.algo == AlgoChoice::kHier && !layout.hierarchical()) {
    logger()->info(
        "rank {}: XCCL_ALGO=hier but the communicator has {} node(s) with at most {} rank(s) "
        "each: the flat algorithms run instead",
        comm.rank, layout.nnodes, layout.max_local);
  }
}

xcclResult_t allReduce(xcclComm &comm, const char *send, char *recv, size_t count,
                       xcclDataType_t type, xcclRedOp_t op, const OpLabel &what) {
  const size_t element = typeSize(type);
  const size_t bytes = count * element;
  if (comm.nranks == 1 || count == 0) {
    copyIfApart(recv, send, bytes);
    return xcclSuccess;
  }
  const Algorithm algorithm = chooseAlgorithm(comm, bytes);
  const int divisor = op == xcclAvg ? comm.nranks : 0;
  if (algorithm == Algorithm::kHier) return hierAllReduce(comm, send, recv, count, type, op, what);
  if (algorithm == Algorithm::kTree) {
    copyIfApart(recv, send, bytes);
    XCCL_RETURN_IF_ERROR(recursiveDoubling(comm, recv, count, type, op, what));
  } else if (algorithm == Algorithm::kDirect || count < static_cast<size_t>(comm.nranks)) {
    XCCL_RETURN_IF_ERROR(directAllReduce(comm, everyone(comm), send, recv, count, type, op, what));
  } else {
    return ringAllReduce(comm, everyone(comm), send, recv, count, type, op, divisor, what);
  }
  if (divisor > 0) divide(recv, count, type, divisor);
  return xcclSuccess;
}

xcclResult_t broadcast(xcclComm &comm, const char *send, char *recv, size_t count,
                       xcclDataType_t type, int root, const OpLabel &what) {
  const size_t bytes = count * typeSize(type);
  const int n = comm.nranks, r = comm.rank;
  if (r == root) copyIfApart(recv, send, bytes);
  if (n == 1 || bytes == 0) return xcclSuccess;
  const Algorithm algorithm = chooseAlgorithm(comm, bytes);
  if (algorithm == Algorithm::kHier) return hierBroadcast(comm, recv, bytes, root, what);
  if (algorithm != Algorithm::kRing || n == 2) {
    return directBroadcast(comm, everyone(comm), root, recv, bytes, what);
  }
  return chainBroadcast(comm, everyone(comm), root, recv, bytes, what);
}

xcclResult_t reduceToRoot(xcclComm &comm, const char *send, char *recv, size_t count,
                          xcclDataType_t type, xcclRedOp_t op, int root, const OpLabel &what) {
  const size_t bytes = count * typeSize(type);
  const int n = comm.nranks, r = comm.rank;
  if (n == 1 || count == 0) {
    if (r == root) copyIfApart(recv, send, bytes);
    return xcclSuccess;
  }
  const Algorithm algorithm = chooseAlgorithm(comm, bytes);
  if (algorithm == Algorithm::kHier) {
    return hierReduce(comm, send, recv, count, type, op, root, what);
  }
  if (algorithm != Algorithm::kRing || count < static_cast<size_t>(n)) {
    XCCL_RETURN_IF_ERROR(
        directReduce(comm, everyone(comm), root, send, recv, count, type, op, what));
    if (r == root && op == xcclAvg) divide(recv, count, type, n);
    return xcclSuccess;
  }
  // Ranks other than the root work in scratch memory.
  char *work = recv;
  if (r != root) {
    void *scratch = nullptr;
    XCCL_RETURN_IF_ERROR(comm.scratch.reserve(bytes, false, &scratch));
    work = static_cast<char *>(scratch);
  }
  return ringReduce(comm, everyone(comm), root, send, work, count, type, op, op == xcclAvg ? n : 0,
                    what);
}

xcclResult_t allGather(xcclComm &comm, const char *send, char *recv, size_t count,
                       xcclDataType_t type, const OpLabel &what) {
  const size_t element = typeSize(type);
  const size_t block = count * element;
  const int n = comm.nranks, r = comm.rank;
  copyIfApart(recv + static_cast<size_t>(r) * block, send, block);
  if (n == 1 || block == 0) return xcclSuccess;
  const Algorithm algorithm = chooseAlgorithm(comm, block);
  if (algorithm == Algorithm::kHier && block > comm.config.direct_max_bytes) {
    return hierAllGather(comm, recv, block, what);
  }
  if (algorithm != Algorithm::kRing) {
    std::vector<Request> requests;
    requests.reserve(2 * static_cast<size_t>(n));
    for (int p = 0; p < n; ++p) {
      if (p == r) continue;
      requests.push_back(Request::send(p, recv + static_cast<size_t>(r) * block, block));
      requests.push_back(Request::recv(p, recv + static_cast<size_t>(p) * block, block));
    }
    for (Request &request : requests) comm.engine.post(&request);
    return waitAll(comm, requests, what);
  }
  // Block i is segment i; this rank's own block is segment r (offset 0).
  const Segments blocks{count * static_cast<size_t>(n), static_cast<size_t>(n)};
  return ringAllGather(comm, everyone(comm), recv, blocks, element, 0, what);
}

xcclResult_t reduceScatter(xcclComm &comm, const char *send, char *recv, size_t count,
                           xcclDataType_t type, xcclRedOp_t op, const OpLabel &what) {
  const size_t element = typeSize(type);
  const size_t block = count * element;
  const int n = comm.nranks, r = comm.rank;
  const char *own = send + static_cast<size_t>(r) * block;
  if (n == 1 || block == 0) {
    copyIfApart(recv, own, block);
    return xcclSuccess;
  }
  if (chooseAlgorithm(comm, block) == Algorithm::kHier && block > comm.config.direct_max_bytes &&
      hierReduceScatterFits(comm)) {
    return hierReduceScatter(comm, send, recv, count, type, op, what);
  }
  if (chooseFlatAlgorithm(comm, block) != Algorithm::kRing) {
    std::vector<Request> sends;
    sends.reserve(static_cast<size_t>(n));
    for (int p = 0; p < n; ++p) {
      if (p != r) sends.push_back(Request::send(p, send + static_cast<size_t>(p) * block, block));
    }
    for (Request &request : sends) comm.engine.post(&request);
    const char *mine = own;
    if (own == recv) XCCL_RETURN_IF_ERROR(keepInput(comm, own, block, &mine));
    XCCL_RETURN_IF_ERROR(
        accumulateInOrder(comm, everyone(comm), mine, recv, count, type, op, what));
    XCCL_RETURN_IF_ERROR(waitAll(comm, sends, what));
  } else {
    // Ring with two scratch blocks: the partial result received at one step
    // is sent on at the next while the following one arrives in the other.
    void *scratch = nullptr;
    XCCL_RETURN_IF_ERROR(comm.scratch.reserve(2 * block, false, &scratch));
    char *partial[2] = {static_cast<char *>(scratch), static_cast<char *>(scratch) + block};
    for (int step = 0; step < n - 1; ++step) {
      const int send_block = mod(r - step - 1, n), recv_block = mod(r - step - 2, n);
      const char *source =
          step == 0 ? send + static_cast<size_t>(send_block) * block : partial[(step - 1) % 2];
      char *target = step == n - 2 ? recv : partial[step % 2];
      Request out = Request::send(mod(r + 1, n), source, block);
      Request in = Request::recvReduce(
          mod(r - 1, n), target, send + static_cast<size_t>(recv_block) * block, block, type, op);
      comm.engine.post(&out);
      comm.engine.post(&in);
      Request *both[] = {&out, &in};
      XCCL_RETURN_IF_ERROR(comm.engine.wait(both, 2, what));
    }
  }
  if (op == xcclAvg) divide(recv, count, type, n);
  return xcclSuccess;
}

xcclResult_t allToAll(xcclComm &comm, const char *send, char *recv, size_t count,
                      xcclDataType_t type, const OpLabel &what) {
  const size_t block = count * typeSize(type);
  const int n = comm.nranks, r = comm.rank;
  copyIfApart(recv + static_cast<size_t>(r) * block, send + static_cast<size_t>(r) * block, block);
  if (n == 1 || block == 0) return xcclSuccess;
  std::vector<Request> requests;
  requests.reserve(2 * static_cast<size_t>(n));
  // Start with the next rank up so that no single rank is everyone's first.
  for (int i = 1; i < n; ++i) {
    const int to = mod(r + i, n), from = mod(r - i, n);
    requests.push_back(Request::send(to, send + static_cast<size_t>(to) * block, block));
    requests.push_back(Request::recv(from, recv + static_cast<size_t>(from) * block, block));
  }
  for (Request &request : requests) comm.engine.post(&request);
  return waitAll(comm, requests, what);
}

xcclResult_t barrier(xcclComm &comm, const OpLabel &what) {
  // Dissemination: after round k every rank has heard, indirectly, from
  // 2^(k+1) ranks; ceil(log2 n) rounds in all.
  const int n = comm.nranks, r = comm.rank;
  char token_out = 1, token_in = 0;
  for (int distance = 1; distance < n; distance *= 2) {
    Request out = Request::send(mod(r + distance, n), &token_out, 1);
    Request in = Request::recv(mod(r - distance, n), &token_in, 1);
    comm.engine.post(&out);
    comm.engine.post(&in);
    Request *both[] = {&out, &in};
    XCCL_RETURN_IF_ERROR(comm.engine.wait(both, 2, what));
  }
  return xcclSuccess;
}

}  // namespace xpool::xccl
