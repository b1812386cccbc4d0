#include "l0_api.h"

#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>

namespace xpool::level_zero {
namespace {

struct Loaded {
  ZeApi api;
  bool ok = false;
  std::string why;
};

void load(Loaded &out) {
  const char *env = std::getenv("XPOOL_LEVEL_ZERO_LIBRARY");
  const bool explicit_name = env != nullptr && env[0] != '\0';
  out.api.library = explicit_name ? env : "libze_loader.so.1";
  void *handle = dlopen(out.api.library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char *error = dlerror();
    out.why = out.api.library +
              " not found (no Level Zero loader; install it, e.g. libze1, with an Intel GPU "
              "driver such as intel-level-zero-gpu" +
              (explicit_name ? ", or correct XPOOL_LEVEL_ZERO_LIBRARY" : "") +
              "): " + (error != nullptr ? error : "dlopen failed");
    return;
  }
  // The handle is deliberately never closed; see loadZeApi().
#define XPOOL_ZE_RESOLVE(name)                                                            \
  out.api.name = reinterpret_cast<decltype(out.api.name)>(dlsym(handle, #name));          \
  if (out.api.name == nullptr) {                                                          \
    out.why = out.api.library + " lacks " #name " (a Level Zero 1.x loader is required)"; \
    return;                                                                               \
  }
  XPOOL_ZE_REQUIRED_FUNCTIONS(XPOOL_ZE_RESOLVE)
#undef XPOOL_ZE_RESOLVE
  out.api.zeDevicePciGetPropertiesExt =
      reinterpret_cast<decltype(out.api.zeDevicePciGetPropertiesExt)>(
          dlsym(handle, "zeDevicePciGetPropertiesExt"));
  out.ok = true;
}

}  // namespace

const ZeApi *loadZeApi(std::string *why) {
  static Loaded loaded;
  static std::once_flag once;
  std::call_once(once, [] { load(loaded); });
  if (!loaded.ok) {
    *why = loaded.why;
    return nullptr;
  }
  return &loaded.api;
}

const char *zeResultName(ze_result_t result) {
  switch (static_cast<uint32_t>(result)) {
#define XPOOL_ZE_NAME(name) \
  case name:                \
    return #name;
    XPOOL_ZE_NAME(ZE_RESULT_SUCCESS)
    XPOOL_ZE_NAME(ZE_RESULT_NOT_READY)
    XPOOL_ZE_NAME(ZE_RESULT_ERROR_DEVICE_LOST)
    XPOOL_ZE_NAME(ZE_RESULT_ERROR_OUT_OF_HOST_MEMORY)
    XPOOL_ZE_NAME(ZE_RESULT_ERROR_OUT_OF_DEVICE_MEMORY)
    XPOOL_ZE_NAME(ZE_RESULT_ERROR_MODULE_BUILD_FAILURE)
    XPOOL_ZE_NAME(ZE_RESULT_ERROR_MODULE_LINK_FAILURE)
    XPOOL_ZE_NAME(ZE_RESULT_ERROR_DEVICE_REQUIRES_RESET)
    XPOOL_ZE_NAME(ZE_RESULT_ERROR_DEVICE_IN_LOW_POWER_STATE)
    XPOOL_ZE_NAME(ZE_RESULT_ERROR_INSUFFICIENT_PERMISSIONS)
    XPOOL_ZE_NAME(ZE_RESULT_ERROR_NOT_AVAILABLE)
    XPOOL_ZE_NAME(ZE_RESULT_ERROR_DEPENDENCY_UNAVAILABLE)
    XPOOL_ZE_NAME(ZE_RESULT_ERROR_UNINITIALIZED)
    XPOOL_ZE_NAME(ZE_RESULT_ERROR_UNSUPPORTED_VERSION)
    XPOOL_ZE_NAME(ZE_RESULT_ERROR_UNSUPPORTED_FEATURE)
    XPOOL_ZE_NAME(ZE_RESULT_ERROR_INVALID_ARGUMENT)
    XPOOL_ZE_NAME(ZE_RESULT_ERROR_INVALID_NULL_HANDLE)
    XPOOL_ZE_NAME(ZE_RESULT_ERROR_HANDLE_OBJECT_IN_USE)
    XPOOL_ZE_NAME(ZE_RESULT_ERROR_INVALID_NULL_POINTER)
    XPOOL_ZE_NAME(ZE_RESULT_ERROR_INVALID_SIZE)
    XPOOL_ZE_NAME(ZE_RESULT_ERROR_UNSUPPORTED_SIZE)
    XPOOL_ZE_NAME(ZE_RESULT_ERROR_UNSUPPORTED_ALIGNMENT)
    XPOOL_ZE_NAME(ZE_RESULT_ERROR_INVALID_SYNCHRONIZATION_OBJECT)
    XPOOL_ZE_NAME(ZE_RESULT_ERROR_INVALID_ENUMERATION)
    XPOOL_ZE_NAME(ZE_RESULT_ERROR_UNSUPPORTED_ENUMERATION)
    XPOOL_ZE_NAME(ZE_RESULT_ERROR_UNSUPPORTED_IMAGE_FORMAT)
    XPOOL_ZE_NAME(ZE_RESULT_ERROR_INVALID_NATIVE_BINARY)
    XPOOL_ZE_NAME(ZE_RESULT_ERROR_INVALID_GLOBAL_NAME)
    XPOOL_ZE_NAME(ZE_RESULT_ERROR_INVALID_KERNEL_NAME)
    XPOOL_ZE_NAME(ZE_RESULT_ERROR_INVALID_FUNCTION_NAME)
    XPOOL_ZE_NAME(ZE_RESULT_ERROR_INVALID_GROUP_SIZE_DIMENSION)
    XPOOL_ZE_NAME(ZE_RESULT_ERROR_INVALID_GLOBAL_WIDTH_DIMENSION)
    XPOOL_ZE_NAME(ZE_RESULT_ERROR_INVALID_KERNEL_ARGUMENT_INDEX)
    XPOOL_ZE_NAME(ZE_RESULT_ERROR_INVALID_KERNEL_ARGUMENT_SIZE)
    XPOOL_ZE_NAME(ZE_RESULT_ERROR_INVALID_KERNEL_ATTRIBUTE_VALUE)
    XPOOL_ZE_NAME(ZE_RESULT_ERROR_INVALID_MODULE_UNLINKED)
    XPOOL_ZE_NAME(ZE_RESULT_ERROR_INVALID_COMMAND_LIST_TYPE)
    XPOOL_ZE_NAME(ZE_RESULT_ERROR_OVERLAPPING_REGIONS)
    XPOOL_ZE_NAME(ZE_RESULT_ERROR_UNKNOWN)
#undef XPOOL_ZE_NAME
    // Codes of later specs than the 1.4 headers know.
    case 0x7800001cu:
      return "ZE_RESULT_ERROR_INVALID_KERNEL_HANDLE";
    default:
      return "ZE_RESULT_UNRECOGNIZED";
  }
}

xpStatus statusForZeResult(ze_result_t result) {
  switch (result) {
    case ZE_RESULT_SUCCESS:
      return XP_SUCCESS;
    case ZE_RESULT_NOT_READY:
      return XP_ERROR_NOT_READY;
    case ZE_RESULT_ERROR_OUT_OF_HOST_MEMORY:
    case ZE_RESULT_ERROR_OUT_OF_DEVICE_MEMORY:
      return XP_ERROR_OUT_OF_MEMORY;
    case ZE_RESULT_ERROR_MODULE_BUILD_FAILURE:
    case ZE_RESULT_ERROR_MODULE_LINK_FAILURE:
      return XP_ERROR_BUILD;
    case ZE_RESULT_ERROR_UNINITIALIZED:
      return XP_ERROR_NO_DEVICE;
    case ZE_RESULT_ERROR_INVALID_ARGUMENT:
    case ZE_RESULT_ERROR_INVALID_NULL_POINTER:
    case ZE_RESULT_ERROR_INVALID_SIZE:
    case ZE_RESULT_ERROR_UNSUPPORTED_SIZE:
    case ZE_RESULT_ERROR_UNSUPPORTED_ALIGNMENT:
    case ZE_RESULT_ERROR_INVALID_NATIVE_BINARY:
    case ZE_RESULT_ERROR_INVALID_GROUP_SIZE_DIMENSION:
    case ZE_RESULT_ERROR_INVALID_GLOBAL_WIDTH_DIMENSION:
    case ZE_RESULT_ERROR_INVALID_KERNEL_ARGUMENT_INDEX:
    case ZE_RESULT_ERROR_INVALID_KERNEL_ARGUMENT_SIZE:
    case ZE_RESULT_ERROR_OVERLAPPING_REGIONS:
      return XP_ERROR_INVALID_VALUE;
    case ZE_RESULT_ERROR_INVALID_NULL_HANDLE:
      return XP_ERROR_INVALID_HANDLE;
    case ZE_RESULT_ERROR_INVALID_KERNEL_NAME:
    case ZE_RESULT_ERROR_INVALID_FUNCTION_NAME:
    case ZE_RESULT_ERROR_INVALID_GLOBAL_NAME:
      return XP_ERROR_NOT_FOUND;
    case ZE_RESULT_ERROR_UNSUPPORTED_FEATURE:
    case ZE_RESULT_ERROR_UNSUPPORTED_VERSION:
    case ZE_RESULT_ERROR_UNSUPPORTED_ENUMERATION:
      return XP_ERROR_NOT_SUPPORTED;
    default:
      return XP_ERROR_BACKEND;
  }
}

std::string describeZeFailure(const char *call, ze_result_t result, const std::string &detail) {
  char number[16];
  snprintf(number, sizeof number, "0x%x", static_cast<unsigned>(result));
  std::string text = std::string(call) + ": " + zeResultName(result) + " (" + number + ")";
  if (!detail.empty()) text += " " + detail;
  return text;
}

}  // namespace xpool::level_zero
