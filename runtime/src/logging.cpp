#include "logging.h"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <cstdlib>
#include <mutex>

namespace xpool {
namespace {

spdlog::level::level_enum levelFromEnvironment() {
  const char *value = std::getenv("XPOOL_LOG_LEVEL");
  if (value == nullptr || *value == '\0') return spdlog::level::warn;
  auto level = spdlog::level::from_str(value);
  // from_str answers "off" for names it does not know; say so once.
  if (level == spdlog::level::off && std::string(value) != "off") {
    fmt::print(stderr,
               "xpool: XPOOL_LOG_LEVEL={} is not one of trace, debug, info, warn, "
               "error, critical, off; using warn\n",
               value);
    return spdlog::level::warn;
  }
  return level;
}

}  // namespace

std::shared_ptr<spdlog::logger> logger(const std::string &component) {
  static std::mutex mutex;
  static const spdlog::level::level_enum level = levelFromEnvironment();
  std::lock_guard lock(mutex);
  const std::string name = "xpool." + component;
  if (auto existing = spdlog::get(name)) return existing;
  auto created = spdlog::stderr_color_mt(name);
  created->set_level(level);
  created->set_pattern("[%H:%M:%S.%e] [%n] [%^%l%$] %v");
  return created;
}

}  // namespace xpool
