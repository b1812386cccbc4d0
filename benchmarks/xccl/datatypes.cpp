#include "datatypes.h"

#include <strings.h>
#include <array>
#include <bit>
#include <cstring>

namespace xccl_bench {
namespace {

struct TypeInfo {
  DataType type;
  size_t size;
  const char *name;        // xccl
  const char *nccl_tests;  // nccl-tests
};

constexpr std::array<TypeInfo, 10> kTypes = {{
    {DataType::kInt8, 1, "int8", "int8"},
    {DataType::kUint8, 1, "uint8", "uint8"},
    {DataType::kInt32, 4, "int32", "int32"},
    {DataType::kUint32, 4, "uint32", "uint32"},
    {DataType::kInt64, 8, "int64", "int64"},
    {DataType::kUint64, 8, "uint64", "uint64"},
    {DataType::kFloat16, 2, "float16", "half"},
    {DataType::kFloat32, 4, "float32", "float"},
    {DataType::kFloat64, 8, "float64", "double"},
    {DataType::kBfloat16, 2, "bfloat16", "bfloat16"},
}};

constexpr std::array<const char *, 5> kRedOps = {"sum", "prod", "max", "min", "avg"};

const TypeInfo &info(DataType type) {
  return kTypes[static_cast<size_t>(type)];
}

template <typename T>
T loadAs(const void *base, size_t index) {
  T value;
  std::memcpy(&value, static_cast<const char *>(base) + index * sizeof(T), sizeof(T));
  return value;
}

template <typename T>
void storeAs(void *base, size_t index, T value) {
  std::memcpy(static_cast<char *>(base) + index * sizeof(T), &value, sizeof(T));
}

}  // namespace

size_t typeSize(DataType type) {
  return info(type).size;
}

bool isFloat(DataType type) {
  return type == DataType::kFloat16 || type == DataType::kFloat32 || type == DataType::kFloat64 ||
         type == DataType::kBfloat16;
}

bool isSigned(DataType type) {
  return type == DataType::kInt8 || type == DataType::kInt32 || type == DataType::kInt64 ||
         isFloat(type);
}

const char *typeName(DataType type) {
  return info(type).name;
}
const char *ncclTestsTypeName(DataType type) {
  return info(type).nccl_tests;
}

std::optional<DataType> parseType(const std::string &name) {
  for (const TypeInfo &entry : kTypes) {
    if (strcasecmp(name.c_str(), entry.name) == 0 ||
        strcasecmp(name.c_str(), entry.nccl_tests) == 0) {
      return entry.type;
    }
  }
  if (strcasecmp(name.c_str(), "int") == 0) return DataType::kInt32;
  if (strcasecmp(name.c_str(), "char") == 0) return DataType::kInt8;
  return std::nullopt;
}

std::vector<std::string> typeNames() {
  std::vector<std::string> names;
  for (const TypeInfo &entry : kTypes) names.emplace_back(entry.name);
  return names;
}

const char *redOpName(RedOp op) {
  return kRedOps[static_cast<size_t>(op)];
}

std::optional<RedOp> parseRedOp(const std::string &name) {
  for (size_t i = 0; i < kRedOps.size(); ++i) {
    if (strcasecmp(name.c_str(), kRedOps[i]) == 0) return static_cast<RedOp>(i);
  }
  return std::nullopt;
}

std::vector<std::string> redOpNames() {
  return {kRedOps.begin(), kRedOps.end()};
}

// Round to nearest even, overflow to infinity, subnormals kept: the
// well-known bit-manipulation conversion (F. Giesen, "half_from_float").
uint16_t floatToHalf(float value) {
  constexpr uint32_t kF32Infinity = 255u << 23;
  constexpr uint32_t kF16Overflow = (127u + 16u) << 23;  // 65536.0f
  constexpr uint32_t kDenormMagic = ((127u - 15u) + (23u - 10u) + 1u) << 23;
  uint32_t bits = std::bit_cast<uint32_t>(value);
  const uint32_t sign = bits & 0x80000000u;
  bits ^= sign;
  uint16_t out;
  if (bits >= kF16Overflow) {
    out = bits > kF32Infinity ? 0x7e00 : 0x7c00;  // NaN stays NaN
  } else if (bits < (113u << 23)) {
    // Below the smallest normal half: let the FPU round the mantissa.
    const float sum = std::bit_cast<float>(bits) + std::bit_cast<float>(kDenormMagic);
    out = static_cast<uint16_t>(std::bit_cast<uint32_t>(sum) - kDenormMagic);
  } else {
    const uint32_t odd = (bits >> 13) & 1u;
    bits += ((15u - 127u) << 23) + 0xfffu + odd;
    out = static_cast<uint16_t>(bits >> 13);
  }
  return static_cast<uint16_t>(out | (sign >> 16));
}

float halfToFloat(uint16_t bits) {
  const uint32_t sign = static_cast<uint32_t>(bits & 0x8000u) << 16;
  const uint32_t exponent = (bits >> 10) & 0x1fu;
  const uint32_t mantissa = bits & 0x3ffu;
  if (exponent == 0) {  // zero or subnormal: mantissa * 2^-24
    const float magnitude = static_cast<float>(mantissa) * 0x1p-24f;
    return sign ? -magnitude : magnitude;
  }
  if (exponent == 31) return std::bit_cast<float>(sign | 0x7f800000u | (mantissa << 13));
  return std::bit_cast<float>(sign | ((exponent + 112u) << 23) | (mantissa << 13));
}

uint16_t floatToBfloat16(float value) {
  const uint32_t bits = std::bit_cast<uint32_t>(value);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x40u);
  return static_cast<uint16_t>((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
}

float bfloat16ToFloat(uint16_t bits) {
  return std::bit_cast<float>(static_cast<uint32_t>(bits) << 16);
}

double loadFloat(DataType type, const void *base, size_t index) {
  switch (type) {
    case DataType::kFloat16:
      return halfToFloat(loadAs<uint16_t>(base, index));
    case DataType::kBfloat16:
      return bfloat16ToFloat(loadAs<uint16_t>(base, index));
    case DataType::kFloat32:
      return loadAs<float>(base, index);
    case DataType::kFloat64:
      return loadAs<double>(base, index);
    default:
      return static_cast<double>(loadInt(type, base, index));
  }
}

int64_t loadInt(DataType type, const void *base, size_t index) {
  switch (type) {
    case DataType::kInt8:
      return loadAs<int8_t>(base, index);
    case DataType::kUint8:
      return loadAs<uint8_t>(base, index);
    case DataType::kInt32:
      return loadAs<int32_t>(base, index);
    case DataType::kUint32:
      return loadAs<uint32_t>(base, index);
    case DataType::kInt64:
      return loadAs<int64_t>(base, index);
    case DataType::kUint64:
      return static_cast<int64_t>(loadAs<uint64_t>(base, index));
    default:
      return static_cast<int64_t>(loadFloat(type, base, index));
  }
}

void storeFloat(DataType type, void *base, size_t index, double value) {
  switch (type) {
    case DataType::kFloat16:
      storeAs(base, index, floatToHalf(static_cast<float>(value)));
      break;
    case DataType::kBfloat16:
      storeAs(base, index, floatToBfloat16(static_cast<float>(value)));
      break;
    case DataType::kFloat32:
      storeAs(base, index, static_cast<float>(value));
      break;
    case DataType::kFloat64:
      storeAs(base, index, value);
      break;
    default:
      storeInt(type, base, index, static_cast<int64_t>(value));
      break;
  }
}

void storeInt(DataType type, void *base, size_t index, int64_t value) {
  // C++20 defines narrowing integer conversions as modulo 2^width.
  switch (type) {
    case DataType::kInt8:
      storeAs(base, index, static_cast<int8_t>(value));
      break;
    case DataType::kUint8:
      storeAs(base, index, static_cast<uint8_t>(value));
      break;
    case DataType::kInt32:
      storeAs(base, index, static_cast<int32_t>(value));
      break;
    case DataType::kUint32:
      storeAs(base, index, static_cast<uint32_t>(value));
      break;
    case DataType::kInt64:
      storeAs(base, index, value);
      break;
    case DataType::kUint64:
      storeAs(base, index, static_cast<uint64_t>(value));
      break;
    default:
      storeFloat(type, base, index, static_cast<double>(value));
      break;
  }
}

}  // namespace xccl_bench
