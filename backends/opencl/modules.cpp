// Modules (OpenCL programs built for one device) and the kernels in them.
#include <cstring>

#include "objects.h"

xpbKernel::~xpbKernel() {
  if (kernel != nullptr) cl->clReleaseKernel(kernel);
}

namespace xpool::opencl {

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

std::string programString(const ClApi &cl, cl_program program, cl_program_info what) {
  size_t size = 0;
  if (cl.clGetProgramInfo(program, what, 0, nullptr, &size) != CL_SUCCESS || size == 0) return "";
  std::string text(size, '\0');
  if (cl.clGetProgramInfo(program, what, size, text.data(), nullptr) != CL_SUCCESS) return "";
  text.resize(std::strlen(text.c_str()));
  return text;
}

std::string buildLog(const ClApi &cl, cl_program program, cl_device_id device) {
  size_t size = 0;
  if (cl.clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, 0, nullptr, &size) !=
          CL_SUCCESS ||
      size == 0) {
    return "";
  }
  std::string text(size, '\0');
  if (cl.clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, size, text.data(), nullptr) !=
      CL_SUCCESS) {
    return "";
  }
  text.resize(std::strlen(text.c_str()));
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

// Builds `program` for the module's device; on failure sets the error with
// the whole build log (never truncated) and releases the program.
xpStatus build(xpbContext *ctx, Device *d, cl_program program, const char *what,
               const char *options) {
  const ClApi &cl = *ctx->cl;
  // Argument qualifiers tell kernel_launch which arguments are buffers.
  std::string flags = options != nullptr ? options : "";
  if (flags.find("-cl-kernel-arg-info") == std::string::npos) {
    flags += flags.empty() ? "-cl-kernel-arg-info" : " -cl-kernel-arg-info";
  }
  cl_int err = cl.clBuildProgram(program, 1, &d->id, flags.c_str(), nullptr, nullptr);
  std::string log = buildLog(cl, program, d->id);
  if (err != CL_SUCCESS) {
    cl.clReleaseProgram(program);
    xpStatus status = statusFromCl(err);
    if (status == XP_ERROR_BACKEND) status = XP_ERROR_BUILD;
    std::string message = std::string("clBuildProgram: ") + clErrorName(err) + " (" +
                          std::to_string(err) + ") building " + what + " for " + d->label +
                          " with options \"" + flags + "\"; build log:\n" +
                          (log.empty() ? "(empty)" : log);
    return ctx->host->set_error(status, message.c_str());
  }
  if (!log.empty()) {
    logf(ctx->host, XPB_LOG_DEBUG, "build log of %s for %s:\n%.1900s", what, d->label.c_str(),
         log.c_str());
  }
  return XP_SUCCESS;
}

xpStatus createFromSource(xpbContext *ctx, Device *d, const void *data, size_t bytes,
                          cl_program *program) {
  const char *text = static_cast<const char *>(data);
  if (bytes == 0) bytes = std::strlen(text);
  while (bytes > 0 && text[bytes - 1] == '\0') --bytes;  // a trailing NUL is not source
  if (bytes == 0) {
    return xpbFail(ctx->host, XP_ERROR_INVALID_VALUE, "module_load: empty OpenCL C source for %s",
                   d->label.c_str());
  }
  cl_int err = CL_SUCCESS;
  *program = ctx->cl->clCreateProgramWithSource(d->platform->context, 1, &text, &bytes, &err);
  if (*program == nullptr || err != CL_SUCCESS) {
    return clFail(ctx->host, "clCreateProgramWithSource", err,
                  "loading %zu bytes of OpenCL C for %s", bytes, d->label.c_str());
  }
  return XP_SUCCESS;
}

xpStatus createFromSpirv(xpbContext *ctx, Device *d, const void *data, size_t bytes,
                         cl_program *program) {
  const ClApi &cl = *ctx->cl;
  if (cl.clCreateProgramWithIL == nullptr) {
    return xpbFail(ctx->host, XP_ERROR_NOT_SUPPORTED,
                   "module_load: cannot load SPIR-V for %s: the OpenCL ICD loader %s has no "
                   "clCreateProgramWithIL (OpenCL 2.1)",
                   d->label.c_str(), cl.library.c_str());
  }
  if (d->il_version.find("SPIR-V") == std::string::npos) {
    return xpbFail(ctx->host, XP_ERROR_NOT_SUPPORTED,
                   "module_load: %s does not accept SPIR-V (CL_DEVICE_IL_VERSION is \"%s\"; "
                   "device version \"%s\", platform \"%s\"); load OpenCL C source instead",
                   d->label.c_str(), d->il_version.c_str(), d->version.c_str(),
                   d->platform->version.c_str());
  }
  if (bytes == 0 || bytes % 4 != 0) {
    return xpbFail(ctx->host, XP_ERROR_INVALID_VALUE,
                   "module_load: %zu bytes is not a SPIR-V module (a whole number of 32-bit words)",
                   bytes);
  }
  cl_int err = CL_SUCCESS;
  *program = cl.clCreateProgramWithIL(d->platform->context, data, bytes, &err);
  if (*program == nullptr || err != CL_SUCCESS) {
    return clFailAs(ctx->host, err == CL_INVALID_VALUE ? XP_ERROR_NOT_SUPPORTED : statusFromCl(err),
                    "clCreateProgramWithIL", err,
                    "loading a %zu-byte SPIR-V module for %s (CL_DEVICE_IL_VERSION \"%s\"): the "
                    "OpenCL platform rejected it",
                    bytes, d->label.c_str(), d->il_version.c_str());
  }
  return XP_SUCCESS;
}

}  // namespace

xpStatus moduleLoad(xpbContext *ctx, int device, xpModuleFormat format, const void *data,
                    size_t bytes, const char *options, xpbModule **out) {
  Device *d = deviceAt(ctx, device, "module_load");
  if (d == nullptr) return XP_ERROR_INVALID_VALUE;
  if (out == nullptr || data == nullptr) {
    return xpbFail(ctx->host, XP_ERROR_INVALID_VALUE, "module_load: %s is NULL",
                   out == nullptr ? "module" : "data");
  }
  cl_program program = nullptr;
  xpStatus status = XP_SUCCESS;
  const char *what = "";
  switch (format) {
    case XP_MODULE_NATIVE:  // OpenCL C is what an OpenCL device loads by default
    case XP_MODULE_OPENCL_C:
      status = createFromSource(ctx, d, data, bytes, &program);
      what = "an OpenCL C module";
      break;
    case XP_MODULE_SPIRV:
      status = createFromSpirv(ctx, d, data, bytes, &program);
      what = "a SPIR-V module";
      break;
    default:
      return xpbFail(ctx->host, XP_ERROR_NOT_SUPPORTED,
                     "module_load: the opencl backend cannot load XP_MODULE_%s modules (format "
                     "%d); it loads XP_MODULE_OPENCL_C (2), XP_MODULE_NATIVE (0, also OpenCL C) "
                     "and XP_MODULE_SPIRV (3) on devices that accept SPIR-V",
                     formatName(format), static_cast<int>(format));
  }
  if (status != XP_SUCCESS) return status;
  status = build(ctx, d, program, what, options);
  if (status != XP_SUCCESS) return status;

  auto *module = new xpbModule;
  module->ctx = ctx;
  module->dev = d;
  module->format = format;
  module->program = program;
  {
    std::lock_guard<std::mutex> lock(ctx->mu);
    ctx->modules.insert(module);
  }
  *out = module;
  return XP_SUCCESS;
}

xpStatus moduleUnload(xpbModule *module) {
  if (module == nullptr) return XP_ERROR_INVALID_HANDLE;
  xpbContext *ctx = module->ctx;
  {
    std::lock_guard<std::mutex> lock(ctx->mu);
    ctx->modules.erase(module);
  }
  {
    // Launches still deferred behind a host function keep their kernel.
    std::lock_guard<std::mutex> lock(module->mu);
    module->kernels.clear();
  }
  ctx->cl->clReleaseProgram(module->program);  // kernels hold their own reference
  delete module;
  return XP_SUCCESS;
}

xpStatus kernelGet(xpbModule *module, const char *name, xpbKernel **out) {
  xpbContext *ctx = module->ctx;
  const ClApi &cl = *ctx->cl;
  Device *d = module->dev;
  if (name == nullptr || out == nullptr) {
    return xpbFail(ctx->host, XP_ERROR_INVALID_VALUE, "kernel_get: %s is NULL",
                   name == nullptr ? "name" : "kernel");
  }
  std::lock_guard<std::mutex> lock(module->mu);
  auto found = module->kernels.find(name);
  if (found != module->kernels.end()) {
    *out = found->second.get();
    return XP_SUCCESS;
  }
  cl_int err = CL_SUCCESS;
  cl_kernel handle = cl.clCreateKernel(module->program, name, &err);
  if (handle == nullptr || err != CL_SUCCESS) {
    if (err == CL_INVALID_KERNEL_NAME) {
      std::string names = programString(cl, module->program, CL_PROGRAM_KERNEL_NAMES);
      for (char &c : names) {
        if (c == ';') c = ',';
      }
      return xpbFail(ctx->host, XP_ERROR_NOT_FOUND,
                     "kernel_get: no kernel \"%s\" in the module for %s; its kernels: %s", name,
                     d->label.c_str(), names.empty() ? "(none)" : names.c_str());
    }
    return clFail(ctx->host, "clCreateKernel", err, "creating kernel \"%s\" for %s", name,
                  d->label.c_str());
  }
  auto kernel = std::make_shared<xpbKernel>();
  kernel->cl = &cl;
  kernel->dev = d;
  kernel->name = name;
  kernel->kernel = handle;
  err = cl.clGetKernelInfo(handle, CL_KERNEL_NUM_ARGS, sizeof(cl_uint), &kernel->num_args, nullptr);
  if (err != CL_SUCCESS) {
    return clFail(ctx->host, "clGetKernelInfo", err, "reading CL_KERNEL_NUM_ARGS of \"%s\" on %s",
                  name, d->label.c_str());
  }
  kernel->arg_info = true;
  kernel->qualifiers.assign(kernel->num_args, CL_KERNEL_ARG_ADDRESS_PRIVATE);
  for (cl_uint i = 0; i < kernel->num_args && kernel->arg_info; ++i) {
    err = cl.clGetKernelArgInfo(handle, i, CL_KERNEL_ARG_ADDRESS_QUALIFIER,
                                sizeof(cl_kernel_arg_address_qualifier), &kernel->qualifiers[i],
                                nullptr);
    if (err != CL_SUCCESS) {
      // SPIR-V programs may carry no argument info: kernel_launch then
      // treats pointer-sized values that resolve to a buffer as buffers.
      kernel->arg_info = false;
      logf(ctx->host, XPB_LOG_DEBUG, "kernel \"%s\" on %s: no argument info (%s)", name,
           d->label.c_str(), clErrorName(err));
    }
  }
  kernel->work_group_size = d->max_work_group;
  cl.clGetKernelWorkGroupInfo(handle, d->id, CL_KERNEL_WORK_GROUP_SIZE, sizeof(size_t),
                              &kernel->work_group_size, nullptr);
  *out = kernel.get();
  module->kernels.emplace(name, std::move(kernel));
  return XP_SUCCESS;
}

}  // namespace xpool::opencl
