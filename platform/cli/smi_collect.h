// Queries the xpool runtime into plain structs that the text and JSON
// renderers share. Only this file's .cpp talks to the runtime for `smi`.
#ifndef XPOOL_CLI_SMI_COLLECT_H
#define XPOOL_CLI_SMI_COLLECT_H

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "xpool/runtime.h"

namespace xpool::cli {

struct HostInfo {
  bool valid = false;  // false when xpHostGetTopology failed
  std::string hostname;
  int sockets = 0;
  int numa_nodes = 0;
  int cores = 0;
  int pus = 0;
  uint64_t memory_total = 0;
};

// Every field of xpBackendInfo except struct_size, plus its index.
struct BackendInfo {
  int index = 0;
  std::string name;
  bool available = false;
  int device_count = 0;
  int first_device = -1;
  std::string reason;
  std::string plugin_path;
  std::string vendor_version;
  uint32_t abi_major = 0;
  uint32_t abi_minor = 0;
};

// Every field of xpDeviceProps except struct_size.
struct DeviceInfo {
  int device = 0;
  int backend_index = 0;
  int backend_device = 0;
  std::string backend;
  std::string vendor;
  std::string name;
  std::array<uint8_t, 16> uuid{};
  std::string stable_id;
  uint64_t memory_total = 0;
  uint64_t memory_free = 0;
  uint64_t memory_allocated = 0;
  int compute_units = 0;
  int max_threads_per_block = 0;
  uint64_t shared_mem_per_block = 0;
  std::string pci_bus_id;  // "" when not a PCI device
  int numa_node = -1;      // -1 when unknown
  bool host_addressable = false;
  int compute_major = 0;
  int compute_minor = 0;

  // total - free, never negative.
  uint64_t memory_used() const {
    return memory_total > memory_free ? memory_total - memory_free : 0;
  }
  // 32 lowercase hex digits.
  std::string uuid_hex() const;
};

// One failed runtime call: what was called, its status name and the
// runtime's xpGetLastError() text.
struct CallError {
  std::string call;
  std::string status;
  std::string message;
};

// Affinity matrix entry when xpDeviceGetAffinity failed.
inline constexpr int kAffinityUnknown = -1;

struct Snapshot {
  bool initialized = false;  // xpInit succeeded
  HostInfo host;
  std::vector<BackendInfo> backends;
  std::vector<DeviceInfo> devices;
  // affinity[a][b] is an xpAffinity value or kAffinityUnknown; empty unless
  // collected with affinity.
  std::vector<std::vector<int>> affinity;
  std::vector<CallError> errors;

  bool ok() const { return initialized && errors.empty(); }
};

struct CollectOptions {
  bool affinity = false;  // also fill Snapshot::affinity (N x N calls)
};

// Initialises the runtime, reads everything `smi` shows and shuts the
// runtime down again. Never throws on runtime failures: each failed call is
// recorded in Snapshot::errors and collection goes on with what is left.
Snapshot Collect(const CollectOptions &options);

// "X", "PIX", "NODE", "SYS" (as in nvidia-smi topo -m), or "?".
const char *AffinityAbbrev(int affinity);
// What an abbreviation means, for legends ("same device", ...).
const char *AffinityDescription(int affinity);

}  // namespace xpool::cli

#endif  // XPOOL_CLI_SMI_COLLECT_H
