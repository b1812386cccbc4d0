// Thread-local last-error message and the helpers every API call uses to
// fail with a message that names the call and the values involved.
#pragma once

#include <fmt/format.h>

#include <string>

#include "xpool/runtime.h"

namespace xpool {

// Stores `message` as this thread's last error and returns `status`.
xpStatus setError(xpStatus status, std::string message);

template <typename... Args>
xpStatus fail(xpStatus status, fmt::format_string<Args...> format, Args &&...args) {
  return setError(status, fmt::format(format, std::forward<Args>(args)...));
}

// The current message, for prefixing context onto a backend's error.
const std::string &lastError();

// "1.5 GiB", "4096 B": sizes in messages people read.
std::string formatBytes(uint64_t bytes);

}  // namespace xpool

// Returns from the enclosing function when `expr` is not XP_SUCCESS.
#define XP_RETURN_IF_ERROR(expr)                     \
  do {                                               \
    xpStatus xp_status_ = (expr);                    \
    if (xp_status_ != XP_SUCCESS) return xp_status_; \
  } while (0)
