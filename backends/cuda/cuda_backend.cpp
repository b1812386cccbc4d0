// The cuda backend's entry point and lifecycle.
#include "cuda_backend.h"

#include <cstdlib>

using namespace xpool::cuda;

namespace xpool::cuda {

ScopedContext::ScopedContext(const CudaApi &api, const CudaDevice &device) : api_(api) {
  CUcontext current = nullptr;
  if (api.cuCtxGetCurrent(&current) != CUDA_SUCCESS) current = nullptr;
  if (current != device.context && api.cuCtxSetCurrent(device.context) == CUDA_SUCCESS) {
    previous_ = current;
    changed_ = true;
  }
}

ScopedContext::~ScopedContext() {
  if (changed_) api_.cuCtxSetCurrent(previous_);
}

uint64_t defaultTimeoutNs() {
  return xpbDefaultTimeoutNs();
}

}  // namespace xpool::cuda

namespace {

void releaseDevices(xpbContext *ctx) {
  for (auto &device : ctx->devices) {
    if (device->context != nullptr) freeFlagPages(ctx, *device);
    if (device->context != nullptr) ctx->api.cuDevicePrimaryCtxRelease(device->handle);
    device->context = nullptr;
  }
  ctx->devices.clear();
}

xpStatus init(const xpbHostApi *host, xpbContext **out) {
  auto ctx = std::make_unique<xpbContext>();
  ctx->host = host;
  if (xpStatus status = ctx->api.load(host); status != XP_SUCCESS) return status;
  if (CUresult r = ctx->api.cuInit(0); r != CUDA_SUCCESS) {
    const char *visible = std::getenv("CUDA_VISIBLE_DEVICES");
    return fail(host, XP_ERROR_NO_DEVICE,
                format("cuInit: %s (NVIDIA driver for %s%s%s%s)", ctx->api.describe(r).c_str(),
                       versionText(ctx->api.driver_version).c_str(),
                       visible != nullptr ? ", CUDA_VISIBLE_DEVICES=\"" : "",
                       visible != nullptr ? visible : "", visible != nullptr ? "\"" : ""));
  }
  if (xpStatus status = discoverDevices(ctx.get()); status != XP_SUCCESS) {
    releaseDevices(ctx.get());
    return status;
  }
  *out = ctx.release();
  return XP_SUCCESS;
}

void shutdown(xpbContext *ctx) {
  // The runtime has released every stream, event, module and allocation.
  // libcuda.so.1 and NVRTC stay loaded: the driver keeps threads of its own,
  // and the CUDA runtime of the process may share them.
  releaseDevices(ctx);
  delete ctx;
}

const char *vendorVersion(xpbContext *ctx) {
  return ctx->version.c_str();
}

int deviceCount(xpbContext *ctx) {
  return static_cast<int>(ctx->devices.size());
}

// Leaves the device's primary context current on the calling thread, as
// cudaSetDevice would, for a vendor library called next (NCCL).
xpStatus deviceMakeCurrent(xpbContext *ctx, int index) {
  const CudaDevice &device = ctx->device(index);
  if (CUresult r = ctx->api.cuCtxSetCurrent(device.context); r != CUDA_SUCCESS) {
    return failCuda(ctx->host, ctx->api, "cuCtxSetCurrent", r,
                    format("making the primary context of cuda device %d (CUDA ordinal %d) current",
                           index, device.cuda_ordinal));
  }
  return XP_SUCCESS;
}

}  // namespace

extern "C" XPB_EXPORT xpStatus xpoolBackendGetTable(xpbBackend *table) {
  xpbBackend mine{};
  mine.struct_size = sizeof mine;
  mine.abi_major = XPB_ABI_MAJOR;
  mine.abi_minor = XPB_ABI_MINOR;
  mine.name = "cuda";
  mine.init = init;
  mine.shutdown = shutdown;
  mine.vendor_version = vendorVersion;
  mine.device_count = deviceCount;
  mine.device_props = deviceProps;
  mine.mem_info = memInfo;
  mine.mem_alloc = memAlloc;
  mine.mem_free = memFree;
  mine.stream_create = streamCreate;
  mine.stream_destroy = streamDestroy;
  mine.stream_synchronize = streamSynchronize;
  mine.stream_query = streamQuery;
  mine.memcpy_async = memcpyAsync;
  mine.memset_async = memsetAsync;
  mine.launch_host_func = launchHostFunc;
  mine.event_create = eventCreate;
  mine.event_destroy = eventDestroy;
  mine.event_record = eventRecord;
  mine.event_query = eventQuery;
  mine.event_synchronize = eventSynchronize;
  mine.event_elapsed = eventElapsed;
  mine.stream_wait_event = streamWaitEvent;
  mine.module_load = moduleLoad;
  mine.module_unload = moduleUnload;
  mine.kernel_get = kernelGet;
  mine.kernel_launch = kernelLaunch;
  mine.host_register = hostRegister;
  mine.host_unregister = hostUnregister;
  mine.memcpy_peer_async = memcpyPeerAsync;
  mine.stream_native = streamNative;
  mine.device_make_current = deviceMakeCurrent;
  return xpbExportTable(table, &mine);
}
