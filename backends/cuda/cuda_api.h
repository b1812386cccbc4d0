// The CUDA driver API as the cuda backend sees it: libcuda.so.1 opened with
// dlopen and every entry point resolved through cuGetProcAddress, so the
// plugin never links the driver and loads on machines without one.
//
// cuda.h renames many functions with macros (cuMemAlloc -> cuMemAlloc_v2,
// cuStreamWaitValue32 -> cuStreamWaitValue32_v2, ...). The tables below name
// each function once: decltype(&::name) expands the macro and picks the
// prototype of the versioned symbol, #name keeps the base name that
// cuGetProcAddress wants, and member accesses like api.cuMemAlloc(...)
// expand to the same member name in every file that includes cuda.h.
#pragma once

#include <cuda.h>

#include <string>

#include "xpool/backend.h"

namespace xpool::cuda {

// Entry points the backend cannot work without.
#define XPOOL_CUDA_REQUIRED(X) \
  X(cuGetErrorName)            \
  X(cuGetErrorString)          \
  X(cuInit)                    \
  X(cuDeviceGetCount)          \
  X(cuDeviceGet)               \
  X(cuDeviceGetName)           \
  X(cuDeviceGetUuid)           \
  X(cuDeviceTotalMem)          \
  X(cuDeviceGetAttribute)      \
  X(cuDeviceCanAccessPeer)     \
  X(cuDevicePrimaryCtxRetain)  \
  X(cuDevicePrimaryCtxRelease) \
  X(cuCtxGetCurrent)           \
  X(cuCtxSetCurrent)           \
  X(cuCtxEnablePeerAccess)     \
  X(cuMemGetInfo)              \
  X(cuMemAlloc)                \
  X(cuMemFree)                 \
  X(cuMemHostAlloc)            \
  X(cuMemFreeHost)             \
  X(cuMemHostGetDevicePointer) \
  X(cuMemHostRegister)         \
  X(cuMemHostUnregister)       \
  X(cuPointerGetAttribute)     \
  X(cuMemcpyHtoDAsync)         \
  X(cuMemcpyDtoHAsync)         \
  X(cuMemcpyDtoDAsync)         \
  X(cuMemcpyPeerAsync)         \
  X(cuMemsetD8Async)           \
  X(cuStreamCreate)            \
  X(cuStreamDestroy)           \
  X(cuStreamQuery)             \
  X(cuStreamWaitEvent)         \
  X(cuLaunchHostFunc)          \
  X(cuEventCreate)             \
  X(cuEventDestroy)            \
  X(cuEventRecord)             \
  X(cuEventQuery)              \
  X(cuEventElapsedTime)        \
  X(cuModuleLoadDataEx)        \
  X(cuModuleUnload)            \
  X(cuModuleGetFunction)       \
  X(cuFuncGetAttribute)        \
  X(cuFuncSetAttribute)        \
  X(cuLaunchKernel)

// Entry points the backend can do without: newer ones, and one with a
// fallback (host_tasks.h). NULL when the driver lacks them.
#define XPOOL_CUDA_OPTIONAL(X) \
  X(cuStreamWaitValue32)       \
  X(cuFuncGetParamInfo)        \
  X(cuFuncGetName)             \
  X(cuModuleGetFunctionCount)  \
  X(cuModuleEnumerateFunctions)

// The oldest driver whose entry points match the prototypes of this cuda.h
// for everything in the tables above (cuGetProcAddress_v2 appeared in 12.0).
constexpr int kMinimumDriverVersion = 12000;

struct CudaApi {
  void *library = nullptr;  // libcuda.so.1; never closed (the driver keeps threads)
  int driver_version = 0;   // cuDriverGetVersion, e.g. 13000
  int resolve_version = 0;  // the CUDA version asked of cuGetProcAddress

#define XPOOL_CUDA_DECLARE(name) decltype(&::name) name = nullptr;
  XPOOL_CUDA_REQUIRED(XPOOL_CUDA_DECLARE)
  XPOOL_CUDA_OPTIONAL(XPOOL_CUDA_DECLARE)
#undef XPOOL_CUDA_DECLARE

  // Opens libcuda.so.1 and resolves the tables. On failure sets the error on
  // `host` (XP_ERROR_NO_DEVICE with a reason a person can act on).
  xpStatus load(const xpbHostApi *host);

  // "CUDA_ERROR_OUT_OF_MEMORY (out of memory)".
  std::string describe(CUresult result) const;
};

// The xpool status for a driver result.
xpStatus statusOf(CUresult result);

// printf into a std::string (messages may be longer than xpbFail's buffer:
// build logs are passed whole).
std::string format(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

// "<call>: <CUDA_ERROR_X (text)> <what>", set as the last error with the
// status statusOf(result). `what` says what was being done ("allocating
// 4096 bytes on cuda device 0"); it may be empty.
xpStatus failCuda(const xpbHostApi *host, const CudaApi &api, const char *call, CUresult result,
                  const std::string &what);

// Sets `message` as the last error; returns `status`.
xpStatus fail(const xpbHostApi *host, xpStatus status, const std::string &message);

// "CUDA 13.0" for 13000.
std::string versionText(int version);

}  // namespace xpool::cuda
