// The HIP entry points the backend uses, resolved at run time, and the
// names of HIP's error codes.
//
// The plugin never links libamdhip64: loadHipApi() dlopens it and fills a
// HipApi table with dlsym; every other file calls HIP through that table.
// hiprtc lives inside libamdhip64 up to ROCm 5.x and in libhiprtc.so from
// ROCm 6, so loadHiprtcApi() looks in libamdhip64 first, then opens libhiprtc.
//
// Only functions whose ABI is the same in ROCm 5 and 6 are used: properties
// come from hipDeviceGetAttribute (hipDeviceProp_t changed layout in ROCm 6).
#pragma once

#include <hip/hip_runtime_api.h>
#include <hip/hiprtc.h>

#include <string>

#include "xpool/backend.h"

namespace xpool::hip {

// X(name): a required entry point, typed from the header's prototype.
#define XPOOL_HIP_REQUIRED_FUNCTIONS(X) \
  X(hipGetDeviceCount)                  \
  X(hipGetErrorName)                    \
  X(hipGetErrorString)                  \
  X(hipRuntimeGetVersion)               \
  X(hipDriverGetVersion)                \
  X(hipSetDevice)                       \
  X(hipDeviceGet)                       \
  X(hipDeviceGetName)                   \
  X(hipDeviceGetAttribute)              \
  X(hipDeviceTotalMem)                  \
  X(hipDeviceGetPCIBusId)               \
  X(hipDeviceCanAccessPeer)             \
  X(hipDeviceEnablePeerAccess)          \
  X(hipMemGetInfo)                      \
  X(hipFree)                            \
  X(hipHostRegister)                    \
  X(hipHostUnregister)                  \
  X(hipStreamCreateWithFlags)           \
  X(hipStreamDestroy)                   \
  X(hipStreamQuery)                     \
  X(hipStreamWaitEvent)                 \
  X(hipMemcpyAsync)                     \
  X(hipMemsetAsync)                     \
  X(hipMemcpyPeerAsync)                 \
  X(hipEventCreateWithFlags)            \
  X(hipEventDestroy)                    \
  X(hipEventRecord)                     \
  X(hipEventQuery)                      \
  X(hipEventElapsedTime)                \
  X(hipModuleLoadData)                  \
  X(hipModuleUnload)                    \
  X(hipModuleGetFunction)               \
  X(hipModuleLaunchKernel)

#define XPOOL_HIPRTC_REQUIRED_FUNCTIONS(X) \
  X(hiprtcCreateProgram)                   \
  X(hiprtcCompileProgram)                  \
  X(hiprtcGetProgramLogSize)               \
  X(hiprtcGetProgramLog)                   \
  X(hiprtcGetCodeSize)                     \
  X(hiprtcGetCode)                         \
  X(hiprtcDestroyProgram)

#define XPOOL_HIP_DECLARE(name) decltype(&::name) name = nullptr;

struct HipApi {
  XPOOL_HIP_REQUIRED_FUNCTIONS(XPOOL_HIP_DECLARE)
  // Required too, but overloaded in C++ by a template in the header.
  hipError_t (*hipMalloc)(void **, size_t) = nullptr;
  // Optional: NULL when the runtime lacks them.
  decltype(&::hipDeviceGetUuid) hipDeviceGetUuid = nullptr;        // ROCm 5.1
  decltype(&::hipFuncGetAttribute) hipFuncGetAttribute = nullptr;  // kernel limits
  std::string library;                                             // the name that was opened
  void *handle = nullptr;
};

struct HiprtcApi {
  XPOOL_HIPRTC_REQUIRED_FUNCTIONS(XPOOL_HIP_DECLARE)
  decltype(&::hiprtcGetErrorString) hiprtcGetErrorString = nullptr;  // optional
  std::string library;  // where the functions were found
};

#undef XPOOL_HIP_DECLARE

// Opens the HIP runtime once per process (XPOOL_HIP_LIBRARY, else
// libamdhip64.so, libamdhip64.so.6, libamdhip64.so.5) and returns its table,
// or NULL with `*why` set to a reason a person can act on. The library stays
// loaded for the life of the process: it starts threads and registers exit
// handlers inside itself.
const HipApi *loadHipApi(std::string *why);

// Finds hiprtc once per process (libamdhip64 first, then libhiprtc.so,
// libhiprtc.so.6); NULL with `*why` when there is none.
const HiprtcApi *loadHiprtcApi(const HipApi &hip, std::string *why);

// "hipErrorOutOfMemory": from our own table, else from the runtime.
const char *hipErrorNameOf(const HipApi *api, hipError_t error);
// A sentence describing the error, or "" when nothing better than the name
// is known (ROCm 5's hipGetErrorString returns the name itself).
const char *hipErrorDescriptionOf(const HipApi *api, hipError_t error);
const char *hiprtcResultName(hiprtcResult result);

// The xpool status a HIP error maps to.
xpStatus statusForHipError(hipError_t error);

// "<call>: <name> (<number>)[ <detail>][: <description>]", e.g.
// "hipMalloc: hipErrorOutOfMemory (2) allocating 1024 bytes on hip device 0".
std::string describeHipFailure(const HipApi *api, const char *call, hipError_t error,
                               const std::string &detail);

}  // namespace xpool::hip
