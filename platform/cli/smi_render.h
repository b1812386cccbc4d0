// Renderers of a Snapshot: text for people, JSON for programs.
#ifndef XPOOL_CLI_SMI_RENDER_H
#define XPOOL_CLI_SMI_RENDER_H

#include <cstddef>
#include <string>

#include "smi_collect.h"

namespace xpool::cli {

struct TextOptions {
  bool color = false;    // ANSI styles
  size_t max_width = 0;  // terminal columns to fit tables into; 0: no limit
};

// `xpool smi`: host header, backends table, devices table.
std::string RenderSmiText(const Snapshot &snapshot, const TextOptions &options);
// `xpool smi --json`: one JSON document, newline-terminated.
std::string RenderSmiJson(const Snapshot &snapshot);

// `xpool smi topo`: host header, device affinity matrix, legend.
std::string RenderTopoText(const Snapshot &snapshot, const TextOptions &options);
// `xpool smi topo --json`.
std::string RenderTopoJson(const Snapshot &snapshot);

// The host header line shared by both text views.
std::string RenderHostText(const Snapshot &snapshot, const TextOptions &options);
// "xpInit failed (XP_ERROR_...): message" lines, for stderr.
std::string RenderErrors(const Snapshot &snapshot);

}  // namespace xpool::cli

#endif  // XPOOL_CLI_SMI_RENDER_H
