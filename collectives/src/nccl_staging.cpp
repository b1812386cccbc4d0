#include "nccl_staging.h"

#include <algorithm>
#include <cstring>
#include <memory>

#include "logging.h"
#include "nccl_comm.h"

namespace xpool::xccl {
namespace {

constexpr size_t kSlotAlign = 256;

size_t alignUp(size_t bytes) {
  return (bytes + kSlotAlign - 1) / kSlotAlign * kSlotAlign;
}

// Whether `pointer` is memory of `device`. Anything else xpool does not
// know as device memory is taken for host memory.
bool onDevice(const void *pointer, int device) {
  xpPointerAttributes attributes{};
  attributes.struct_size = sizeof attributes;
  return xpPointerGetAttributes(pointer, &attributes) == XP_SUCCESS &&
         attributes.type == XP_MEMORY_DEVICE && attributes.device == device;
}

// Host copies run in a host function of the stream, in stream order.
struct HostCopy {
  void *dst;
  const void *src;
  size_t bytes;
};

void runHostCopies(void *data) {
  std::unique_ptr<std::vector<HostCopy>> copies(static_cast<std::vector<HostCopy> *>(data));
  for (const HostCopy &copy : *copies) std::memcpy(copy.dst, copy.src, copy.bytes);
}

xcclResult_t launchHostCopies(std::vector<HostCopy> copies, xpStream stream, const OpLabel &what) {
  auto owned = std::make_unique<std::vector<HostCopy>>(std::move(copies));
  if (xpLaunchHostFunc(stream, runHostCopies, owned.get()) != XP_SUCCESS) {
    return fail(xcclDeviceError, "{}: xpLaunchHostFunc for staging copies: {}", what,
                xpGetLastError());
  }
  owned.release();  // the host function frees it
  return xcclSuccess;
}

// At least `bytes` of scratch and pinned mirror, usable in `stream` order.
xcclResult_t reserve(NcclComm &nccl, size_t bytes, xpStream stream, const OpLabel &what) {
  if (nccl.scratch_free == nullptr &&
      xpEventCreate(nccl.device, 0, &nccl.scratch_free) != XP_SUCCESS) {
    return fail(xcclDeviceError, "{}: xpEventCreate: {}", what, xpGetLastError());
  }
  if (bytes > nccl.scratch_bytes) {
    // Rare (the size at least doubles): wait for the last use, then grow.
    if (nccl.scratch != nullptr) releaseStaging(nccl);
    const size_t size = std::max({bytes, 2 * nccl.scratch_bytes, size_t{1} << 20});
    if (xpMalloc(nccl.device, size, &nccl.scratch) != XP_SUCCESS) {
      nccl.scratch = nullptr;
      return fail(xcclDeviceError, "{}: xpMalloc of {} bytes of NCCL staging on device {}: {}",
                  what, size, nccl.device, xpGetLastError());
    }
    if (xpMallocHost(size, &nccl.pinned) != XP_SUCCESS) {
      nccl.pinned = nullptr;
      const std::string message = xpGetLastError();
      xpFree(nccl.scratch);
      nccl.scratch = nullptr;
      return fail(xcclDeviceError, "{}: xpMallocHost of {} bytes for NCCL staging: {}", what, size,
                  message);
    }
    nccl.scratch_bytes = size;
  }
  // The last use may have been on another stream.
  if (xpStreamWaitEvent(stream, nccl.scratch_free) != XP_SUCCESS) {
    return fail(xcclDeviceError, "{}: xpStreamWaitEvent: {}", what, xpGetLastError());
  }
  return xcclSuccess;
}

}  // namespace

size_t planStaging(int device, const std::vector<Op> &ops, std::vector<StagedOp> *staged) {
  size_t used = 0;
  staged->assign(ops.size(), StagedOp{});
  for (size_t i = 0; i < ops.size(); ++i) {
    const Op &op = ops[i];
    StagedOp &out = (*staged)[i];
    const auto *send = static_cast<const char *>(op.send);
    auto *recv = static_cast<char *>(op.recv);
    out.send = send;
    out.recv = recv;
    const bool send_host = op.send_bytes > 0 && !onDevice(send, device);
    const bool recv_host = op.recv_bytes > 0 && !onDevice(recv, device);
    if (send_host && recv_host && send < recv + op.recv_bytes && recv < send + op.send_bytes) {
      // In place (or overlapping): one slot holds both, at their distance.
      const char *base = std::min<const char *>(send, recv);
      const char *end = std::max<const char *>(send + op.send_bytes, recv + op.recv_bytes);
      out.upload_from = base;
      out.upload_at = used;
      out.upload_bytes = static_cast<size_t>(end - base);
      out.send = reinterpret_cast<const void *>(used + static_cast<size_t>(send - base));
      out.download_to = recv;
      out.download_at = used + static_cast<size_t>(recv - base);
      out.download_bytes = op.recv_bytes;
      out.recv = reinterpret_cast<void *>(out.download_at);
      out.send_staged = out.recv_staged = true;
      used += alignUp(out.upload_bytes);
      continue;
    }
    if (send_host) {
      out.upload_from = send;
      out.upload_at = used;
      out.upload_bytes = op.send_bytes;
      out.send = reinterpret_cast<const void *>(used);
      out.send_staged = true;
      used += alignUp(op.send_bytes);
    }
    if (recv_host) {
      out.download_to = recv;
      out.download_at = used;
      out.download_bytes = op.recv_bytes;
      out.recv = reinterpret_cast<void *>(used);
      out.recv_staged = true;
      used += alignUp(op.recv_bytes);
    }
  }
  return used;
}

xcclResult_t stageIn(NcclComm &nccl, size_t bytes, const std::vector<Op> &ops,
                     std::vector<StagedOp> &staged, xpStream stream) {
  const OpLabel &what = ops.front().what;
  XCCL_RETURN_IF_ERROR(reserve(nccl, bytes, stream, what));
  auto *scratch = static_cast<char *>(nccl.scratch);
  auto *pinned = static_cast<char *>(nccl.pinned);
  std::vector<HostCopy> copies;
  for (StagedOp &op : staged) {
    if (op.send_staged) op.send = scratch + reinterpret_cast<size_t>(op.send);
    if (op.recv_staged) op.recv = scratch + reinterpret_cast<size_t>(op.recv);
    if (op.upload_bytes > 0) {
      copies.push_back({pinned + op.upload_at, op.upload_from, op.upload_bytes});
    }
  }
  if (copies.empty()) return xcclSuccess;
  XCCL_RETURN_IF_ERROR(launchHostCopies(copies, stream, what));
  for (const HostCopy &copy : copies) {
    const size_t at = static_cast<size_t>(static_cast<char *>(copy.dst) - pinned);
    if (xpMemcpyAsync(scratch + at, copy.dst, copy.bytes, stream) != XP_SUCCESS) {
      return fail(xcclDeviceError, "{}: uploading {} staged host bytes for NCCL: {}", what,
                  copy.bytes, xpGetLastError());
    }
  }
  return xcclSuccess;
}

xcclResult_t stageOut(NcclComm &nccl, const std::vector<Op> &ops,
                      const std::vector<StagedOp> &staged, xpStream stream) {
  const OpLabel &what = ops.front().what;
  auto *scratch = static_cast<char *>(nccl.scratch);
  auto *pinned = static_cast<char *>(nccl.pinned);
  std::vector<HostCopy> copies;
  for (const StagedOp &op : staged) {
    if (op.download_bytes == 0) continue;
    if (xpMemcpyAsync(pinned + op.download_at, scratch + op.download_at, op.download_bytes,
                      stream) != XP_SUCCESS) {
      return fail(xcclDeviceError, "{}: downloading {} bytes of NCCL's result: {}", what,
                  op.download_bytes, xpGetLastError());
    }
    copies.push_back({op.download_to, pinned + op.download_at, op.download_bytes});
  }
  if (!copies.empty()) XCCL_RETURN_IF_ERROR(launchHostCopies(std::move(copies), stream, what));
  if (xpEventRecord(nccl.scratch_free, stream) != XP_SUCCESS) {
    return fail(xcclDeviceError, "{}: xpEventRecord: {}", what, xpGetLastError());
  }
  return xcclSuccess;
}

void releaseStaging(NcclComm &nccl) {
  if (nccl.scratch_free != nullptr &&
      xpEventSynchronizeTimeout(nccl.scratch_free, nccl.timeout_ms) != XP_SUCCESS) {
    // Work that uses the buffers may still be queued (a hung stream): keep
    // them rather than let the device write into freed memory.
    logger()->warn(
        "NCCL staging buffers ({} bytes on device {}) kept: their last use did not "
        "finish: {}",
        nccl.scratch_bytes, nccl.device, xpGetLastError());
    nccl.scratch = nccl.pinned = nullptr;
    nccl.scratch_bytes = 0;
    return;
  }
  if (nccl.scratch != nullptr) xpFree(nccl.scratch);
  if (nccl.pinned != nullptr) xpFreeHost(nccl.pinned);
  nccl.scratch = nullptr;
  nccl.pinned = nullptr;
  nccl.scratch_bytes = 0;
}

}  // namespace xpool::xccl
