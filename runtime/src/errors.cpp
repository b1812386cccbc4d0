#include "errors.h"

namespace xpool {
namespace {
thread_local std::string t_last_error;
}

xpStatus setError(xpStatus status, std::string message) {
  t_last_error = std::move(message);
  return status;
}

const std::string &lastError() {
  return t_last_error;
}

std::string formatBytes(uint64_t bytes) {
  static const char *const kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  if (bytes < 1024) return fmt::format("{} B", bytes);
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024.0 && unit < 5) {
    value /= 1024.0;
    ++unit;
  }
  return fmt::format("{:.1f} {}", value, kUnits[unit]);
}

}  // namespace xpool

extern "C" {

const char *xpStatusName(xpStatus status) {
  switch (status) {
    case XP_SUCCESS:
      return "XP_SUCCESS";
    case XP_ERROR_INVALID_VALUE:
      return "XP_ERROR_INVALID_VALUE";
    case XP_ERROR_INVALID_HANDLE:
      return "XP_ERROR_INVALID_HANDLE";
    case XP_ERROR_OUT_OF_MEMORY:
      return "XP_ERROR_OUT_OF_MEMORY";
    case XP_ERROR_NOT_INITIALIZED:
      return "XP_ERROR_NOT_INITIALIZED";
    case XP_ERROR_NOT_FOUND:
      return "XP_ERROR_NOT_FOUND";
    case XP_ERROR_NOT_SUPPORTED:
      return "XP_ERROR_NOT_SUPPORTED";
    case XP_ERROR_NOT_READY:
      return "XP_ERROR_NOT_READY";
    case XP_ERROR_TIMEOUT:
      return "XP_ERROR_TIMEOUT";
    case XP_ERROR_BACKEND:
      return "XP_ERROR_BACKEND";
    case XP_ERROR_BUILD:
      return "XP_ERROR_BUILD";
    case XP_ERROR_NO_DEVICE:
      return "XP_ERROR_NO_DEVICE";
    case XP_ERROR_ABI_MISMATCH:
      return "XP_ERROR_ABI_MISMATCH";
    case XP_ERROR_INTERNAL:
      return "XP_ERROR_INTERNAL";
    case XP_STATUS_MAX_ENUM:
      break;
  }
  return "XP_ERROR_UNKNOWN";
}

const char *xpGetLastError(void) {
  return xpool::t_last_error.c_str();
}

void xpClearLastError(void) {
  xpool::t_last_error.clear();
}

}  // extern "C"
