// Conversions between float and the two 16-bit float formats xccl reduces:
// float16 (IEEE 754 binary16) and bfloat16 (the top half of a binary32).
//
// Float to 16 bits rounds to nearest, ties to even, exactly as IEEE 754
// asks, including results that become subnormal and overflow to infinity.
// NaN stays NaN and comes out quiet in both directions (as F16C's
// vcvtph2ps/vcvtps2ph do), keeping the sign and the payload's top bits.
// Pure integer code: the result does not depend on MXCSR (FTZ/DAZ).
//
// Do not include this from a file compiled with -mavx* flags: the linker
// keeps one copy of each inline function for the whole program, and it could
// pick the copy built with instructions this CPU lacks.
#pragma once

#include <bit>
#include <cstdint>

namespace xpool::xccl {

inline float halfToFloat(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exponent = (h >> 10) & 0x1Fu;
  uint32_t mantissa = h & 0x3FFu;
  uint32_t bits;
  if (exponent == 0x1F) {
    // Infinity, or NaN made quiet (bit 22) with its payload kept.
    bits = 0x7F800000u | (mantissa << 13) | (mantissa != 0 ? 0x00400000u : 0u);
  } else if (exponent != 0) {
    bits = ((exponent + 112u) << 23) | (mantissa << 13);  // rebias 15 -> 127
  } else if (mantissa == 0) {
    bits = 0;
  } else {
    // Subnormal half: mantissa * 2^-24, a normal float. Shift the leading one
    // into the implicit bit position and lower the exponent to match.
    const int top = std::bit_width(mantissa) - 1;  // 0..9
    mantissa = (mantissa << (23 - top)) & 0x7FFFFFu;
    bits = (static_cast<uint32_t>(top + 103) << 23) | mantissa;  // 2^(top-24)
  }
  return std::bit_cast<float>(sign | bits);
}

inline uint16_t floatToHalf(float f) {
  const uint32_t x = std::bit_cast<uint32_t>(f);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t magnitude = x & 0x7FFFFFFFu;
  if (magnitude >= 0x7F800000u) {
    if (magnitude == 0x7F800000u) return static_cast<uint16_t>(sign | 0x7C00u);
    return static_cast<uint16_t>(sign | 0x7E00u | ((magnitude >> 13) & 0x3FFu));
  }
  if (magnitude >= 0x38800000u) {
    // Normal half range (2^-14 and up): rebias the exponent, then round the
    // 13 dropped bits. A carry out of the mantissa correctly bumps the
    // exponent; from 65520 up the result is infinity.
    uint32_t rebiased = magnitude - 0x38000000u;
    rebiased += 0x0FFFu + ((rebiased >> 13) & 1u);
    const uint32_t half = rebiased >> 13;
    return static_cast<uint16_t>(sign | (half < 0x7C00u ? half : 0x7C00u));
  }
  if (magnitude < 0x33000000u) return static_cast<uint16_t>(sign);  // below 2^-25: zero
  // Subnormal half: count units of 2^-24. The float is m * 2^(e-150) with the
  // implicit bit in m, so units = m >> (126 - e); round what falls off.
  const uint32_t exponent = magnitude >> 23;  // 102..112 here
  const uint32_t mantissa = (magnitude & 0x7FFFFFu) | 0x800000u;
  const uint32_t shift = 126u - exponent;  // 14..24
  uint32_t units = mantissa >> shift;
  const uint32_t rest = mantissa & ((1u << shift) - 1u);
  const uint32_t halfway = 1u << (shift - 1u);
  if (rest > halfway || (rest == halfway && (units & 1u) != 0)) ++units;
  return static_cast<uint16_t>(sign | units);  // 0x400 after a carry: the smallest normal
}

// The bfloat16 conversions are written without branches (selects instead)
// so that compilers can vectorize loops over them.
inline float bfloat16ToFloat(uint16_t h) {
  const uint32_t bits = static_cast<uint32_t>(h) << 16;
  const bool nan = (bits & 0x7FFFFFFFu) > 0x7F800000u;
  return std::bit_cast<float>(bits | (nan ? 0x00400000u : 0u));  // a signalling NaN made quiet
}

inline uint16_t floatToBfloat16(float f) {
  const uint32_t x = std::bit_cast<uint32_t>(f);
  const bool nan = (x & 0x7FFFFFFFu) > 0x7F800000u;
  // Adding 0x7FFF plus the lowest kept bit rounds to nearest, ties to even;
  // the carry may run into the exponent, which is right (up to infinity).
  const uint32_t rounded = x + 0x7FFFu + ((x >> 16) & 1u);
  return static_cast<uint16_t>((nan ? x | 0x00400000u : rounded) >> 16);
}

}  // namespace xpool::xccl
