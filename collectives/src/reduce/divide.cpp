// divide(): the last step of Avg, once per operation, so plain loops suffice.
#include <cstdint>
#include <cstring>

#include "half.h"
#include "reduce.h"

namespace xpool::xccl {
namespace {

// Integers: C++ division truncates toward zero, and a divisor >= 1 cannot
// overflow (INT_MIN / -1 is the only case that does).
template <class T, class Divisor>
void divideEach(void *dst, size_t count, Divisor divisor) {
  auto *bytes = static_cast<unsigned char *>(dst);
  for (size_t i = 0; i < count; ++i) {
    T value;
    std::memcpy(&value, bytes + i * sizeof(T), sizeof(T));
    value = static_cast<T>(value / divisor);
    std::memcpy(bytes + i * sizeof(T), &value, sizeof(T));
  }
}

// Division in float then one rounding to 16 bits is correctly rounded: float
// has more than twice the precision of either 16-bit format.
template <float (*kWiden)(uint16_t), uint16_t (*kNarrow)(float)>
void divide16(void *dst, size_t count, float divisor) {
  auto *bytes = static_cast<unsigned char *>(dst);
  for (size_t i = 0; i < count; ++i) {
    uint16_t value;
    std::memcpy(&value, bytes + i * 2, 2);
    value = kNarrow(kWiden(value) / divisor);
    std::memcpy(bytes + i * 2, &value, 2);
  }
}

}  // namespace

void divide(void *dst, size_t count, xcclDataType_t type, int divisor) {
  if (divisor < 1 || count == 0) return;
  switch (type) {
    case xcclInt8:
      return divideEach<int8_t>(dst, count, divisor);
    case xcclUint8:
      return divideEach<uint8_t>(dst, count, static_cast<unsigned>(divisor));
    case xcclInt32:
      return divideEach<int32_t>(dst, count, divisor);
    case xcclUint32:
      return divideEach<uint32_t>(dst, count, static_cast<uint32_t>(divisor));
    case xcclInt64:
      return divideEach<int64_t>(dst, count, static_cast<int64_t>(divisor));
    case xcclUint64:
      return divideEach<uint64_t>(dst, count, static_cast<uint64_t>(divisor));
    case xcclFloat16:
      return divide16<halfToFloat, floatToHalf>(dst, count, static_cast<float>(divisor));
    case xcclFloat32:
      return divideEach<float>(dst, count, static_cast<float>(divisor));
    case xcclFloat64:
      return divideEach<double>(dst, count, static_cast<double>(divisor));
    case xcclBfloat16:
      return divide16<bfloat16ToFloat, floatToBfloat16>(dst, count, static_cast<float>(divisor));
    default:
      return;
  }
}

}  // namespace xpool::xccl
