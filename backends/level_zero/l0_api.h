// The Level Zero entry points the backend uses, resolved at run time, and
// the names of ze_result_t codes.
//
// The plugin never links the loader: loadZeApi() dlopens libze_loader.so.1
// and fills a ZeApi table with dlsym. Everything required is core API of
// spec 1.0-1.4 (what the headers here describe); newer or extension entry
// points are optional and may be NULL.
#pragma once

#include <level_zero/ze_api.h>

#include <string>

#include "xpool/backend.h"

namespace xpool::level_zero {

// X(name): a required entry point, typed from the header's prototype.
#define XPOOL_ZE_REQUIRED_FUNCTIONS(X)       \
  X(zeInit)                                  \
  X(zeDriverGet)                             \
  X(zeDriverGetApiVersion)                   \
  X(zeDriverGetProperties)                   \
  X(zeDriverGetExtensionFunctionAddress)     \
  X(zeDriverGetExtensionProperties)          \
  X(zeDeviceGet)                             \
  X(zeDeviceGetSubDevices)                   \
  X(zeDeviceGetProperties)                   \
  X(zeDeviceGetComputeProperties)            \
  X(zeDeviceGetMemoryProperties)             \
  X(zeDeviceGetCommandQueueGroupProperties)  \
  X(zeDeviceCanAccessPeer)                   \
  X(zeContextCreate)                         \
  X(zeContextDestroy)                        \
  X(zeMemAllocDevice)                        \
  X(zeMemAllocHost)                          \
  X(zeMemFree)                               \
  X(zeCommandListCreateImmediate)            \
  X(zeCommandListDestroy)                    \
  X(zeCommandListAppendBarrier)              \
  X(zeCommandListAppendMemoryCopy)           \
  X(zeCommandListAppendMemoryFill)           \
  X(zeCommandListAppendWaitOnEvents)         \
  X(zeCommandListAppendWriteGlobalTimestamp) \
  X(zeCommandListAppendLaunchKernel)         \
  X(zeEventPoolCreate)                       \
  X(zeEventPoolDestroy)                      \
  X(zeEventCreate)                           \
  X(zeEventDestroy)                          \
  X(zeEventHostSignal)                       \
  X(zeEventHostSynchronize)                  \
  X(zeEventQueryStatus)                      \
  X(zeEventHostReset)                        \
  X(zeModuleCreate)                          \
  X(zeModuleDestroy)                         \
  X(zeModuleBuildLogGetString)               \
  X(zeModuleBuildLogDestroy)                 \
  X(zeModuleGetKernelNames)                  \
  X(zeKernelCreate)                          \
  X(zeKernelDestroy)                         \
  X(zeKernelSetGroupSize)                    \
  X(zeKernelSetArgumentValue)                \
  X(zeKernelGetProperties)

// Intel driver extensions, found per driver with
// zeDriverGetExtensionFunctionAddress (not in the spec headers).
using PfnImportExternalPointer = ze_result_t(ZE_APICALL *)(ze_driver_handle_t, void *, size_t);
using PfnReleaseImportedPointer = ze_result_t(ZE_APICALL *)(ze_driver_handle_t, void *);

struct ZeApi {
#define XPOOL_ZE_DECLARE(name) decltype(&::name) name = nullptr;
  XPOOL_ZE_REQUIRED_FUNCTIONS(XPOOL_ZE_DECLARE)
  // Optional: the PCI properties extension (ZE_extension_pci_properties).
  XPOOL_ZE_DECLARE(zeDevicePciGetPropertiesExt)
#undef XPOOL_ZE_DECLARE
  std::string library;  // the name that was opened
};

// Opens the loader once per process (XPOOL_LEVEL_ZERO_LIBRARY, default
// libze_loader.so.1) and returns its table, or NULL with `*why` set to a
// reason a person can act on. The loader stays loaded for the life of the
// process (drivers start threads inside it).
const ZeApi *loadZeApi(std::string *why);

// "ZE_RESULT_ERROR_DEVICE_LOST".
const char *zeResultName(ze_result_t result);
// The xpool status a ze_result_t maps to.
xpStatus statusForZeResult(ze_result_t result);
// "<call>: <name> (0x<hex>)[ <detail>]", e.g. "zeMemAllocDevice:
// ZE_RESULT_ERROR_OUT_OF_DEVICE_MEMORY (0x70000003) allocating 1024 bytes on
// level_zero device 0".
std::string describeZeFailure(const char *call, ze_result_t result, const std::string &detail);

// Spec versions this backend checks for (ZE_MAKE_VERSION values).
constexpr uint32_t kZeApi_1_2 = ZE_MAKE_VERSION(1, 2);
// ZE_COMMAND_QUEUE_FLAG_IN_ORDER arrived in spec 1.7; the 1.4 headers lack it.
constexpr uint32_t kZeApi_1_7 = ZE_MAKE_VERSION(1, 7);
constexpr ze_command_queue_flags_t kZeCommandQueueFlagInOrder = ZE_BIT(1);

}  // namespace xpool::level_zero
