#include "xpool/scheduler/model.h"

#include <cstdio>

namespace xpool::sched {

const char *to_string(PriorityClass c) {
  switch (c) {
    case PriorityClass::kLow:
      return "low";
    case PriorityClass::kNormal:
      return "normal";
    case PriorityClass::kHigh:
      return "high";
    case PriorityClass::kEmergency:
      return "emergency";
  }
  return "?";
}

const char *to_string(JobKind k) {
  switch (k) {
    case JobKind::kTraining:
      return "training";
    case JobKind::kDevEnvironment:
      return "devenv";
    case JobKind::kInference:
      return "inference";
    case JobKind::kBatch:
      return "batch";
  }
  return "?";
}

const char *to_string(Affinity a) {
  switch (a) {
    case Affinity::kNone:
      return "none";
    case Affinity::kSameNode:
      return "same-node";
    case Affinity::kSameTopologyGroup:
      return "same-topology";
    case Affinity::kSpread:
      return "spread";
  }
  return "?";
}

std::optional<PriorityClass> parse_priority(const std::string &s) {
  if (s == "low") return PriorityClass::kLow;
  if (s == "normal" || s.empty()) return PriorityClass::kNormal;
  if (s == "high") return PriorityClass::kHigh;
  if (s == "emergency") return PriorityClass::kEmergency;
  return std::nullopt;
}

std::optional<JobKind> parse_kind(const std::string &s) {
  if (s == "training" || s.empty()) return JobKind::kTraining;
  if (s == "devenv" || s == "development") return JobKind::kDevEnvironment;
  if (s == "inference") return JobKind::kInference;
  if (s == "batch") return JobKind::kBatch;
  return std::nullopt;
}

std::optional<Affinity> parse_affinity(const std::string &s) {
  if (s == "none" || s.empty()) return Affinity::kNone;
  if (s == "same-node") return Affinity::kSameNode;
  if (s == "same-topology") return Affinity::kSameTopologyGroup;
  if (s == "spread") return Affinity::kSpread;
  return std::nullopt;
}

std::string Cluster::resource_name(size_t r) const {
  if (r < models.size()) return models[r].name;
  if (r == any_resource()) return "accelerators";
  if (r == cpu_resource()) return "CPU cores";
  return "MB memory";
}

std::optional<ModelId> Cluster::find_model(const std::string &name) const {
  for (size_t i = 0; i < models.size(); ++i)
    if (models[i].name == name) return ModelId(i);
  return std::nullopt;
}

std::optional<GroupId> Cluster::find_group(const std::string &name) const {
  for (size_t i = 0; i < groups.size(); ++i)
    if (groups[i].name == name) return GroupId(i);
  return std::nullopt;
}

std::optional<UserId> Cluster::find_user(const std::string &name) const {
  for (size_t i = 0; i < users.size(); ++i)
    if (users[i].name == name) return UserId(i);
  return std::nullopt;
}

GroupId Cluster::add_group(const std::string &name) {
  if (auto g = find_group(name)) return *g;
  groups.push_back(GroupSpec{name, 1.0, {}});
  return GroupId(groups.size() - 1);
}

UserId Cluster::add_user(const std::string &name, GroupId group) {
  if (auto u = find_user(name)) return *u;
  users.push_back(UserSpec{name, group, false, {}});
  return UserId(users.size() - 1);
}

ModelId Cluster::add_model(DeviceModel m) {
  if (auto id = find_model(m.name)) return *id;
  models.push_back(std::move(m));
  return ModelId(models.size() - 1);
}

std::string format_devices(int64_t milli) {
  char buf[48];
  if (milli % kMilliPerDevice == 0) {
    std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(milli / kMilliPerDevice));
  } else {
    std::snprintf(buf, sizeof buf, "%.2f", double(milli) / kMilliPerDevice);
  }
  return buf;
}

}  // namespace xpool::sched
