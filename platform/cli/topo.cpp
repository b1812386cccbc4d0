// Text rendering of `xpool smi topo`: the device-to-device affinity matrix
// in the style of `nvidia-smi topo -m`.
#include <string>
#include <vector>

#include "smi_render.h"
#include "table.h"

namespace xpool::cli {
namespace {

Style AffinityStyle(int affinity) {
  switch (affinity) {
    case XP_AFFINITY_SAME_DEVICE:
      return Style::kDim;
    case XP_AFFINITY_SAME_PCI_SWITCH:
      return Style::kGreen;
    case XP_AFFINITY_SAME_NUMA_NODE:
      return Style::kCyan;
    case XP_AFFINITY_SAME_HOST:
      return Style::kYellow;
    default:
      return Style::kRed;
  }
}

std::string DeviceLabel(const DeviceInfo &device) {
  return "DEV" + std::to_string(device.device);
}

}  // namespace

std::string RenderTopoText(const Snapshot &snapshot, const TextOptions &options) {
  const bool color = options.color;
  std::string out = RenderHostText(snapshot, options) + "\n";
  if (snapshot.devices.empty()) {
    out += snapshot.initialized ? "No devices in the pool.\n"
                                : "Unknown: the runtime did not initialise.\n";
    return out;
  }

  std::vector<Column> columns;
  columns.push_back({""});
  for (const auto &device : snapshot.devices) {
    columns.push_back({DeviceLabel(device), Align::kCenter});
  }
  columns.push_back({"NUMA node", Align::kRight});
  columns.push_back({"PCI bus"});
  columns.push_back({"Device", Align::kLeft, true, 16});
  Table table(std::move(columns));

  const size_t n = snapshot.devices.size();
  for (size_t a = 0; a < n; ++a) {
    const DeviceInfo &device = snapshot.devices[a];
    std::vector<Cell> row;
    row.emplace_back(DeviceLabel(device), Style::kBold);
    for (size_t b = 0; b < n; ++b) {
      const int affinity = a < snapshot.affinity.size() && b < snapshot.affinity[a].size()
                               ? snapshot.affinity[a][b]
                               : kAffinityUnknown;
      row.emplace_back(AffinityAbbrev(affinity), AffinityStyle(affinity));
    }
    row.emplace_back(device.numa_node >= 0 ? std::to_string(device.numa_node) : "-");
    row.emplace_back(device.pci_bus_id.empty() ? "-" : device.pci_bus_id);
    row.emplace_back(device.backend + ": " + (device.name.empty() ? "-" : device.name));
    table.AddRow(std::move(row));
  }
  RenderOptions render{color, options.max_width};
  render.borders = false;
  out += table.Render(render);

  out += "\n" + Styled("Legend:", Style::kBold, color) + "\n";
  for (const int value : {XP_AFFINITY_SAME_DEVICE, XP_AFFINITY_SAME_PCI_SWITCH,
                          XP_AFFINITY_SAME_NUMA_NODE, XP_AFFINITY_SAME_HOST}) {
    std::string abbrev = AffinityAbbrev(value);
    abbrev.resize(6, ' ');
    out += "  " + Styled(abbrev, AffinityStyle(value), color) + "= " + AffinityDescription(value) +
           "\n";
  }
  return out;
}

}  // namespace xpool::cli
