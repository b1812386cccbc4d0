// The element types and reduction operations of xccl as the tests see them:
// names, sizes, host conversions for float16/bfloat16, and a dispatch from
// xcclDataType_t to a C++ tag type, so that each check is written once as a
// template and instantiated for every type.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "xpool/xccl.h"

namespace xccltest {

// How a type's bits are interpreted; decides how inputs are chosen and how
// results are compared.
enum class Kind { kSigned, kUnsigned, kFloat, kHalf, kBfloat16 };

template <typename Storage, Kind K, xcclDataType_t T>
struct Type {
  using S = Storage;  // the element as it lies in memory
  static constexpr Kind kKind = K;
  static constexpr xcclDataType_t kType = T;
};

using Int8 = Type<int8_t, Kind::kSigned, xcclInt8>;
using Uint8 = Type<uint8_t, Kind::kUnsigned, xcclUint8>;
using Int32 = Type<int32_t, Kind::kSigned, xcclInt32>;
using Uint32 = Type<uint32_t, Kind::kUnsigned, xcclUint32>;
using Int64 = Type<int64_t, Kind::kSigned, xcclInt64>;
using Uint64 = Type<uint64_t, Kind::kUnsigned, xcclUint64>;
using Float16 = Type<uint16_t, Kind::kHalf, xcclFloat16>;
using Float32 = Type<float, Kind::kFloat, xcclFloat32>;
using Float64 = Type<double, Kind::kFloat, xcclFloat64>;
using Bfloat16 = Type<uint16_t, Kind::kBfloat16, xcclBfloat16>;

inline constexpr xcclDataType_t kAllTypes[] = {xcclInt8,    xcclUint8,   xcclInt32,   xcclUint32,
                                               xcclInt64,   xcclUint64,  xcclFloat16, xcclFloat32,
                                               xcclFloat64, xcclBfloat16};
inline constexpr xcclRedOp_t kAllOps[] = {xcclSum, xcclProd, xcclMax, xcclMin, xcclAvg};

// "float32", "bfloat16", ...; "type(<n>)" for a value outside the enum.
std::string typeName(xcclDataType_t type);
size_t typeSize(xcclDataType_t type);
// "sum", "prod", ...
std::string opName(xcclRedOp_t op);
// "xcclRemoteError", ...
std::string resultName(xcclResult_t result);

// Names as typeName/opName print them (also "int", "float", "half", "double").
std::optional<xcclDataType_t> parseType(std::string_view name);
std::optional<xcclRedOp_t> parseOp(std::string_view name);

// IEEE binary16 and bfloat16, rounding to nearest even.
float halfToFloat(uint16_t bits);
uint16_t floatToHalf(float value);
float bfloat16ToFloat(uint16_t bits);
uint16_t floatToBfloat16(float value);

// Calls f(T{}) with the tag type of `type`.
template <typename F>
decltype(auto) withType(xcclDataType_t type, F &&f) {
  switch (type) {
    case xcclInt8:
      return f(Int8{});
    case xcclUint8:
      return f(Uint8{});
    case xcclInt32:
      return f(Int32{});
    case xcclUint32:
      return f(Uint32{});
    case xcclInt64:
      return f(Int64{});
    case xcclUint64:
      return f(Uint64{});
    case xcclFloat16:
      return f(Float16{});
    case xcclFloat32:
      return f(Float32{});
    case xcclFloat64:
      return f(Float64{});
    default:
      return f(Bfloat16{});
  }
}

}  // namespace xccltest
