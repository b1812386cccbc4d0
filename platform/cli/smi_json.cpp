// JSON rendering of `xpool smi --json` and `xpool smi topo --json`.
// Keys are snake_case and follow the C API's field names; integers and
// strings keep the C API's values ("" for no PCI bus id, -1 for an unknown
// NUMA node), and the C ints used as flags become booleans.
#include <nlohmann/json.hpp>

#include <string>

#include "smi_render.h"

namespace xpool::cli {
namespace {

using json = nlohmann::ordered_json;

std::string Version() {
  return std::to_string(XP_VERSION_MAJOR) + "." + std::to_string(XP_VERSION_MINOR) + "." +
         std::to_string(XP_VERSION_PATCH);
}

json HostJson(const HostInfo &host) {
  if (!host.valid) return nullptr;
  return {
      {"hostname", host.hostname}, {"sockets", host.sockets}, {"numa_nodes", host.numa_nodes},
      {"cores", host.cores},       {"pus", host.pus},         {"memory_total", host.memory_total},
  };
}

json BackendJson(const BackendInfo &backend) {
  return {
      {"index", backend.index},
      {"name", backend.name},
      {"available", backend.available},
      {"device_count", backend.device_count},
      {"first_device", backend.first_device},
      {"reason", backend.reason},
      {"plugin_path", backend.plugin_path},
      {"vendor_version", backend.vendor_version},
      {"abi_major", backend.abi_major},
      {"abi_minor", backend.abi_minor},
  };
}

json DeviceJson(const DeviceInfo &device) {
  return {
      {"device", device.device},
      {"backend_index", device.backend_index},
      {"backend_device", device.backend_device},
      {"backend", device.backend},
      {"vendor", device.vendor},
      {"name", device.name},
      {"uuid", device.uuid_hex()},
      {"stable_id", device.stable_id},
      {"memory_total", device.memory_total},
      {"memory_free", device.memory_free},
      {"memory_used", device.memory_used()},
      {"memory_allocated", device.memory_allocated},
      {"compute_units", device.compute_units},
      {"max_threads_per_block", device.max_threads_per_block},
      {"shared_mem_per_block", device.shared_mem_per_block},
      {"pci_bus_id", device.pci_bus_id},
      {"numa_node", device.numa_node},
      {"host_addressable", device.host_addressable},
      {"compute_major", device.compute_major},
      {"compute_minor", device.compute_minor},
  };
}

json ErrorsJson(const Snapshot &snapshot) {
  json errors = json::array();
  for (const auto &error : snapshot.errors) {
    errors.push_back({{"call", error.call}, {"status", error.status}, {"message", error.message}});
  }
  return errors;
}

const char *AffinityKey(int affinity) {
  switch (affinity) {
    case XP_AFFINITY_SAME_DEVICE:
      return "same_device";
    case XP_AFFINITY_SAME_PCI_SWITCH:
      return "same_pci_switch";
    case XP_AFFINITY_SAME_NUMA_NODE:
      return "same_numa_node";
    case XP_AFFINITY_SAME_HOST:
      return "same_host";
    default:
      return "unknown";
  }
}

std::string Dump(const json &document) {
  // Replace invalid UTF-8 from a vendor string rather than throwing.
  return document.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace

std::string RenderSmiJson(const Snapshot &snapshot) {
  json backends = json::array();
  for (const auto &backend : snapshot.backends) backends.push_back(BackendJson(backend));
  json devices = json::array();
  for (const auto &device : snapshot.devices) devices.push_back(DeviceJson(device));
  const json document = {
      {"xpool_version", Version()},      {"initialized", snapshot.initialized},
      {"host", HostJson(snapshot.host)}, {"backends", std::move(backends)},
      {"devices", std::move(devices)},   {"errors", ErrorsJson(snapshot)},
  };
  return Dump(document);
}

std::string RenderTopoJson(const Snapshot &snapshot) {
  json devices = json::array();
  for (const auto &device : snapshot.devices) {
    devices.push_back({
        {"device", device.device},
        {"backend", device.backend},
        {"name", device.name},
        {"stable_id", device.stable_id},
        {"pci_bus_id", device.pci_bus_id},
        {"numa_node", device.numa_node},
    });
  }
  json matrix = json::array();
  json affinity = json::array();
  for (const auto &row : snapshot.affinity) {
    json abbrevs = json::array();
    json keys = json::array();
    for (const int value : row) {
      abbrevs.push_back(AffinityAbbrev(value));
      keys.push_back(AffinityKey(value));
    }
    matrix.push_back(std::move(abbrevs));
    affinity.push_back(std::move(keys));
  }
  json legend = json::object();
  for (const int value : {XP_AFFINITY_SAME_DEVICE, XP_AFFINITY_SAME_PCI_SWITCH,
                          XP_AFFINITY_SAME_NUMA_NODE, XP_AFFINITY_SAME_HOST}) {
    legend[AffinityAbbrev(value)] = AffinityDescription(value);
  }
  const json document = {
      {"xpool_version", Version()},      {"initialized", snapshot.initialized},
      {"host", HostJson(snapshot.host)}, {"devices", std::move(devices)},
      {"matrix", std::move(matrix)},     {"affinity", std::move(affinity)},
      {"legend", std::move(legend)},     {"errors", ErrorsJson(snapshot)},
  };
  return Dump(document);
}

}  // namespace xpool::cli
