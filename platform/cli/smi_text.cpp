// Text rendering of `xpool smi`.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "smi_render.h"
#include "table.h"

namespace xpool::cli {
namespace {

std::string OrDash(const std::string &text) {
  return text.empty() ? "-" : text;
}

std::string Plural(int count, const char *one, const char *many) {
  return std::to_string(count) + " " + (count == 1 ? one : many);
}

std::string Ordinals(const BackendInfo &backend) {
  if (backend.device_count <= 0 || backend.first_device < 0) return "-";
  if (backend.device_count == 1) return std::to_string(backend.first_device);
  return std::to_string(backend.first_device) + "-" +
         std::to_string(backend.first_device + backend.device_count - 1);
}

// "3.0 / 8.0 GiB", or "512 MiB / 8.0 GiB" when the units differ.
std::string UsedOfTotal(uint64_t used, uint64_t total) {
  const std::string used_text = FormatBytes(used);
  const std::string total_text = FormatBytes(total);
  const size_t used_space = used_text.rfind(' ');
  const size_t total_space = total_text.rfind(' ');
  if (used_space != std::string::npos && total_space != std::string::npos &&
      used_text.substr(used_space) == total_text.substr(total_space)) {
    return used_text.substr(0, used_space) + " / " + total_text;
  }
  return used_text + " / " + total_text;
}

std::string RenderBackends(const Snapshot &snapshot, const TextOptions &options) {
  bool any_reason = false;
  for (const auto &backend : snapshot.backends) any_reason |= !backend.reason.empty();

  Table table({
      {"Backend"},
      {"Status"},
      {"Devices", Align::kRight},
      {"Ordinals", Align::kRight},
      {"Version", Align::kLeft, true, 12},
      {"ABI"},
      {any_reason ? "Plugin / reason" : "Plugin", Align::kLeft, true, 24},
  });
  for (const auto &backend : snapshot.backends) {
    const bool abi_known = backend.abi_major != 0 || backend.abi_minor != 0;
    // Unavailable: the reason first (what to act on), then the plugin path.
    Cell detail(OrDash(backend.plugin_path), Style::kDim);
    if (!backend.reason.empty()) {
      detail =
          Cell(backend.reason + (backend.plugin_path.empty() ? "" : "\n" + backend.plugin_path),
               Style::kYellow, Style::kDim);
    }
    table.AddRow({
        Cell(backend.name, Style::kBold),
        backend.available ? Cell("available", Style::kGreen) : Cell("not available", Style::kRed),
        Cell(std::to_string(backend.device_count)),
        Cell(Ordinals(backend)),
        Cell(OrDash(backend.vendor_version)),
        Cell(abi_known ? std::to_string(backend.abi_major) + "." + std::to_string(backend.abi_minor)
                       : "-"),
        std::move(detail),
    });
  }
  return table.Render({options.color, options.max_width});
}

// One line per device, the stable id in its own column.
Table WideDeviceTable(const Snapshot &snapshot) {
  Table table({
      {"#", Align::kRight},
      {"Backend"},
      {"Name", Align::kLeft, true, 16},
      {"Vendor", Align::kLeft, true, 8},
      {"Memory used / total", Align::kRight},
      {"CUs", Align::kRight},
      {"PCI bus"},
      {"NUMA", Align::kRight},
      {"Host-addr"},
      {"Stable id", Align::kLeft, true, 16},
  });
  for (const auto &device : snapshot.devices) {
    table.AddRow({
        Cell(std::to_string(device.device), Style::kBold),
        Cell(device.backend),
        Cell(OrDash(device.name), Style::kBold),
        Cell(OrDash(device.vendor)),
        Cell(UsedOfTotal(device.memory_used(), device.memory_total)),
        Cell(std::to_string(device.compute_units)),
        Cell(OrDash(device.pci_bus_id)),
        Cell(device.numa_node >= 0 ? std::to_string(device.numa_node) : "-"),
        Cell(device.host_addressable ? "yes" : "no"),
        Cell(OrDash(device.stable_id), Style::kDim),
    });
  }
  return table;
}

// Two lines per device (vendor under backend, stable id under name), for
// terminals too narrow for the wide table.
Table CompactDeviceTable(const Snapshot &snapshot) {
  Table table({
      {"#", Align::kRight},
      {"Backend\nVendor", Align::kLeft, true, 8},
      {"Name\nStable id", Align::kLeft, true, 16},
      {"Memory\nused / total", Align::kRight},
      {"CUs", Align::kRight},
      {"PCI bus"},
      {"NUMA", Align::kRight},
      {"Host-\naddr"},
  });
  for (const auto &device : snapshot.devices) {
    table.AddRow({
        Cell(std::to_string(device.device), Style::kBold),
        Cell(device.backend + "\n" + OrDash(device.vendor), Style::kPlain, Style::kDim),
        Cell(OrDash(device.name) + "\n" + OrDash(device.stable_id), Style::kBold, Style::kDim),
        Cell(UsedOfTotal(device.memory_used(), device.memory_total)),
        Cell(std::to_string(device.compute_units)),
        Cell(OrDash(device.pci_bus_id)),
        Cell(device.numa_node >= 0 ? std::to_string(device.numa_node) : "-"),
        Cell(device.host_addressable ? "yes" : "no"),
    });
  }
  return table;
}

std::string RenderDevices(const Snapshot &snapshot, const TextOptions &options) {
  const RenderOptions render{options.color, options.max_width};
  const Table wide = WideDeviceTable(snapshot);
  if (options.max_width == 0 || wide.NaturalWidth(render) <= options.max_width) {
    return wide.Render(render);
  }
  return CompactDeviceTable(snapshot).Render(render);
}

}  // namespace

std::string RenderHostText(const Snapshot &snapshot, const TextOptions &options) {
  const bool color = options.color;
  const auto label = [color](const char *text) { return Styled(text, Style::kBold, color); };
  std::string out = Styled("xpool smi", Style::kBold, color) + " " +
                    std::to_string(XP_VERSION_MAJOR) + "." + std::to_string(XP_VERSION_MINOR) +
                    "." + std::to_string(XP_VERSION_PATCH) + "\n";
  const HostInfo &host = snapshot.host;
  if (!host.valid) {
    return out + label("Host") + "  " +
           Styled("unknown (xpHostGetTopology failed)", Style::kRed, color) + "\n";
  }
  out += label("Host") + " " + OrDash(host.hostname) + "    ";
  out += label("Sockets") + " " + std::to_string(host.sockets) + "    ";
  out += label("NUMA nodes") + " " + std::to_string(host.numa_nodes) + "    ";
  out += label("Cores") + " " + std::to_string(host.cores) + " (" +
         Plural(host.pus, "thread", "threads") + ")    ";
  out += label("Memory") + " " + FormatBytes(host.memory_total) + "\n";
  return out;
}

std::string RenderSmiText(const Snapshot &snapshot, const TextOptions &options) {
  const bool color = options.color;
  std::string out = RenderHostText(snapshot, options);

  out += "\n" + Styled("Backends", Style::kBold, color) + "\n";
  if (snapshot.backends.empty()) {
    out += snapshot.initialized ? "  No backends found (see XPOOL_BACKENDS, XPOOL_BACKEND_PATH).\n"
                                : "  Unknown: the runtime did not initialise.\n";
  } else {
    out += RenderBackends(snapshot, options);
  }

  out += "\n" + Styled("Devices", Style::kBold, color) + "\n";
  if (snapshot.devices.empty()) {
    out += snapshot.initialized ? "  No devices in the pool.\n"
                                : "  Unknown: the runtime did not initialise.\n";
  } else {
    out += RenderDevices(snapshot, options);
  }
  return out;
}

std::string RenderErrors(const Snapshot &snapshot) {
  std::string out;
  for (const auto &error : snapshot.errors) {
    out += "xpool: error: " + error.call + " failed (" + error.status + ")";
    if (!error.message.empty()) out += ": " + error.message;
    out += "\n";
  }
  return out;
}

}  // namespace xpool::cli
