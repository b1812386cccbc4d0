#include "logging.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <memory>
#include <string>

namespace xpool::xccl {

spdlog::logger *logger() {
  static const std::shared_ptr<spdlog::logger> instance = [] {
    auto made = std::make_shared<spdlog::logger>(
        "xccl", std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
    // The pid tells ranks apart when several share one terminal.
    made->set_pattern(fmt::format("[%H:%M:%S.%e] [xccl {}] [%^%l%$] %v", getpid()));
    spdlog::level::level_enum level = spdlog::level::warn;
    if (const char *text = std::getenv("XCCL_DEBUG")) {
      std::string name(text);
      for (char &c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (name == "warning") name = "warn";
      level = spdlog::level::from_str(name);  // unknown names give "off"
      if (level == spdlog::level::off && name != "off") level = spdlog::level::warn;
    }
    made->set_level(level);
    return made;
  }();
  return instance.get();
}

}  // namespace xpool::xccl
