// Device memory and host memory registration of the level_zero backend.
// USM device allocations have unique virtual addresses in the process: the
// pointer is both the backend's handle and the pool pointer.
#include "l0_stream.h"

namespace xpool::level_zero {

xpStatus memAlloc(xpbContext *ctx, int index, size_t bytes, xpbAllocation *out) {
  Device &device = *ctx->devices[static_cast<size_t>(index)];
  Driver &driver = *device.driver;
  ze_device_mem_alloc_desc_t desc{};
  desc.stype = ZE_STRUCTURE_TYPE_DEVICE_MEM_ALLOC_DESC;
  desc.ordinal = 0;
  // Allocations beyond maxMemAllocSize (often 4 GiB on Intel GPUs) need
  // the relaxed-limits extension. Kernels that index such buffers must be
  // built with -ze-opt-greater-than-4GB-buffer-required.
  ze_relaxed_allocation_limits_exp_desc_t relaxed{};
  if (bytes > device.props.maxMemAllocSize) {
    if (!driver.relaxed_allocation_limits) {
      return xpbFail(ctx->host, XP_ERROR_OUT_OF_MEMORY,
                     "%zu bytes exceed the largest single allocation of level_zero device %d "
                     "(maxMemAllocSize %llu bytes) and the driver lacks %s",
                     bytes, index, static_cast<unsigned long long>(device.props.maxMemAllocSize),
                     ZE_RELAXED_ALLOCATION_LIMITS_EXP_NAME);
    }
    relaxed.stype = ZE_STRUCTURE_TYPE_RELAXED_ALLOCATION_LIMITS_EXP_DESC;
    relaxed.flags = ZE_RELAXED_ALLOCATION_LIMITS_EXP_FLAG_MAX_SIZE;
    desc.pNext = &relaxed;
  }
  void *memory = nullptr;
  // 64: a power of two as the spec asks; the driver aligns to pages anyway.
  ze_result_t result =
      ctx->api->zeMemAllocDevice(driver.context, &desc, bytes, 64, device.handle, &memory);
  if (result != ZE_RESULT_SUCCESS) {
    return zeFail(ctx, "zeMemAllocDevice", result, "allocating %zu bytes on level_zero device %d",
                  bytes, index);
  }
  device.allocated.fetch_add(bytes);
  {
    std::lock_guard lock(ctx->allocations_mutex);
    ctx->allocations[memory] = {index, bytes};
  }
  out->buffer = memory;
  out->address = memory;
  return XP_SUCCESS;
}

xpStatus memFree(xpbContext *ctx, int index, void *buffer) {
  Device &device = *ctx->devices[static_cast<size_t>(index)];
  if (xpStatus status = drainDevice(ctx, device, "zeMemFree"); status != XP_SUCCESS) return status;
  ze_result_t result = ctx->api->zeMemFree(device.driver->context, buffer);
  if (result != ZE_RESULT_SUCCESS) {
    return zeFail(ctx, "zeMemFree", result, "freeing %p on level_zero device %d", buffer, index);
  }
  std::lock_guard lock(ctx->allocations_mutex);
  if (auto found = ctx->allocations.find(buffer); found != ctx->allocations.end()) {
    device.allocated.fetch_sub(found->second.second);
    ctx->allocations.erase(found);
  }
  return XP_SUCCESS;
}

xpStatus hostRegister(xpbContext *ctx, void *ptr, size_t bytes) {
  // Core Level Zero has no host registration: copies from ordinary host
  // memory work, and Intel's driver imports the pages itself per copy.
  // Where the driver offers zexDriverImportExternalPointer, import once so
  // that copies skip that step.
  std::vector<Driver *> done;
  for (auto &driver : ctx->drivers) {
    if (driver->import_pointer == nullptr) continue;
    ze_result_t result = driver->import_pointer(driver->handle, ptr, bytes);
    if (result != ZE_RESULT_SUCCESS) {
      for (Driver *imported : done) (void)imported->release_pointer(imported->handle, ptr);
      return zeFail(ctx, "zexDriverImportExternalPointer", result, "importing %zu bytes at %p",
                    bytes, ptr);
    }
    done.push_back(driver.get());
  }
  if (!done.empty()) {
    std::lock_guard lock(ctx->imported_mutex);
    ctx->imported[ptr] = std::move(done);
  }
  return XP_SUCCESS;
}

xpStatus hostUnregister(xpbContext *ctx, void *ptr) {
  std::vector<Driver *> drivers;
  {
    std::lock_guard lock(ctx->imported_mutex);
    auto found = ctx->imported.find(ptr);
    if (found == ctx->imported.end()) return XP_SUCCESS;
    drivers = std::move(found->second);
    ctx->imported.erase(found);
  }
  xpStatus status = XP_SUCCESS;
  for (Driver *driver : drivers) {
    ze_result_t result = driver->release_pointer(driver->handle, ptr);
    if (result != ZE_RESULT_SUCCESS && status == XP_SUCCESS) {
      status = zeFail(ctx, "zexDriverReleaseImportedPointer", result, "releasing %p", ptr);
    }
  }
  return status;
}

}  // namespace xpool::level_zero
