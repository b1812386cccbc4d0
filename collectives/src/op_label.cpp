#include "op_label.h"

#include "reduce.h"

namespace xpool::xccl {

std::string OpLabel::str() const {
  std::string text = fmt::format("{}(count={}", call, count);
  if (datatype >= 0) text += fmt::format(", {}", typeName(static_cast<xcclDataType_t>(datatype)));
  if (op >= 0) text += fmt::format(", {}", opName(static_cast<xcclRedOp_t>(op)));
  if (root >= 0) text += fmt::format(", root={}", root);
  if (peer >= 0) text += fmt::format(", peer={}", peer);
  text += ")";
  if (note != nullptr) text += fmt::format(" ({})", note);
  return text;
}

}  // namespace xpool::xccl
