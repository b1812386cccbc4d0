// Names an operation in error messages ("xcclAllReduce(count=1024, float32,
// sum)"). Formatted only when a message is written: building the text on
// every call would cost more than a small collective itself.
#pragma once

#include <fmt/format.h>

#include <cstddef>
#include <string>

namespace xpool::xccl {

struct OpLabel {
  const char *call = "";
  size_t count = 0;
  int datatype = -1;           // xcclDataType_t, -1: none
  int op = -1;                 // xcclRedOp_t, -1: none
  int root = -1;               // root of Broadcast/Reduce
  int peer = -1;               // peer of Send/Recv
  const char *note = nullptr;  // "exchanging colors", "a group of 4 sends and receives"
  std::string str() const;
};

}  // namespace xpool::xccl

template <>
struct fmt::formatter<xpool::xccl::OpLabel> : fmt::formatter<std::string> {
  template <typename Context>
  auto format(const xpool::xccl::OpLabel &label, Context &context) const {
    return fmt::formatter<std::string>::format(label.str(), context);
  }
};
