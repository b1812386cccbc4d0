// Straightforward reference implementations for the reduce tests, written
// from the definitions (integer arithmetic modulo 2^bits, rounding with
// std::nearbyint in double) rather than the bit tricks the library uses.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include <xpool/xccl.h>

namespace xccl_reduce_test {

// ---- 16-bit float formats, from first principles --------------------------

// A 16-bit format with `mantissaBits` stored fraction bits and exponent
// bias `bias` (float16: 10, 15; bfloat16: 7, 127).
struct Format16 {
  int mantissaBits;
  int bias;
};
inline constexpr Format16 kHalf{10, 15};
inline constexpr Format16 kBfloat16{7, 127};

inline bool isNan16(Format16 f, uint16_t bits) {
  const unsigned exponentMask = (2u * static_cast<unsigned>(f.bias) + 1u) << f.mantissaBits;
  const unsigned mantissaMask = (1u << f.mantissaBits) - 1u;
  return (bits & exponentMask) == exponentMask && (bits & mantissaMask) != 0;
}
inline bool isQuietNan16(Format16 f, uint16_t bits) {
  return isNan16(f, bits) && (bits & (1u << (f.mantissaBits - 1))) != 0;
}

inline float referenceWiden(Format16 f, uint16_t bits) {
  const bool negative = (bits & 0x8000u) != 0;
  const int exponent = (bits & 0x7FFF) >> f.mantissaBits;
  const int mantissa = bits & ((1 << f.mantissaBits) - 1);
  double value;
  if (exponent == 2 * f.bias + 1) {
    value = mantissa != 0 ? std::nan("") : INFINITY;
  } else if (exponent == 0) {
    value = std::ldexp(mantissa, 1 - f.bias - f.mantissaBits);
  } else {
    value = std::ldexp((1 << f.mantissaBits) + mantissa, exponent - f.bias - f.mantissaBits);
  }
  return static_cast<float>(negative ? -value : value);
}

// Rounds to nearest, ties to even, with std::nearbyint (the default
// rounding mode) on the value scaled by its quantum. A NaN gives the
// format's default quiet NaN; tests compare NaNs only by being NaN.
inline uint16_t referenceNarrow(Format16 f, float value) {
  const uint16_t sign = std::signbit(value) ? 0x8000 : 0;
  const uint16_t infinity = static_cast<uint16_t>((2 * f.bias + 1) << f.mantissaBits);
  if (std::isnan(value)) return static_cast<uint16_t>(infinity | (1 << (f.mantissaBits - 1)));
  const double magnitude = std::fabs(static_cast<double>(value));
  if (std::isinf(magnitude)) return sign | infinity;
  if (magnitude == 0) return sign;
  int exponent;
  std::frexp(magnitude, &exponent);
  exponent -= 1;  // magnitude in [2^exponent, 2^(exponent+1))
  const int minExponent = 1 - f.bias;
  if (exponent < minExponent) exponent = minExponent;  // subnormal: the smallest quantum
  double units = std::nearbyint(magnitude / std::ldexp(1.0, exponent - f.mantissaBits));
  const double implicitOne = std::ldexp(1.0, f.mantissaBits);
  if (units >= 2 * implicitOne) {  // rounded up into the next binade
    units /= 2;
    exponent += 1;
  }
  if (exponent > f.bias) return sign | infinity;
  if (units < implicitOne) return static_cast<uint16_t>(sign | static_cast<unsigned>(units));
  return static_cast<uint16_t>(sign | ((exponent + f.bias) << f.mantissaBits) |
                               static_cast<unsigned>(units - implicitOne));
}

// ---- Element-wise reference ------------------------------------------------

template <class T>
T referenceInt(xcclRedOp_t op, T a, T b) {
  if (op == xcclMax) return std::max(a, b);
  if (op == xcclMin) return std::min(a, b);
  // Sign-extended to 64 bits and computed modulo 2^64, then reduced modulo
  // 2^bits by masking; C++20 converts the result to T modulo 2^bits too.
  const uint64_t wa = static_cast<uint64_t>(static_cast<int64_t>(a));
  const uint64_t wb = static_cast<uint64_t>(static_cast<int64_t>(b));
  const uint64_t wide = op == xcclProd ? wa * wb : wa + wb;
  const uint64_t mask = sizeof(T) == 8 ? ~uint64_t{0} : (uint64_t{1} << (8 * sizeof(T))) - 1;
  return static_cast<T>(wide & mask);
}

// Max and min as documented in reduce.h: NaN wins, +0 > -0.
template <class F>
F referenceFloat(xcclRedOp_t op, F a, F b) {
  if (op == xcclSum || op == xcclAvg) return a + b;
  if (op == xcclProd) return a * b;
  if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<F>::quiet_NaN();
  if (a == 0 && b == 0) {
    const bool bothNegative = std::signbit(a) && std::signbit(b);
    const bool eitherNegative = std::signbit(a) || std::signbit(b);
    return (op == xcclMax ? bothNegative : eitherNegative) ? F(-0.0) : F(0.0);
  }
  return op == xcclMax ? std::max(a, b) : std::min(a, b);
}

template <class T>
T loadAt(const void *p, size_t i) {
  T value;
  std::memcpy(&value, static_cast<const char *>(p) + i * sizeof(T), sizeof(T));
  return value;
}
template <class T>
void storeAt(void *p, size_t i, T value) {
  std::memcpy(static_cast<char *>(p) + i * sizeof(T), &value, sizeof(T));
}

template <class T>
void referenceEach(void *dst, const void *a, const void *b, size_t count, xcclRedOp_t op) {
  for (size_t i = 0; i < count; ++i) {
    const T x = loadAt<T>(a, i);
    const T y = loadAt<T>(b, i);
    if constexpr (std::is_integral_v<T>) {
      storeAt(dst, i, referenceInt(op, x, y));
    } else {
      storeAt(dst, i, referenceFloat(op, x, y));
    }
  }
}

inline void referenceEach16(Format16 f, void *dst, const void *a, const void *b, size_t count,
                            xcclRedOp_t op) {
  for (size_t i = 0; i < count; ++i) {
    const float x = referenceWiden(f, loadAt<uint16_t>(a, i));
    const float y = referenceWiden(f, loadAt<uint16_t>(b, i));
    storeAt(dst, i, referenceNarrow(f, referenceFloat(op, x, y)));
  }
}

inline void referenceReduce(void *dst, const void *a, const void *b, size_t count,
                            xcclDataType_t type, xcclRedOp_t op) {
  switch (type) {
    case xcclInt8:
      return referenceEach<int8_t>(dst, a, b, count, op);
    case xcclUint8:
      return referenceEach<uint8_t>(dst, a, b, count, op);
    case xcclInt32:
      return referenceEach<int32_t>(dst, a, b, count, op);
    case xcclUint32:
      return referenceEach<uint32_t>(dst, a, b, count, op);
    case xcclInt64:
      return referenceEach<int64_t>(dst, a, b, count, op);
    case xcclUint64:
      return referenceEach<uint64_t>(dst, a, b, count, op);
    case xcclFloat16:
      return referenceEach16(kHalf, dst, a, b, count, op);
    case xcclFloat32:
      return referenceEach<float>(dst, a, b, count, op);
    case xcclFloat64:
      return referenceEach<double>(dst, a, b, count, op);
    case xcclBfloat16:
      return referenceEach16(kBfloat16, dst, a, b, count, op);
    default:
      return;
  }
}

// Element i of got and want agree: same bits, or both NaN (payloads may
// differ). A NaN result must be quiet.
inline bool sameElement(xcclDataType_t type, const void *got, const void *want, size_t i,
                        size_t size) {
  const char *g = static_cast<const char *>(got) + i * size;
  const char *w = static_cast<const char *>(want) + i * size;
  switch (type) {
    case xcclFloat16:
    case xcclBfloat16: {
      const Format16 f = type == xcclFloat16 ? kHalf : kBfloat16;
      const uint16_t gb = loadAt<uint16_t>(g, 0);
      const uint16_t wb = loadAt<uint16_t>(w, 0);
      if (isNan16(f, wb)) return isQuietNan16(f, gb);
      return gb == wb;
    }
    case xcclFloat32: {
      const float gf = loadAt<float>(g, 0);
      if (std::isnan(loadAt<float>(w, 0))) {
        return std::isnan(gf) && (loadAt<uint32_t>(g, 0) & 0x00400000u) != 0;
      }
      break;
    }
    case xcclFloat64: {
      const double gd = loadAt<double>(g, 0);
      if (std::isnan(loadAt<double>(w, 0))) {
        return std::isnan(gd) && (loadAt<uint64_t>(g, 0) & 0x0008000000000000ull) != 0;
      }
      break;
    }
    default:
      break;
  }
  return std::memcmp(g, w, size) == 0;
}

}  // namespace xccl_reduce_test
