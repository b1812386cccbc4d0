// The plain C++ reduction loops: the path on CPUs without AVX2, the path
// XCCL_SIMD=scalar selects, and the definition the SIMD paths must match bit
// for bit. Elements are read with memcpy so that no pointer needs alignment.
#include <bit>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "half.h"
#include "kernels.h"

namespace xpool::xccl::detail {
namespace {

// How an element is stored and the type it is combined in.
template <class T>
struct Native {
  using Stored = T;
  static T widen(T v) { return v; }
  static T narrow(T v) { return v; }
};
struct Half {
  using Stored = uint16_t;
  static float widen(uint16_t v) { return halfToFloat(v); }
  static uint16_t narrow(float v) { return floatToHalf(v); }
};
struct Bfloat16 {
  using Stored = uint16_t;
  static float widen(uint16_t v) { return bfloat16ToFloat(v); }
  static uint16_t narrow(float v) { return floatToBfloat16(v); }
};

template <class F>
F bitwiseAnd(F a, F b) {
  using Bits = std::conditional_t<sizeof(F) == 4, uint32_t, uint64_t>;
  return std::bit_cast<F>(std::bit_cast<Bits>(a) & std::bit_cast<Bits>(b));
}
template <class F>
F bitwiseOr(F a, F b) {
  using Bits = std::conditional_t<sizeof(F) == 4, uint32_t, uint64_t>;
  return std::bit_cast<F>(std::bit_cast<Bits>(a) | std::bit_cast<Bits>(b));
}

// Integer sum and prod run on the unsigned type, where wrapping is defined,
// widened to at least unsigned int so that promotion never makes them signed.
template <KernelOp kOp, class T>
requires std::is_integral_v<T> T combine(T a, T b) {
  using Wide = std::common_type_t<std::make_unsigned_t<T>, unsigned>;
  const Wide ua = static_cast<std::make_unsigned_t<T>>(a);
  const Wide ub = static_cast<std::make_unsigned_t<T>>(b);
  if constexpr (kOp == kKernelSum) return static_cast<T>(ua + ub);
  if constexpr (kOp == kKernelProd) return static_cast<T>(ua * ub);
  if constexpr (kOp == kKernelMax) return a > b ? a : b;
  if constexpr (kOp == kKernelMin) return a < b ? a : b;
}

// Floating max and min: NaN in either operand gives a quiet NaN (a + b), and
// equal operands combine bitwise so that the result does not depend on the
// order: only +0 and -0 are equal with different bits.
template <KernelOp kOp, class F>
requires std::is_floating_point_v<F> F combine(F a, F b) {
  if constexpr (kOp == kKernelSum) return a + b;
  if constexpr (kOp == kKernelProd) return a * b;
  if constexpr (kOp == kKernelMax) {
    if (a != a || b != b) return a + b;
    if (a == b) return bitwiseAnd(a, b);  // +0 beats -0
    return a > b ? a : b;
  }
  if constexpr (kOp == kKernelMin) {
    if (a != a || b != b) return a + b;
    if (a == b) return bitwiseOr(a, b);  // -0 beats +0
    return a < b ? a : b;
  }
}

template <class Element, KernelOp kOp>
void reduceLoop(void *dst, const void *a, const void *b, size_t count) {
  using Stored = typename Element::Stored;
  auto *out = static_cast<unsigned char *>(dst);
  const auto *x = static_cast<const unsigned char *>(a);
  const auto *y = static_cast<const unsigned char *>(b);
  for (size_t i = 0; i < count; ++i) {
    Stored vx;
    Stored vy;
    std::memcpy(&vx, x + i * sizeof(Stored), sizeof(Stored));
    std::memcpy(&vy, y + i * sizeof(Stored), sizeof(Stored));
    const Stored r = Element::narrow(combine<kOp>(Element::widen(vx), Element::widen(vy)));
    std::memcpy(out + i * sizeof(Stored), &r, sizeof(Stored));
  }
}

template <class Element>
constexpr void addLoops(KernelTable &table, xcclDataType_t type) {
  table.loops[type][kKernelSum] = &reduceLoop<Element, kKernelSum>;
  table.loops[type][kKernelProd] = &reduceLoop<Element, kKernelProd>;
  table.loops[type][kKernelMax] = &reduceLoop<Element, kKernelMax>;
  table.loops[type][kKernelMin] = &reduceLoop<Element, kKernelMin>;
}

constexpr KernelTable makeTable() {
  KernelTable table{};
  table.isa = "scalar";
  addLoops<Native<int8_t>>(table, xcclInt8);
  addLoops<Native<uint8_t>>(table, xcclUint8);
  addLoops<Native<int32_t>>(table, xcclInt32);
  addLoops<Native<uint32_t>>(table, xcclUint32);
  addLoops<Native<int64_t>>(table, xcclInt64);
  addLoops<Native<uint64_t>>(table, xcclUint64);
  addLoops<Half>(table, xcclFloat16);
  addLoops<Native<float>>(table, xcclFloat32);
  addLoops<Native<double>>(table, xcclFloat64);
  addLoops<Bfloat16>(table, xcclBfloat16);
  return table;
}

}  // namespace

constinit const KernelTable kScalarKernels = makeTable();

}  // namespace xpool::xccl::detail
