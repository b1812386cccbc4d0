// Finds backend plugins (XPOOL_BACKEND_PATH, then the install's plugin
// folder next to this library), opens them, checks their ABI and starts them.
// A plugin that cannot serve is still returned, unavailable, with a reason.
#pragma once

#include <memory>
#include <vector>

#include "registry.h"

namespace xpool {

std::vector<std::unique_ptr<Backend>> loadBackends(const xpbHostApi *host);
// Shuts the backend down and closes its library.
void unloadBackend(Backend &backend);

}  // namespace xpool
