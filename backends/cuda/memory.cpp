// Device memory, pinned host memory and peer access of the cuda backend.
#include "cuda_backend.h"

namespace xpool::cuda {

xpStatus memAlloc(xpbContext *ctx, int index, size_t bytes, xpbAllocation *out) {
  const CudaDevice &device = ctx->device(index);
  ScopedContext scope(ctx->api, device);
  CUdeviceptr address = 0;
  if (CUresult r = ctx->api.cuMemAlloc(&address, bytes); r != CUDA_SUCCESS) {
    std::string what = format("allocating %zu bytes on cuda device %d", bytes, index);
    size_t free_bytes = 0, total_bytes = 0;
    if (r == CUDA_ERROR_OUT_OF_MEMORY &&
        ctx->api.cuMemGetInfo(&free_bytes, &total_bytes) == CUDA_SUCCESS) {
      what += format(" (%zu of %zu bytes free)", free_bytes, total_bytes);
    }
    return failCuda(ctx->host, ctx->api, "cuMemAlloc", r, what);
  }
  // Unified addressing: the device address is unique in the process and is
  // the pool pointer itself.
  out->buffer = reinterpret_cast<void *>(address);
  out->address = reinterpret_cast<void *>(address);
  return XP_SUCCESS;
}

xpStatus memFree(xpbContext *ctx, int index, void *buffer) {
  ScopedContext scope(ctx->api, ctx->device(index));
  if (CUresult r = ctx->api.cuMemFree(reinterpret_cast<CUdeviceptr>(buffer)); r != CUDA_SUCCESS) {
    return failCuda(ctx->host, ctx->api, "cuMemFree", r,
                    format("freeing %p on cuda device %d", buffer, index));
  }
  return XP_SUCCESS;
}

// CU_MEMHOSTREGISTER_PORTABLE makes the range pinned memory for every CUDA
// context, so registering once, from any device's context, serves all.
xpStatus hostRegister(xpbContext *ctx, void *ptr, size_t bytes) {
  ScopedContext scope(ctx->api, ctx->device(0));
  const CUresult r = ctx->api.cuMemHostRegister(ptr, bytes, CU_MEMHOSTREGISTER_PORTABLE);
  if (r == CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED) {
    // Someone else pinned it (the application, through the CUDA runtime):
    // it is already fast, and it is not ours to unregister.
    return XP_SUCCESS;
  }
  if (r != CUDA_SUCCESS) {
    return failCuda(ctx->host, ctx->api, "cuMemHostRegister", r,
                    format("pinning %zu bytes at %p", bytes, ptr));
  }
  std::lock_guard lock(ctx->registered_mutex);
  ctx->registered.insert(ptr);
  return XP_SUCCESS;
}

xpStatus hostUnregister(xpbContext *ctx, void *ptr) {
  {
    std::lock_guard lock(ctx->registered_mutex);
    if (ctx->registered.erase(ptr) == 0) return XP_SUCCESS;  // not pinned by us
  }
  ScopedContext scope(ctx->api, ctx->device(0));
  if (CUresult r = ctx->api.cuMemHostUnregister(ptr); r != CUDA_SUCCESS) {
    return failCuda(ctx->host, ctx->api, "cuMemHostUnregister", r, format("unpinning %p", ptr));
  }
  return XP_SUCCESS;
}

void enablePeerAccess(xpbContext *ctx, int a, int b) {
  if (a == b) return;
  const size_t n = ctx->devices.size();
  std::lock_guard lock(ctx->peer_mutex);
  for (auto [accessor, owner] : {std::pair{a, b}, std::pair{b, a}}) {
    uint8_t &state =
        ctx->peer_state[static_cast<size_t>(accessor) * n + static_cast<size_t>(owner)];
    if (state != 0) continue;
    state = 2;
    const CudaDevice &from = ctx->device(accessor);
    const CudaDevice &to = ctx->device(owner);
    int possible = 0;
    if (ctx->api.cuDeviceCanAccessPeer(&possible, from.handle, to.handle) != CUDA_SUCCESS ||
        possible == 0) {
      ctx->log(XPB_LOG_DEBUG, format("cuda device %d cannot access device %d directly; peer "
                                     "copies go through the host",
                                     accessor, owner));
      continue;
    }
    // Peer access is enabled from the accessing context.
    ScopedContext scope(ctx->api, from);
    const CUresult r = ctx->api.cuCtxEnablePeerAccess(to.context, 0);
    if (r == CUDA_SUCCESS || r == CUDA_ERROR_PEER_ACCESS_ALREADY_ENABLED) {
      state = 1;
      ctx->log(XPB_LOG_DEBUG,
               format("peer access from cuda device %d to %d enabled", accessor, owner));
    } else {
      ctx->log(XPB_LOG_WARN, format("cuCtxEnablePeerAccess from cuda device %d to %d: %s; peer "
                                    "copies go through the host",
                                    accessor, owner, ctx->api.describe(r).c_str()));
    }
  }
}

}  // namespace xpool::cuda
