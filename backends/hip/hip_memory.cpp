// Device memory and pinned host memory of the hip backend. HIP has unified
// addressing: a hipMalloc pointer is unique in the process and becomes the
// pool pointer itself.
#include "hip_backend.h"

namespace xpool::hip {

xpStatus memAlloc(xpbContext *ctx, int device, size_t bytes, xpbAllocation *out) {
  if (xpStatus status = useDevice(ctx, device); status != XP_SUCCESS) return status;
  void *memory = nullptr;
  hipError_t error = ctx->api->hipMalloc(&memory, bytes);
  if (error != hipSuccess) {
    return hipFail(ctx, "hipMalloc", error, "allocating %zu bytes on hip device %d", bytes, device);
  }
  out->buffer = memory;
  out->address = memory;
  return XP_SUCCESS;
}

xpStatus memFree(xpbContext *ctx, int device, void *buffer) {
  // hipFree waits for the device's work, but not for work still queued
  // behind a host function in this backend: that first.
  if (xpStatus status = drainDevice(ctx, device, "hipFree"); status != XP_SUCCESS) return status;
  if (xpStatus status = useDevice(ctx, device); status != XP_SUCCESS) return status;
  hipError_t error = ctx->api->hipFree(buffer);
  if (error != hipSuccess) {
    return hipFail(ctx, "hipFree", error, "freeing %p on hip device %d", buffer, device);
  }
  return XP_SUCCESS;
}

xpStatus hostRegister(xpbContext *ctx, void *ptr, size_t bytes) {
  if (xpStatus status = useDevice(ctx, 0); status != XP_SUCCESS) return status;
  // Portable: pinned for every device of the process, not only device 0.
  hipError_t error = ctx->api->hipHostRegister(ptr, bytes, hipHostRegisterPortable);
  if (error == hipErrorHostMemoryAlreadyRegistered) {
    // Someone else pinned it (the application, another library): it is
    // pinned, and unpinning stays theirs.
    logf(ctx, XPB_LOG_DEBUG, "%zu bytes at %p were already registered with HIP", bytes, ptr);
    return XP_SUCCESS;
  }
  if (error != hipSuccess) {
    return hipFail(ctx, "hipHostRegister", error, "pinning %zu bytes at %p", bytes, ptr);
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
  if (xpStatus status = useDevice(ctx, 0); status != XP_SUCCESS) return status;
  hipError_t error = ctx->api->hipHostUnregister(ptr);
  if (error != hipSuccess) return hipFail(ctx, "hipHostUnregister", error, "unpinning %p", ptr);
  return XP_SUCCESS;
}

}  // namespace xpool::hip
