// Device discovery and properties of the hip backend. Everything comes from
// hipDeviceGetAttribute and single-purpose calls, never hipDeviceProp_t
// (whose layout changed in ROCm 6).
#include <cstdlib>
#include <cstring>

#include "hip_backend.h"

namespace xpool::hip {
namespace {

// 64-bit FNV-1a; two seeds make the 16 bytes of a stable UUID when the
// runtime has none.
uint64_t fnv1a(const std::string &text, uint64_t seed) {
  uint64_t hash = seed;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash;
}

void hashUuid(const std::string &identity, uint8_t out[16]) {
  const uint64_t high = fnv1a(identity, 14695981039346656037ull);
  const uint64_t low = fnv1a(identity, 0x9e3779b97f4a7c15ull);
  for (int i = 0; i < 8; ++i) {
    out[i] = static_cast<uint8_t>(high >> (56 - 8 * i));
    out[8 + i] = static_cast<uint8_t>(low >> (56 - 8 * i));
  }
}

int attribute(xpbContext *ctx, const HipDevice &device, hipDeviceAttribute_t attr, const char *what,
              int fallback) {
  int value = 0;
  hipError_t error = ctx->api->hipDeviceGetAttribute(&value, attr, device.handle);
  if (error != hipSuccess) {
    logf(ctx, XPB_LOG_WARN, "%s",
         describeHipFailure(
             ctx->api, "hipDeviceGetAttribute", error,
             formatText("reading %s of hip device %d; assuming %d", what, device.ordinal, fallback))
             .c_str());
    return fallback;
  }
  return value;
}

std::string versionText(int version) {
  // HIP_VERSION = major * 10000000 + minor * 100000 + patch.
  return std::to_string(version / 10000000) + "." + std::to_string((version / 100000) % 100) + "." +
         std::to_string(version % 100000);
}

}  // namespace

xpStatus discoverDevices(xpbContext *ctx) {
  const HipApi *api = ctx->api;
  int count = 0;
  hipError_t error = api->hipGetDeviceCount(&count);
  if (error != hipSuccess) {
    // hipErrorNoDevice (no GPU, or none visible), hipErrorInsufficientDriver
    // (no amdgpu kernel driver): the backend cannot serve either way.
    std::string message = describeHipFailure(api, "hipGetDeviceCount", error, "");
    for (const char *variable : {"HIP_VISIBLE_DEVICES", "ROCR_VISIBLE_DEVICES"}) {
      if (const char *value = std::getenv(variable); value != nullptr) {
        message += formatText(" (%s=%s)", variable, value);
      }
    }
    return ctx->host->set_error(XP_ERROR_NO_DEVICE, message.c_str());
  }
  if (count <= 0) {
    return xpbFail(ctx->host, XP_ERROR_NO_DEVICE,
                   "hipGetDeviceCount: no ROCm-capable device is visible (%s loaded)",
                   api->library.c_str());
  }

  int runtime_version = 0, driver_version = 0;
  // Version numbers are for display only: a failure leaves them 0.
  (void)api->hipRuntimeGetVersion(&runtime_version);
  (void)api->hipDriverGetVersion(&driver_version);
  ctx->version = "HIP " + versionText(runtime_version);
  if (driver_version != 0 && driver_version != runtime_version) {
    ctx->version += " (driver " + versionText(driver_version) + ")";
  }

  for (int ordinal = 0; ordinal < count; ++ordinal) {
    HipDevice device;
    device.ordinal = ordinal;
    if ((error = api->hipDeviceGet(&device.handle, ordinal)) != hipSuccess) {
      return hipFail(ctx, "hipDeviceGet", error, "for hip device %d", ordinal);
    }
    char name[256] = {};
    if ((error = api->hipDeviceGetName(name, sizeof name - 1, device.handle)) != hipSuccess) {
      return hipFail(ctx, "hipDeviceGetName", error, "for hip device %d", ordinal);
    }
    device.name = name[0] != '\0' ? name : "AMD GPU";
    size_t total = 0;
    if ((error = api->hipDeviceTotalMem(&total, device.handle)) != hipSuccess) {
      return hipFail(ctx, "hipDeviceTotalMem", error, "for hip device %d", ordinal);
    }
    device.memory_total = total;
    char bus_id[32] = {};
    if (api->hipDeviceGetPCIBusId(bus_id, sizeof bus_id, device.handle) == hipSuccess) {
      // HIP prints hex digits in lower case, as xpool wants them.
      device.pci_bus_id = bus_id;
    }
    device.compute_units =
        attribute(ctx, device, hipDeviceAttributeMultiprocessorCount, "the CU count", 1);
    device.max_threads_per_block =
        attribute(ctx, device, hipDeviceAttributeMaxThreadsPerBlock, "the block size limit", 256);
    device.shared_mem_per_block = static_cast<uint64_t>(attribute(
        ctx, device, hipDeviceAttributeMaxSharedMemoryPerBlock, "the LDS size", 64 * 1024));
    device.warp_size = attribute(ctx, device, hipDeviceAttributeWarpSize, "the wavefront size", 64);
    device.compute_major = attribute(ctx, device, hipDeviceAttributeComputeCapabilityMajor,
                                     "the architecture major version", 0);
    device.compute_minor = attribute(ctx, device, hipDeviceAttributeComputeCapabilityMinor,
                                     "the architecture minor version", 0);

    // The runtime's UUID where it has one (ROCm copies the 16 characters
    // after "GPU-" of the agent's UUID; GPUs without one say "GPU-XX").
    bool have_uuid = false;
    if (api->hipDeviceGetUuid != nullptr) {
      hipUUID uuid{};
      if (api->hipDeviceGetUuid(&uuid, device.handle) == hipSuccess) {
        int meaningful = 0;
        for (char byte : uuid.bytes) {
          if (byte != 0 && byte != 'X') ++meaningful;
        }
        if (meaningful >= 4) {
          std::memcpy(device.uuid, uuid.bytes, sizeof device.uuid);
          have_uuid = true;
        }
      }
    }
    if (!have_uuid) {
      // The PCI address is stable across runs; without one, the ordinal.
      hashUuid(
          "hip|" + device.name + "|" +
              (device.pci_bus_id.empty() ? "ordinal" + std::to_string(ordinal) : device.pci_bus_id),
          device.uuid);
    }
    logf(ctx, XPB_LOG_INFO,
         "hip device %d: %s, %d CUs, wavefront %d, %llu MiB, arch %d.%d, PCI %s%s", ordinal,
         device.name.c_str(), device.compute_units, device.warp_size,
         static_cast<unsigned long long>(device.memory_total >> 20), device.compute_major,
         device.compute_minor, device.pci_bus_id.empty() ? "none" : device.pci_bus_id.c_str(),
         have_uuid ? "" : ", UUID derived from the PCI address");
    ctx->devices.push_back(std::move(device));
  }
  return XP_SUCCESS;
}

xpStatus memInfo(xpbContext *ctx, int index, uint64_t *free_bytes, uint64_t *total_bytes) {
  if (index < 0 || index >= static_cast<int>(ctx->devices.size())) {
    return xpbFail(ctx->host, XP_ERROR_INVALID_VALUE, "hip device %d does not exist", index);
  }
  if (xpStatus status = useDevice(ctx, index); status != XP_SUCCESS) return status;
  size_t free_now = 0, total = 0;
  hipError_t error = ctx->api->hipMemGetInfo(&free_now, &total);
  if (error != hipSuccess) return hipFail(ctx, "hipMemGetInfo", error, "on hip device %d", index);
  *free_bytes = free_now;
  *total_bytes = total;
  return XP_SUCCESS;
}

xpStatus deviceProps(xpbContext *ctx, int index, xpDeviceProps *props) {
  if (index < 0 || index >= static_cast<int>(ctx->devices.size())) {
    return xpbFail(ctx->host, XP_ERROR_INVALID_VALUE, "hip device %d does not exist", index);
  }
  const HipDevice &device = ctx->devices[static_cast<size_t>(index)];
  uint64_t free_bytes = 0, total_bytes = 0;
  if (xpStatus status = memInfo(ctx, index, &free_bytes, &total_bytes); status != XP_SUCCESS) {
    return status;
  }
  snprintf(props->vendor, sizeof props->vendor, "AMD");
  snprintf(props->name, sizeof props->name, "%s", device.name.c_str());
  std::memcpy(props->uuid, device.uuid, sizeof device.uuid);
  char hex[33] = {};
  for (int i = 0; i < 16; ++i) snprintf(hex + 2 * i, 3, "%02x", device.uuid[i]);
  snprintf(props->stable_id, sizeof props->stable_id, "hip:%s", hex);
  props->memory_total = device.memory_total;
  props->memory_free = free_bytes;
  props->compute_units = device.compute_units;
  props->max_threads_per_block = device.max_threads_per_block;
  props->shared_mem_per_block = device.shared_mem_per_block;
  snprintf(props->pci_bus_id, sizeof props->pci_bus_id, "%s", device.pci_bus_id.c_str());
  props->numa_node = -1;  // the runtime derives it from the PCI address
  props->host_addressable = 0;
  props->compute_major = device.compute_major;
  props->compute_minor = device.compute_minor;
  return XP_SUCCESS;
}

}  // namespace xpool::hip
