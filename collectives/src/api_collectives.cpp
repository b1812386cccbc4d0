// The collective half of the C API: argument checks, then exec.h.
#include <limits>

#include "communicator.h"
#include "exec.h"
#include "reduce.h"

using namespace xpool::xccl;

namespace {

// Checks what every operation shares and resolves a NULL stream to the
// communicator's own.
xcclResult_t checkCommon(const char *call, xcclComm_t comm, xpStream *stream) {
  if (comm == nullptr) return fail(xcclInvalidArgument, "{}: comm is NULL", call);
  if (*stream == nullptr) {
    *stream = comm->own_stream;
    return xcclSuccess;
  }
  int device = -1;
  if (xpStreamGetDevice(*stream, &device) != XP_SUCCESS) {
    return fail(xcclInvalidArgument, "{}: stream {} is not a live xpool stream: {}", call,
                static_cast<void *>(*stream), xpGetLastError());
  }
  if (device != comm->device) {
    return fail(xcclInvalidArgument,
                "{}: stream {} belongs to device {}, but rank {} of this communicator is bound "
                "to {}",
                call, static_cast<void *>(*stream), device, comm->rank, comm->device_label);
  }
  return xcclSuccess;
}

xcclResult_t checkType(const char *call, xcclDataType_t type) {
  if (static_cast<int>(type) < 0 || type >= xcclNumTypes) {
    return fail(xcclInvalidArgument, "{}: datatype {} is not an xcclDataType_t (0..{})", call,
                static_cast<int>(type), static_cast<int>(xcclNumTypes) - 1);
  }
  return xcclSuccess;
}

xcclResult_t checkOp(const char *call, xcclRedOp_t op) {
  if (static_cast<int>(op) < 0 || op >= xcclNumOps) {
    return fail(xcclInvalidArgument, "{}: op {} is not an xcclRedOp_t (0..{})", call,
                static_cast<int>(op), static_cast<int>(xcclNumOps) - 1);
  }
  return xcclSuccess;
}

xcclResult_t checkRank(const char *call, const char *name, int value, const xcclComm *comm) {
  if (value < 0 || value >= comm->nranks) {
    return fail(xcclInvalidArgument, "{}: {} {} is not a rank of this communicator (0..{})", call,
                name, value, comm->nranks - 1);
  }
  return xcclSuccess;
}

// count * element size * blocks, refusing what does not fit in size_t.
xcclResult_t bytesFor(const char *call, size_t count, xcclDataType_t type, size_t blocks,
                      size_t *bytes) {
  const size_t element = typeSize(type);
  if (count > std::numeric_limits<size_t>::max() / element / blocks) {
    return fail(xcclInvalidArgument,
                "{}: count {} of {} ({} bytes each) times {} overflows the address space", call,
                count, typeName(type), element, blocks);
  }
  *bytes = count * element * blocks;
  return xcclSuccess;
}

// A buffer of `bytes` that the operation reads or writes: not NULL, and
// when it is device memory, memory of this rank's device and large enough.
xcclResult_t checkBuffer(const char *call, const char *name, const void *pointer, size_t bytes,
                         const xcclComm *comm) {
  if (bytes == 0) return xcclSuccess;
  if (pointer == nullptr) {
    return fail(xcclInvalidArgument, "{}: {} is NULL but the operation moves {} bytes", call, name,
                bytes);
  }
  xpPointerAttributes attributes{};
  attributes.struct_size = sizeof attributes;
  if (xpPointerGetAttributes(pointer, &attributes) != XP_SUCCESS ||
      attributes.type != XP_MEMORY_DEVICE) {
    return xcclSuccess;  // host memory: the caller vouches for its size
  }
  if (attributes.device != comm->device) {
    return fail(xcclInvalidArgument,
                "{}: {} {} is memory of device {}, but rank {} of this communicator is bound "
                "to {}",
                call, name, pointer, attributes.device, comm->rank, comm->device_label);
  }
  if (attributes.size - attributes.offset < bytes) {
    return fail(xcclInvalidArgument,
                "{}: {} {} has {} bytes to the end of its allocation, but the operation needs {}",
                call, name, pointer, attributes.size - attributes.offset, bytes);
  }
  return xcclSuccess;
}

OpLabel label(const char *call, size_t count, xcclDataType_t type, int op = -1, int root = -1,
              int peer = -1) {
  return OpLabel{call, count, static_cast<int>(type), op, root, peer, nullptr};
}

}  // namespace

extern "C" {

xcclResult_t xcclAllReduce(const void *sendbuff, void *recvbuff, size_t count,
                           xcclDataType_t datatype, xcclRedOp_t op, xcclComm_t comm,
                           xpStream stream) {
  constexpr const char *kCall = "xcclAllReduce";
  XCCL_RETURN_IF_ERROR(checkCommon(kCall, comm, &stream));
  XCCL_RETURN_IF_ERROR(checkType(kCall, datatype));
  XCCL_RETURN_IF_ERROR(checkOp(kCall, op));
  size_t bytes = 0;
  XCCL_RETURN_IF_ERROR(bytesFor(kCall, count, datatype, 1, &bytes));
  XCCL_RETURN_IF_ERROR(checkBuffer(kCall, "sendbuff", sendbuff, bytes, comm));
  XCCL_RETURN_IF_ERROR(checkBuffer(kCall, "recvbuff", recvbuff, bytes, comm));
  Op request{OpKind::kAllReduce,
             sendbuff,
             recvbuff,
             count,
             datatype,
             op,
             -1,
             bytes,
             bytes,
             label(kCall, count, datatype, op)};
  return submit(comm, std::move(request), stream);
}

xcclResult_t xcclBroadcast(const void *sendbuff, void *recvbuff, size_t count,
                           xcclDataType_t datatype, int root, xcclComm_t comm, xpStream stream) {
  constexpr const char *kCall = "xcclBroadcast";
  XCCL_RETURN_IF_ERROR(checkCommon(kCall, comm, &stream));
  XCCL_RETURN_IF_ERROR(checkType(kCall, datatype));
  XCCL_RETURN_IF_ERROR(checkRank(kCall, "root", root, comm));
  size_t bytes = 0;
  XCCL_RETURN_IF_ERROR(bytesFor(kCall, count, datatype, 1, &bytes));
  const size_t send_bytes = comm->rank == root ? bytes : 0;
  XCCL_RETURN_IF_ERROR(checkBuffer(kCall, "sendbuff", sendbuff, send_bytes, comm));
  XCCL_RETURN_IF_ERROR(checkBuffer(kCall, "recvbuff", recvbuff, bytes, comm));
  Op request{OpKind::kBroadcast,
             sendbuff,
             recvbuff,
             count,
             datatype,
             xcclSum,
             root,
             send_bytes,
             bytes,
             label(kCall, count, datatype, -1, root)};
  return submit(comm, std::move(request), stream);
}

xcclResult_t xcclReduce(const void *sendbuff, void *recvbuff, size_t count, xcclDataType_t datatype,
                        xcclRedOp_t op, int root, xcclComm_t comm, xpStream stream) {
  constexpr const char *kCall = "xcclReduce";
  XCCL_RETURN_IF_ERROR(checkCommon(kCall, comm, &stream));
  XCCL_RETURN_IF_ERROR(checkType(kCall, datatype));
  XCCL_RETURN_IF_ERROR(checkOp(kCall, op));
  XCCL_RETURN_IF_ERROR(checkRank(kCall, "root", root, comm));
  size_t bytes = 0;
  XCCL_RETURN_IF_ERROR(bytesFor(kCall, count, datatype, 1, &bytes));
  const size_t recv_bytes = comm->rank == root ? bytes : 0;
  XCCL_RETURN_IF_ERROR(checkBuffer(kCall, "sendbuff", sendbuff, bytes, comm));
  XCCL_RETURN_IF_ERROR(checkBuffer(kCall, "recvbuff", recvbuff, recv_bytes, comm));
  Op request{OpKind::kReduce,
             sendbuff,
             recvbuff,
             count,
             datatype,
             op,
             root,
             bytes,
             recv_bytes,
             label(kCall, count, datatype, op, root)};
  return submit(comm, std::move(request), stream);
}

xcclResult_t xcclAllGather(const void *sendbuff, void *recvbuff, size_t sendcount,
                           xcclDataType_t datatype, xcclComm_t comm, xpStream stream) {
  constexpr const char *kCall = "xcclAllGather";
  XCCL_RETURN_IF_ERROR(checkCommon(kCall, comm, &stream));
  XCCL_RETURN_IF_ERROR(checkType(kCall, datatype));
  size_t bytes = 0, total = 0;
  XCCL_RETURN_IF_ERROR(bytesFor(kCall, sendcount, datatype, 1, &bytes));
  XCCL_RETURN_IF_ERROR(
      bytesFor(kCall, sendcount, datatype, static_cast<size_t>(comm->nranks), &total));
  XCCL_RETURN_IF_ERROR(checkBuffer(kCall, "sendbuff", sendbuff, bytes, comm));
  XCCL_RETURN_IF_ERROR(checkBuffer(kCall, "recvbuff", recvbuff, total, comm));
  Op request{OpKind::kAllGather,
             sendbuff,
             recvbuff,
             sendcount,
             datatype,
             xcclSum,
             -1,
             bytes,
             total,
             label(kCall, sendcount, datatype)};
  return submit(comm, std::move(request), stream);
}

xcclResult_t xcclReduceScatter(const void *sendbuff, void *recvbuff, size_t recvcount,
                               xcclDataType_t datatype, xcclRedOp_t op, xcclComm_t comm,
                               xpStream stream) {
  constexpr const char *kCall = "xcclReduceScatter";
  XCCL_RETURN_IF_ERROR(checkCommon(kCall, comm, &stream));
  XCCL_RETURN_IF_ERROR(checkType(kCall, datatype));
  XCCL_RETURN_IF_ERROR(checkOp(kCall, op));
  size_t bytes = 0, total = 0;
  XCCL_RETURN_IF_ERROR(bytesFor(kCall, recvcount, datatype, 1, &bytes));
  XCCL_RETURN_IF_ERROR(
      bytesFor(kCall, recvcount, datatype, static_cast<size_t>(comm->nranks), &total));
  XCCL_RETURN_IF_ERROR(checkBuffer(kCall, "sendbuff", sendbuff, total, comm));
  XCCL_RETURN_IF_ERROR(checkBuffer(kCall, "recvbuff", recvbuff, bytes, comm));
  Op request{OpKind::kReduceScatter,
             sendbuff,
             recvbuff,
             recvcount,
             datatype,
             op,
             -1,
             total,
             bytes,
             label(kCall, recvcount, datatype, op)};
  return submit(comm, std::move(request), stream);
}

xcclResult_t xcclAllToAll(const void *sendbuff, void *recvbuff, size_t count,
                          xcclDataType_t datatype, xcclComm_t comm, xpStream stream) {
  constexpr const char *kCall = "xcclAllToAll";
  XCCL_RETURN_IF_ERROR(checkCommon(kCall, comm, &stream));
  XCCL_RETURN_IF_ERROR(checkType(kCall, datatype));
  size_t total = 0;
  XCCL_RETURN_IF_ERROR(bytesFor(kCall, count, datatype, static_cast<size_t>(comm->nranks), &total));
  XCCL_RETURN_IF_ERROR(checkBuffer(kCall, "sendbuff", sendbuff, total, comm));
  XCCL_RETURN_IF_ERROR(checkBuffer(kCall, "recvbuff", recvbuff, total, comm));
  if (total > 0 && sendbuff == recvbuff && comm->nranks > 1) {
    return fail(xcclInvalidArgument,
                "{}: sendbuff and recvbuff are both {}; AllToAll is not "
                "in place",
                kCall, sendbuff);
  }
  Op request{OpKind::kAllToAll, sendbuff, recvbuff, count, datatype,
             xcclSum,           -1,       total,    total, label(kCall, count, datatype)};
  return submit(comm, std::move(request), stream);
}

xcclResult_t xcclSend(const void *sendbuff, size_t count, xcclDataType_t datatype, int peer,
                      xcclComm_t comm, xpStream stream) {
  constexpr const char *kCall = "xcclSend";
  XCCL_RETURN_IF_ERROR(checkCommon(kCall, comm, &stream));
  XCCL_RETURN_IF_ERROR(checkType(kCall, datatype));
  XCCL_RETURN_IF_ERROR(checkRank(kCall, "peer", peer, comm));
  size_t bytes = 0;
  XCCL_RETURN_IF_ERROR(bytesFor(kCall, count, datatype, 1, &bytes));
  XCCL_RETURN_IF_ERROR(checkBuffer(kCall, "sendbuff", sendbuff, bytes, comm));
  Op request{OpKind::kSend, sendbuff, nullptr, count, datatype,
             xcclSum,       peer,     bytes,   0,     label(kCall, count, datatype, -1, -1, peer)};
  return submit(comm, std::move(request), stream);
}

xcclResult_t xcclRecv(void *recvbuff, size_t count, xcclDataType_t datatype, int peer,
                      xcclComm_t comm, xpStream stream) {
  constexpr const char *kCall = "xcclRecv";
  XCCL_RETURN_IF_ERROR(checkCommon(kCall, comm, &stream));
  XCCL_RETURN_IF_ERROR(checkType(kCall, datatype));
  XCCL_RETURN_IF_ERROR(checkRank(kCall, "peer", peer, comm));
  size_t bytes = 0;
  XCCL_RETURN_IF_ERROR(bytesFor(kCall, count, datatype, 1, &bytes));
  XCCL_RETURN_IF_ERROR(checkBuffer(kCall, "recvbuff", recvbuff, bytes, comm));
  Op request{OpKind::kRecv, nullptr, recvbuff, count, datatype,
             xcclSum,       peer,    0,        bytes, label(kCall, count, datatype, -1, -1, peer)};
  return submit(comm, std::move(request), stream);
}

xcclResult_t xcclBarrier(xcclComm_t comm, xpStream stream) {
  constexpr const char *kCall = "xcclBarrier";
  XCCL_RETURN_IF_ERROR(checkCommon(kCall, comm, &stream));
  Op request{OpKind::kBarrier, nullptr, nullptr, 0, xcclUint8, xcclSum, -1, 0, 0, OpLabel{kCall}};
  return submit(comm, std::move(request), stream);
}

}  // extern "C"
