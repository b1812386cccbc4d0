// Modules and kernels of the hip backend: AMD code objects (HSACO, or an
// offload bundle holding them) through hipModuleLoadData, HIP C++ source
// through hiprtc, and launches through hipModuleLaunchKernel.
#include <climits>
#include <cstddef>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "hip_stream.h"

struct xpbKernel {
  xpbModule *module = nullptr;
  hipFunction_t function = nullptr;
  std::string name;
  int max_threads_per_block = 0;  // the kernel's own limit (launch bounds), 0 if unknown
};

struct xpbModule {
  xpbContext *ctx = nullptr;
  int device = 0;
  hipModule_t module = nullptr;
  std::string image;  // the code object, kept for the module's life
  std::mutex mutex;
  std::map<std::string, std::unique_ptr<xpbKernel>> kernels;
};

namespace xpool::hip {
namespace {

// hiprtc of ROCm 5 is not documented as thread-safe: one compile at a time.
std::mutex &hiprtcMutex() {
  static std::mutex mutex;
  return mutex;
}

// Splits build options on blanks, keeping "quoted strings" together.
std::vector<std::string> splitOptions(const char *options) {
  std::vector<std::string> out;
  if (options == nullptr) return out;
  std::string current;
  bool quoted = false, any = false;
  for (const char *p = options; *p != '\0'; ++p) {
    if (*p == '"') {
      quoted = !quoted;
      any = true;
    } else if (!quoted && (*p == ' ' || *p == '\t' || *p == '\n')) {
      if (any) out.push_back(std::move(current));
      current.clear();
      any = false;
    } else {
      current += *p;
      any = true;
    }
  }
  if (any) out.push_back(std::move(current));
  return out;
}

// Compiles HIP C++ with hiprtc into a code object for `device`.
xpStatus compileHipSource(xpbContext *ctx, int device, const char *source, size_t bytes,
                          const char *options, std::string *code) {
  std::string why;
  const HiprtcApi *rtc = loadHiprtcApi(*ctx->api, &why);
  if (rtc == nullptr) return xpbFail(ctx->host, XP_ERROR_NOT_SUPPORTED, "%s", why.c_str());
  // hiprtc compiles for the current device's architecture when the options
  // name none (it asks the HIP runtime for the device's gcnArchName).
  if (xpStatus status = useDevice(ctx, device); status != XP_SUCCESS) return status;
  const std::string text(source, strnlen(source, bytes));
  std::vector<std::string> words = splitOptions(options);
  std::vector<const char *> argv;
  for (const std::string &word : words) argv.push_back(word.c_str());

  std::lock_guard lock(hiprtcMutex());
  hiprtcProgram program = nullptr;
  hiprtcResult result =
      rtc->hiprtcCreateProgram(&program, text.c_str(), "xpool_module.hip", 0, nullptr, nullptr);
  if (result != HIPRTC_SUCCESS) {
    return xpbFail(ctx->host, XP_ERROR_BACKEND,
                   "hiprtcCreateProgram: %s (%d) for %zu bytes of HIP C++ (hiprtc from %s)",
                   hiprtcResultName(result), static_cast<int>(result), bytes, rtc->library.c_str());
  }
  result = rtc->hiprtcCompileProgram(program, static_cast<int>(argv.size()), argv.data());
  std::string log;
  size_t log_size = 0;
  if (rtc->hiprtcGetProgramLogSize(program, &log_size) == HIPRTC_SUCCESS && log_size > 1) {
    log.resize(log_size);
    if (rtc->hiprtcGetProgramLog(program, log.data()) == HIPRTC_SUCCESS) {
      log.resize(strnlen(log.data(), log.size()));
    } else {
      log.clear();
    }
  }
  if (result != HIPRTC_SUCCESS) {
    rtc->hiprtcDestroyProgram(&program);
    const xpStatus status =
        result == HIPRTC_ERROR_COMPILATION || result == HIPRTC_ERROR_INVALID_OPTION
            ? XP_ERROR_BUILD
            : XP_ERROR_BACKEND;
    return xpbFail(ctx->host, status,
                   "hiprtcCompileProgram: %s (%d) compiling HIP C++ for hip device %d with "
                   "options \"%s\":\n%s",
                   hiprtcResultName(result), static_cast<int>(result), device,
                   options != nullptr ? options : "", log.empty() ? "(no build log)" : log.c_str());
  }
  if (!log.empty()) logf(ctx, XPB_LOG_DEBUG, "hiprtc build log:\n%s", log.c_str());
  size_t code_size = 0;
  result = rtc->hiprtcGetCodeSize(program, &code_size);
  if (result == HIPRTC_SUCCESS) {
    code->resize(code_size);
    result = rtc->hiprtcGetCode(program, code->data());
  }
  rtc->hiprtcDestroyProgram(&program);
  if (result != HIPRTC_SUCCESS || code_size == 0) {
    return xpbFail(ctx->host, XP_ERROR_BACKEND, "hiprtcGetCode: %s (%d), %zu bytes of code",
                   hiprtcResultName(result), static_cast<int>(result), code_size);
  }
  return XP_SUCCESS;
}

bool looksLikeCodeObject(const std::string &image) {
  static const char kElf[] = {0x7f, 'E', 'L', 'F'};
  static const char kBundle[] = "__CLANG_OFFLOAD_BUNDLE__";
  return (image.size() >= 4 && std::memcmp(image.data(), kElf, 4) == 0) ||
         (image.size() >= sizeof kBundle - 1 &&
          std::memcmp(image.data(), kBundle, sizeof kBundle - 1) == 0);
}

}  // namespace

xpStatus moduleLoad(xpbContext *ctx, int device, xpModuleFormat format, const void *data,
                    size_t bytes, const char *options, xpbModule **out) {
  auto module = std::make_unique<xpbModule>();
  module->ctx = ctx;
  module->device = device;
  switch (format) {
    case XP_MODULE_NATIVE:
    case XP_MODULE_HSACO:
      module->image.assign(static_cast<const char *>(data), bytes);
      if (!looksLikeCodeObject(module->image)) {
        return xpbFail(ctx->host, XP_ERROR_INVALID_VALUE,
                       "the %zu-byte image is not an AMD code object (neither an ELF file nor a "
                       "clang offload bundle)",
                       bytes);
      }
      break;
    case XP_MODULE_HIP_CPP:
      if (xpStatus status = compileHipSource(ctx, device, static_cast<const char *>(data), bytes,
                                             options, &module->image);
          status != XP_SUCCESS) {
        return status;
      }
      break;
    default:
      return xpbFail(ctx->host, XP_ERROR_NOT_SUPPORTED,
                     "the hip backend loads XP_MODULE_HSACO (AMD code objects) and "
                     "XP_MODULE_HIP_CPP (HIP C++ through hiprtc); module format %d given",
                     static_cast<int>(format));
  }
  if (xpStatus status = useDevice(ctx, device); status != XP_SUCCESS) return status;
  hipError_t error = ctx->api->hipModuleLoadData(&module->module, module->image.data());
  if (error != hipSuccess) {
    const bool wrong_target = error == hipErrorNoBinaryForGpu || error == hipErrorInvalidImage ||
                              error == hipErrorInvalidKernelFile ||
                              error == hipErrorSharedObjectInitFailed;
    return hipFail(
        ctx, "hipModuleLoadData", error, "loading a %zu-byte code object on hip device %d (%s)%s",
        module->image.size(), device, ctx->devices[static_cast<size_t>(device)].name.c_str(),
        wrong_target ? "; is it built for this GPU's architecture (--offload-arch)?" : "");
  }
  *out = module.release();
  return XP_SUCCESS;
}

xpStatus moduleUnload(xpbModule *module) {
  xpbContext *ctx = module->ctx;
  // No launch of its kernels may still be queued or running.
  xpStatus status = drainDevice(ctx, module->device, "hipModuleUnload");
  if (status == XP_SUCCESS) status = useDevice(ctx, module->device);
  if (status == XP_SUCCESS) {
    hipError_t error = ctx->api->hipModuleUnload(module->module);
    if (error != hipSuccess) {
      status = hipFail(ctx, "hipModuleUnload", error, "on hip device %d", module->device);
    }
  }
  delete module;  // and its kernels
  return status;
}

xpStatus kernelGet(xpbModule *module, const char *name, xpbKernel **out) {
  std::lock_guard lock(module->mutex);
  if (auto found = module->kernels.find(name); found != module->kernels.end()) {
    *out = found->second.get();
    return XP_SUCCESS;
  }
  xpbContext *ctx = module->ctx;
  if (xpStatus status = useDevice(ctx, module->device); status != XP_SUCCESS) return status;
  auto kernel = std::make_unique<xpbKernel>();
  kernel->module = module;
  kernel->name = name;
  hipError_t error = ctx->api->hipModuleGetFunction(&kernel->function, module->module, name);
  if (error == hipErrorNotFound || error == hipErrorInvalidDeviceFunction) {
    return ctx->host->set_error(
        XP_ERROR_NOT_FOUND,
        describeHipFailure(ctx->api, "hipModuleGetFunction", error,
                           formatText("for kernel '%s': the module has no kernel of that name "
                                      "(HIP C++ kernels need extern \"C\" or their mangled name)",
                                      name))
            .c_str());
  }
  if (error != hipSuccess) {
    return hipFail(ctx, "hipModuleGetFunction", error, "for kernel '%s' on hip device %d", name,
                   module->device);
  }
  if (ctx->api->hipFuncGetAttribute != nullptr) {
    int limit = 0;
    if (ctx->api->hipFuncGetAttribute(&limit, HIP_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK,
                                      kernel->function) == hipSuccess) {
      kernel->max_threads_per_block = limit;
    }
  }
  *out = kernel.get();
  module->kernels[name] = std::move(kernel);
  return XP_SUCCESS;
}

xpStatus kernelLaunch(xpbStream *stream, xpbKernel *kernel, xpDim3 grid, xpDim3 block,
                      size_t shared_bytes, void *const *args, const size_t *arg_sizes,
                      int num_args) {
  xpbContext *ctx = stream->ctx;
  if (kernel->module->device != stream->device) {
    return xpbFail(ctx->host, XP_ERROR_INVALID_VALUE,
                   "kernel '%s' was loaded on hip device %d but the stream is on device %d",
                   kernel->name.c_str(), kernel->module->device, stream->device);
  }
  const uint64_t threads = uint64_t{block.x} * block.y * block.z;
  if (kernel->max_threads_per_block > 0 &&
      threads > static_cast<uint64_t>(kernel->max_threads_per_block)) {
    return xpbFail(ctx->host, XP_ERROR_INVALID_VALUE,
                   "kernel '%s' allows at most %d threads per block (its launch bounds); the "
                   "block %ux%ux%u has %llu",
                   kernel->name.c_str(), kernel->max_threads_per_block, block.x, block.y, block.z,
                   static_cast<unsigned long long>(threads));
  }
  if (shared_bytes > UINT_MAX) {
    return xpbFail(ctx->host, XP_ERROR_INVALID_VALUE,
                   "kernel '%s': %zu bytes of dynamic shared memory do not fit HIP's 32-bit size",
                   kernel->name.c_str(), shared_bytes);
  }
  // Copy the argument values now: the caller may reuse its storage at once,
  // and a launch queued behind a host function reads them later. HIP knows
  // each parameter's size from the kernel's metadata and copies that many
  // bytes from kernelParams[i]; it has no call that tells how many
  // parameters a kernel takes, so the count cannot be checked here.
  struct Arguments {
    std::vector<std::max_align_t> storage;
    std::vector<void *> pointers;
  };
  auto arguments = std::make_shared<Arguments>();
  std::vector<size_t> offsets(static_cast<size_t>(num_args));
  size_t total = 0;
  for (int i = 0; i < num_args; ++i) {
    if (args[i] == nullptr) {
      return xpbFail(ctx->host, XP_ERROR_INVALID_VALUE,
                     "kernel '%s': argument %d points at nothing", kernel->name.c_str(), i);
    }
    offsets[static_cast<size_t>(i)] = total;
    total += (arg_sizes[i] + alignof(std::max_align_t) - 1) & ~(alignof(std::max_align_t) - 1);
  }
  arguments->storage.resize((total + sizeof(std::max_align_t) - 1) / sizeof(std::max_align_t) + 1);
  char *base = reinterpret_cast<char *>(arguments->storage.data());
  for (int i = 0; i < num_args; ++i) {
    std::memcpy(base + offsets[static_cast<size_t>(i)], args[i], arg_sizes[i]);
    arguments->pointers.push_back(base + offsets[static_cast<size_t>(i)]);
  }

  const HipApi *api = ctx->api;
  hipFunction_t function = kernel->function;
  hipStream_t native = stream->stream;
  const std::string name = kernel->name;
  const int device = stream->device;
  const auto shared = static_cast<unsigned>(shared_bytes);
  return submitDevice(stream, [=]() -> Outcome {
    hipError_t error = api->hipModuleLaunchKernel(
        function, grid.x, grid.y, grid.z, block.x, block.y, block.z, shared, native,
        arguments->pointers.empty() ? nullptr : arguments->pointers.data(), nullptr);
    if (error == hipSuccess) return {};
    return hipOutcome(api, "hipModuleLaunchKernel", error,
                      "launching '%s' with grid %ux%ux%u, block %ux%ux%u, %u bytes of dynamic "
                      "shared memory, %zu argument(s) on hip device %d",
                      name.c_str(), grid.x, grid.y, grid.z, block.x, block.y, block.z, shared,
                      arguments->pointers.size(), device);
  });
}

}  // namespace xpool::hip
