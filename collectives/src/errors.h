// Results and the thread-local last-error message of xccl's C API.
#pragma once

#include <fmt/format.h>

#include <string>

#include "xpool/xccl.h"

namespace xpool::xccl {

// Sets this thread's message and returns `result`, so a failure reads
// `return fail(xcclInvalidArgument, "xcclSend: peer {} of {} ranks", ...)`.
xcclResult_t setError(xcclResult_t result, std::string message);

template <typename... Args>
xcclResult_t fail(xcclResult_t result, fmt::format_string<Args...> format, Args &&...args) {
  return setError(result, fmt::format(format, std::forward<Args>(args)...));
}

// This thread's message ("" when none).
const std::string &lastError();

// An error with its message, carried where a failure happens on one thread
// and is reported on another (asynchronous work, a broken communicator).
struct Failure {
  xcclResult_t result = xcclSuccess;
  std::string message;
  bool failed() const { return result != xcclSuccess; }
};

}  // namespace xpool::xccl

#define XCCL_RETURN_IF_ERROR(expr)                        \
  do {                                                    \
    const xcclResult_t xccl_result_ = (expr);             \
    if (xccl_result_ != xcclSuccess) return xccl_result_; \
  } while (0)
