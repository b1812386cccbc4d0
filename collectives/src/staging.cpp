#include "staging.h"

#include <cstring>

#include "communicator.h"

namespace xpool::xccl {
namespace {

xcclResult_t deviceFailure(const xcclComm &comm, const OpLabel &what, const char *step) {
  return fail(xcclDeviceError, "{}: {} on {}: {}", what, step, comm.device_label, xpGetLastError());
}

// The streams and events of the pipeline, made on first use.
xcclResult_t preparePipeline(xcclComm &comm, const OpLabel &what) {
  if (comm.copy_out_stream != nullptr) return xcclSuccess;
  if (xpStreamCreate(comm.device, &comm.copy_out_stream) != XP_SUCCESS) {
    return deviceFailure(comm, what, "creating the staging stream");
  }
  for (int i = 0; i < 2; ++i) {
    if (xpEventCreate(comm.device, XP_EVENT_DEFAULT, &comm.staged_in[i]) != XP_SUCCESS ||
        xpEventCreate(comm.device, XP_EVENT_DEFAULT, &comm.staged_out[i]) != XP_SUCCESS) {
      return deviceFailure(comm, what, "creating staging events");
    }
  }
  return xcclSuccess;
}

xcclResult_t waitEvent(xcclComm &comm, xpEvent event, const OpLabel &what) {
  if (xpEventSynchronizeTimeout(event, comm.config.timeout_ms) != XP_SUCCESS) {
    return deviceFailure(comm, what, "waiting for a staging copy");
  }
  return xcclSuccess;
}

}  // namespace

bool needsStaging(const xcclComm &comm, const void *pointer) {
  if (comm.device_host_addressable || pointer == nullptr) return false;
  xpPointerAttributes attributes{};
  attributes.struct_size = sizeof attributes;
  return xpPointerGetAttributes(pointer, &attributes) == XP_SUCCESS &&
         attributes.type == XP_MEMORY_DEVICE;
}

xcclResult_t copyAndWait(xcclComm &comm, void *dst, const void *src, size_t bytes,
                         const OpLabel &what) {
  if (xpMemcpyAsync(dst, src, bytes, comm.copy_stream) != XP_SUCCESS ||
      xpStreamSynchronizeTimeout(comm.copy_stream, comm.config.timeout_ms) != XP_SUCCESS) {
    return fail(xcclDeviceError, "{}: staging {} bytes through pinned memory on {}: {}", what,
                bytes, comm.device_label, xpGetLastError());
  }
  return xcclSuccess;
}

xcclResult_t runInChunks(xcclComm &comm, const void *send, void *recv, size_t bytes, size_t element,
                         bool copy_in, bool copy_out, const OpLabel &what, const ChunkRun &run) {
  const size_t chunk = comm.config.stage_chunk_bytes / element * element;
  const size_t chunks = (bytes + chunk - 1) / chunk;
  const char *send_bytes = static_cast<const char *>(send);
  char *recv_bytes = static_cast<char *>(recv);
  if (!copy_in && !copy_out) {
    for (size_t c = 0; c < chunks; ++c) {
      const size_t offset = c * chunk;
      XCCL_RETURN_IF_ERROR(
          run(send_bytes + offset, recv_bytes + offset, offset, std::min(chunk, bytes - offset)));
    }
    return xcclSuccess;
  }
  XCCL_RETURN_IF_ERROR(preparePipeline(comm, what));
  void *area = nullptr;
  XCCL_RETURN_IF_ERROR(comm.stage_in.reserve(2 * chunk, true, &area));
  char *buffers[2] = {static_cast<char *>(area), static_cast<char *>(area) + chunk};
  // Chunk c lives in buffers[c % 2]: copied in on copy_stream (staged_in),
  // reduced in place on the host, copied out on copy_out_stream (staged_out).
  auto start_copy_in = [&](size_t c) -> xcclResult_t {
    const size_t offset = c * chunk, length = std::min(chunk, bytes - offset);
    if (!copy_in) {
      if (send_bytes != nullptr) std::memcpy(buffers[c % 2], send_bytes + offset, length);
      return xcclSuccess;
    }
    if (xpMemcpyAsync(buffers[c % 2], send_bytes + offset, length, comm.copy_stream) !=
            XP_SUCCESS ||
        xpEventRecord(comm.staged_in[c % 2], comm.copy_stream) != XP_SUCCESS) {
      return deviceFailure(comm, what, "copying a chunk in");
    }
    return xcclSuccess;
  };
  bool out_pending[2] = {false, false};
  XCCL_RETURN_IF_ERROR(start_copy_in(0));
  for (size_t c = 0; c < chunks; ++c) {
    const size_t offset = c * chunk, length = std::min(chunk, bytes - offset);
    if (c + 1 < chunks) {
      // The other buffer is free once its previous chunk has been copied out.
      if (out_pending[(c + 1) % 2]) {
        XCCL_RETURN_IF_ERROR(waitEvent(comm, comm.staged_out[(c + 1) % 2], what));
        out_pending[(c + 1) % 2] = false;
      }
      XCCL_RETURN_IF_ERROR(start_copy_in(c + 1));
    }
    if (copy_in) XCCL_RETURN_IF_ERROR(waitEvent(comm, comm.staged_in[c % 2], what));
    char *host = buffers[c % 2];
    if (copy_out) {
      XCCL_RETURN_IF_ERROR(run(host, host, offset, length));
      if (xpMemcpyAsync(recv_bytes + offset, host, length, comm.copy_out_stream) != XP_SUCCESS ||
          xpEventRecord(comm.staged_out[c % 2], comm.copy_out_stream) != XP_SUCCESS) {
        return deviceFailure(comm, what, "copying a chunk out");
      }
      out_pending[c % 2] = true;
    } else {
      XCCL_RETURN_IF_ERROR(
          run(host, recv_bytes == nullptr ? nullptr : recv_bytes + offset, offset, length));
    }
  }
  if (copy_out &&
      xpStreamSynchronizeTimeout(comm.copy_out_stream, comm.config.timeout_ms) != XP_SUCCESS) {
    return deviceFailure(comm, what, "copying the last chunk out");
  }
  return xcclSuccess;
}

}  // namespace xpool::xccl
