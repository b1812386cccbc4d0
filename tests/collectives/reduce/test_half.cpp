// half.h: float16 and bfloat16 conversions against the first-principles
// reference, over every 16-bit pattern, a dense sample of floats, the tie
// cases, overflow and subnormals; and against the CPU's own F16C
// instructions where it has them.
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <bit>
#include <cmath>
#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

#include "half.h"
#include "reference.h"

namespace xccl_reduce_test {
namespace {

using xpool::xccl::bfloat16ToFloat;
using xpool::xccl::floatToBfloat16;
using xpool::xccl::floatToHalf;
using xpool::xccl::halfToFloat;

uint32_t bitsOf(float f) {
  return std::bit_cast<uint32_t>(f);
}
float floatFrom(uint32_t bits) {
  return std::bit_cast<float>(bits);
}

// ---- Every 16-bit pattern --------------------------------------------------

TEST(Half, WidensEveryPatternExactly) {
  for (uint32_t h = 0; h <= 0xFFFF; ++h) {
    const auto bits = static_cast<uint16_t>(h);
    const float got = halfToFloat(bits);
    const float want = referenceWiden(kHalf, bits);
    if (isNan16(kHalf, bits)) {
      // Quiet, same sign, payload kept in the top mantissa bits.
      const uint32_t expected = ((h & 0x8000u) << 16) | 0x7FC00000u | ((h & 0x3FFu) << 13);
      ASSERT_EQ(bitsOf(got), expected) << std::hex << h;
    } else {
      ASSERT_EQ(bitsOf(got), bitsOf(want)) << std::hex << h;
    }
  }
}

TEST(Half, RoundTripsEveryPattern) {
  for (uint32_t h = 0; h <= 0xFFFF; ++h) {
    const auto bits = static_cast<uint16_t>(h);
    const uint16_t back = floatToHalf(halfToFloat(bits));
    if (isNan16(kHalf, bits)) {
      // A signalling NaN comes back quiet; a quiet one comes back unchanged.
      ASSERT_EQ(back, bits | 0x0200u) << std::hex << h;
    } else {
      ASSERT_EQ(back, bits) << std::hex << h;
    }
  }
}

TEST(Bfloat16, WidensEveryPatternExactly) {
  for (uint32_t h = 0; h <= 0xFFFF; ++h) {
    const auto bits = static_cast<uint16_t>(h);
    const float got = bfloat16ToFloat(bits);
    if (isNan16(kBfloat16, bits)) {
      ASSERT_EQ(bitsOf(got), (h << 16) | 0x00400000u) << std::hex << h;
    } else {
      ASSERT_EQ(bitsOf(got), bitsOf(referenceWiden(kBfloat16, bits))) << std::hex << h;
    }
  }
}

TEST(Bfloat16, RoundTripsEveryPattern) {
  for (uint32_t h = 0; h <= 0xFFFF; ++h) {
    const auto bits = static_cast<uint16_t>(h);
    const uint16_t back = floatToBfloat16(bfloat16ToFloat(bits));
    if (isNan16(kBfloat16, bits)) {
      ASSERT_EQ(back, bits | 0x0040u) << std::hex << h;
    } else {
      ASSERT_EQ(back, bits) << std::hex << h;
    }
  }
}

// ---- float to 16 bits ------------------------------------------------------

// Every 257th float (all signs, exponents and mantissa patterns; 16.7
// million values) against the reference rounding.
TEST(Half, NarrowsSampledFloatsLikeTheReference) {
  for (uint64_t x = 0; x <= 0xFFFFFFFFull; x += 257) {
    const float f = floatFrom(static_cast<uint32_t>(x));
    const uint16_t got = floatToHalf(f);
    if (std::isnan(f)) {
      ASSERT_TRUE(isQuietNan16(kHalf, got)) << std::hex << x;
      ASSERT_EQ(got & 0x8000u, (x >> 16) & 0x8000u) << std::hex << x;
    } else {
      ASSERT_EQ(got, referenceNarrow(kHalf, f)) << std::hex << x;
    }
  }
}

TEST(Bfloat16, NarrowsSampledFloatsLikeTheReference) {
  for (uint64_t x = 0; x <= 0xFFFFFFFFull; x += 257) {
    const float f = floatFrom(static_cast<uint32_t>(x));
    const uint16_t got = floatToBfloat16(f);
    if (std::isnan(f)) {
      ASSERT_EQ(got, ((x >> 16) & 0xFFFFu) | 0x0040u) << std::hex << x;
    } else {
      ASSERT_EQ(got, referenceNarrow(kBfloat16, f)) << std::hex << x;
    }
  }
}

// Each value exactly halfway between two neighbouring finite 16-bit values,
// and the floats just below and above it.
void checkTiesAndNeighbours(Format16 format, uint16_t (*narrow)(float)) {
  for (uint32_t h = 0; h < 0x7FFF; ++h) {
    const auto low = static_cast<uint16_t>(h);
    const auto high = static_cast<uint16_t>(h + 1);
    if (isNan16(format, low) || isNan16(format, high)) continue;
    const double lowValue = referenceWiden(format, low);
    const double highValue = std::isinf(referenceWiden(format, high))
                                 ? 2 * static_cast<double>(referenceWiden(format, low)) -
                                       referenceWiden(format, static_cast<uint16_t>(h - 1))
                                 : referenceWiden(format, high);
    const auto tie = static_cast<float>((lowValue + highValue) / 2);  // exact in float
    const uint16_t even = (low & 1u) == 0 ? low : high;
    for (float sign : {1.0f, -1.0f}) {
      const uint16_t signBit = sign < 0 ? 0x8000 : 0;
      ASSERT_EQ(narrow(sign * tie), even | signBit) << std::hex << h;
      ASSERT_EQ(narrow(sign * std::nextafter(tie, 0.0f)), low | signBit) << std::hex << h;
      ASSERT_EQ(narrow(sign * std::nextafter(tie, INFINITY)), high | signBit) << std::hex << h;
    }
  }
}

TEST(Half, RoundsEveryTieToEvenAndItsNeighboursToNearest) {
  checkTiesAndNeighbours(kHalf, floatToHalf);
}

TEST(Bfloat16, RoundsEveryTieToEvenAndItsNeighboursToNearest) {
  checkTiesAndNeighbours(kBfloat16, floatToBfloat16);
}

// Hand-worked cases, each with the reason for its answer.
TEST(Half, KnownValues) {
  EXPECT_EQ(floatToHalf(1.0f), 0x3C00);
  EXPECT_EQ(floatToHalf(-2.0f), 0xC000);
  EXPECT_EQ(floatToHalf(-0.0f), 0x8000);
  EXPECT_EQ(floatToHalf(65504.0f), 0x7BFF);    // largest finite
  EXPECT_EQ(floatToHalf(65519.996f), 0x7BFF);  // just below the tie
  EXPECT_EQ(floatToHalf(65520.0f), 0x7C00);    // tie; even is 2^16: overflow
  EXPECT_EQ(floatToHalf(1e10f), 0x7C00);       // overflow to infinity
  EXPECT_EQ(floatToHalf(-1e10f), 0xFC00);
  EXPECT_EQ(floatToHalf(INFINITY), 0x7C00);
  EXPECT_EQ(floatToHalf(std::ldexp(1.0f, -14)), 0x0400);  // smallest normal
  EXPECT_EQ(floatToHalf(std::ldexp(1.0f, -24)), 0x0001);  // smallest subnormal
  EXPECT_EQ(floatToHalf(std::ldexp(1.0f, -25)), 0x0000);  // tie with 0: even is 0
  EXPECT_EQ(floatToHalf(std::nextafter(std::ldexp(1.0f, -25), 1.0f)), 0x0001);
  EXPECT_EQ(floatToHalf(std::ldexp(3.0f, -25)), 0x0002);         // 1.5 units: tie, to 2
  EXPECT_EQ(floatToHalf(std::ldexp(5.0f, -25)), 0x0002);         // 2.5 units: tie, to 2
  EXPECT_EQ(floatToHalf(std::ldexp(2047.0f, -25)), 0x0400);      // rounds up into the normals
  EXPECT_EQ(floatToHalf(1.0f + std::ldexp(1.0f, -11)), 0x3C00);  // tie: to even
  EXPECT_EQ(floatToHalf(1.0f + std::ldexp(3.0f, -11)), 0x3C02);  // tie: to even
  EXPECT_EQ(floatToHalf(std::ldexp(1.0f, -149)), 0x0000);        // float subnormal: 0
  EXPECT_EQ(floatToHalf(floatFrom(0x7F800001u)), 0x7E00);        // signalling NaN comes out quiet
  EXPECT_EQ(floatToHalf(floatFrom(0xFFC00000u)), 0xFE00);
  EXPECT_EQ(bitsOf(halfToFloat(0x7C01)), 0x7FC02000u);  // quieted, payload kept
  EXPECT_EQ(halfToFloat(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(halfToFloat(0x03FF), std::ldexp(1023.0f, -24));
}

TEST(Bfloat16, KnownValues) {
  EXPECT_EQ(floatToBfloat16(1.0f), 0x3F80);
  EXPECT_EQ(floatToBfloat16(floatFrom(0x3F808000u)), 0x3F80);  // tie: to even
  EXPECT_EQ(floatToBfloat16(floatFrom(0x3F818000u)), 0x3F82);  // tie: to even
  EXPECT_EQ(floatToBfloat16(floatFrom(0x3F808001u)), 0x3F81);
  EXPECT_EQ(floatToBfloat16(floatFrom(0x7F7FFFFFu)), 0x7F80);  // float max: past the tie, inf
  EXPECT_EQ(floatToBfloat16(floatFrom(0x7F7F7FFFu)), 0x7F7F);  // bfloat16 max
  EXPECT_EQ(floatToBfloat16(floatFrom(0x00008000u)), 0x0000);  // subnormal tie: to even
  EXPECT_EQ(floatToBfloat16(floatFrom(0x00018000u)), 0x0002);
  EXPECT_EQ(floatToBfloat16(floatFrom(0x807FFFFFu)), 0x8080);  // up into the normals
  EXPECT_EQ(floatToBfloat16(floatFrom(0x7F800001u)), 0x7FC0);  // NaN, quiet
  EXPECT_EQ(bitsOf(bfloat16ToFloat(0xFF81)), 0xFFC10000u);     // quieted, payload kept
}

// ---- The CPU's own conversions ----------------------------------------------

#if defined(__x86_64__)
__attribute__((target("f16c"))) uint16_t hardwareNarrow(float f) {
  return static_cast<uint16_t>(_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}
__attribute__((target("f16c"))) uint32_t hardwareWiden(uint16_t h) {
  return bitsOf(_cvtsh_ss(h));
}

// F16C is IEEE's conversion in silicon; ours must give the same bits,
// NaN payloads included. Every 61st float: 70 million values.
TEST(Half, MatchesF16cBitForBit) {
  if (!__builtin_cpu_supports("f16c")) GTEST_SKIP() << "this CPU has no F16C";
  for (uint32_t h = 0; h <= 0xFFFF; ++h) {
    ASSERT_EQ(bitsOf(halfToFloat(static_cast<uint16_t>(h))),
              hardwareWiden(static_cast<uint16_t>(h)))
        << std::hex << h;
  }
  for (uint64_t x = 0; x <= 0xFFFFFFFFull; x += 61) {
    const float f = floatFrom(static_cast<uint32_t>(x));
    ASSERT_EQ(floatToHalf(f), hardwareNarrow(f)) << std::hex << x;
  }
}
#endif

}  // namespace
}  // namespace xccl_reduce_test
