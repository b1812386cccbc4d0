// The element types and reduction operators the benchmarks know, with their
// names and the host-side conversions the result check needs. Our own enums,
// so that the MPI and Gloo peers do not depend on xccl.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace xccl_bench {

// Same order and values as xcclDataType_t (xccl_ops.cpp checks it).
enum class DataType {
  kInt8 = 0,
  kUint8 = 1,
  kInt32 = 2,
  kUint32 = 3,
  kInt64 = 4,
  kUint64 = 5,
  kFloat16 = 6,
  kFloat32 = 7,
  kFloat64 = 8,
  kBfloat16 = 9,
};

// Same order and values as xcclRedOp_t.
enum class RedOp { kSum = 0, kProd = 1, kMax = 2, kMin = 3, kAvg = 4 };

size_t typeSize(DataType type);
bool isFloat(DataType type);
bool isSigned(DataType type);  // floats count as signed

// The xccl spelling ("float32"), used on the command line and in JSON.
const char *typeName(DataType type);
// nccl-tests' spelling ("float", "half", "double"), used in the table so
// that scripts written for nccl-tests output read ours.
const char *ncclTestsTypeName(DataType type);
// Accepts either spelling, plus nccl-tests' aliases "int", "char".
std::optional<DataType> parseType(const std::string &name);
std::vector<std::string> typeNames();

const char *redOpName(RedOp op);
std::optional<RedOp> parseRedOp(const std::string &name);
std::vector<std::string> redOpNames();

// IEEE binary16 and bfloat16 from and to float, rounding to nearest even.
uint16_t floatToHalf(float value);
float halfToFloat(uint16_t bits);
uint16_t floatToBfloat16(float value);
float bfloat16ToFloat(uint16_t bits);

// Element `index` of a buffer of `type`, widened: floats to double, integers
// to their two's-complement bits in an int64 (unsigned ones zero-extended).
double loadFloat(DataType type, const void *base, size_t index);
int64_t loadInt(DataType type, const void *base, size_t index);
// Stores into element `index`: floats rounded to the type, integers
// truncated to its width (wrapping, as the library's arithmetic does).
void storeFloat(DataType type, void *base, size_t index, double value);
void storeInt(DataType type, void *base, size_t index, int64_t value);

}  // namespace xccl_bench
