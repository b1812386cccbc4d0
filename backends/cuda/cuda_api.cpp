// Opens the CUDA driver and names its errors.
#include "cuda_api.h"

#include <dlfcn.h>
#include <link.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <vector>

namespace xpool::cuda {
namespace {

using GetProcAddressFn = CUresult (*)(const char *symbol, void **pfn, int cudaVersion,
                                      cuuint64_t flags, CUdriverProcAddressQueryResult *status);
using DriverGetVersionFn = CUresult (*)(int *version);

// Where the dynamic linker found a library, for messages.
std::string libraryPath(void *library) {
  link_map *map = nullptr;
  if (dlinfo(library, RTLD_DI_LINKMAP, &map) == 0 && map != nullptr && map->l_name != nullptr &&
      map->l_name[0] != '\0') {
    return map->l_name;
  }
  return "an unknown path";
}

}  // namespace

std::string format(const char *fmt, ...) {
  va_list args;
  va_start(args, fmt);
  va_list again;
  va_copy(again, args);
  const int length = vsnprintf(nullptr, 0, fmt, args);
  va_end(args);
  std::string text;
  if (length > 0) {
    text.resize(static_cast<size_t>(length) + 1);
    vsnprintf(text.data(), text.size(), fmt, again);
    text.resize(static_cast<size_t>(length));
  }
  va_end(again);
  return text;
}

xpStatus fail(const xpbHostApi *host, xpStatus status, const std::string &message) {
  return host->set_error(status, message.c_str());
}

std::string versionText(int version) {
  return format("CUDA %d.%d", version / 1000, (version % 1000) / 10);
}

xpStatus statusOf(CUresult result) {
  switch (result) {
    case CUDA_SUCCESS:
      return XP_SUCCESS;
    case CUDA_ERROR_INVALID_VALUE:
    case CUDA_ERROR_INVALID_DEVICE:
      return XP_ERROR_INVALID_VALUE;
    case CUDA_ERROR_OUT_OF_MEMORY:
      return XP_ERROR_OUT_OF_MEMORY;
    case CUDA_ERROR_NOT_READY:
      return XP_ERROR_NOT_READY;
    case CUDA_ERROR_NO_DEVICE:
    case CUDA_ERROR_DEVICE_UNAVAILABLE:
    case CUDA_ERROR_STUB_LIBRARY:
    case CUDA_ERROR_SYSTEM_DRIVER_MISMATCH:
    case CUDA_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE:
      return XP_ERROR_NO_DEVICE;
    case CUDA_ERROR_INVALID_HANDLE:
      return XP_ERROR_INVALID_HANDLE;
    case CUDA_ERROR_NOT_FOUND:
      return XP_ERROR_NOT_FOUND;
    case CUDA_ERROR_NOT_SUPPORTED:
      return XP_ERROR_NOT_SUPPORTED;
    case CUDA_ERROR_TIMEOUT:
      return XP_ERROR_TIMEOUT;
    // Everything that means "this module does not build or load here".
    case CUDA_ERROR_INVALID_IMAGE:
    case CUDA_ERROR_INVALID_PTX:
    case CUDA_ERROR_UNSUPPORTED_PTX_VERSION:
    case CUDA_ERROR_NO_BINARY_FOR_GPU:
    case CUDA_ERROR_JIT_COMPILER_NOT_FOUND:
    case CUDA_ERROR_JIT_COMPILATION_DISABLED:
    case CUDA_ERROR_INVALID_SOURCE:
    case CUDA_ERROR_SHARED_OBJECT_SYMBOL_NOT_FOUND:
    case CUDA_ERROR_SHARED_OBJECT_INIT_FAILED:
    case CUDA_ERROR_UNSUPPORTED_DEVSIDE_SYNC:
      return XP_ERROR_BUILD;
    default:
      return XP_ERROR_BACKEND;
  }
}

std::string CudaApi::describe(CUresult result) const {
  const char *name = nullptr;
  const char *text = nullptr;
  if (cuGetErrorName == nullptr || cuGetErrorName(result, &name) != CUDA_SUCCESS) name = nullptr;
  if (cuGetErrorString == nullptr || cuGetErrorString(result, &text) != CUDA_SUCCESS) {
    text = nullptr;
  }
  std::string out = name != nullptr ? name : format("CUDA error %d", static_cast<int>(result));
  if (text != nullptr && *text != '\0') out += format(" (%s)", text);
  return out;
}

xpStatus failCuda(const xpbHostApi *host, const CudaApi &api, const char *call, CUresult result,
                  const std::string &what) {
  std::string message = format("%s: %s", call, api.describe(result).c_str());
  if (!what.empty()) message += " " + what;
  return fail(host, statusOf(result), message);
}

xpStatus CudaApi::load(const xpbHostApi *host) {
  dlerror();
  library = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) {
    const char *why = dlerror();
    return fail(host, XP_ERROR_NO_DEVICE,
                format("libcuda.so.1 not found (no NVIDIA driver): %s",
                       why != nullptr ? why : "dlopen failed"));
  }
  auto get_proc = reinterpret_cast<GetProcAddressFn>(dlsym(library, "cuGetProcAddress_v2"));
  auto driver_get_version =
      reinterpret_cast<DriverGetVersionFn>(dlsym(library, "cuDriverGetVersion"));
  if (get_proc == nullptr || driver_get_version == nullptr) {
    return fail(host, XP_ERROR_NO_DEVICE,
                format("libcuda.so.1 has no %s: the NVIDIA driver is older than %s; install a "
                       "driver for %s or newer",
                       get_proc == nullptr ? "cuGetProcAddress_v2" : "cuDriverGetVersion",
                       versionText(kMinimumDriverVersion).c_str(),
                       versionText(kMinimumDriverVersion).c_str()));
  }
  if (CUresult r = driver_get_version(&driver_version); r != CUDA_SUCCESS) {
    if (r == CUDA_ERROR_STUB_LIBRARY) {
      return fail(host, XP_ERROR_NO_DEVICE,
                  format("libcuda.so.1 (%s) is the CUDA toolkit's link stub, not an NVIDIA driver "
                         "(cuDriverGetVersion: CUDA_ERROR_STUB_LIBRARY); take the stubs folder "
                         "off the library path or install the driver",
                         libraryPath(library).c_str()));
    }
    return fail(host, XP_ERROR_NO_DEVICE,
                format("cuDriverGetVersion failed with CUDA error %d (libcuda.so.1 from %s)",
                       static_cast<int>(r), libraryPath(library).c_str()));
  }
  if (driver_version < kMinimumDriverVersion) {
    return fail(
        host, XP_ERROR_NO_DEVICE,
        format("the NVIDIA driver supports %s; the cuda backend needs %s or newer",
               versionText(driver_version).c_str(), versionText(kMinimumDriverVersion).c_str()));
  }
  // Asking for a version newer than the driver's fails; an older driver gets
  // the newest variant it has (all of them keep the prototypes used here).
  resolve_version = std::min(driver_version, CUDA_VERSION);

  std::vector<std::string> missing;
  auto resolve = [&](const char *symbol, void **pfn, bool required) {
    CUdriverProcAddressQueryResult found = CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND;
    *pfn = nullptr;
    CUresult r = get_proc(symbol, pfn, resolve_version, CU_GET_PROC_ADDRESS_LEGACY_STREAM, &found);
    if (r != CUDA_SUCCESS || found != CU_GET_PROC_ADDRESS_SUCCESS || *pfn == nullptr) {
      *pfn = nullptr;
      if (required) {
        missing.push_back(format("%s (CUDA error %d, lookup status %d)", symbol,
                                 static_cast<int>(r), static_cast<int>(found)));
      }
    }
  };
#define XPOOL_CUDA_RESOLVE_REQUIRED(name) resolve(#name, reinterpret_cast<void **>(&name), true);
#define XPOOL_CUDA_RESOLVE_OPTIONAL(name) resolve(#name, reinterpret_cast<void **>(&name), false);
  XPOOL_CUDA_REQUIRED(XPOOL_CUDA_RESOLVE_REQUIRED)
  XPOOL_CUDA_OPTIONAL(XPOOL_CUDA_RESOLVE_OPTIONAL)
#undef XPOOL_CUDA_RESOLVE_REQUIRED
#undef XPOOL_CUDA_RESOLVE_OPTIONAL

  if (!missing.empty()) {
    std::string list;
    for (const auto &name : missing) list += (list.empty() ? "" : ", ") + name;
    return fail(host, XP_ERROR_NO_DEVICE,
                format("the NVIDIA driver (%s) lacks entry points the cuda backend needs: %s",
                       versionText(driver_version).c_str(), list.c_str()));
  }
  return XP_SUCCESS;
}

}  // namespace xpool::cuda
