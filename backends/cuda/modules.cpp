// Modules and kernels of the cuda backend: PTX, cubin and fatbin through
// the driver (PTX is JIT-compiled by it), CUDA C++ through NVRTC.
#include <climits>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "streams.h"

struct xpbKernel {
  xpbModule *module = nullptr;
  CUfunction function = nullptr;
  std::string name;
  int max_threads = 0;    // per block, for this kernel's register use
  int static_shared = 0;  // bytes of __shared__ arrays
  int param_count = -1;   // -1: the driver cannot say (older than 12.4)
  std::vector<size_t> param_sizes;
  std::mutex mutex;  // guards dynamic_shared_limit
  int dynamic_shared_limit = 0;
};

struct xpbModule {
  xpbContext *ctx = nullptr;
  xpool::cuda::CudaDevice *device = nullptr;
  CUmodule module = nullptr;
  xpModuleFormat format = XP_MODULE_NATIVE;
  std::mutex mutex;  // guards kernels
  std::map<std::string, std::unique_ptr<xpbKernel>> kernels;
};

namespace xpool::cuda {
namespace {

const char *formatName(xpModuleFormat format) {
  switch (format) {
    case XP_MODULE_NATIVE:
      return "NATIVE";
    case XP_MODULE_SHARED_OBJECT:
      return "SHARED_OBJECT";
    case XP_MODULE_OPENCL_C:
      return "OPENCL_C";
    case XP_MODULE_SPIRV:
      return "SPIRV";
    case XP_MODULE_PTX:
      return "PTX";
    case XP_MODULE_CUBIN:
      return "CUBIN";
    case XP_MODULE_FATBIN:
      return "FATBIN";
    case XP_MODULE_CUDA_CPP:
      return "CUDA_CPP";
    case XP_MODULE_HSACO:
      return "HSACO";
    case XP_MODULE_HIP_CPP:
      return "HIP_CPP";
  }
  return "unknown";
}

constexpr uint32_t kFatbinMagic = 0xBA55ED50u;

// What NATIVE data is: an ELF image is a cubin, the fatbin magic a fatbin,
// text starting with a comment or .version PTX (what nvcc and NVRTC emit).
// CUDA C++ source is recognised too: a __global__ in text that has no PTX
// .entry (a .cu file may start with a comment as well).
xpModuleFormat sniff(const void *data, size_t bytes) {
  constexpr char kElfMagic[] = {0x7f, 'E', 'L', 'F'};
  const auto *p = static_cast<const char *>(data);
  if (bytes >= 4 && std::memcmp(p, kElfMagic, 4) == 0) return XP_MODULE_CUBIN;
  if (bytes >= 4) {
    uint32_t magic = 0;
    std::memcpy(&magic, p, sizeof magic);
    if (magic == kFatbinMagic) return XP_MODULE_FATBIN;
  }
  size_t i = 0;
  while (i < bytes && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n')) ++i;
  const std::string_view text(p + i, bytes - i);
  constexpr auto npos = std::string_view::npos;
  if (text.rfind(".version", 0) == 0) return XP_MODULE_PTX;
  if (text.find("__global__") != npos && text.find(".entry") == npos) return XP_MODULE_CUDA_CPP;
  if (text.rfind("//", 0) == 0) return XP_MODULE_PTX;
  return XP_MODULE_NATIVE;  // unknown
}

// Loads an image (PTX text with its NUL, a cubin or a fatbin) into the
// current context, with the JIT's logs kept for the message.
xpStatus loadImage(xpbContext *ctx, const CudaDevice &device, const void *image, const char *label,
                   CUmodule *out) {
  std::vector<char> error_log(32 * 1024, '\0');
  std::vector<char> info_log(8 * 1024, '\0');
  CUjit_option options[] = {CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES,
                            CU_JIT_INFO_LOG_BUFFER, CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES};
  void *values[] = {error_log.data(), reinterpret_cast<void *>(error_log.size() - 1),
                    info_log.data(), reinterpret_cast<void *>(info_log.size() - 1)};
  const CUresult r = ctx->api.cuModuleLoadDataEx(out, image, 4, options, values);
  if (r == CUDA_SUCCESS) {
    if (info_log[0] != '\0') {
      ctx->log(XPB_LOG_DEBUG, format("JIT log of %s: %s", label, info_log.data()));
    }
    return XP_SUCCESS;
  }
  std::string what = format("loading %s on cuda device %d", label, device.index);
  if (error_log[0] != '\0') {
    what += format("; JIT error log:\n%s", error_log.data());
  } else if (info_log[0] != '\0') {
    what += format("; JIT log:\n%s", info_log.data());
  }
  return failCuda(ctx->host, ctx->api, "cuModuleLoadDataEx", r, what);
}

// Names of the kernels in `module`, for "no kernel named" messages.
std::string kernelNames(const CudaApi &api, CUmodule module) {
  unsigned count = 0;
  if (api.cuModuleGetFunctionCount == nullptr || api.cuModuleEnumerateFunctions == nullptr ||
      api.cuFuncGetName == nullptr ||
      api.cuModuleGetFunctionCount(&count, module) != CUDA_SUCCESS) {
    return {};
  }
  if (count == 0) return "it has no kernels";
  std::vector<CUfunction> functions(count);
  if (api.cuModuleEnumerateFunctions(functions.data(), count, module) != CUDA_SUCCESS) return {};
  std::string names;
  constexpr unsigned kShown = 20;
  for (unsigned i = 0; i < count && i < kShown; ++i) {
    const char *name = nullptr;
    if (api.cuFuncGetName(&name, functions[i]) != CUDA_SUCCESS || name == nullptr) continue;
    names += (names.empty() ? "" : ", ") + format("'%s'", name);
  }
  if (count > kShown) names += format(" and %u more", count - kShown);
  return "it has " + names;
}

}  // namespace

xpStatus moduleLoad(xpbContext *ctx, int index, xpModuleFormat requested, const void *data,
                    size_t bytes, const char *options, xpbModule **out) {
  CudaDevice &device = ctx->device(index);
  xpModuleFormat kind = requested;
  if (kind == XP_MODULE_NATIVE) {
    kind = sniff(data, bytes);
    if (kind == XP_MODULE_NATIVE) {
      return fail(
          ctx->host, XP_ERROR_INVALID_VALUE,
          format("the %zu bytes are not a CUDA module: not a cubin (ELF), a fatbin (magic "
                 "0x%08X), PTX (text starting with // or .version) or CUDA C++ (__global__)",
                 bytes, kFatbinMagic));
    }
  }
  if (kind != XP_MODULE_PTX && kind != XP_MODULE_CUBIN && kind != XP_MODULE_FATBIN &&
      kind != XP_MODULE_CUDA_CPP) {
    return fail(ctx->host, XP_ERROR_NOT_SUPPORTED,
                format("the cuda backend does not load %s modules; it loads PTX, "
                       "CUBIN, FATBIN, CUDA_CPP and NATIVE (any of those)",
                       formatName(kind)));
  }

  // A private, aligned, NUL-terminated copy: the driver wants PTX terminated
  // and parses binary images in place.
  std::vector<uint64_t> storage(bytes / sizeof(uint64_t) + 1, 0);
  std::memcpy(storage.data(), data, bytes);
  const void *image = storage.data();
  NvrtcOutput compiled;
  std::string label = format("a %zu-byte %s module", bytes, formatName(kind));
  if (kind == XP_MODULE_CUDA_CPP) {
    const std::string source(static_cast<const char *>(data), bytes);
    if (xpStatus status = ctx->nvrtc.compile(ctx->host, source, options, device.compute_major,
                                             device.compute_minor, &compiled);
        status != XP_SUCCESS) {
      return status;
    }
    if (!compiled.log.empty()) {
      ctx->log(XPB_LOG_INFO, format("NVRTC warnings:\n%s", compiled.log.c_str()));
    }
    image = compiled.image.data();
    label += format(" compiled by NVRTC (%s) to %s", compiled.options.c_str(),
                    compiled.is_ptx ? "PTX" : "a cubin");
  } else if (options != nullptr && *options != '\0') {
    ctx->log(XPB_LOG_DEBUG,
             format("build options '%s' ignored for %s modules", options, formatName(kind)));
  }

  ScopedContext scope(ctx->api, device);
  CUmodule handle = nullptr;
  if (xpStatus status = loadImage(ctx, device, image, label.c_str(), &handle);
      status != XP_SUCCESS) {
    return status;
  }
  auto *module = new xpbModule;
  module->ctx = ctx;
  module->device = &device;
  module->module = handle;
  module->format = kind;
  *out = module;
  return XP_SUCCESS;
}

xpStatus moduleUnload(xpbModule *module) {
  xpbContext *ctx = module->ctx;
  const int index = module->device->index;
  CUresult r;
  {
    ScopedContext scope(ctx->api, *module->device);
    r = ctx->api.cuModuleUnload(module->module);
  }
  delete module;
  if (r != CUDA_SUCCESS) {
    return failCuda(ctx->host, ctx->api, "cuModuleUnload", r,
                    format("unloading a module of cuda device %d", index));
  }
  return XP_SUCCESS;
}

xpStatus kernelGet(xpbModule *module, const char *name, xpbKernel **out) {
  xpbContext *ctx = module->ctx;
  const CudaApi &api = ctx->api;
  std::lock_guard lock(module->mutex);
  if (auto found = module->kernels.find(name); found != module->kernels.end()) {
    *out = found->second.get();
    return XP_SUCCESS;
  }
  ScopedContext scope(api, *module->device);
  CUfunction function = nullptr;
  if (CUresult r = api.cuModuleGetFunction(&function, module->module, name); r != CUDA_SUCCESS) {
    if (r != CUDA_ERROR_NOT_FOUND) {
      return failCuda(
          ctx->host, api, "cuModuleGetFunction", r,
          format("looking up kernel '%s' on cuda device %d", name, module->device->index));
    }
    std::string message = format("the module has no kernel named '%s'", name);
    if (std::string names = kernelNames(api, module->module); !names.empty()) {
      message += " (" + names + ")";
    }
    if (module->format == XP_MODULE_CUDA_CPP) {
      message += "; CUDA C++ kernels keep their plain names only when declared extern \"C\"";
    }
    return fail(ctx->host, XP_ERROR_NOT_FOUND, message);
  }
  auto kernel = std::make_unique<xpbKernel>();
  kernel->module = module;
  kernel->function = function;
  kernel->name = name;
  api.cuFuncGetAttribute(&kernel->max_threads, CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK, function);
  api.cuFuncGetAttribute(&kernel->static_shared, CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES, function);
  if (api.cuFuncGetAttribute(&kernel->dynamic_shared_limit,
                             CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                             function) != CUDA_SUCCESS) {
    kernel->dynamic_shared_limit = 48 * 1024 - kernel->static_shared;
  }
  if (api.cuFuncGetParamInfo != nullptr) {
    // Parameter i exists while the driver answers for it; a kernel takes at
    // most 32764 bytes of parameters, so at most that many.
    constexpr size_t kMaxParams = 32764;
    for (size_t i = 0; i < kMaxParams; ++i) {
      size_t offset = 0, size = 0;
      if (api.cuFuncGetParamInfo(function, i, &offset, &size) != CUDA_SUCCESS) break;
      kernel->param_sizes.push_back(size);
    }
    kernel->param_count = static_cast<int>(kernel->param_sizes.size());
  }
  *out = kernel.get();
  module->kernels.emplace(name, std::move(kernel));
  return XP_SUCCESS;
}

xpStatus kernelLaunch(xpbStream *stream, xpbKernel *kernel, xpDim3 grid, xpDim3 block,
                      size_t shared_bytes, void *const *args, const size_t *arg_sizes,
                      int num_args) {
  xpbContext *ctx = stream->ctx;
  const CudaApi &api = ctx->api;
  const char *name = kernel->name.c_str();
  const CudaDevice &device = *stream->device;
  if (kernel->module->device != stream->device) {
    return fail(ctx->host, XP_ERROR_INVALID_VALUE,
                format("kernel '%s' was loaded on cuda device %d but the stream is on cuda device "
                       "%d",
                       name, kernel->module->device->index, device.index));
  }
  const uint64_t threads = uint64_t{block.x} * block.y * block.z;
  if (kernel->max_threads > 0 && threads > static_cast<uint64_t>(kernel->max_threads)) {
    return fail(ctx->host, XP_ERROR_INVALID_VALUE,
                format("kernel '%s' runs at most %d threads per block on cuda device %d (its "
                       "register use and launch bounds); the block %ux%ux%u has %llu",
                       name, kernel->max_threads, device.index, block.x, block.y, block.z,
                       static_cast<unsigned long long>(threads)));
  }
  // The driver copies each argument's value from args[i] at launch, sized
  // by the kernel's own parameter list: fewer or smaller values than it
  // expects would make it read past them.
  if (kernel->param_count >= 0) {
    if (num_args < kernel->param_count ||
        (kernel->param_count > 0 && num_args > kernel->param_count)) {
      return fail(ctx->host, XP_ERROR_INVALID_VALUE,
                  format("kernel '%s' takes %d argument(s); %d given", name, kernel->param_count,
                         num_args));
    }
    for (int i = 0; i < kernel->param_count; ++i) {
      const size_t expected = kernel->param_sizes[static_cast<size_t>(i)];
      if (arg_sizes[i] < expected) {
        return fail(ctx->host, XP_ERROR_INVALID_VALUE,
                    format("kernel '%s': argument %d is %zu bytes; the kernel's parameter is %zu "
                           "bytes",
                           name, i, arg_sizes[i], expected));
      }
    }
  }
  for (int i = 0; i < num_args; ++i) {
    if (args[i] == nullptr) {
      return fail(ctx->host, XP_ERROR_INVALID_VALUE,
                  format("kernel '%s': argument %d points at nothing", name, i));
    }
  }
  const uint64_t shared_limit =
      device.shared_mem_per_block > kernel->static_shared
          ? static_cast<uint64_t>(device.shared_mem_per_block - kernel->static_shared)
          : 0;
  if (shared_bytes > shared_limit || shared_bytes > UINT_MAX) {
    return fail(ctx->host, XP_ERROR_INVALID_VALUE,
                format("kernel '%s' asks for %zu bytes of dynamic shared memory; cuda device %d "
                       "allows %d bytes per block, of which the kernel's static shared memory "
                       "uses %d",
                       name, shared_bytes, device.index, device.shared_mem_per_block,
                       kernel->static_shared));
  }

  ScopedContext scope(api, device);
  {
    // Above 48 KiB the kernel must opt in to more dynamic shared memory.
    std::lock_guard lock(kernel->mutex);
    if (shared_bytes > static_cast<size_t>(kernel->dynamic_shared_limit)) {
      if (CUresult r = api.cuFuncSetAttribute(kernel->function,
                                              CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                                              static_cast<int>(shared_bytes));
          r != CUDA_SUCCESS) {
        return failCuda(ctx->host, api, "cuFuncSetAttribute", r,
                        format("allowing kernel '%s' %zu bytes of dynamic shared memory on cuda "
                               "device %d",
                               name, shared_bytes, device.index));
      }
      kernel->dynamic_shared_limit = static_cast<int>(shared_bytes);
    }
  }
  // kernelParams may be args itself: the driver copies the values during
  // this call, so the caller may reuse its storage as soon as we return.
  if (CUresult r = api.cuLaunchKernel(kernel->function, grid.x, grid.y, grid.z, block.x, block.y,
                                      block.z, static_cast<unsigned>(shared_bytes), stream->stream,
                                      num_args > 0 ? const_cast<void **>(args) : nullptr, nullptr);
      r != CUDA_SUCCESS) {
    return failCuda(ctx->host, api, "cuLaunchKernel", r,
                    format("launching '%s' with grid %ux%ux%u, block %ux%ux%u and %zu bytes of "
                           "dynamic shared memory on cuda device %d",
                           name, grid.x, grid.y, grid.z, block.x, block.y, block.z, shared_bytes,
                           device.index));
  }
  return XP_SUCCESS;
}

}  // namespace xpool::cuda
