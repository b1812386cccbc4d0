// divide(), the last step of Avg: integers truncate toward zero, 16-bit
// floats divide in float and round to nearest even.
#include <cstdint>
#include <limits>
#include <vector>

#include <gtest/gtest.h>

#include "reduce.h"

namespace {

using xpool::xccl::divide;

template <class T>
std::vector<T> divided(std::vector<T> values, xcclDataType_t type, int divisor) {
  divide(values.data(), values.size(), type, divisor);
  return values;
}

TEST(Divide, SignedIntegersTruncateTowardZero) {
  EXPECT_EQ(divided<int32_t>({-7, 7, -1, 1, 0, INT32_MIN, INT32_MAX}, xcclInt32, 2),
            (std::vector<int32_t>{-3, 3, 0, 0, 0, -1073741824, 1073741823}));
  EXPECT_EQ(divided<int8_t>({-128, 127, -5, 5}, xcclInt8, 3),
            (std::vector<int8_t>{-42, 42, -1, 1}));
  EXPECT_EQ(divided<int64_t>({INT64_MIN, -9, 9}, xcclInt64, 4),
            (std::vector<int64_t>{INT64_MIN / 4, -2, 2}));
}

TEST(Divide, UnsignedIntegersUseTheirFullRange) {
  EXPECT_EQ(divided<uint8_t>({255, 7}, xcclUint8, 2), (std::vector<uint8_t>{127, 3}));
  EXPECT_EQ(divided<uint32_t>({0xFFFFFFFFu}, xcclUint32, 3), (std::vector<uint32_t>{0x55555555u}));
  EXPECT_EQ(divided<uint64_t>({~uint64_t{0}}, xcclUint64, 5),
            (std::vector<uint64_t>{0x3333333333333333ull}));
}

TEST(Divide, FloatsDivideCorrectlyRounded) {
  EXPECT_EQ(divided<float>({1.0f, -6.0f}, xcclFloat32, 3), (std::vector<float>{1.0f / 3, -2.0f}));
  EXPECT_EQ(divided<double>({1.0, 1e308}, xcclFloat64, 3),
            (std::vector<double>{1.0 / 3, 1e308 / 3}));
}

TEST(Divide, HalvesRoundToNearestEven) {
  // float16 by 3: 1/3 = 1.0101010101|0101...b x 2^-2 rounds down to 0x3555;
  // -2/3 likewise to 0xB955; a third or a whole unit of 2^-24 gives 0 or 1.
  EXPECT_EQ(divided<uint16_t>({0x3C00, 0xC000, 0x0001, 0x0003, 0x7C00}, xcclFloat16, 3),
            (std::vector<uint16_t>{0x3555, 0xB955, 0x0000, 0x0001, 0x7C00}));
  // By 2: half a unit of 2^-24 is a tie, to even 0; 1.5 units a tie, to 2.
  EXPECT_EQ(divided<uint16_t>({0x0001, 0x0003, 0xC000}, xcclFloat16, 2),
            (std::vector<uint16_t>{0x0000, 0x0002, 0xBC00}));
  // bfloat16 by 3: 1/3 is float 0x3EAAAAAB, whose low half 0xAAAB rounds up.
  EXPECT_EQ(divided<uint16_t>({0x3F80, 0xC000, 0x0001, 0x0003}, xcclBfloat16, 3),
            (std::vector<uint16_t>{0x3EAB, 0xBF2B, 0x0000, 0x0001}));
}

TEST(Divide, DivisorBelowOneOrZeroCountChangesNothing) {
  EXPECT_EQ(divided<int32_t>({5, -5}, xcclInt32, 0), (std::vector<int32_t>{5, -5}));
  EXPECT_EQ(divided<int32_t>({5, -5}, xcclInt32, -2), (std::vector<int32_t>{5, -5}));
  EXPECT_EQ(divided<int32_t>({5, -5}, xcclInt32, 1), (std::vector<int32_t>{5, -5}));
  divide(nullptr, 0, xcclFloat32, 2);  // must not dereference
}

}  // namespace
