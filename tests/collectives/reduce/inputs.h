// Test inputs: buffers with guard bytes around them, and random elements
// that reach every branch of the reductions (NaN, infinities, signed zeros,
// subnormals, equal and near-equal operands, full-range integers).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include <xpool/xccl.h>

namespace xccl_reduce_test {

// count elements at `offsetElements` past a 64-byte boundary, with guard
// bytes of a known pattern on both sides to catch stray writes.
class GuardedBuffer {
 public:
  static constexpr size_t kGuard = 256;
  static constexpr unsigned char kPattern = 0xA5;

  GuardedBuffer(size_t count, size_t elementSize, size_t offsetElements)
      : bytes_(count * elementSize),
        storage_(kGuard + 64 + offsetElements * elementSize + bytes_ + kGuard, kPattern) {
    const auto base = reinterpret_cast<uintptr_t>(storage_.data()) + kGuard;
    const uintptr_t aligned = (base + 63) & ~uintptr_t{63};
    data_ = reinterpret_cast<unsigned char *>(aligned) + offsetElements * elementSize;
  }
  unsigned char *data() { return data_; }
  size_t bytes() const { return bytes_; }
  bool guardsIntact() const {
    for (const unsigned char *p = storage_.data(); p < data_; ++p) {
      if (*p != kPattern) return false;
    }
    for (const unsigned char *p = data_ + bytes_; p < storage_.data() + storage_.size(); ++p) {
      if (*p != kPattern) return false;
    }
    return true;
  }

 private:
  size_t bytes_;
  std::vector<unsigned char> storage_;
  unsigned char *data_;
};

// The bit layout of a floating type, for making interesting values.
struct FloatLayout {
  int bits;
  int mantissaBits;
  int bias;
};

inline FloatLayout layoutOf(xcclDataType_t type) {
  switch (type) {
    case xcclFloat16:
      return {16, 10, 15};
    case xcclBfloat16:
      return {16, 7, 127};
    case xcclFloat32:
      return {32, 23, 127};
    default:
      return {64, 52, 1023};
  }
}

// One random element of a floating type as raw bits; `partner`, the element
// it will be combined with (if already chosen), is used to make equal,
// opposite and near-equal operands, where rounding and ±0 matter.
inline uint64_t randomFloatBits(FloatLayout f, std::mt19937_64 &rng, const uint64_t *partner) {
  const uint64_t signBit = uint64_t{1} << (f.bits - 1);
  const uint64_t mantissaMask = (uint64_t{1} << f.mantissaBits) - 1;
  const uint64_t exponentMax = (uint64_t{1} << (f.bits - 1 - f.mantissaBits)) - 1;
  const uint64_t allBits = f.bits == 64 ? ~uint64_t{0} : (uint64_t{1} << f.bits) - 1;
  const uint64_t quietBit = uint64_t{1} << (f.mantissaBits - 1);
  const uint64_t infinity = exponentMax << f.mantissaBits;
  const uint64_t one = static_cast<uint64_t>(f.bias) << f.mantissaBits;
  const uint64_t specials[] = {
      0,         // +0
      signBit,   // -0
      infinity,  // +inf
      signBit | infinity,
      infinity | quietBit,  // quiet NaN
      signBit | infinity | quietBit,
      infinity | 1,                   // signalling NaN
      1,                              // smallest subnormal
      mantissaMask,                   // largest subnormal
      uint64_t{1} << f.mantissaBits,  // smallest normal
      infinity - 1,                   // largest finite
      signBit | (infinity - 1),
      one,
      signBit | one,
  };
  const uint64_t sign = rng() & signBit;
  const uint64_t mantissa = rng() & mantissaMask;
  const unsigned pick = rng() % 16;
  if (pick == 0) return specials[rng() % std::size(specials)];
  if (pick == 1) return rng() & allBits;
  if (partner != nullptr && pick <= 5) {
    if (pick == 2) return *partner;
    if (pick == 3) return *partner ^ signBit;
    // Same exponent give or take two, so that sums round and cancel.
    const uint64_t exponent = (*partner >> f.mantissaBits) & exponentMax;
    const uint64_t shifted = exponent + (rng() % 5) - 2;
    const uint64_t clamped = shifted > exponentMax - 1 ? exponent : shifted;
    return sign | (clamped << f.mantissaBits) | mantissa;
  }
  // Ordinary magnitudes, 2^-10 to 2^10.
  const uint64_t exponent = static_cast<uint64_t>(f.bias - 10) + rng() % 21;
  return sign | (exponent << f.mantissaBits) | mantissa;
}

inline bool isFloating(xcclDataType_t type) {
  return type == xcclFloat16 || type == xcclBfloat16 || type == xcclFloat32 || type == xcclFloat64;
}

// Fills `data` with count random elements; `partner` (may be null) holds the
// elements they will be combined with.
inline void fillRandom(void *data, const void *partner, size_t count, xcclDataType_t type,
                       size_t size, std::mt19937_64 &rng) {
  for (size_t i = 0; i < count; ++i) {
    uint64_t bits = rng();
    if (isFloating(type)) {
      uint64_t partnerBits = 0;
      if (partner != nullptr) {
        std::memcpy(&partnerBits, static_cast<const char *>(partner) + i * size, size);
      }
      bits = randomFloatBits(layoutOf(type), rng, partner != nullptr ? &partnerBits : nullptr);
    }
    std::memcpy(static_cast<char *>(data) + i * size, &bits, size);  // little-endian: low bytes
  }
}

}  // namespace xccl_reduce_test
