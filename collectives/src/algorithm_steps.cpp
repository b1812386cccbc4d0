#include "algorithm_steps.h"

#include "communicator.h"
#include "reduce.h"

namespace xpool::xccl {

Group everyone(const xcclComm &comm) {
  return Group{nullptr, comm.nranks, comm.rank};
}

xcclResult_t waitAll(xcclComm &comm, std::vector<Request> &requests, const OpLabel &what) {
  std::vector<Request *> pointers;
  pointers.reserve(requests.size());
  for (Request &request : requests) pointers.push_back(&request);
  return comm.engine.wait(pointers.data(), pointers.size(), what);
}

xcclResult_t keepInput(xcclComm &comm, const char *send, size_t bytes, const char **kept) {
  void *copy = nullptr;
  XCCL_RETURN_IF_ERROR(comm.scratch.reserve(bytes, false, &copy));
  std::memcpy(copy, send, bytes);
  *kept = static_cast<const char *>(copy);
  return xcclSuccess;
}

xcclResult_t accumulateInOrder(xcclComm &comm, const Group &group, const char *mine, char *dst,
                               size_t count, xcclDataType_t type, xcclRedOp_t op,
                               const OpLabel &what) {
  const size_t bytes = count * typeSize(type);
  for (int p = 0; p < group.n; ++p) {
    if (p == group.me) {
      if (p == 0) {
        std::memcpy(dst, mine, bytes);
      } else {
        reduce(dst, dst, mine, count, type, op);
      }
      continue;
    }
    const int peer = group.at(p);
    Request request = p == 0 ? Request::recv(peer, dst, bytes)
                             : Request::recvReduce(peer, dst, dst, bytes, type, op);
    comm.engine.post(&request);
    XCCL_RETURN_IF_ERROR(comm.engine.wait(&request, what));
  }
  return xcclSuccess;
}

xcclResult_t directAllReduce(xcclComm &comm, const Group &group, const char *send, char *recv,
                             size_t count, xcclDataType_t type, xcclRedOp_t op,
                             const OpLabel &what) {
  const size_t bytes = count * typeSize(type);
  const char *mine = send;
  if (send == recv) XCCL_RETURN_IF_ERROR(keepInput(comm, send, bytes, &mine));
  std::vector<Request> sends;
  sends.reserve(static_cast<size_t>(group.n));
  for (int p = 0; p < group.n; ++p) {
    if (p == group.me) continue;
    sends.push_back(Request::send(group.at(p), mine, bytes));
    comm.engine.post(&sends.back());
  }
  XCCL_RETURN_IF_ERROR(accumulateInOrder(comm, group, mine, recv, count, type, op, what));
  return waitAll(comm, sends, what);
}

xcclResult_t directReduce(xcclComm &comm, const Group &group, int root, const char *send,
                          char *recv, size_t count, xcclDataType_t type, xcclRedOp_t op,
                          const OpLabel &what) {
  const size_t bytes = count * typeSize(type);
  if (group.me != root) {
    Request out = Request::send(group.at(root), send, bytes);
    comm.engine.post(&out);
    return comm.engine.wait(&out, what);
  }
  const char *mine = send;
  if (send == recv) XCCL_RETURN_IF_ERROR(keepInput(comm, send, bytes, &mine));
  return accumulateInOrder(comm, group, mine, recv, count, type, op, what);
}

xcclResult_t ringReduceScatter(xcclComm &comm, const Group &group, const char *send, char *work,
                               const Segments &segments, xcclDataType_t type, xcclRedOp_t op,
                               const OpLabel &what) {
  const int n = group.n, r = group.me;
  const size_t element = typeSize(type);
  for (int step = 0; step < n - 1; ++step) {
    const int send_segment = mod(r - step, n), recv_segment = mod(r - step - 1, n);
    const char *source = (step == 0 ? send : work) + segments.offset(send_segment) * element;
    Request out = Request::send(group.at(r + 1), source, segments.size(send_segment) * element);
    const size_t at = segments.offset(recv_segment) * element;
    Request in = Request::recvReduce(group.at(r - 1), work + at, send + at,
                                     segments.size(recv_segment) * element, type, op);
    comm.engine.post(&out);
    comm.engine.post(&in);
    Request *both[] = {&out, &in};
    XCCL_RETURN_IF_ERROR(comm.engine.wait(both, 2, what));
  }
  return xcclSuccess;
}

xcclResult_t ringAllGather(xcclComm &comm, const Group &group, char *work, const Segments &segments,
                           size_t element, int first_owned_offset, const OpLabel &what) {
  const int n = group.n, r = group.me;
  for (int step = 0; step < n - 1; ++step) {
    const int send_segment = mod(r + first_owned_offset - step, n);
    const int recv_segment = mod(r + first_owned_offset - step - 1, n);
    Request out = Request::send(group.at(r + 1), work + segments.offset(send_segment) * element,
                                segments.size(send_segment) * element);
    Request in = Request::recv(group.at(r - 1), work + segments.offset(recv_segment) * element,
                               segments.size(recv_segment) * element);
    comm.engine.post(&out);
    comm.engine.post(&in);
    Request *both[] = {&out, &in};
    XCCL_RETURN_IF_ERROR(comm.engine.wait(both, 2, what));
  }
  return xcclSuccess;
}

xcclResult_t ringAllReduce(xcclComm &comm, const Group &group, const char *send, char *recv,
                           size_t count, xcclDataType_t type, xcclRedOp_t op, int divisor,
                           const OpLabel &what) {
  const size_t element = typeSize(type);
  const Segments segments{count, static_cast<size_t>(group.n)};
  XCCL_RETURN_IF_ERROR(ringReduceScatter(comm, group, send, recv, segments, type, op, what));
  if (divisor > 0) {
    const int owned = mod(group.me + 1, group.n);
    divide(recv + segments.offset(owned) * element, segments.size(owned), type, divisor);
  }
  return ringAllGather(comm, group, recv, segments, element, 1, what);
}

xcclResult_t directBroadcast(xcclComm &comm, const Group &group, int root, char *data, size_t bytes,
                             const OpLabel &what) {
  std::vector<Request> requests;
  if (group.me == root) {
    requests.reserve(static_cast<size_t>(group.n));
    for (int p = 0; p < group.n; ++p) {
      if (p != root) requests.push_back(Request::send(group.at(p), data, bytes));
    }
  } else {
    requests.push_back(Request::recv(group.at(root), data, bytes));
  }
  for (Request &request : requests) comm.engine.post(&request);
  return waitAll(comm, requests, what);
}

xcclResult_t chainBroadcast(xcclComm &comm, const Group &group, int root, char *data, size_t bytes,
                            const OpLabel &what) {
  // Each position forwards a chunk as soon as it has it, so every link of
  // the chain carries data at once.
  const int n = group.n;
  const int position = mod(group.me - root, n);
  const int next = group.at(group.me + 1), previous = group.at(group.me - 1);
  const size_t chunk = comm.config.chunk_bytes;
  const size_t chunks = (bytes + chunk - 1) / chunk;
  std::vector<Request> requests;
  requests.reserve(2 * chunks);
  std::vector<Request *> sends;
  for (size_t c = 0; c < chunks; ++c) {
    char *at = data + c * chunk;
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

xcclResult_t ringReduce(xcclComm &comm, const Group &group, int target, const char *send,
                        char *work, size_t count, xcclDataType_t type, xcclRedOp_t op, int divisor,
                        const OpLabel &what) {
  const size_t element = typeSize(type);
  const int n = group.n, r = group.me;
  const Segments segments{count, static_cast<size_t>(n)};
  XCCL_RETURN_IF_ERROR(ringReduceScatter(comm, group, send, work, segments, type, op, what));
  const int owned = mod(r + 1, n);
  if (divisor > 0) {
    divide(work + segments.offset(owned) * element, segments.size(owned), type, divisor);
  }
  std::vector<Request> requests;
  requests.reserve(static_cast<size_t>(n));
  if (r == target) {
    for (int p = 0; p < n; ++p) {
      if (p == target) continue;
      const int segment = mod(p + 1, n);
      requests.push_back(Request::recv(group.at(p), work + segments.offset(segment) * element,
                                       segments.size(segment) * element));
    }
  } else {
    requests.push_back(Request::send(group.at(target), work + segments.offset(owned) * element,
                                     segments.size(owned) * element));
  }
  for (Request &request : requests) comm.engine.post(&request);
  return waitAll(comm, requests, what);
}

}  // namespace xpool::xccl
