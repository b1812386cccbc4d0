// Cluster description in JSON (no YAML library is available on the build hosts; JSON is a
// subset of YAML 1.2, so a YAML reader can be added later without changing the model).
#include <nlohmann/json.hpp>

#include "xpool/scheduler/trace_io.h"

namespace xpool::sched {
namespace {

using nlohmann::json;

[[noreturn]] void fail(const std::string &source, const std::string &what) {
  throw InputError(source + ": " + what);
}

QuotaSet parse_quotas(const json &j, const Cluster &c, const std::string &source,
                      const std::string &owner) {
  QuotaSet q;
  if (j.is_null()) return q;
  if (!j.is_object()) fail(source, owner + ": quotas must be an object");
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string &key = it.key();
    size_t resource;
    double scale = kMilliPerDevice;
    if (key == "any") {
      resource = c.any_resource();
    } else if (key == "cpu") {
      resource = c.cpu_resource();
      scale = 1;
    } else if (key == "memory_gb") {
      resource = c.memory_resource();
      scale = 1024;
    } else if (auto m = c.find_model(key)) {
      resource = size_t(*m);
    } else {
      fail(source, owner + ": quota for unknown resource '" + key +
                       "' (expected a device model, any, cpu or memory_gb)");
    }
    QuotaLimit l;
    const json &v = it.value();
    if (v.contains("guaranteed")) l.guaranteed = int64_t(v.at("guaranteed").get<double>() * scale);
    if (v.contains("max")) l.max = int64_t(v.at("max").get<double>() * scale);
    if (l.guaranteed < 0 || l.max < 0) fail(source, owner + ": negative quota for '" + key + "'");
    if (l.guaranteed > l.max) fail(source, owner + ": guaranteed " + key + " exceeds its maximum");
    q.set(resource, l);
  }
  return q;
}

}  // namespace

ClusterDescription parse_cluster_json(const std::string &text, const std::string &source) {
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::exception &e) {
    fail(source, std::string("not valid JSON: ") + e.what());
  }
  ClusterDescription out;
  Cluster &c = out.cluster;
  try {
    for (const json &m : doc.at("device_models")) {
      DeviceModel dm;
      dm.name = m.at("name").get<std::string>();
      dm.vendor = m.value("vendor", "");
      dm.backend = m.value("backend", "");
      dm.memory_mb = int64_t(m.value("memory_gb", 16.0) * 1024);
      dm.price_per_hour = m.value("price_per_hour", 1.0);
      if (c.find_model(dm.name)) fail(source, "device model '" + dm.name + "' listed twice");
      c.models.push_back(dm);
    }
    for (const json &n : doc.at("nodes")) {
      const int count = n.value("count", 1);
      const std::string name = n.at("name").get<std::string>();
      for (int i = 0; i < count; ++i) {
        NodeSpec ns;
        ns.name = name;
        if (auto p = name.find("{i}"); p != std::string::npos)
          ns.name.replace(p, 3, std::to_string(i));
        else if (count > 1)
          ns.name += "-" + std::to_string(i);
        ns.cpu_cores = n.value("cpu_cores", 64);
        ns.memory_mb = int64_t(n.value("memory_gb", 512.0) * 1024);
        ns.healthy = n.value("healthy", true);
        if (n.contains("labels"))
          ns.labels = n.at("labels").get<std::map<std::string, std::string>>();
        if (n.contains("datasets")) ns.datasets = n.at("datasets").get<std::vector<std::string>>();
        for (const json &d : n.at("devices")) {
          const std::string model = d.at("model").get<std::string>();
          auto m = c.find_model(model);
          if (!m)
            fail(source,
                 "node '" + ns.name + "': device model '" + model + "' is not in device_models");
          const int dc = d.value("count", 1);
          const int group_size = std::max(1, d.value("topology_group_size", dc));
          const int share = d.value("share_count", 1);
          if (dc < 0 || share < 1)
            fail(source, "node '" + ns.name + "': bad device count or share_count");
          for (int k = 0; k < dc; ++k)
            ns.devices.push_back(DeviceSpec{*m, share, k / group_size, 0});
        }
        c.nodes.push_back(std::move(ns));
      }
    }
    if (doc.contains("groups"))
      for (const json &g : doc.at("groups")) {
        GroupId id = c.add_group(g.at("name").get<std::string>());
        c.groups[size_t(id)].weight = g.value("weight", 1.0);
        if (c.groups[size_t(id)].weight <= 0)
          fail(source, "group '" + c.groups[size_t(id)].name + "': weight must be positive");
        c.groups[size_t(id)].quotas = parse_quotas(g.value("quotas", json()), c, source,
                                                   "group " + c.groups[size_t(id)].name);
      }
    if (doc.contains("users"))
      for (const json &u : doc.at("users")) {
        const std::string gname = u.at("group").get<std::string>();
        GroupId g = c.add_group(gname);
        UserId id = c.add_user(u.at("name").get<std::string>(), g);
        c.users[size_t(id)].may_use_emergency = u.value("emergency", false);
        c.users[size_t(id)].quotas =
            parse_quotas(u.value("quotas", json()), c, source, "user " + c.users[size_t(id)].name);
      }
    out.throughput = default_throughput(c);
    if (doc.contains("throughput"))
      for (auto row = doc.at("throughput").begin(); row != doc.at("throughput").end(); ++row) {
        const int t = out.throughput.find_or_add_type(row.key());
        for (auto cell = row.value().begin(); cell != row.value().end(); ++cell) {
          auto m = c.find_model(cell.key());
          if (!m)
            fail(source,
                 "throughput '" + row.key() + "': unknown device model '" + cell.key() + "'");
          const double v = cell.value().get<double>();
          if (!(v > 0))
            fail(source, "throughput '" + row.key() + "' on " + cell.key() + " must be positive");
          out.throughput.set(t, *m, v);
        }
      }
  } catch (const json::exception &e) {
    fail(source, std::string("bad cluster description: ") + e.what());
  }
  if (c.models.empty()) fail(source, "no device_models");
  if (c.nodes.empty()) fail(source, "no nodes");
  return out;
}

}  // namespace xpool::sched
