// Error and log helpers: every failure names the OpenCL call, the OpenCL
// error by name and the values involved.
#pragma once

#include <string>

#include "cl_api.h"
#include "xpool/backend.h"

namespace xpool::opencl {

// The outcome of an operation that may run later, on another thread (work
// deferred behind a host function), where set_error cannot reach the caller.
struct OpStatus {
  xpStatus status = XP_SUCCESS;
  std::string message;
  bool ok() const { return status == XP_SUCCESS; }
};

// The xpool status an OpenCL error code maps to (OUT_OF_MEMORY for the
// allocation failures, INVALID_VALUE for bad arguments, BACKEND otherwise).
xpStatus statusFromCl(cl_int code);

// "<call>: <CL_NAME> (<code>) <format...>" with status statusFromCl(code).
OpStatus clError(const char *call, cl_int code, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

// Sets the last error from `op` (when it failed) and returns its status.
xpStatus report(const xpbHostApi *host, const OpStatus &op);

// Sets the last error to clError(...) and returns its status.
xpStatus clFail(const xpbHostApi *host, const char *call, cl_int code, const char *format, ...)
    __attribute__((format(printf, 4, 5)));

// Same, with an explicit status.
xpStatus clFailAs(const xpbHostApi *host, xpStatus status, const char *call, cl_int code,
                  const char *format, ...) __attribute__((format(printf, 5, 6)));

// Logs through host->log under component "opencl".
void logf(const xpbHostApi *host, xpbLogLevel level, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

}  // namespace xpool::opencl
