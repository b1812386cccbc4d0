// Enumerates the CUDA devices, retains their primary contexts, and answers
// property and memory queries.
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "cuda_backend.h"

namespace xpool::cuda {
namespace {

// The kernel module's version ("580.65.06"), or "" where /proc does not say:
// the first word of "NVRM version: NVIDIA UNIX ... Kernel Module  580.65.06
// Release Build ..." made of digits and dots.
std::string kernelModuleVersion() {
  std::ifstream in("/proc/driver/nvidia/version");
  std::string word;
  while (in >> word) {
    if (word.find('.') != std::string::npos && std::isdigit(static_cast<unsigned char>(word[0])) &&
        word.find_first_not_of("0123456789.") == std::string::npos) {
      return word;
    }
  }
  return {};
}

int attribute(const CudaApi &api, CUdevice device, CUdevice_attribute which) {
  int value = 0;
  return api.cuDeviceGetAttribute(&value, which, device) == CUDA_SUCCESS ? value : 0;
}

// Fills everything but the context; false with *why set when the device
// cannot be used.
bool describeDevice(const CudaApi &api, int ordinal, CudaDevice *device, std::string *why) {
  CUresult r = api.cuDeviceGet(&device->handle, ordinal);
  if (r != CUDA_SUCCESS) {
    *why = format("cuDeviceGet(%d): %s", ordinal, api.describe(r).c_str());
    return false;
  }
  const CUdevice handle = device->handle;
  device->cuda_ordinal = ordinal;
  char name[256] = {};
  if ((r = api.cuDeviceGetName(name, sizeof name - 1, handle)) != CUDA_SUCCESS) {
    *why = format("cuDeviceGetName(%d): %s", ordinal, api.describe(r).c_str());
    return false;
  }
  device->name = name;
  CUuuid uuid{};
  if ((r = api.cuDeviceGetUuid(&uuid, handle)) != CUDA_SUCCESS) {
    *why = format("cuDeviceGetUuid(%d): %s", ordinal, api.describe(r).c_str());
    return false;
  }
  std::memcpy(device->uuid, uuid.bytes, sizeof device->uuid);
  size_t total = 0;
  if ((r = api.cuDeviceTotalMem(&total, handle)) != CUDA_SUCCESS) {
    *why = format("cuDeviceTotalMem(%d): %s", ordinal, api.describe(r).c_str());
    return false;
  }
  device->memory_total = total;
  device->multiprocessors = attribute(api, handle, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT);
  device->compute_major = attribute(api, handle, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR);
  device->compute_minor = attribute(api, handle, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
  device->max_threads_per_block = attribute(api, handle, CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK);
  device->shared_mem_per_block =
      attribute(api, handle, CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN);
  if (device->shared_mem_per_block == 0) {
    device->shared_mem_per_block =
        attribute(api, handle, CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK);
  }
  device->pci_bus_id =
      format("%04x:%02x:%02x.0", attribute(api, handle, CU_DEVICE_ATTRIBUTE_PCI_DOMAIN_ID),
             attribute(api, handle, CU_DEVICE_ATTRIBUTE_PCI_BUS_ID),
             attribute(api, handle, CU_DEVICE_ATTRIBUTE_PCI_DEVICE_ID));
  // Pool pointers are device addresses: without unified addressing they
  // could collide with host addresses.
  if (attribute(api, handle, CU_DEVICE_ATTRIBUTE_UNIFIED_ADDRESSING) != 1) {
    *why = format("cuda device %d (%s) has no unified addressing", ordinal, name);
    return false;
  }
  return true;
}

}  // namespace

xpStatus discoverDevices(xpbContext *ctx) {
  const CudaApi &api = ctx->api;
  int count = 0;
  if (CUresult r = api.cuDeviceGetCount(&count); r != CUDA_SUCCESS) {
    return fail(ctx->host, XP_ERROR_NO_DEVICE,
                format("cuDeviceGetCount: %s", api.describe(r).c_str()));
  }
  const char *visible = std::getenv("CUDA_VISIBLE_DEVICES");
  const std::string visible_note =
      visible != nullptr ? format(" (CUDA_VISIBLE_DEVICES=\"%s\")", visible) : std::string();
  if (count <= 0) {
    return fail(ctx->host, XP_ERROR_NO_DEVICE,
                format("the NVIDIA driver (%s) reports no CUDA devices%s",
                       versionText(api.driver_version).c_str(), visible_note.c_str()));
  }
  std::string skipped;
  for (int ordinal = 0; ordinal < count; ++ordinal) {
    auto device = std::make_unique<CudaDevice>();
    std::string why;
    if (describeDevice(api, ordinal, device.get(), &why)) {
      if (CUresult r = api.cuDevicePrimaryCtxRetain(&device->context, device->handle);
          r != CUDA_SUCCESS) {
        device->context = nullptr;
        why = format(
            "cuDevicePrimaryCtxRetain(%d): %s (is the device in a prohibited or "
            "exclusive compute mode?)",
            ordinal, api.describe(r).c_str());
      }
    }
    if (device->context == nullptr) {
      ctx->log(XPB_LOG_WARN, format("skipping cuda device %d: %s", ordinal, why.c_str()));
      skipped += (skipped.empty() ? "" : "; ") + why;
      continue;
    }
    device->index = static_cast<int>(ctx->devices.size());
    device->wait_value_supported = api.cuStreamWaitValue32 != nullptr;
    ctx->devices.push_back(std::move(device));
  }
  if (ctx->devices.empty()) {
    return fail(ctx->host, XP_ERROR_NO_DEVICE,
                format("none of the %d CUDA device(s)%s can be used: %s", count,
                       visible_note.c_str(), skipped.c_str()));
  }
  const size_t n = ctx->devices.size();
  ctx->peer_state.assign(n * n, 0);

  ctx->version = versionText(api.driver_version);
  if (std::string module = kernelModuleVersion(); !module.empty()) {
    ctx->version += ", driver " + module;
  }
  ctx->log(XPB_LOG_INFO, format("%zu CUDA device(s), %s", n, ctx->version.c_str()));
  return XP_SUCCESS;
}

xpStatus deviceProps(xpbContext *ctx, int index, xpDeviceProps *props) {
  if (index < 0 || index >= static_cast<int>(ctx->devices.size())) {
    return fail(ctx->host, XP_ERROR_INVALID_VALUE,
                format("cuda device %d does not exist (%zu devices)", index, ctx->devices.size()));
  }
  const CudaDevice &device = ctx->device(index);
  snprintf(props->vendor, sizeof props->vendor, "NVIDIA");
  snprintf(props->name, sizeof props->name, "%s", device.name.c_str());
  std::memcpy(props->uuid, device.uuid, sizeof device.uuid);
  char hex[33] = {};
  for (int i = 0; i < 16; ++i) snprintf(hex + 2 * i, 3, "%02x", device.uuid[i]);
  snprintf(props->stable_id, sizeof props->stable_id, "cuda:%s", hex);
  props->memory_total = device.memory_total;
  uint64_t free_bytes = 0, total_bytes = 0;
  if (xpStatus status = memInfo(ctx, index, &free_bytes, &total_bytes); status != XP_SUCCESS) {
    return status;
  }
  props->memory_free = free_bytes;
  props->compute_units = device.multiprocessors;
  props->max_threads_per_block = device.max_threads_per_block;
  props->shared_mem_per_block = static_cast<uint64_t>(device.shared_mem_per_block);
  snprintf(props->pci_bus_id, sizeof props->pci_bus_id, "%s", device.pci_bus_id.c_str());
  props->numa_node = -1;  // the runtime derives it from the PCI bus id
  props->host_addressable = 0;
  props->compute_major = device.compute_major;
  props->compute_minor = device.compute_minor;
  return XP_SUCCESS;
}

xpStatus memInfo(xpbContext *ctx, int index, uint64_t *free_bytes, uint64_t *total_bytes) {
  if (index < 0 || index >= static_cast<int>(ctx->devices.size())) {
    return fail(ctx->host, XP_ERROR_INVALID_VALUE,
                format("cuda device %d does not exist (%zu devices)", index, ctx->devices.size()));
  }
  const CudaDevice &device = ctx->device(index);
  ScopedContext scope(ctx->api, device);
  size_t free_now = 0, total = 0;
  if (CUresult r = ctx->api.cuMemGetInfo(&free_now, &total); r != CUDA_SUCCESS) {
    return failCuda(ctx->host, ctx->api, "cuMemGetInfo", r, format("on cuda device %d", index));
  }
  *free_bytes = free_now;
  *total_bytes = total;
  return XP_SUCCESS;
}

}  // namespace xpool::cuda
