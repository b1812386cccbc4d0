// How fast each workload type runs on each device model, relative to a reference device
// (1.0). Measured by `xpool bench` later; default_throughput() is the stand-in until then.
#pragma once

#include <string>
#include <vector>

#include "xpool/scheduler/model.h"

namespace xpool::sched {

class ThroughputMatrix {
 public:
  ThroughputMatrix() = default;
  // Rows are workload types, columns are the cluster's device models.
  ThroughputMatrix(std::vector<std::string> workload_types, size_t model_count);

  size_t type_count() const { return types_.size(); }
  size_t model_count() const { return models_; }
  const std::string &type_name(int type) const { return types_[size_t(type)]; }
  int find_or_add_type(const std::string &name);  // new rows default to 1.0 everywhere
  int find_type(const std::string &name) const;   // -1 when unknown

  double get(int type, ModelId model) const {
    size_t t = size_t(type) < types_.size() ? size_t(type) : 0;
    return rates_[t * models_ + size_t(model)];
  }
  void set(int type, ModelId model, double rate) {
    rates_[size_t(type) * models_ + size_t(model)] = rate;
  }
  double best(int type) const;  // the highest rate of the row

 private:
  std::vector<std::string> types_;
  size_t models_ = 0;
  std::vector<double> rates_;
};

// Default relative speeds for well-known models and workload types (V100 = 1.0). Unknown
// model names get 1.0; the workload types are "cnn", "transformer", "recommendation",
// "rl" and "other".
ThroughputMatrix default_throughput(const Cluster &cluster);

}  // namespace xpool::sched
