#include "diag.h"

#include <cstdarg>
#include <cstdio>

namespace xpool::opencl {

namespace {

std::string vmessage(const char *call, cl_int code, const char *format, va_list args) {
  char detail[2048];
  vsnprintf(detail, sizeof detail, format, args);
  return std::string(call) + ": " + clErrorName(code) + " (" + std::to_string(code) + ")" +
         (detail[0] != '\0' ? " " : "") + detail;
}

}  // namespace

xpStatus statusFromCl(cl_int code) {
  switch (code) {
    case CL_SUCCESS:
      return XP_SUCCESS;
    case CL_MEM_OBJECT_ALLOCATION_FAILURE:
    case CL_OUT_OF_RESOURCES:
    case CL_OUT_OF_HOST_MEMORY:
      return XP_ERROR_OUT_OF_MEMORY;
    case CL_DEVICE_NOT_FOUND:
    case CL_DEVICE_NOT_AVAILABLE:
    case CL_PLATFORM_NOT_FOUND_KHR:
      return XP_ERROR_NO_DEVICE;
    case CL_BUILD_PROGRAM_FAILURE:
    case CL_COMPILE_PROGRAM_FAILURE:
    case CL_LINK_PROGRAM_FAILURE:
      return XP_ERROR_BUILD;
    case CL_INVALID_KERNEL_NAME:
      return XP_ERROR_NOT_FOUND;
    case CL_COMPILER_NOT_AVAILABLE:
    case CL_LINKER_NOT_AVAILABLE:
      return XP_ERROR_NOT_SUPPORTED;
    case CL_MEM_COPY_OVERLAP:
    case CL_MISALIGNED_SUB_BUFFER_OFFSET:
    case CL_INVALID_BUILD_OPTIONS:
    case CL_INVALID_ARG_INDEX:
    case CL_INVALID_ARG_VALUE:
    case CL_INVALID_ARG_SIZE:
    case CL_INVALID_KERNEL_ARGS:
    case CL_INVALID_WORK_DIMENSION:
    case CL_INVALID_WORK_GROUP_SIZE:
    case CL_INVALID_WORK_ITEM_SIZE:
    case CL_INVALID_GLOBAL_WORK_SIZE:
    case CL_INVALID_BUFFER_SIZE:
      return XP_ERROR_INVALID_VALUE;
    default:
      return XP_ERROR_BACKEND;
  }
}

OpStatus clError(const char *call, cl_int code, const char *format, ...) {
  va_list args;
  va_start(args, format);
  OpStatus op{statusFromCl(code), vmessage(call, code, format, args)};
  va_end(args);
  if (op.status == XP_SUCCESS) op.status = XP_ERROR_BACKEND;
  return op;
}

xpStatus report(const xpbHostApi *host, const OpStatus &op) {
  if (op.ok()) return XP_SUCCESS;
  return host->set_error(op.status, op.message.c_str());
}

xpStatus clFail(const xpbHostApi *host, const char *call, cl_int code, const char *format, ...) {
  va_list args;
  va_start(args, format);
  std::string message = vmessage(call, code, format, args);
  va_end(args);
  xpStatus status = statusFromCl(code);
  return host->set_error(status == XP_SUCCESS ? XP_ERROR_BACKEND : status, message.c_str());
}

xpStatus clFailAs(const xpbHostApi *host, xpStatus status, const char *call, cl_int code,
                  const char *format, ...) {
  va_list args;
  va_start(args, format);
  std::string message = vmessage(call, code, format, args);
  va_end(args);
  return host->set_error(status, message.c_str());
}

void logf(const xpbHostApi *host, xpbLogLevel level, const char *format, ...) {
  if (host == nullptr || host->log == nullptr) return;
  char message[2048];
  va_list args;
  va_start(args, format);
  vsnprintf(message, sizeof message, format, args);
  va_end(args);
  host->log(level, "opencl", message);
}

}  // namespace xpool::opencl
