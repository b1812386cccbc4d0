// One spdlog logger per component ("runtime", "cpu", "opencl", ...), all at
// the level XPOOL_LOG_LEVEL names (trace, debug, info, warn, error, off;
// default warn).
#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <string>

namespace xpool {

std::shared_ptr<spdlog::logger> logger(const std::string &component);

}  // namespace xpool
