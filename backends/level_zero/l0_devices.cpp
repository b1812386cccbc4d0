// Driver and device discovery and device properties of the level_zero
// backend.
#include <cstring>

#include "l0_backend.h"

namespace xpool::level_zero {
namespace {

std::string versionText(uint32_t version) {
  return std::to_string(ZE_MAJOR_VERSION(version)) + "." +
         std::to_string(ZE_MINOR_VERSION(version));
}

bool hasExtension(const ZeApi *api, ze_driver_handle_t driver, const char *name) {
  uint32_t count = 0;
  if (api->zeDriverGetExtensionProperties(driver, &count, nullptr) != ZE_RESULT_SUCCESS) {
    return false;
  }
  std::vector<ze_driver_extension_properties_t> extensions(count);
  if (api->zeDriverGetExtensionProperties(driver, &count, extensions.data()) != ZE_RESULT_SUCCESS) {
    return false;
  }
  for (uint32_t i = 0; i < count && i < extensions.size(); ++i) {
    if (std::strncmp(extensions[i].name, name, ZE_MAX_EXTENSION_NAME) == 0) return true;
  }
  return false;
}

// Fills everything about one root device; a failure is a reason to skip it.
Outcome describeDevice(xpbContext *ctx, Driver *driver, ze_device_handle_t handle, Device *device) {
  const ZeApi *api = ctx->api;
  device->driver = driver;
  device->handle = handle;
  // With spec 1.2 and newer, timerResolution comes in cycles per second
  // (more precise than whole nanoseconds per tick).
  const bool frequency = driver->api_version >= kZeApi_1_2;
  device->props.stype =
      frequency ? ZE_STRUCTURE_TYPE_DEVICE_PROPERTIES_1_2 : ZE_STRUCTURE_TYPE_DEVICE_PROPERTIES;
  ze_result_t result = api->zeDeviceGetProperties(handle, &device->props);
  if (result != ZE_RESULT_SUCCESS) return zeOutcome("zeDeviceGetProperties", result, "%s", "");
  if (device->props.timerResolution == 0) {
    device->ns_per_tick = 1.0;
  } else if (frequency) {
    device->ns_per_tick = 1e9 / static_cast<double>(device->props.timerResolution);
  } else {
    device->ns_per_tick = static_cast<double>(device->props.timerResolution);
  }
  const uint32_t bits = device->props.timestampValidBits;
  device->timestamp_mask = bits == 0 || bits >= 64 ? ~0ull : (1ull << bits) - 1;

  device->compute.stype = ZE_STRUCTURE_TYPE_DEVICE_COMPUTE_PROPERTIES;
  result = api->zeDeviceGetComputeProperties(handle, &device->compute);
  if (result != ZE_RESULT_SUCCESS) {
    return zeOutcome("zeDeviceGetComputeProperties", result, "for %s", device->props.name);
  }

  uint32_t count = 0;
  result = api->zeDeviceGetMemoryProperties(handle, &count, nullptr);
  if (result != ZE_RESULT_SUCCESS) {
    return zeOutcome("zeDeviceGetMemoryProperties", result, "for %s", device->props.name);
  }
  std::vector<ze_device_memory_properties_t> memories(count);
  for (auto &memory : memories) memory.stype = ZE_STRUCTURE_TYPE_DEVICE_MEMORY_PROPERTIES;
  if (count > 0) {
    result = api->zeDeviceGetMemoryProperties(handle, &count, memories.data());
    if (result != ZE_RESULT_SUCCESS) {
      return zeOutcome("zeDeviceGetMemoryProperties", result, "for %s", device->props.name);
    }
  }
  device->memory_total = 0;
  for (uint32_t i = 0; i < count && i < memories.size(); ++i) {
    device->memory_total += memories[i].totalSize;
  }

  // A queue group that runs kernels (and therefore copies too).
  count = 0;
  result = api->zeDeviceGetCommandQueueGroupProperties(handle, &count, nullptr);
  if (result != ZE_RESULT_SUCCESS) {
    return zeOutcome("zeDeviceGetCommandQueueGroupProperties", result, "for %s",
                     device->props.name);
  }
  std::vector<ze_command_queue_group_properties_t> groups(count);
  for (auto &group : groups) group.stype = ZE_STRUCTURE_TYPE_COMMAND_QUEUE_GROUP_PROPERTIES;
  if (count > 0) {
    result = api->zeDeviceGetCommandQueueGroupProperties(handle, &count, groups.data());
    if (result != ZE_RESULT_SUCCESS) {
      return zeOutcome("zeDeviceGetCommandQueueGroupProperties", result, "for %s",
                       device->props.name);
    }
  }
  bool found = false;
  for (uint32_t i = 0; i < count && i < groups.size(); ++i) {
    if (groups[i].flags & ZE_COMMAND_QUEUE_GROUP_PROPERTY_FLAG_COMPUTE) {
      device->compute_ordinal = i;
      found = true;
      break;
    }
  }
  if (!found) {
    return {XP_ERROR_NO_DEVICE,
            formatText("%s has no command queue group that runs kernels", device->props.name)};
  }

  count = 0;
  if (api->zeDeviceGetSubDevices(handle, &count, nullptr) == ZE_RESULT_SUCCESS) {
    device->subdevices = count;
  }

  if (api->zeDevicePciGetPropertiesExt != nullptr) {
    ze_pci_ext_properties_t pci{};
    pci.stype = ZE_STRUCTURE_TYPE_PCI_EXT_PROPERTIES;
    if (api->zeDevicePciGetPropertiesExt(handle, &pci) == ZE_RESULT_SUCCESS) {
      device->pci_bus_id = formatText("%04x:%02x:%02x.%x", pci.address.domain, pci.address.bus,
                                      pci.address.device, pci.address.function);
    }
  }
  return {};
}

}  // namespace

xpStatus discoverDevices(xpbContext *ctx) {
  const ZeApi *api = ctx->api;
  ze_result_t result = api->zeInit(ZE_INIT_FLAG_GPU_ONLY);
  if (result != ZE_RESULT_SUCCESS) {
    const char *why = result == ZE_RESULT_ERROR_UNINITIALIZED
                          ? ": no Level Zero driver is installed (no Intel GPU driver)"
                          : ": the Level Zero loader could not initialise a GPU driver";
    return ctx->host->set_error(XP_ERROR_NO_DEVICE,
                                (describeZeFailure("zeInit", result, "") + why).c_str());
  }
  uint32_t driver_count = 0;
  result = api->zeDriverGet(&driver_count, nullptr);
  if (result != ZE_RESULT_SUCCESS) {
    return ctx->host->set_error(XP_ERROR_NO_DEVICE,
                                describeZeFailure("zeDriverGet", result, "").c_str());
  }
  if (driver_count == 0) {
    return xpbFail(ctx->host, XP_ERROR_NO_DEVICE,
                   "zeDriverGet: no Level Zero GPU driver (no Intel GPU driver installed)");
  }
  std::vector<ze_driver_handle_t> handles(driver_count);
  result = api->zeDriverGet(&driver_count, handles.data());
  if (result != ZE_RESULT_SUCCESS) {
    return ctx->host->set_error(XP_ERROR_NO_DEVICE,
                                describeZeFailure("zeDriverGet", result, "").c_str());
  }
  handles.resize(driver_count);

  std::string skipped;
  for (ze_driver_handle_t handle : handles) {
    auto driver = std::make_unique<Driver>();
    driver->handle = handle;
    ze_api_version_t version{};
    if ((result = api->zeDriverGetApiVersion(handle, &version)) != ZE_RESULT_SUCCESS) {
      skipped += "; " + describeZeFailure("zeDriverGetApiVersion", result, "");
      continue;
    }
    driver->api_version = static_cast<uint32_t>(version);
    if (ZE_MAJOR_VERSION(driver->api_version) != 1) {
      skipped += "; a driver speaks Level Zero " + versionText(driver->api_version) +
                 ", this backend speaks 1.x";
      continue;
    }
    ze_driver_properties_t properties{};
    properties.stype = ZE_STRUCTURE_TYPE_DRIVER_PROPERTIES;
    if (api->zeDriverGetProperties(handle, &properties) == ZE_RESULT_SUCCESS) {
      driver->driver_version = properties.driverVersion;
    }
    driver->relaxed_allocation_limits =
        hasExtension(api, handle, ZE_RELAXED_ALLOCATION_LIMITS_EXP_NAME);
    void *function = nullptr;
    if (api->zeDriverGetExtensionFunctionAddress(handle, "zexDriverImportExternalPointer",
                                                 &function) == ZE_RESULT_SUCCESS) {
      driver->import_pointer = reinterpret_cast<PfnImportExternalPointer>(function);
    }
    function = nullptr;
    if (api->zeDriverGetExtensionFunctionAddress(handle, "zexDriverReleaseImportedPointer",
                                                 &function) == ZE_RESULT_SUCCESS) {
      driver->release_pointer = reinterpret_cast<PfnReleaseImportedPointer>(function);
    }
    if (driver->import_pointer == nullptr || driver->release_pointer == nullptr) {
      driver->import_pointer = nullptr;
      driver->release_pointer = nullptr;
    }

    uint32_t device_count = 0;
    if ((result = api->zeDeviceGet(handle, &device_count, nullptr)) != ZE_RESULT_SUCCESS) {
      skipped += "; " + describeZeFailure("zeDeviceGet", result, "");
      continue;
    }
    std::vector<ze_device_handle_t> device_handles(device_count);
    if (device_count > 0 &&
        (result = api->zeDeviceGet(handle, &device_count, device_handles.data())) !=
            ZE_RESULT_SUCCESS) {
      skipped += "; " + describeZeFailure("zeDeviceGet", result, "");
      continue;
    }
    device_handles.resize(device_count);
    if (device_handles.empty()) continue;

    ze_context_desc_t context_desc{};
    context_desc.stype = ZE_STRUCTURE_TYPE_CONTEXT_DESC;
    if ((result = api->zeContextCreate(handle, &context_desc, &driver->context)) !=
        ZE_RESULT_SUCCESS) {
      skipped += "; " + describeZeFailure("zeContextCreate", result, "");
      continue;
    }
    driver->plain = std::make_unique<SlotPool>(api, driver->context, false);
    driver->timing = std::make_unique<SlotPool>(api, driver->context, true);

    bool any = false;
    for (ze_device_handle_t device_handle : device_handles) {
      auto device = std::make_unique<Device>();
      Outcome described = describeDevice(ctx, driver.get(), device_handle, device.get());
      if (!described.ok()) {
        skipped += "; " + described.message;
        continue;
      }
      if (device->props.type != ZE_DEVICE_TYPE_GPU) continue;
      device->index = static_cast<int>(ctx->devices.size());
      const ze_device_properties_t &p = device->props;
      logf(ctx, XPB_LOG_INFO,
           "level_zero device %d: %s, %u EUs (%u slices x %u sub-slices x %u EUs), %u "
           "sub-device(s), %llu MiB, max allocation %llu MiB, PCI %s, Level Zero %s%s",
           device->index, p.name, p.numSlices * p.numSubslicesPerSlice * p.numEUsPerSubslice,
           p.numSlices, p.numSubslicesPerSlice, p.numEUsPerSubslice, device->subdevices,
           static_cast<unsigned long long>(device->memory_total >> 20),
           static_cast<unsigned long long>(p.maxMemAllocSize >> 20),
           device->pci_bus_id.empty() ? "unknown" : device->pci_bus_id.c_str(),
           versionText(driver->api_version).c_str(),
           driver->api_version >= kZeApi_1_7 ? ", in-order lists" : "");
      ctx->devices.push_back(std::move(device));
      any = true;
    }
    if (any) {
      if (ctx->version.empty()) {
        ctx->version = "Level Zero " + versionText(driver->api_version) +
                       formatText(" (driver %u)", driver->driver_version);
      }
      ctx->drivers.push_back(std::move(driver));
    } else {
      driver->plain.reset();
      driver->timing.reset();
      (void)api->zeContextDestroy(driver->context);
    }
  }
  if (!skipped.empty()) logf(ctx, XPB_LOG_WARN, "skipped: %s", skipped.c_str() + 2);
  if (ctx->devices.empty()) {
    return xpbFail(ctx->host, XP_ERROR_NO_DEVICE,
                   "Level Zero found %u driver(s) but no usable GPU device%s%s", driver_count,
                   skipped.empty() ? "" : ": ", skipped.empty() ? "" : skipped.c_str() + 2);
  }
  return XP_SUCCESS;
}

void releaseDrivers(xpbContext *ctx) {
  ctx->devices.clear();
  for (auto &driver : ctx->drivers) {
    driver->plain.reset();
    driver->timing.reset();
    if (driver->context != nullptr) (void)ctx->api->zeContextDestroy(driver->context);
  }
  ctx->drivers.clear();
}

xpStatus memInfo(xpbContext *ctx, int index, uint64_t *free_bytes, uint64_t *total_bytes) {
  if (index < 0 || index >= static_cast<int>(ctx->devices.size())) {
    return xpbFail(ctx->host, XP_ERROR_INVALID_VALUE, "level_zero device %d does not exist", index);
  }
  const Device &device = *ctx->devices[static_cast<size_t>(index)];
  // Core Level Zero has no free-memory query (Sysman's zesMemoryGetState
  // needs ZES_ENABLE_SYSMAN before zeInit): report what this process has
  // not allocated through xpool.
  const uint64_t allocated = device.allocated.load();
  *total_bytes = device.memory_total;
  *free_bytes = allocated < device.memory_total ? device.memory_total - allocated : 0;
  return XP_SUCCESS;
}

xpStatus deviceProps(xpbContext *ctx, int index, xpDeviceProps *props) {
  uint64_t free_bytes = 0, total_bytes = 0;
  if (xpStatus status = memInfo(ctx, index, &free_bytes, &total_bytes); status != XP_SUCCESS) {
    return status;
  }
  const Device &device = *ctx->devices[static_cast<size_t>(index)];
  const ze_device_properties_t &p = device.props;
  if (p.vendorId == 0x8086) {
    snprintf(props->vendor, sizeof props->vendor, "Intel");
  } else {
    snprintf(props->vendor, sizeof props->vendor, "PCI vendor 0x%04x", p.vendorId);
  }
  snprintf(props->name, sizeof props->name, "%s", p.name);
  static_assert(sizeof props->uuid == ZE_MAX_DEVICE_UUID_SIZE);
  std::memcpy(props->uuid, p.uuid.id, sizeof props->uuid);
  char hex[33] = {};
  for (int i = 0; i < 16; ++i) snprintf(hex + 2 * i, 3, "%02x", p.uuid.id[i]);
  snprintf(props->stable_id, sizeof props->stable_id, "level_zero:%s", hex);
  props->memory_total = total_bytes;
  props->memory_free = free_bytes;
  props->compute_units =
      static_cast<int>(p.numSlices * p.numSubslicesPerSlice * p.numEUsPerSubslice);
  props->max_threads_per_block = static_cast<int>(device.compute.maxTotalGroupSize);
  props->shared_mem_per_block = device.compute.maxSharedLocalMemory;
  snprintf(props->pci_bus_id, sizeof props->pci_bus_id, "%s", device.pci_bus_id.c_str());
  props->numa_node = -1;
  props->host_addressable = 0;
  props->compute_major = 0;  // Level Zero 1.4 has no architecture version (ip_version is 1.5+)
  props->compute_minor = 0;
  return XP_SUCCESS;
}

}  // namespace xpool::level_zero
