#include "cl_api.h"

#include <dlfcn.h>

#include <cstdlib>
#include <mutex>

namespace xpool::opencl {

namespace {

struct Loaded {
  ClApi api;
  bool ok = false;
  std::string why;
};

void load(Loaded &out) {
  const char *env = std::getenv("XPOOL_OPENCL_LIBRARY");
  out.api.library = (env != nullptr && env[0] != '\0') ? env : "libOpenCL.so.1";
  void *handle = dlopen(out.api.library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char *error = dlerror();
    out.why =
        out.api.library + " not found (install an OpenCL ICD loader, e.g. ocl-icd-libopencl1, " +
        "and a driver such as pocl-opencl-icd): " + (error != nullptr ? error : "dlopen failed");
    return;
  }
  // The handle is deliberately never closed; see loadClApi().
#define XPOOL_CL_RESOLVE(name)                                                             \
  out.api.name = reinterpret_cast<decltype(out.api.name)>(dlsym(handle, #name));           \
  if (out.api.name == nullptr) {                                                           \
    out.why = out.api.library + " lacks " #name " (an OpenCL 1.2 ICD loader is required)"; \
    return;                                                                                \
  }
  XPOOL_CL_REQUIRED_FUNCTIONS(XPOOL_CL_RESOLVE)
#undef XPOOL_CL_RESOLVE
  out.api.clCreateProgramWithIL =
      reinterpret_cast<PfnCreateProgramWithIL>(dlsym(handle, "clCreateProgramWithIL"));
  out.ok = true;
}

}  // namespace

const ClApi *loadClApi(std::string *why) {
  static Loaded loaded;
  static std::once_flag once;
  std::call_once(once, [] { load(loaded); });
  if (!loaded.ok) {
    *why = loaded.why;
    return nullptr;
  }
  return &loaded.api;
}

const char *clErrorName(cl_int code) {
  switch (code) {
#define XPOOL_CL_ERROR(name) \
  case name:                 \
    return #name;
    XPOOL_CL_ERROR(CL_SUCCESS)
    XPOOL_CL_ERROR(CL_DEVICE_NOT_FOUND)
    XPOOL_CL_ERROR(CL_DEVICE_NOT_AVAILABLE)
    XPOOL_CL_ERROR(CL_COMPILER_NOT_AVAILABLE)
    XPOOL_CL_ERROR(CL_MEM_OBJECT_ALLOCATION_FAILURE)
    XPOOL_CL_ERROR(CL_OUT_OF_RESOURCES)
    XPOOL_CL_ERROR(CL_OUT_OF_HOST_MEMORY)
    XPOOL_CL_ERROR(CL_PROFILING_INFO_NOT_AVAILABLE)
    XPOOL_CL_ERROR(CL_MEM_COPY_OVERLAP)
    XPOOL_CL_ERROR(CL_IMAGE_FORMAT_MISMATCH)
    XPOOL_CL_ERROR(CL_IMAGE_FORMAT_NOT_SUPPORTED)
    XPOOL_CL_ERROR(CL_BUILD_PROGRAM_FAILURE)
    XPOOL_CL_ERROR(CL_MAP_FAILURE)
    XPOOL_CL_ERROR(CL_MISALIGNED_SUB_BUFFER_OFFSET)
    XPOOL_CL_ERROR(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST)
    XPOOL_CL_ERROR(CL_COMPILE_PROGRAM_FAILURE)
    XPOOL_CL_ERROR(CL_LINKER_NOT_AVAILABLE)
    XPOOL_CL_ERROR(CL_LINK_PROGRAM_FAILURE)
    XPOOL_CL_ERROR(CL_DEVICE_PARTITION_FAILED)
    XPOOL_CL_ERROR(CL_KERNEL_ARG_INFO_NOT_AVAILABLE)
    XPOOL_CL_ERROR(CL_INVALID_VALUE)
    XPOOL_CL_ERROR(CL_INVALID_DEVICE_TYPE)
    XPOOL_CL_ERROR(CL_INVALID_PLATFORM)
    XPOOL_CL_ERROR(CL_INVALID_DEVICE)
    XPOOL_CL_ERROR(CL_INVALID_CONTEXT)
    XPOOL_CL_ERROR(CL_INVALID_QUEUE_PROPERTIES)
    XPOOL_CL_ERROR(CL_INVALID_COMMAND_QUEUE)
    XPOOL_CL_ERROR(CL_INVALID_HOST_PTR)
    XPOOL_CL_ERROR(CL_INVALID_MEM_OBJECT)
    XPOOL_CL_ERROR(CL_INVALID_IMAGE_FORMAT_DESCRIPTOR)
    XPOOL_CL_ERROR(CL_INVALID_IMAGE_SIZE)
    XPOOL_CL_ERROR(CL_INVALID_SAMPLER)
    XPOOL_CL_ERROR(CL_INVALID_BINARY)
    XPOOL_CL_ERROR(CL_INVALID_BUILD_OPTIONS)
    XPOOL_CL_ERROR(CL_INVALID_PROGRAM)
    XPOOL_CL_ERROR(CL_INVALID_PROGRAM_EXECUTABLE)
    XPOOL_CL_ERROR(CL_INVALID_KERNEL_NAME)
    XPOOL_CL_ERROR(CL_INVALID_KERNEL_DEFINITION)
    XPOOL_CL_ERROR(CL_INVALID_KERNEL)
    XPOOL_CL_ERROR(CL_INVALID_ARG_INDEX)
    XPOOL_CL_ERROR(CL_INVALID_ARG_VALUE)
    XPOOL_CL_ERROR(CL_INVALID_ARG_SIZE)
    XPOOL_CL_ERROR(CL_INVALID_KERNEL_ARGS)
    XPOOL_CL_ERROR(CL_INVALID_WORK_DIMENSION)
    XPOOL_CL_ERROR(CL_INVALID_WORK_GROUP_SIZE)
    XPOOL_CL_ERROR(CL_INVALID_WORK_ITEM_SIZE)
    XPOOL_CL_ERROR(CL_INVALID_GLOBAL_OFFSET)
    XPOOL_CL_ERROR(CL_INVALID_EVENT_WAIT_LIST)
    XPOOL_CL_ERROR(CL_INVALID_EVENT)
    XPOOL_CL_ERROR(CL_INVALID_OPERATION)
    XPOOL_CL_ERROR(CL_INVALID_GL_OBJECT)
    XPOOL_CL_ERROR(CL_INVALID_BUFFER_SIZE)
    XPOOL_CL_ERROR(CL_INVALID_MIP_LEVEL)
    XPOOL_CL_ERROR(CL_INVALID_GLOBAL_WORK_SIZE)
    XPOOL_CL_ERROR(CL_INVALID_PROPERTY)
    XPOOL_CL_ERROR(CL_INVALID_IMAGE_DESCRIPTOR)
    XPOOL_CL_ERROR(CL_INVALID_COMPILER_OPTIONS)
    XPOOL_CL_ERROR(CL_INVALID_LINKER_OPTIONS)
    XPOOL_CL_ERROR(CL_INVALID_DEVICE_PARTITION_COUNT)
    XPOOL_CL_ERROR(CL_PLATFORM_NOT_FOUND_KHR)
#undef XPOOL_CL_ERROR
    // OpenCL 2.x and later codes, which the 1.2 headers do not name.
    case -69:
      return "CL_INVALID_PIPE_SIZE";
    case -70:
      return "CL_INVALID_DEVICE_QUEUE";
    case -71:
      return "CL_INVALID_SPEC_ID";
    case -72:
      return "CL_MAX_SIZE_RESTRICTION_EXCEEDED";
    default:
      return "CL_UNKNOWN_ERROR";
  }
}

}  // namespace xpool::opencl
