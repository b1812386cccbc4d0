#include "common/types.h"

#include <cstring>

namespace xccltest {
namespace {

struct TypeEntry {
  xcclDataType_t type;
  const char *name;
  size_t size;
};

constexpr TypeEntry kTypes[] = {{xcclInt8, "int8", 1},       {xcclUint8, "uint8", 1},
                                {xcclInt32, "int32", 4},     {xcclUint32, "uint32", 4},
                                {xcclInt64, "int64", 8},     {xcclUint64, "uint64", 8},
                                {xcclFloat16, "float16", 2}, {xcclFloat32, "float32", 4},
                                {xcclFloat64, "float64", 8}, {xcclBfloat16, "bfloat16", 2}};

constexpr const char *kOpNames[] = {"sum", "prod", "max", "min", "avg"};

uint32_t floatBits(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  return bits;
}

float bitsFloat(uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

}  // namespace

std::string typeName(xcclDataType_t type) {
  for (const TypeEntry &entry : kTypes) {
    if (entry.type == type) return entry.name;
  }
  return "type(" + std::to_string(static_cast<int>(type)) + ")";
}

size_t typeSize(xcclDataType_t type) {
  for (const TypeEntry &entry : kTypes) {
    if (entry.type == type) return entry.size;
  }
  return 0;
}

std::string opName(xcclRedOp_t op) {
  const int index = static_cast<int>(op);
  if (index >= 0 && index < static_cast<int>(xcclNumOps)) return kOpNames[index];
  return "op(" + std::to_string(index) + ")";
}

std::string resultName(xcclResult_t result) {
  switch (result) {
    case xcclSuccess:
      return "xcclSuccess";
    case xcclDeviceError:
      return "xcclDeviceError";
    case xcclSystemError:
      return "xcclSystemError";
    case xcclInternalError:
      return "xcclInternalError";
    case xcclInvalidArgument:
      return "xcclInvalidArgument";
    case xcclInvalidUsage:
      return "xcclInvalidUsage";
    case xcclRemoteError:
      return "xcclRemoteError";
    case xcclInProgress:
      return "xcclInProgress";
    case xcclTimeout:
      return "xcclTimeout";
    case xcclNumResults:
      break;
  }
  return "xcclResult(" + std::to_string(static_cast<int>(result)) + ")";
}

std::optional<xcclDataType_t> parseType(std::string_view name) {
  for (const TypeEntry &entry : kTypes) {
    if (name == entry.name) return entry.type;
  }
  if (name == "int") return xcclInt32;
  if (name == "float") return xcclFloat32;
  if (name == "half") return xcclFloat16;
  if (name == "double") return xcclFloat64;
  return std::nullopt;
}

std::optional<xcclRedOp_t> parseOp(std::string_view name) {
  for (int i = 0; i < static_cast<int>(xcclNumOps); ++i) {
    if (name == kOpNames[i]) return static_cast<xcclRedOp_t>(i);
  }
  return std::nullopt;
}

float halfToFloat(uint16_t bits) {
  const uint32_t sign = static_cast<uint32_t>(bits & 0x8000u) << 16;
  const uint32_t exponent = (bits >> 10) & 0x1fu;
  uint32_t mantissa = bits & 0x3ffu;
  if (exponent == 0x1f) return bitsFloat(sign | 0x7f800000u | (mantissa << 13));
  if (exponent != 0) return bitsFloat(sign | ((exponent + 112) << 23) | (mantissa << 13));
  if (mantissa == 0) return bitsFloat(sign);
  // Subnormal: normalise into a float, which has the range for it.
  int shift = 0;
  while ((mantissa & 0x400u) == 0) {
    mantissa <<= 1;
    ++shift;
  }
  mantissa &= 0x3ffu;
  return bitsFloat(sign | (static_cast<uint32_t>(113 - shift) << 23) | (mantissa << 13));
}

uint16_t floatToHalf(float value) {
  const uint32_t bits = floatBits(value);
  const uint32_t sign = (bits >> 16) & 0x8000u;
  const int exponent = static_cast<int>((bits >> 23) & 0xffu);
  uint32_t mantissa = bits & 0x7fffffu;
  if (exponent == 0xff) {
    return static_cast<uint16_t>(sign | 0x7c00u | (mantissa != 0 ? 0x200u : 0u));
  }
  const int half_exponent = exponent - 127 + 15;
  if (half_exponent >= 0x1f) return static_cast<uint16_t>(sign | 0x7c00u);
  if (half_exponent <= 0) {
    if (half_exponent < -10) return static_cast<uint16_t>(sign);
    mantissa |= 0x800000u;
    const int shift = 14 - half_exponent;
    uint32_t half_mantissa = mantissa >> shift;
    const uint32_t rest = mantissa & ((1u << shift) - 1);
    const uint32_t halfway = 1u << (shift - 1);
    if (rest > halfway || (rest == halfway && (half_mantissa & 1u) != 0)) ++half_mantissa;
    return static_cast<uint16_t>(sign | half_mantissa);
  }
  uint32_t half = sign | (static_cast<uint32_t>(half_exponent) << 10) | (mantissa >> 13);
  const uint32_t rest = mantissa & 0x1fffu;
  // A carry out of the mantissa correctly bumps the exponent (to infinity at most).
  if (rest > 0x1000u || (rest == 0x1000u && (half & 1u) != 0)) ++half;
  return static_cast<uint16_t>(half);
}

float bfloat16ToFloat(uint16_t bits) {
  return bitsFloat(static_cast<uint32_t>(bits) << 16);
}

uint16_t floatToBfloat16(float value) {
  uint32_t bits = floatBits(value);
  if ((bits & 0x7f800000u) == 0x7f800000u && (bits & 0x7fffffu) != 0) {
    return static_cast<uint16_t>((bits >> 16) | 0x40u);  // keep NaN a NaN
  }
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>(bits >> 16);
}

}  // namespace xccltest
