#include "algorithms.h"

#include <cstring>
#include <vector>

#include "communicator.h"
#include "logging.h"
#include "reduce.h"

namespace xpool::xccl {
namespace {

int mod(int value, int n) {
  return ((value % n) + n) % n;
}

// Splits `count` elements into n nearly equal consecutive segments.
struct Segments {
  size_t count;
  size_t n;
  size_t offset(int i) const {
    const size_t index = static_cast<size_t>(i);
    return index * (count / n) + std::min(index, count % n);
  }
  size_t size(int i) const { return count / n + (static_cast<size_t>(i) < count % n ? 1 : 0); }
};

void copyIfApart(char *dst, const char *src, size_t bytes) {
  if (dst != src && bytes > 0) std::memcpy(dst, src, bytes);
}

// dst = contributions of ranks 0..n-1 reduced in rank order, so every rank
// computes bit-identical results. `mine` is this rank's contribution (not
// aliasing dst); the others arrive from the peers, which have all been
// sent `mine` already.
xcclResult_t accumulateInRankOrder(xcclComm &comm, const char *mine, char *dst, size_t count,
                                   xcclDataType_t type, xcclRedOp_t op, const OpLabel &what) {
  const size_t bytes = count * typeSize(type);
  for (int p = 0; p < comm.nranks; ++p) {
    if (p == comm.rank) {
      if (p == 0) {
        std::memcpy(dst, mine, bytes);
      } else {
        reduce(dst, dst, mine, count, type, op);
      }
      continue;
    }
    Request request =
        p == 0 ? Request::recv(p, dst, bytes) : Request::recvReduce(p, dst, dst, bytes, type, op);
    comm.engine.post(&request);
    XCCL_RETURN_IF_ERROR(comm.engine.wait(&request, what));
  }
  return xcclSuccess;
}

xcclResult_t waitAll(xcclComm &comm, std::vector<Request> &requests, const OpLabel &what) {
  std::vector<Request *> pointers;
  pointers.reserve(requests.size());
  for (Request &request : requests) pointers.push_back(&request);
  return comm.engine.wait(pointers.data(), pointers.size(), what);
}

// A private copy of this rank's contribution when the output overwrites it.
xcclResult_t keepInput(xcclComm &comm, const char *send, size_t bytes, const char **kept) {
  void *copy = nullptr;
  XCCL_RETURN_IF_ERROR(comm.scratch.reserve(bytes, false, &copy));
  std::memcpy(copy, send, bytes);
  *kept = static_cast<const char *>(copy);
  return xcclSuccess;
}

// Ring reduce-scatter over `count` elements split in n segments: segment
// (rank + 1) mod n of `work` ends fully reduced. Step 0 reads `send`; later
// steps read the partial results in `work`.
xcclResult_t ringReduceScatterSegments(xcclComm &comm, const char *send, char *work,
                                       const Segments &segments, xcclDataType_t type,
                                       xcclRedOp_t op, const OpLabel &what) {
  const int n = comm.nranks, r = comm.rank;
  const size_t element = typeSize(type);
  for (int step = 0; step < n - 1; ++step) {
    const int send_segment = mod(r - step, n), recv_segment = mod(r - step - 1, n);
    const char *source = (step == 0 ? send : work) + segments.offset(send_segment) * element;
    Request out = Request::send(mod(r + 1, n), source, segments.size(send_segment) * element);
    const size_t at = segments.offset(recv_segment) * element;
    Request in = Request::recvReduce(mod(r - 1, n), work + at, send + at,
                                     segments.size(recv_segment) * element, type, op);
    comm.engine.post(&out);
    comm.engine.post(&in);
    Request *both[] = {&out, &in};
    XCCL_RETURN_IF_ERROR(comm.engine.wait(both, 2, what));
  }
  return xcclSuccess;
}

// Ring all-gather of segments: segment (rank + 1) mod n of `work` is this
// rank's; afterwards every segment is everyone's.
xcclResult_t ringAllGatherSegments(xcclComm &comm, char *work, const Segments &segments,
                                   size_t element, int first_owned_offset, const OpLabel &what) {
  const int n = comm.nranks, r = comm.rank;
  for (int step = 0; step < n - 1; ++step) {
    const int send_segment = mod(r + first_owned_offset - step, n);
    const int recv_segment = mod(r + first_owned_offset - step - 1, n);
    Request out = Request::send(mod(r + 1, n), work + segments.offset(send_segment) * element,
                                segments.size(send_segment) * element);
    Request in = Request::recv(mod(r - 1, n), work + segments.offset(recv_segment) * element,
                               segments.size(recv_segment) * element);
    comm.engine.post(&out);
    comm.engine.post(&in);
    Request *both[] = {&out, &in};
    XCCL_RETURN_IF_ERROR(comm.engine.wait(both, 2, what));
  }
  return xcclSuccess;
}

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
  }
  return "?";
}

Algorithm chooseAlgorithm(const xcclComm &comm, size_t bytes) {
  switch (comm.config.algo) {
    case AlgoChoice::kRing:
      return Algorithm::kRing;
    case AlgoChoice::kDirect:
    case AlgoChoice::kTree:
      return Algorithm::kDirect;
    case AlgoChoice::kAuto:
      break;
  }
  return bytes <= comm.config.direct_max_bytes ? Algorithm::kDirect : Algorithm::kRing;
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
  if (algorithm == Algorithm::kTree) {
    copyIfApart(recv, send, bytes);
    XCCL_RETURN_IF_ERROR(recursiveDoubling(comm, recv, count, type, op, what));
  } else if (algorithm == Algorithm::kDirect || count < static_cast<size_t>(comm.nranks)) {
    const char *mine = send;
    if (send == recv) XCCL_RETURN_IF_ERROR(keepInput(comm, send, bytes, &mine));
    std::vector<Request> sends;
    sends.reserve(static_cast<size_t>(comm.nranks));
    for (int p = 0; p < comm.nranks; ++p) {
      if (p == comm.rank) continue;
      sends.push_back(Request::send(p, mine, bytes));
      comm.engine.post(&sends.back());
    }
    XCCL_RETURN_IF_ERROR(accumulateInRankOrder(comm, mine, recv, count, type, op, what));
    XCCL_RETURN_IF_ERROR(waitAll(comm, sends, what));
  } else {
    const Segments segments{count, static_cast<size_t>(comm.nranks)};
    XCCL_RETURN_IF_ERROR(ringReduceScatterSegments(comm, send, recv, segments, type, op, what));
    if (op == xcclAvg) {
      const int owned = mod(comm.rank + 1, comm.nranks);
      divide(recv + segments.offset(owned) * element, segments.size(owned), type, comm.nranks);
    }
    return ringAllGatherSegments(comm, recv, segments, element, 1, what);
  }
  if (op == xcclAvg) divide(recv, count, type, comm.nranks);
  return xcclSuccess;
}

xcclResult_t broadcast(xcclComm &comm, const char *send, char *recv, size_t count,
                       xcclDataType_t type, int root, const OpLabel &what) {
  const size_t bytes = count * typeSize(type);
  const int n = comm.nranks, r = comm.rank;
  if (r == root) copyIfApart(recv, send, bytes);
  if (n == 1 || bytes == 0) return xcclSuccess;
  std::vector<Request> requests;
  if (chooseAlgorithm(comm, bytes) != Algorithm::kRing || n == 2) {
    requests.reserve(static_cast<size_t>(n));
    if (r == root) {
      for (int p = 0; p < n; ++p) {
        if (p != root) requests.push_back(Request::send(p, recv, bytes));
      }
    } else {
      requests.push_back(Request::recv(root, recv, bytes));
    }
    for (Request &request : requests) comm.engine.post(&request);
    return waitAll(comm, requests, what);
  }
  // A chain from the root, pipelined in chunks: each rank forwards a chunk
  // as soon as it has it, so every link carries data at once.
  const int position = mod(r - root, n);
  const int next = mod(r + 1, n), previous = mod(r - 1, n);
  const size_t chunk = comm.config.chunk_bytes;
  const size_t chunks = (bytes + chunk - 1) / chunk;
  requests.reserve(2 * chunks);
  std::vector<Request *> sends;
  for (size_t c = 0; c < chunks; ++c) {
    char *at = recv + c * chunk;
    const size_t length = std::min(chunk, bytes - c * chunk);
    if (position != 0) {
      requests.push_back(Request::recv(previous, at, length));
      comm.engine.post(&requests.back());
      XCCL_RETURN_IF_ERROR(comm.engine.wait(&requests.back(), what));
    }
    if (position != n - 1) {
      requests.push_back(Request::send(next, at, length));
      comm.engine.post(&requests.back());
      sends.push_back(&requests.back());
    }
  }
  return comm.engine.wait(sends.data(), sends.size(), what);
}

xcclResult_t reduceToRoot(xcclComm &comm, const char *send, char *recv, size_t count,
                          xcclDataType_t type, xcclRedOp_t op, int root, const OpLabel &what) {
  const size_t element = typeSize(type);
  const size_t bytes = count * element;
  const int n = comm.nranks, r = comm.rank;
  if (n == 1 || count == 0) {
    if (r == root) copyIfApart(recv, send, bytes);
    return xcclSuccess;
  }
  if (chooseAlgorithm(comm, bytes) != Algorithm::kRing || count < static_cast<size_t>(n)) {
    if (r != root) {
      Request out = Request::send(root, send, bytes);
      comm.engine.post(&out);
      return comm.engine.wait(&out, what);
    }
    const char *mine = send;
    if (send == recv) XCCL_RETURN_IF_ERROR(keepInput(comm, send, bytes, &mine));
    XCCL_RETURN_IF_ERROR(accumulateInRankOrder(comm, mine, recv, count, type, op, what));
    if (op == xcclAvg) divide(recv, count, type, n);
    return xcclSuccess;
  }
  // Reduce-scatter around the ring, then every owner sends its segment to
  // the root. Ranks other than the root work in scratch memory.
  char *work = recv;
  if (r != root) {
    void *scratch = nullptr;
    XCCL_RETURN_IF_ERROR(comm.scratch.reserve(bytes, false, &scratch));
    work = static_cast<char *>(scratch);
  }
  const Segments segments{count, static_cast<size_t>(n)};
  XCCL_RETURN_IF_ERROR(ringReduceScatterSegments(comm, send, work, segments, type, op, what));
  const int owned = mod(r + 1, n);
  if (op == xcclAvg) {
    divide(work + segments.offset(owned) * element, segments.size(owned), type, n);
  }
  std::vector<Request> requests;
  requests.reserve(static_cast<size_t>(n));
  if (r == root) {
    for (int p = 0; p < n; ++p) {
      if (p == root) continue;
      const int segment = mod(p + 1, n);
      requests.push_back(Request::recv(p, recv + segments.offset(segment) * element,
                                       segments.size(segment) * element));
    }
  } else {
    requests.push_back(Request::send(root, work + segments.offset(owned) * element,
                                     segments.size(owned) * element));
  }
  for (Request &request : requests) comm.engine.post(&request);
  return waitAll(comm, requests, what);
}

xcclResult_t allGather(xcclComm &comm, const char *send, char *recv, size_t count,
                       xcclDataType_t type, const OpLabel &what) {
  const size_t element = typeSize(type);
  const size_t block = count * element;
  const int n = comm.nranks, r = comm.rank;
  copyIfApart(recv + static_cast<size_t>(r) * block, send, block);
  if (n == 1 || block == 0) return xcclSuccess;
  if (chooseAlgorithm(comm, block) != Algorithm::kRing) {
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
  return ringAllGatherSegments(comm, recv, blocks, element, 0, what);
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
  if (chooseAlgorithm(comm, block) != Algorithm::kRing) {
    std::vector<Request> sends;
    sends.reserve(static_cast<size_t>(n));
    for (int p = 0; p < n; ++p) {
      if (p != r) sends.push_back(Request::send(p, send + static_cast<size_t>(p) * block, block));
    }
    for (Request &request : sends) comm.engine.post(&request);
    const char *mine = own;
    if (own == recv) XCCL_RETURN_IF_ERROR(keepInput(comm, own, block, &mine));
    XCCL_RETURN_IF_ERROR(accumulateInRankOrder(comm, mine, recv, count, type, op, what));
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
