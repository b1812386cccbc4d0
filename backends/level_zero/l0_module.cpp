// Modules and kernels of the level_zero backend: SPIR-V through
// zeModuleCreate, launches through zeCommandListAppendLaunchKernel.
//
// zeKernelSetGroupSize and zeKernelSetArgumentValue change state of the
// kernel object that zeCommandListAppendLaunchKernel reads: a launch holds
// the kernel's mutex (and the stream's, for the list) from the first set to
// the append. Dynamic shared memory is a trailing local-memory argument
// (OpenCL's convention): set with zeKernelSetArgumentValue(i, bytes, NULL).
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "l0_stream.h"

struct xpbKernel {
  xpbModule *module = nullptr;
  ze_kernel_handle_t kernel = nullptr;
  std::string name;
  uint32_t num_args = 0;
  std::mutex mutex;               // the kernel object's argument and group-size state
  uint32_t group[3] = {0, 0, 0};  // the group size last set
};

struct xpbModule {
  xpbContext *ctx = nullptr;
  xpool::level_zero::Device *device = nullptr;
  ze_module_handle_t module = nullptr;
  std::mutex mutex;
  std::map<std::string, std::unique_ptr<xpbKernel>> kernels;
};

namespace xpool::level_zero {
namespace {

constexpr uint32_t kSpirvMagic = 0x07230203;

std::string buildLog(const ZeApi *api, ze_module_build_log_handle_t log) {
  if (log == nullptr) return {};
  size_t size = 0;
  std::string text;
  if (api->zeModuleBuildLogGetString(log, &size, nullptr) == ZE_RESULT_SUCCESS && size > 1) {
    text.resize(size);
    if (api->zeModuleBuildLogGetString(log, &size, text.data()) == ZE_RESULT_SUCCESS) {
      text.resize(strnlen(text.data(), text.size()));
    } else {
      text.clear();
    }
  }
  return text;
}

std::string kernelNames(const ZeApi *api, ze_module_handle_t module) {
  uint32_t count = 0;
  if (api->zeModuleGetKernelNames(module, &count, nullptr) != ZE_RESULT_SUCCESS || count == 0) {
    return "";
  }
  std::vector<const char *> names(count);
  if (api->zeModuleGetKernelNames(module, &count, names.data()) != ZE_RESULT_SUCCESS) return "";
  std::string list;
  for (uint32_t i = 0; i < count && i < names.size(); ++i) {
    if (!list.empty()) list += ", ";
    list += names[i] != nullptr ? names[i] : "?";
  }
  return list;
}

}  // namespace

xpStatus moduleLoad(xpbContext *ctx, int index, xpModuleFormat format, const void *data,
                    size_t bytes, const char *options, xpbModule **out) {
  if (format != XP_MODULE_NATIVE && format != XP_MODULE_SPIRV) {
    return xpbFail(ctx->host, XP_ERROR_NOT_SUPPORTED,
                   "the level_zero backend loads SPIR-V only (XP_MODULE_SPIRV); module format %d "
                   "given",
                   static_cast<int>(format));
  }
  uint32_t magic = 0;
  if (bytes >= sizeof magic) std::memcpy(&magic, data, sizeof magic);
  if (bytes < 20 || bytes % 4 != 0 ||
      (magic != kSpirvMagic && magic != __builtin_bswap32(kSpirvMagic))) {
    return xpbFail(ctx->host, XP_ERROR_INVALID_VALUE,
                   "the %zu-byte image is not SPIR-V (it must start with the magic number "
                   "0x07230203 and be a whole number of 32-bit words)",
                   bytes);
  }
  const ZeApi *api = ctx->api;
  Device &device = *ctx->devices[static_cast<size_t>(index)];
  ze_module_desc_t desc{};
  desc.stype = ZE_STRUCTURE_TYPE_MODULE_DESC;
  desc.format = ZE_MODULE_FORMAT_IL_SPIRV;
  desc.inputSize = bytes;
  desc.pInputModule = static_cast<const uint8_t *>(data);
  desc.pBuildFlags = options != nullptr && options[0] != '\0' ? options : nullptr;
  auto module = std::make_unique<xpbModule>();
  module->ctx = ctx;
  module->device = &device;
  ze_module_build_log_handle_t log = nullptr;
  ze_result_t result =
      api->zeModuleCreate(device.driver->context, device.handle, &desc, &module->module, &log);
  const std::string text = buildLog(api, log);
  if (log != nullptr) (void)api->zeModuleBuildLogDestroy(log);
  if (result != ZE_RESULT_SUCCESS) {
    const xpStatus status = result == ZE_RESULT_ERROR_MODULE_BUILD_FAILURE ||
                                    result == ZE_RESULT_ERROR_MODULE_LINK_FAILURE ||
                                    result == ZE_RESULT_ERROR_INVALID_NATIVE_BINARY
                                ? XP_ERROR_BUILD
                                : statusForZeResult(result);
    return ctx->host->set_error(
        status, describeZeFailure(
                    "zeModuleCreate", result,
                    formatText("building %zu bytes of SPIR-V for level_zero device "
                               "%d (%s) with options \"%s\":\n%s",
                               bytes, index, device.props.name, options != nullptr ? options : "",
                               text.empty() ? "(no build log)" : text.c_str()))
                    .c_str());
  }
  if (!text.empty()) logf(ctx, XPB_LOG_DEBUG, "module build log:\n%s", text.c_str());
  *out = module.release();
  return XP_SUCCESS;
}

xpStatus moduleUnload(xpbModule *module) {
  const ZeApi *api = module->ctx->api;
  // No launch of its kernels may still be in flight. If the wait gives up,
  // the module is left loaded rather than destroyed under running kernels.
  if (xpStatus status = drainDevice(module->ctx, *module->device, "zeModuleDestroy");
      status != XP_SUCCESS) {
    delete module;
    return status;
  }
  for (auto &entry : module->kernels) (void)api->zeKernelDestroy(entry.second->kernel);
  ze_result_t result = api->zeModuleDestroy(module->module);
  xpbContext *ctx = module->ctx;
  const int index = module->device->index;
  delete module;
  if (result != ZE_RESULT_SUCCESS) {
    return zeFail(ctx, "zeModuleDestroy", result, "on level_zero device %d", index);
  }
  return XP_SUCCESS;
}

xpStatus kernelGet(xpbModule *module, const char *name, xpbKernel **out) {
  std::lock_guard lock(module->mutex);
  if (auto found = module->kernels.find(name); found != module->kernels.end()) {
    *out = found->second.get();
    return XP_SUCCESS;
  }
  xpbContext *ctx = module->ctx;
  const ZeApi *api = ctx->api;
  auto kernel = std::make_unique<xpbKernel>();
  kernel->module = module;
  kernel->name = name;
  ze_kernel_desc_t desc{};
  desc.stype = ZE_STRUCTURE_TYPE_KERNEL_DESC;
  desc.pKernelName = name;
  ze_result_t result = api->zeKernelCreate(module->module, &desc, &kernel->kernel);
  if (result == ZE_RESULT_ERROR_INVALID_KERNEL_NAME) {
    const std::string names = kernelNames(api, module->module);
    return ctx->host->set_error(
        XP_ERROR_NOT_FOUND,
        describeZeFailure("zeKernelCreate", result,
                          formatText("for '%s': the module has no kernel of that name (it has: %s)",
                                     name, names.empty() ? "none" : names.c_str()))
            .c_str());
  }
  if (result != ZE_RESULT_SUCCESS) {
    return zeFail(ctx, "zeKernelCreate", result, "for kernel '%s' on level_zero device %d", name,
                  module->device->index);
  }
  ze_kernel_properties_t props{};
  props.stype = ZE_STRUCTURE_TYPE_KERNEL_PROPERTIES;
  result = api->zeKernelGetProperties(kernel->kernel, &props);
  if (result != ZE_RESULT_SUCCESS) {
    (void)api->zeKernelDestroy(kernel->kernel);
    return zeFail(ctx, "zeKernelGetProperties", result, "for kernel '%s'", name);
  }
  kernel->num_args = props.numKernelArgs;
  *out = kernel.get();
  module->kernels[name] = std::move(kernel);
  return XP_SUCCESS;
}

xpStatus kernelLaunch(xpbStream *stream, xpbKernel *kernel, xpDim3 grid, xpDim3 block,
                      size_t shared_bytes, void *const *args, const size_t *arg_sizes,
                      int num_args) {
  xpbContext *ctx = stream->ctx;
  const ZeApi *api = ctx->api;
  const char *name = kernel->name.c_str();
  const int index = stream->device->index;
  if (kernel->module->device != stream->device) {
    return xpbFail(ctx->host, XP_ERROR_INVALID_VALUE,
                   "kernel '%s' was loaded on level_zero device %d but the stream is on device %d",
                   name, kernel->module->device->index, index);
  }
  const uint32_t expected = static_cast<uint32_t>(num_args) + (shared_bytes > 0 ? 1u : 0u);
  if (kernel->num_args != expected) {
    return xpbFail(ctx->host, XP_ERROR_INVALID_VALUE,
                   "kernel '%s' takes %u argument(s); %d given%s", name, kernel->num_args, num_args,
                   shared_bytes > 0
                       ? " plus the trailing local-memory argument for dynamic shared memory"
                       : (kernel->num_args == static_cast<uint32_t>(num_args) + 1
                              ? " (a trailing local-memory argument needs shared_bytes > 0)"
                              : ""));
  }
  const Device &device = *stream->device;
  const ze_device_compute_properties_t &limits = device.compute;
  if (grid.x > limits.maxGroupCountX || grid.y > limits.maxGroupCountY ||
      grid.z > limits.maxGroupCountZ) {
    return xpbFail(ctx->host, XP_ERROR_INVALID_VALUE,
                   "kernel '%s': grid %ux%ux%u exceeds level_zero device %d's %ux%ux%u groups",
                   name, grid.x, grid.y, grid.z, index, limits.maxGroupCountX,
                   limits.maxGroupCountY, limits.maxGroupCountZ);
  }
  if (shared_bytes > limits.maxSharedLocalMemory) {
    return xpbFail(ctx->host, XP_ERROR_INVALID_VALUE,
                   "kernel '%s': %zu bytes of local memory exceed level_zero device %d's %u", name,
                   shared_bytes, index, limits.maxSharedLocalMemory);
  }

  std::lock_guard stream_lock(stream->mutex);
  std::lock_guard kernel_lock(kernel->mutex);
  if (kernel->group[0] != block.x || kernel->group[1] != block.y || kernel->group[2] != block.z) {
    ze_result_t result = api->zeKernelSetGroupSize(kernel->kernel, block.x, block.y, block.z);
    if (result != ZE_RESULT_SUCCESS) {
      kernel->group[0] = kernel->group[1] = kernel->group[2] = 0;
      return zeFail(ctx, "zeKernelSetGroupSize", result,
                    "for kernel '%s' with a block of %ux%ux%u (level_zero device %d allows "
                    "%ux%ux%u, %u in all)",
                    name, block.x, block.y, block.z, index, limits.maxGroupSizeX,
                    limits.maxGroupSizeY, limits.maxGroupSizeZ, limits.maxTotalGroupSize);
    }
    kernel->group[0] = block.x;
    kernel->group[1] = block.y;
    kernel->group[2] = block.z;
  }
  for (int i = 0; i < num_args; ++i) {
    if (args[i] == nullptr) {
      return xpbFail(ctx->host, XP_ERROR_INVALID_VALUE,
                     "kernel '%s': argument %d points at nothing", name, i);
    }
    // Pointer arguments are USM addresses, passed by value like the rest.
    ze_result_t result = api->zeKernelSetArgumentValue(kernel->kernel, static_cast<uint32_t>(i),
                                                       arg_sizes[i], args[i]);
    if (result != ZE_RESULT_SUCCESS) {
      return zeFail(ctx, "zeKernelSetArgumentValue", result,
                    "for argument %d (%zu bytes) of kernel '%s'", i, arg_sizes[i], name);
    }
  }
  if (shared_bytes > 0) {
    ze_result_t result = api->zeKernelSetArgumentValue(
        kernel->kernel, static_cast<uint32_t>(num_args), shared_bytes, nullptr);
    if (result != ZE_RESULT_SUCCESS) {
      return zeFail(ctx, "zeKernelSetArgumentValue", result,
                    "for the trailing local-memory argument %d (%zu bytes) of kernel '%s'",
                    num_args, shared_bytes, name);
    }
  }
  const ze_group_count_t groups{grid.x, grid.y, grid.z};
  // The arguments are captured by the append: the caller's storage and the
  // kernel object are free for the next launch when it returns.
  ze_result_t result = api->zeCommandListAppendLaunchKernel(stream->list, kernel->kernel, &groups,
                                                            nullptr, 0, nullptr);
  if (result == ZE_RESULT_SUCCESS && !stream->in_order) {
    result = api->zeCommandListAppendBarrier(stream->list, nullptr, 0, nullptr);
  }
  stream->tail_current = false;
  collectRetained(stream);
  if (result != ZE_RESULT_SUCCESS) {
    return zeFail(ctx, "zeCommandListAppendLaunchKernel", result,
                  "launching '%s' with grid %ux%ux%u, block %ux%ux%u, %zu bytes of local memory "
                  "on level_zero device %d",
                  name, grid.x, grid.y, grid.z, block.x, block.y, block.z, shared_bytes, index);
  }
  return XP_SUCCESS;
}

}  // namespace xpool::level_zero
