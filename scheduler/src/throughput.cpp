#include "xpool/scheduler/throughput.h"

#include <algorithm>
#include <map>

namespace xpool::sched {

ThroughputMatrix::ThroughputMatrix(std::vector<std::string> workload_types, size_t model_count)
    : types_(std::move(workload_types)),
      models_(model_count),
      rates_(types_.size() * models_, 1.0) {}

int ThroughputMatrix::find_type(const std::string &name) const {
  for (size_t i = 0; i < types_.size(); ++i)
    if (types_[i] == name) return int(i);
  return -1;
}

int ThroughputMatrix::find_or_add_type(const std::string &name) {
  int t = find_type(name);
  if (t >= 0) return t;
  types_.push_back(name);
  rates_.resize(types_.size() * models_, 1.0);
  return int(types_.size() - 1);
}

double ThroughputMatrix::best(int type) const {
  double b = 0;
  for (size_t m = 0; m < models_; ++m) b = std::max(b, get(type, ModelId(m)));
  return b;
}

ThroughputMatrix default_throughput(const Cluster &cluster) {
  // Relative speeds loosely after published MLPerf-style ratios: what matters for the
  // policies is that workload types gain unequally from newer devices.
  static const std::map<std::string, std::map<std::string, double>> kTable = {
      {"cnn",
       {{"V100", 1.0},
        {"A100", 2.0},
        {"H100", 3.0},
        {"MI250", 1.6},
        {"T4", 0.35},
        {"L4", 0.6},
        {"MAX1550", 1.5},
        {"CPU", 0.05}}},
      {"transformer",
       {{"V100", 1.0},
        {"A100", 3.0},
        {"H100", 6.0},
        {"MI250", 2.2},
        {"T4", 0.2},
        {"L4", 0.45},
        {"MAX1550", 2.0},
        {"CPU", 0.02}}},
      {"recommendation",
       {{"V100", 1.0},
        {"A100", 1.3},
        {"H100", 1.6},
        {"MI250", 1.2},
        {"T4", 0.6},
        {"L4", 0.8},
        {"MAX1550", 1.1},
        {"CPU", 0.2}}},
      {"rl",
       {{"V100", 1.0},
        {"A100", 1.1},
        {"H100", 1.2},
        {"MI250", 1.0},
        {"T4", 0.7},
        {"L4", 0.8},
        {"MAX1550", 1.0},
        {"CPU", 0.4}}},
      {"other",
       {{"V100", 1.0},
        {"A100", 1.8},
        {"H100", 2.8},
        {"MI250", 1.5},
        {"T4", 0.4},
        {"L4", 0.6},
        {"MAX1550", 1.4},
        {"CPU", 0.05}}},
  };
  std::vector<std::string> types = {"other", "cnn", "transformer", "recommendation", "rl"};
  ThroughputMatrix m(types, cluster.models.size());
  for (size_t t = 0; t < types.size(); ++t) {
    const auto &row = kTable.at(types[t]);
    for (size_t d = 0; d < cluster.models.size(); ++d) {
      auto it = row.find(cluster.models[d].name);
      m.set(int(t), ModelId(d), it == row.end() ? 1.0 : it->second);
    }
  }
  return m;
}

}  // namespace xpool::sched
