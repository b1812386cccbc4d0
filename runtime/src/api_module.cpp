// Modules, kernels and launches.
#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string_view>

#include "errors.h"
#include "registry.h"

using xpool::Device;
using xpool::fail;
using xpool::Runtime;

namespace {

struct FormatName {
  xpModuleFormat format;
  const char *name;
  const char *extension;
};

constexpr FormatName kFormats[] = {
    {XP_MODULE_NATIVE, "native", nullptr},   {XP_MODULE_SHARED_OBJECT, "shared-object", ".so"},
    {XP_MODULE_OPENCL_C, "opencl-c", ".cl"}, {XP_MODULE_SPIRV, "spirv", ".spv"},
    {XP_MODULE_PTX, "ptx", ".ptx"},          {XP_MODULE_CUBIN, "cubin", ".cubin"},
    {XP_MODULE_FATBIN, "fatbin", ".fatbin"}, {XP_MODULE_CUDA_CPP, "cuda-c++", ".cu"},
    {XP_MODULE_HSACO, "hsaco", ".hsaco"},    {XP_MODULE_HIP_CPP, "hip-c++", ".hip"},
};

bool formatFromPath(std::string_view path, xpModuleFormat *format) {
  for (const auto &entry : kFormats) {
    if (entry.extension != nullptr && path.ends_with(entry.extension)) {
      *format = entry.format;
      return true;
    }
  }
  return false;
}

}  // namespace

extern "C" {

const char *xpModuleFormatName(xpModuleFormat format) {
  for (const auto &entry : kFormats) {
    if (entry.format == format) return entry.name;
  }
  return "unknown";
}

xpStatus xpModuleLoadData(int ordinal, xpModuleFormat format, const void *data, size_t bytes,
                          const char *options, xpModule *module) {
  Runtime *runtime = Runtime::acquire("xpModuleLoadData");
  if (runtime == nullptr) return XP_ERROR_NOT_INITIALIZED;
  if (module == nullptr) return fail(XP_ERROR_INVALID_VALUE, "xpModuleLoadData: module is NULL");
  *module = nullptr;
  if (data == nullptr || bytes == 0) {
    return fail(XP_ERROR_INVALID_VALUE, "xpModuleLoadData: no module image (data {}, {} bytes)",
                data, bytes);
  }
  if (std::strcmp(xpModuleFormatName(format), "unknown") == 0) {
    return fail(XP_ERROR_INVALID_VALUE, "xpModuleLoadData: {} is not a module format",
                static_cast<int>(format));
  }
  Device *device = nullptr;
  XP_RETURN_IF_ERROR(runtime->device("xpModuleLoadData", ordinal, &device));
  xpbModule *native = nullptr;
  xpStatus status = device->api().module_load(device->backend->context, device->local, format, data,
                                              bytes, options, &native);
  if (status != XP_SUCCESS) {
    return fail(status, "xpModuleLoadData: {} module of {} bytes on device {} ({}): {}",
                xpModuleFormatName(format), bytes, ordinal, device->backend->name,
                xpool::lastError());
  }
  auto *created = new xpModule_st{device, native, {}};
  runtime->addHandle(created, "module");
  *module = created;
  return XP_SUCCESS;
}

xpStatus xpModuleLoadFile(int ordinal, xpModuleFormat format, const char *path, const char *options,
                          xpModule *module) {
  Runtime *runtime = Runtime::acquire("xpModuleLoadFile");
  if (runtime == nullptr) return XP_ERROR_NOT_INITIALIZED;
  if (path == nullptr) return fail(XP_ERROR_INVALID_VALUE, "xpModuleLoadFile: path is NULL");
  if (format == XP_MODULE_NATIVE && !formatFromPath(path, &format)) format = XP_MODULE_NATIVE;
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return fail(XP_ERROR_NOT_FOUND, "xpModuleLoadFile: cannot open '{}': {}", path,
                std::strerror(errno));
  }
  std::string image((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  if (image.empty()) return fail(XP_ERROR_INVALID_VALUE, "xpModuleLoadFile: '{}' is empty", path);
  xpStatus status = xpModuleLoadData(ordinal, format, image.data(), image.size(), options, module);
  if (status != XP_SUCCESS) {
    return fail(status, "xpModuleLoadFile '{}': {}", path, xpool::lastError());
  }
  return XP_SUCCESS;
}

xpStatus xpModuleUnload(xpModule module) {
  Runtime *runtime = Runtime::acquire("xpModuleUnload");
  if (runtime == nullptr) return XP_ERROR_NOT_INITIALIZED;
  XP_RETURN_IF_ERROR(runtime->checkModule("xpModuleUnload", module));
  runtime->removeHandle(module);
  for (xpKernel kernel : module->kernels) {
    runtime->removeHandle(kernel);
    delete kernel;
  }
  xpStatus status = module->device->api().module_unload(module->native);
  delete module;
  return status;
}

xpStatus xpModuleGetKernel(xpModule module, const char *name, xpKernel *kernel) {
  Runtime *runtime = Runtime::acquire("xpModuleGetKernel");
  if (runtime == nullptr) return XP_ERROR_NOT_INITIALIZED;
  XP_RETURN_IF_ERROR(runtime->checkModule("xpModuleGetKernel", module));
  if (name == nullptr || kernel == nullptr) {
    return fail(XP_ERROR_INVALID_VALUE, "xpModuleGetKernel: name or kernel is NULL");
  }
  *kernel = nullptr;
  for (xpKernel existing : module->kernels) {
    if (existing->name == name) {
      *kernel = existing;
      return XP_SUCCESS;
    }
  }
  xpbKernel *native = nullptr;
  xpStatus status = module->device->api().kernel_get(module->native, name, &native);
  if (status != XP_SUCCESS) {
    return fail(status, "xpModuleGetKernel '{}': {}", name, xpool::lastError());
  }
  auto *created = new xpKernel_st{module, native, name};
  module->kernels.push_back(created);
  runtime->addHandle(created, "kernel");
  *kernel = created;
  return XP_SUCCESS;
}

xpStatus xpLaunchKernel(xpKernel kernel, xpDim3 grid, xpDim3 block, size_t shared_bytes,
                        xpStream stream, void *const *args, const size_t *arg_sizes, int num_args) {
  Runtime *runtime = Runtime::acquire("xpLaunchKernel");
  if (runtime == nullptr) return XP_ERROR_NOT_INITIALIZED;
  XP_RETURN_IF_ERROR(runtime->checkKernel("xpLaunchKernel", kernel));
  Device *device = kernel->module->device;
  if (stream == nullptr) {
    XP_RETURN_IF_ERROR(runtime->defaultStream(device, &stream));
  } else {
    XP_RETURN_IF_ERROR(runtime->checkStream("xpLaunchKernel", stream));
  }
  if (stream->device != device) {
    return fail(XP_ERROR_INVALID_VALUE,
                "xpLaunchKernel '{}': the kernel is loaded on device {} but the stream is on "
                "device {}",
                kernel->name, device->ordinal, stream->device->ordinal);
  }
  if (grid.x == 0 || grid.y == 0 || grid.z == 0 || block.x == 0 || block.y == 0 || block.z == 0) {
    return fail(XP_ERROR_INVALID_VALUE,
                "xpLaunchKernel '{}': grid ({}, {}, {}) and block ({}, {}, {}) must be non-zero",
                kernel->name, grid.x, grid.y, grid.z, block.x, block.y, block.z);
  }
  const uint64_t threads = uint64_t{block.x} * block.y * block.z;
  if (device->props.max_threads_per_block > 0 &&
      threads > static_cast<uint64_t>(device->props.max_threads_per_block)) {
    return fail(XP_ERROR_INVALID_VALUE,
                "xpLaunchKernel '{}': a block of {} threads exceeds device {}'s limit of {}",
                kernel->name, threads, device->ordinal, device->props.max_threads_per_block);
  }
  if (shared_bytes > device->props.shared_mem_per_block) {
    return fail(XP_ERROR_INVALID_VALUE,
                "xpLaunchKernel '{}': {} bytes of shared memory exceed device {}'s {} per block",
                kernel->name, shared_bytes, device->ordinal, device->props.shared_mem_per_block);
  }
  if (num_args < 0 || (num_args > 0 && (args == nullptr || arg_sizes == nullptr))) {
    return fail(XP_ERROR_INVALID_VALUE,
                "xpLaunchKernel '{}': {} arguments but args {} and arg_sizes {}", kernel->name,
                num_args, static_cast<const void *>(args), static_cast<const void *>(arg_sizes));
  }
  xpStatus status = device->api().kernel_launch(stream->native, kernel->native, grid, block,
                                                shared_bytes, args, arg_sizes, num_args);
  if (status != XP_SUCCESS) {
    return fail(status, "xpLaunchKernel '{}' on device {}: {}", kernel->name, device->ordinal,
                xpool::lastError());
  }
  return XP_SUCCESS;
}

}  // extern "C"
