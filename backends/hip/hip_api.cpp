#include "hip_api.h"

#include <dlfcn.h>

#include <cstdlib>
#include <cstring>
#include <mutex>

namespace xpool::hip {
namespace {

struct LoadedHip {
  HipApi api;
  bool ok = false;
  std::string why;
};

struct LoadedHiprtc {
  HiprtcApi api;
  bool ok = false;
  std::string why;
};

// Resolve every required function into `api` from `handle`; they return
// the name of the first one missing, or nullptr.
const char *resolveHip(HipApi &api, void *handle) {
#define XPOOL_HIP_RESOLVE(name)                                          \
  api.name = reinterpret_cast<decltype(api.name)>(dlsym(handle, #name)); \
  if (api.name == nullptr) return #name;
  XPOOL_HIP_REQUIRED_FUNCTIONS(XPOOL_HIP_RESOLVE)
  XPOOL_HIP_RESOLVE(hipMalloc)
#undef XPOOL_HIP_RESOLVE
  return nullptr;
}

const char *resolveHip(HiprtcApi &api, void *handle) {
#define XPOOL_HIP_RESOLVE(name)                                          \
  api.name = reinterpret_cast<decltype(api.name)>(dlsym(handle, #name)); \
  if (api.name == nullptr) return #name;
  XPOOL_HIPRTC_REQUIRED_FUNCTIONS(XPOOL_HIP_RESOLVE)
#undef XPOOL_HIP_RESOLVE
  return nullptr;
}

void loadHip(LoadedHip &out) {
  const char *env = std::getenv("XPOOL_HIP_LIBRARY");
  const bool explicit_name = env != nullptr && env[0] != '\0';
  // The unversioned name first (a developer install or a symlink to the
  // current ROCm), then the sonames of ROCm 6 and ROCm 5.
  const char *candidates[] = {"libamdhip64.so", "libamdhip64.so.6", "libamdhip64.so.5"};
  std::string errors;
  void *handle = nullptr;
  if (explicit_name) {
    handle = dlopen(env, RTLD_NOW | RTLD_LOCAL);
    if (handle != nullptr) {
      out.api.library = env;
    } else {
      const char *error = dlerror();
      errors = error != nullptr ? error : env;
    }
  } else {
    for (const char *name : candidates) {
      handle = dlopen(name, RTLD_NOW | RTLD_LOCAL);
      if (handle != nullptr) {
        out.api.library = name;
        break;
      }
      const char *error = dlerror();
      if (!errors.empty()) errors += "; ";
      errors += error != nullptr ? error : name;
    }
  }
  if (handle == nullptr) {
    out.why = std::string(explicit_name ? env : "libamdhip64.so") +
              " not found (no ROCm runtime; install ROCm's HIP runtime, e.g. libamdhip64-5 or "
              "rocm-hip-runtime" +
              (explicit_name ? ", or correct XPOOL_HIP_LIBRARY" : ", or set XPOOL_HIP_LIBRARY") +
              "): " + errors;
    return;
  }
  // The handle is deliberately never closed; see loadHipApi().
  out.api.handle = handle;
  if (const char *missing = resolveHip(out.api, handle); missing != nullptr) {
    out.why = out.api.library + " lacks " + missing + " (HIP 5.0 or newer is required)";
    return;
  }
  out.api.hipDeviceGetUuid =
      reinterpret_cast<decltype(out.api.hipDeviceGetUuid)>(dlsym(handle, "hipDeviceGetUuid"));
  out.api.hipFuncGetAttribute =
      reinterpret_cast<decltype(out.api.hipFuncGetAttribute)>(dlsym(handle, "hipFuncGetAttribute"));
  out.ok = true;
}

void loadHiprtc(const HipApi &hip, LoadedHiprtc &out) {
  // ROCm 5.x: inside libamdhip64 itself.
  if (resolveHip(out.api, hip.handle) == nullptr) {
    out.api.library = hip.library;
    out.api.hiprtcGetErrorString = reinterpret_cast<decltype(out.api.hiprtcGetErrorString)>(
        dlsym(hip.handle, "hiprtcGetErrorString"));
    out.ok = true;
    return;
  }
  // ROCm 6 and newer: a library of its own.
  std::string errors;
  for (const char *name : {"libhiprtc.so", "libhiprtc.so.6", "libhiprtc.so.7"}) {
    void *handle = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      const char *error = dlerror();
      if (!errors.empty()) errors += "; ";
      errors += error != nullptr ? error : name;
      continue;
    }
    out.api = HiprtcApi{};
    if (const char *missing = resolveHip(out.api, handle); missing != nullptr) {
      if (!errors.empty()) errors += "; ";
      errors += std::string(name) + " lacks " + missing;
      continue;  // never closed: it may be shared with the HIP runtime
    }
    out.api.library = name;
    out.api.hiprtcGetErrorString = reinterpret_cast<decltype(out.api.hiprtcGetErrorString)>(
        dlsym(handle, "hiprtcGetErrorString"));
    out.ok = true;
    return;
  }
  out.why = "hiprtc not found: " + hip.library +
            " has no hiprtcCreateProgram and libhiprtc.so could not be opened (install "
            "ROCm's hiprtc, e.g. hiprtc or rocm-hip-runtime-dev): " +
            errors;
}

struct ErrorInfo {
  hipError_t code;
  const char *name;
  const char *description;
};

// Names and sentences for the errors a backend meets; the numbers are part
// of HIP's ABI and the same in ROCm 5 and 6.
constexpr ErrorInfo kErrors[] = {
    {hipSuccess, "hipSuccess", "no error"},
    {hipErrorInvalidValue, "hipErrorInvalidValue", "invalid argument"},
    {hipErrorOutOfMemory, "hipErrorOutOfMemory", "out of memory"},
    {hipErrorNotInitialized, "hipErrorNotInitialized", "initialization error"},
    {hipErrorDeinitialized, "hipErrorDeinitialized", "driver shutting down"},
    {hipErrorInvalidConfiguration, "hipErrorInvalidConfiguration",
     "invalid configuration argument"},
    {hipErrorInvalidDevicePointer, "hipErrorInvalidDevicePointer", "invalid device pointer"},
    {hipErrorInvalidMemcpyDirection, "hipErrorInvalidMemcpyDirection",
     "invalid copy direction for memcpy"},
    {hipErrorInsufficientDriver, "hipErrorInsufficientDriver",
     "driver version is insufficient for runtime version"},
    {hipErrorPriorLaunchFailure, "hipErrorPriorLaunchFailure",
     "unspecified launch failure in prior launch"},
    {hipErrorInvalidDeviceFunction, "hipErrorInvalidDeviceFunction", "invalid device function"},
    {hipErrorNoDevice, "hipErrorNoDevice", "no ROCm-capable device is detected"},
    {hipErrorInvalidDevice, "hipErrorInvalidDevice", "invalid device ordinal"},
    {hipErrorInvalidImage, "hipErrorInvalidImage", "device kernel image is invalid"},
    {hipErrorInvalidContext, "hipErrorInvalidContext", "invalid device context"},
    {hipErrorMapFailed, "hipErrorMapFailed", "mapping of buffer object failed"},
    {hipErrorNoBinaryForGpu, "hipErrorNoBinaryForGpu",
     "no kernel image is available for execution on the device"},
    {hipErrorUnsupportedLimit, "hipErrorUnsupportedLimit", "limit is not supported"},
    {hipErrorPeerAccessUnsupported, "hipErrorPeerAccessUnsupported",
     "peer access is not supported between these two devices"},
    {hipErrorInvalidKernelFile, "hipErrorInvalidKernelFile", "invalid kernel file"},
    {hipErrorInvalidSource, "hipErrorInvalidSource", "device kernel image is invalid"},
    {hipErrorFileNotFound, "hipErrorFileNotFound", "file not found"},
    {hipErrorSharedObjectSymbolNotFound, "hipErrorSharedObjectSymbolNotFound",
     "shared object symbol not found"},
    {hipErrorSharedObjectInitFailed, "hipErrorSharedObjectInitFailed",
     "shared object initialization failed"},
    {hipErrorOperatingSystem, "hipErrorOperatingSystem",
     "OS call failed or operation not supported on this OS"},
    {hipErrorInvalidHandle, "hipErrorInvalidHandle", "invalid resource handle"},
    {hipErrorIllegalState, "hipErrorIllegalState",
     "the operation is not permitted in the current state"},
    {hipErrorNotFound, "hipErrorNotFound", "named symbol not found"},
    {hipErrorNotReady, "hipErrorNotReady", "device not ready"},
    {hipErrorIllegalAddress, "hipErrorIllegalAddress", "an illegal memory access was encountered"},
    {hipErrorLaunchOutOfResources, "hipErrorLaunchOutOfResources",
     "too many resources requested for launch"},
    {hipErrorLaunchTimeOut, "hipErrorLaunchTimeOut", "the launch timed out and was terminated"},
    {hipErrorPeerAccessAlreadyEnabled, "hipErrorPeerAccessAlreadyEnabled",
     "peer access is already enabled"},
    {hipErrorPeerAccessNotEnabled, "hipErrorPeerAccessNotEnabled",
     "peer access has not been enabled"},
    {hipErrorHostMemoryAlreadyRegistered, "hipErrorHostMemoryAlreadyRegistered",
     "part or all of the requested memory range is already mapped"},
    {hipErrorHostMemoryNotRegistered, "hipErrorHostMemoryNotRegistered",
     "pointer does not correspond to a registered memory region"},
    {hipErrorLaunchFailure, "hipErrorLaunchFailure", "unspecified launch failure"},
    {hipErrorCooperativeLaunchTooLarge, "hipErrorCooperativeLaunchTooLarge",
     "too many blocks in cooperative launch"},
    {hipErrorNotSupported, "hipErrorNotSupported", "operation not supported"},
    {hipErrorUnknown, "hipErrorUnknown", "unknown error"},
    {hipErrorRuntimeMemory, "hipErrorRuntimeMemory", "HSA runtime memory call returned an error"},
    {hipErrorRuntimeOther, "hipErrorRuntimeOther", "HSA runtime call returned an error"},
};

const ErrorInfo *findError(hipError_t error) {
  for (const ErrorInfo &info : kErrors) {
    if (info.code == error) return &info;
  }
  return nullptr;
}

}  // namespace

const HipApi *loadHipApi(std::string *why) {
  static LoadedHip loaded;
  static std::once_flag once;
  std::call_once(once, [] { loadHip(loaded); });
  if (!loaded.ok) {
    *why = loaded.why;
    return nullptr;
  }
  return &loaded.api;
}

const HiprtcApi *loadHiprtcApi(const HipApi &hip, std::string *why) {
  static LoadedHiprtc loaded;
  static std::once_flag once;
  std::call_once(once, [&hip] { loadHiprtc(hip, loaded); });
  if (!loaded.ok) {
    *why = loaded.why;
    return nullptr;
  }
  return &loaded.api;
}

const char *hipErrorNameOf(const HipApi *api, hipError_t error) {
  if (const ErrorInfo *info = findError(error)) return info->name;
  if (api != nullptr) {
    const char *name = api->hipGetErrorName(error);
    if (name != nullptr && name[0] != '\0') return name;
  }
  return "hipErrorUnrecognized";
}

const char *hipErrorDescriptionOf(const HipApi *api, hipError_t error) {
  if (const ErrorInfo *info = findError(error)) return info->description;
  if (api != nullptr) {
    const char *text = api->hipGetErrorString(error);
    const char *name = api->hipGetErrorName(error);
    // ROCm 5 answers hipGetErrorString with the name: no news in that.
    if (text != nullptr && (name == nullptr || std::strcmp(text, name) != 0)) return text;
  }
  return "";
}

const char *hiprtcResultName(hiprtcResult result) {
  switch (result) {
    case HIPRTC_SUCCESS:
      return "HIPRTC_SUCCESS";
    case HIPRTC_ERROR_OUT_OF_MEMORY:
      return "HIPRTC_ERROR_OUT_OF_MEMORY";
    case HIPRTC_ERROR_PROGRAM_CREATION_FAILURE:
      return "HIPRTC_ERROR_PROGRAM_CREATION_FAILURE";
    case HIPRTC_ERROR_INVALID_INPUT:
      return "HIPRTC_ERROR_INVALID_INPUT";
    case HIPRTC_ERROR_INVALID_PROGRAM:
      return "HIPRTC_ERROR_INVALID_PROGRAM";
    case HIPRTC_ERROR_INVALID_OPTION:
      return "HIPRTC_ERROR_INVALID_OPTION";
    case HIPRTC_ERROR_COMPILATION:
      return "HIPRTC_ERROR_COMPILATION";
    case HIPRTC_ERROR_BUILTIN_OPERATION_FAILURE:
      return "HIPRTC_ERROR_BUILTIN_OPERATION_FAILURE";
    case HIPRTC_ERROR_NO_NAME_EXPRESSIONS_AFTER_COMPILATION:
      return "HIPRTC_ERROR_NO_NAME_EXPRESSIONS_AFTER_COMPILATION";
    case HIPRTC_ERROR_NO_LOWERED_NAMES_BEFORE_COMPILATION:
      return "HIPRTC_ERROR_NO_LOWERED_NAMES_BEFORE_COMPILATION";
    case HIPRTC_ERROR_NAME_EXPRESSION_NOT_VALID:
      return "HIPRTC_ERROR_NAME_EXPRESSION_NOT_VALID";
    case HIPRTC_ERROR_INTERNAL_ERROR:
      return "HIPRTC_ERROR_INTERNAL_ERROR";
    default:
      // 100 is HIPRTC_ERROR_LINKING in ROCm 6 (not in the 5.x header).
      return static_cast<int>(result) == 100 ? "HIPRTC_ERROR_LINKING" : "HIPRTC_ERROR_UNKNOWN";
  }
}

xpStatus statusForHipError(hipError_t error) {
  switch (error) {
    case hipSuccess:
      return XP_SUCCESS;
    case hipErrorOutOfMemory:
      return XP_ERROR_OUT_OF_MEMORY;
    case hipErrorNotReady:
      return XP_ERROR_NOT_READY;
    case hipErrorNoDevice:
    case hipErrorInsufficientDriver:
      return XP_ERROR_NO_DEVICE;
    case hipErrorInvalidValue:
    case hipErrorInvalidDevice:
    case hipErrorInvalidDevicePointer:
    case hipErrorInvalidConfiguration:
    case hipErrorInvalidImage:
    case hipErrorInvalidKernelFile:
    case hipErrorNoBinaryForGpu:
      return XP_ERROR_INVALID_VALUE;
    case hipErrorInvalidHandle:
      return XP_ERROR_INVALID_HANDLE;
    case hipErrorNotFound:
      return XP_ERROR_NOT_FOUND;
    case hipErrorNotSupported:
      return XP_ERROR_NOT_SUPPORTED;
    default:
      return XP_ERROR_BACKEND;
  }
}

std::string describeHipFailure(const HipApi *api, const char *call, hipError_t error,
                               const std::string &detail) {
  std::string text = std::string(call) + ": " + hipErrorNameOf(api, error) + " (" +
                     std::to_string(static_cast<int>(error)) + ")";
  if (!detail.empty()) text += " " + detail;
  const char *description = hipErrorDescriptionOf(api, error);
  if (description[0] != '\0') text += std::string(": ") + description;
  return text;
}

}  // namespace xpool::hip
