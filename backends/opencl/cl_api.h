// The OpenCL entry points the backend uses, resolved at run time.
//
// The plugin never links libOpenCL: loadClApi() dlopens the ICD loader and
// fills a ClApi table with dlsym. Everything else calls OpenCL through it.
#pragma once

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#include <CL/cl.h>
#include <CL/cl_ext.h>

#include <string>

// OpenCL 2.1 names that the 1.2 headers do not declare.
#ifndef CL_DEVICE_IL_VERSION
#define CL_DEVICE_IL_VERSION 0x105B
#endif
#ifndef CL_PLATFORM_NOT_FOUND_KHR
#define CL_PLATFORM_NOT_FOUND_KHR -1001
#endif

namespace xpool::opencl {

using PfnCreateProgramWithIL = cl_program (*)(cl_context, const void *, size_t, cl_int *);

// X(name): a required entry point, typed from the 1.2 header's prototype.
#define XPOOL_CL_REQUIRED_FUNCTIONS(X) \
  X(clGetPlatformIDs)                  \
  X(clGetPlatformInfo)                 \
  X(clGetDeviceIDs)                    \
  X(clGetDeviceInfo)                   \
  X(clCreateContext)                   \
  X(clReleaseContext)                  \
  X(clCreateCommandQueue)              \
  X(clReleaseCommandQueue)             \
  X(clFlush)                           \
  X(clCreateBuffer)                    \
  X(clCreateSubBuffer)                 \
  X(clRetainMemObject)                 \
  X(clReleaseMemObject)                \
  X(clEnqueueReadBuffer)               \
  X(clEnqueueWriteBuffer)              \
  X(clEnqueueCopyBuffer)               \
  X(clEnqueueFillBuffer)               \
  X(clEnqueueMarkerWithWaitList)       \
  X(clEnqueueBarrierWithWaitList)      \
  X(clEnqueueNDRangeKernel)            \
  X(clSetEventCallback)                \
  X(clGetEventInfo)                    \
  X(clGetEventProfilingInfo)           \
  X(clRetainEvent)                     \
  X(clReleaseEvent)                    \
  X(clCreateProgramWithSource)         \
  X(clBuildProgram)                    \
  X(clGetProgramInfo)                  \
  X(clGetProgramBuildInfo)             \
  X(clReleaseProgram)                  \
  X(clCreateKernel)                    \
  X(clReleaseKernel)                   \
  X(clGetKernelInfo)                   \
  X(clGetKernelArgInfo)                \
  X(clGetKernelWorkGroupInfo)          \
  X(clSetKernelArg)

struct ClApi {
#define XPOOL_CL_DECLARE(name) decltype(&::name) name = nullptr;
  XPOOL_CL_REQUIRED_FUNCTIONS(XPOOL_CL_DECLARE)
#undef XPOOL_CL_DECLARE
  // Optional (OpenCL 2.1): NULL when the ICD loader lacks it.
  PfnCreateProgramWithIL clCreateProgramWithIL = nullptr;
  std::string library;  // the name that was opened
};

// Opens the ICD loader (XPOOL_OPENCL_LIBRARY, default "libOpenCL.so.1") once
// per process and returns its table, or NULL with `*why` set to a reason a
// person can act on. The library stays loaded for the life of the process:
// vendor drivers start threads and register exit handlers inside it.
const ClApi *loadClApi(std::string *why);

// "CL_OUT_OF_RESOURCES" for -5; "CL_UNKNOWN_ERROR" for codes it does not know.
const char *clErrorName(cl_int code);

}  // namespace xpool::opencl
