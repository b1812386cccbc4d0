// The cluster and job model the scheduler reasons about. Plain data: no I/O, no threads.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace xpool::sched {

using Time = double;  // seconds since the start of the trace (or of the control plane)
using JobId = int32_t;
using NodeId = int32_t;
using DeviceId = int32_t;  // index into ClusterState's flat device table
using ModelId = int32_t;   // index into Cluster::models
using GroupId = int32_t;
using UserId = int32_t;

constexpr Time kNever = std::numeric_limits<Time>::infinity();
// Device capacity is counted in thousandths of a card so that fractional jobs (1/4 card)
// and whole-device jobs share one integer unit and sums stay exact.
constexpr int kMilliPerDevice = 1000;
constexpr int64_t kUnlimited = std::numeric_limits<int64_t>::max() / 4;

enum class PriorityClass : uint8_t { kLow = 0, kNormal = 1, kHigh = 2, kEmergency = 3 };
enum class JobKind : uint8_t { kTraining = 0, kDevEnvironment, kInference, kBatch };
enum class Affinity : uint8_t { kNone = 0, kSameNode, kSameTopologyGroup, kSpread };

const char *to_string(PriorityClass c);
const char *to_string(JobKind k);
const char *to_string(Affinity a);
std::optional<PriorityClass> parse_priority(const std::string &s);
std::optional<JobKind> parse_kind(const std::string &s);
std::optional<Affinity> parse_affinity(const std::string &s);

struct DeviceModel {
  std::string name;     // "A100"
  std::string vendor;   // "nvidia"
  std::string backend;  // "cuda"
  int64_t memory_mb = 0;
  double price_per_hour = 1.0;  // accounting price per device-hour
};

struct DeviceSpec {
  ModelId model = 0;
  int share_count = 1;     // how many fractional tenants the card accepts (1: not shareable)
  int topology_group = 0;  // NVLink island / PCIe switch inside the node
  int64_t memory_mb = 0;   // 0: the model's memory
};

struct NodeSpec {
  std::string name;
  std::map<std::string, std::string> labels;
  int cpu_cores = 0;
  int64_t memory_mb = 0;
  bool healthy = true;
  std::vector<DeviceSpec> devices;
  std::vector<std::string> datasets;  // datasets cached on the node's local disk
};

// Quota resources: one per device model, then "any accelerator", CPU cores and memory (MB).
// Device amounts are in milli-devices.
struct QuotaLimit {
  int64_t guaranteed = 0;
  int64_t max = kUnlimited;
};

struct QuotaSet {
  std::vector<QuotaLimit> limits;  // indexed by resource; missing entries are unlimited
  QuotaLimit get(size_t resource) const {
    return resource < limits.size() ? limits[resource] : QuotaLimit{};
  }
  void set(size_t resource, QuotaLimit l) {
    if (limits.size() <= resource) limits.resize(resource + 1);
    limits[resource] = l;
  }
};

struct GroupSpec {
  std::string name;
  double weight = 1.0;  // fair-share weight
  QuotaSet quotas;
};

struct UserSpec {
  std::string name;
  GroupId group = 0;
  bool may_use_emergency = false;  // granted by an administrator
  QuotaSet quotas;
};

struct Cluster {
  std::vector<DeviceModel> models;
  std::vector<NodeSpec> nodes;
  std::vector<GroupSpec> groups;
  std::vector<UserSpec> users;

  size_t resource_count() const { return models.size() + 3; }
  size_t any_resource() const { return models.size(); }
  size_t cpu_resource() const { return models.size() + 1; }
  size_t memory_resource() const { return models.size() + 2; }
  std::string resource_name(size_t r) const;

  std::optional<ModelId> find_model(const std::string &name) const;
  std::optional<GroupId> find_group(const std::string &name) const;
  std::optional<UserId> find_user(const std::string &name) const;
  GroupId add_group(const std::string &name);               // returns existing if present
  UserId add_user(const std::string &name, GroupId group);  // returns existing if present
  ModelId add_model(DeviceModel m);                         // returns existing if present
};

struct DeviceConstraint {
  enum class Kind : uint8_t { kAny, kVendor, kModels };
  Kind kind = Kind::kAny;
  std::string vendor;
  std::vector<ModelId> models;
};

struct JobSpec {
  std::string name;
  JobKind kind = JobKind::kTraining;
  int workload_type = 0;  // row of the throughput matrix
  UserId user = 0;
  GroupId group = 0;
  PriorityClass priority = PriorityClass::kNormal;
  int workers = 1;
  int devices_per_worker = 1;    // whole devices per worker (0: CPU-only)
  int fraction_denominator = 1;  // >1: each worker takes 1/d of one card
  int64_t memory_cap_mb = 0;     // device memory cap of a fractional worker
  DeviceConstraint constraint;
  int cpu_per_worker = 0;
  int64_t memory_mb_per_worker = 0;
  bool preemptible = true;
  Time checkpoint_interval = 0;  // 0: no checkpoints (restart from scratch)
  std::optional<Time> expected_duration;
  std::string dataset;
  Affinity affinity = Affinity::kNone;

  bool fractional() const { return fraction_denominator > 1; }
  int milli_per_worker() const {
    return fractional() ? kMilliPerDevice / fraction_denominator
                        : devices_per_worker * kMilliPerDevice;
  }
  int64_t total_milli() const { return int64_t(workers) * milli_per_worker(); }
};

// "14" for whole devices, "14.25" for fractions.
std::string format_devices(int64_t milli);

}  // namespace xpool::sched
