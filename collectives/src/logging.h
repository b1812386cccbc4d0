// xccl's spdlog logger: level from XCCL_DEBUG (WARN, INFO, TRACE; default WARN).
#pragma once

#include <spdlog/logger.h>

namespace xpool::xccl {

spdlog::logger *logger();

}  // namespace xpool::xccl
