#include "errors.h"

namespace xpool::xccl {
namespace {
thread_local std::string t_last_error;
}

xcclResult_t setError(xcclResult_t result, std::string message) {
  t_last_error = std::move(message);
  return result;
}

const std::string &lastError() {
  return t_last_error;
}

}  // namespace xpool::xccl

extern "C" {

const char *xcclGetErrorString(xcclResult_t result) {
  switch (result) {
    case xcclSuccess:
      return "no error";
    case xcclDeviceError:
      return "device runtime error";
    case xcclSystemError:
      return "system error (socket, shared memory)";
    case xcclInternalError:
      return "internal error (a bug in xccl)";
    case xcclInvalidArgument:
      return "invalid argument";
    case xcclInvalidUsage:
      return "invalid usage";
    case xcclRemoteError:
      return "remote error (a peer failed or disconnected)";
    case xcclInProgress:
      return "operation in progress";
    case xcclTimeout:
      return "timed out";
    case xcclNumResults:
      break;
  }
  return "unknown xccl result";
}

const char *xcclGetLastError(xcclComm_t) {
  return xpool::xccl::lastError().c_str();
}

xcclResult_t xcclGetVersion(int *version) {
  if (version == nullptr) {
    return xpool::xccl::fail(xcclInvalidArgument, "xcclGetVersion: version is NULL");
  }
  *version = XCCL_VERSION_CODE;
  return xcclSuccess;
}

}  // extern "C"
