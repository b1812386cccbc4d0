// Reduction loops for AVX2 with F16C: 32 bytes a register; tails go through
// simd_loop.h's scratch copy (AVX2 has no byte-granular masked loads).
// Compiled with -mavx2 -mfma -mf16c; runs only after the dispatcher has
// checked the CPU (see reduce.cpp), and must match reduce_scalar.cpp bit for
// bit.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "simd_loop.h"

namespace xpool::xccl::detail {
namespace {

template <int kBits, bool kSigned>
struct Int {
  using Reg = __m256i;
  static constexpr size_t kBytes = kBits / 8;
  static constexpr size_t kLanes = 32 / kBytes;

  static Reg load(const void *p) { return _mm256_loadu_si256(static_cast<const Reg *>(p)); }
  static void store(void *p, Reg r) { _mm256_storeu_si256(static_cast<Reg *>(p), r); }

  static Reg sum(Reg a, Reg b) {
    if constexpr (kBits == 8) return _mm256_add_epi8(a, b);
    if constexpr (kBits == 32) return _mm256_add_epi32(a, b);
    if constexpr (kBits == 64) return _mm256_add_epi64(a, b);
  }
  static Reg prod(Reg a, Reg b) {
    if constexpr (kBits == 8) {
      // No 8-bit multiply: multiply 16-bit lanes, whose low byte is right,
      // once as they are (even bytes) and once shifted down (odd bytes).
      const Reg even = _mm256_mullo_epi16(a, b);
      const Reg odd = _mm256_mullo_epi16(_mm256_srli_epi16(a, 8), _mm256_srli_epi16(b, 8));
      return _mm256_or_si256(_mm256_and_si256(even, _mm256_set1_epi16(0x00FF)),
                             _mm256_slli_epi16(odd, 8));
    }
    if constexpr (kBits == 32) return _mm256_mullo_epi32(a, b);
    if constexpr (kBits == 64) {
      // No 64-bit multiply: low*low (64-bit result) plus the two cross
      // products shifted up 32; high*high falls off the top.
      const Reg lowLow = _mm256_mul_epu32(a, b);
      const Reg cross = _mm256_add_epi64(_mm256_mul_epu32(_mm256_srli_epi64(a, 32), b),
                                         _mm256_mul_epu32(a, _mm256_srli_epi64(b, 32)));
      return _mm256_add_epi64(lowLow, _mm256_slli_epi64(cross, 32));
    }
  }
  static Reg max(Reg a, Reg b) {
    if constexpr (kBits == 8) return kSigned ? _mm256_max_epi8(a, b) : _mm256_max_epu8(a, b);
    if constexpr (kBits == 32) return kSigned ? _mm256_max_epi32(a, b) : _mm256_max_epu32(a, b);
    if constexpr (kBits == 64) return _mm256_blendv_epi8(b, a, greater64(a, b));
  }
  static Reg min(Reg a, Reg b) {
    if constexpr (kBits == 8) return kSigned ? _mm256_min_epi8(a, b) : _mm256_min_epu8(a, b);
    if constexpr (kBits == 32) return kSigned ? _mm256_min_epi32(a, b) : _mm256_min_epu32(a, b);
    if constexpr (kBits == 64) return _mm256_blendv_epi8(a, b, greater64(a, b));
  }
  // All-ones lanes where a > b. AVX2 compares 64-bit lanes signed only;
  // flipping the sign bits first orders unsigned values the same way.
  static Reg greater64(Reg a, Reg b) {
    if constexpr (kSigned) return _mm256_cmpgt_epi64(a, b);
    const Reg signBit = _mm256_set1_epi64x(static_cast<long long>(0x8000000000000000ull));
    return _mm256_cmpgt_epi64(_mm256_xor_si256(a, signBit), _mm256_xor_si256(b, signBit));
  }
};

// Float arithmetic shared by float32, float16 and bfloat16 (the 16-bit types
// are combined in float). max_ps(a, b) is (a > b ? a : b); combining it
// bitwise with max_ps(b, a) makes it symmetric: the two differ only for
// +0/-0 (AND gives +0) and for NaN, which the blend replaces with a + b, a
// quiet NaN. min is the same with OR (-0 wins).
struct Float32Math {
  using Reg = __m256;
  static Reg sum(Reg a, Reg b) { return _mm256_add_ps(a, b); }
  static Reg prod(Reg a, Reg b) { return _mm256_mul_ps(a, b); }
  static Reg max(Reg a, Reg b) {
    const Reg either = _mm256_and_ps(_mm256_max_ps(a, b), _mm256_max_ps(b, a));
    return _mm256_blendv_ps(either, _mm256_add_ps(a, b), _mm256_cmp_ps(a, b, _CMP_UNORD_Q));
  }
  static Reg min(Reg a, Reg b) {
    const Reg either = _mm256_or_ps(_mm256_min_ps(a, b), _mm256_min_ps(b, a));
    return _mm256_blendv_ps(either, _mm256_add_ps(a, b), _mm256_cmp_ps(a, b, _CMP_UNORD_Q));
  }
};

struct Float32 : Float32Math {
  static constexpr size_t kBytes = 4;
  static constexpr size_t kLanes = 8;
  static Reg load(const void *p) { return _mm256_loadu_ps(static_cast<const float *>(p)); }
  static void store(void *p, Reg r) { _mm256_storeu_ps(static_cast<float *>(p), r); }
};

struct Float64 {
  using Reg = __m256d;
  static constexpr size_t kBytes = 8;
  static constexpr size_t kLanes = 4;
  static Reg load(const void *p) { return _mm256_loadu_pd(static_cast<const double *>(p)); }
  static void store(void *p, Reg r) { _mm256_storeu_pd(static_cast<double *>(p), r); }
  static Reg sum(Reg a, Reg b) { return _mm256_add_pd(a, b); }
  static Reg prod(Reg a, Reg b) { return _mm256_mul_pd(a, b); }
  static Reg max(Reg a, Reg b) {  // as Float32Math
    const Reg either = _mm256_and_pd(_mm256_max_pd(a, b), _mm256_max_pd(b, a));
    return _mm256_blendv_pd(either, _mm256_add_pd(a, b), _mm256_cmp_pd(a, b, _CMP_UNORD_Q));
  }
  static Reg min(Reg a, Reg b) {
    const Reg either = _mm256_or_pd(_mm256_min_pd(a, b), _mm256_min_pd(b, a));
    return _mm256_blendv_pd(either, _mm256_add_pd(a, b), _mm256_cmp_pd(a, b, _CMP_UNORD_Q));
  }
};

// 8 float16 (one 128-bit load) widened to 8 floats by F16C.
struct Float16 : Float32Math {
  static constexpr size_t kBytes = 2;
  static constexpr size_t kLanes = 8;
  static Reg load(const void *p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(static_cast<const __m128i *>(p)));
  }
  static void store(void *p, Reg r) {
    _mm_storeu_si128(static_cast<__m128i *>(p),
                     _mm256_cvtps_ph(r, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  }
};

// 16 bfloat16 (one 32-byte load) as two registers of floats, without any
// shuffle: a bfloat16 is the top half of a float, so the odd elements (high
// halves of the 32-bit lanes) are floats once the low halves are cleared,
// and the even ones once shifted up.
struct Bfloat16 {
  struct Reg {
    __m256 even;
    __m256 odd;
  };
  static constexpr size_t kBytes = 2;
  static constexpr size_t kLanes = 16;

  static Reg load(const void *p) {
    return widen(_mm256_loadu_si256(static_cast<const __m256i *>(p)));
  }
  static void store(void *p, Reg r) { _mm256_storeu_si256(static_cast<__m256i *>(p), narrow(r)); }

  static Reg sum(Reg a, Reg b) { return each<Float32Math::sum>(a, b); }
  static Reg prod(Reg a, Reg b) { return each<Float32Math::prod>(a, b); }
  static Reg max(Reg a, Reg b) { return each<Float32Math::max>(a, b); }
  static Reg min(Reg a, Reg b) { return each<Float32Math::min>(a, b); }

  template <__m256 (*kOp)(__m256, __m256)>
  static Reg each(Reg a, Reg b) {
    return {kOp(a.even, b.even), kOp(a.odd, b.odd)};
  }
  static Reg widen(__m256i pairs) {
    const __m256i highHalves = _mm256_set1_epi32(static_cast<int>(0xFFFF0000u));
    return {_mm256_castsi256_ps(_mm256_slli_epi32(pairs, 16)),
            _mm256_castsi256_ps(_mm256_and_si256(pairs, highHalves))};
  }
  static __m256i narrow(Reg r) {
    const __m256i highHalves = _mm256_set1_epi32(static_cast<int>(0xFFFF0000u));
    return _mm256_or_si256(_mm256_srli_epi32(roundToHighHalf(r.even), 16),
                           _mm256_and_si256(roundToHighHalf(r.odd), highHalves));
  }
  // As floatToBfloat16, leaving the result in the high half of each lane:
  // add 0x7FFF plus the lowest kept bit (round to nearest, ties to even),
  // but for NaN set the quiet bit instead.
  static __m256i roundToHighHalf(__m256 f) {
    const __m256i bits = _mm256_castps_si256(f);
    const __m256i keptLsb = _mm256_and_si256(_mm256_srli_epi32(bits, 16), _mm256_set1_epi32(1));
    const __m256i rounded =
        _mm256_add_epi32(bits, _mm256_add_epi32(keptLsb, _mm256_set1_epi32(0x7FFF)));
    const __m256i quieted = _mm256_or_si256(bits, _mm256_set1_epi32(0x00400000));
    const __m256i isNan = _mm256_castps_si256(_mm256_cmp_ps(f, f, _CMP_UNORD_Q));
    return _mm256_blendv_epi8(rounded, quieted, isNan);
  }
};

constexpr KernelTable makeTable() {
  KernelTable table{};
  table.isa = "avx2";
  addLoops<Int<8, true>>(table, xcclInt8);
  addLoops<Int<8, false>>(table, xcclUint8);
  addLoops<Int<32, true>>(table, xcclInt32);
  addLoops<Int<32, false>>(table, xcclUint32);
  addLoops<Int<64, true>>(table, xcclInt64);
  addLoops<Int<64, false>>(table, xcclUint64);
  addLoops<Float16>(table, xcclFloat16);
  addLoops<Float32>(table, xcclFloat32);
  addLoops<Float64>(table, xcclFloat64);
  addLoops<Bfloat16>(table, xcclBfloat16);
  return table;
}

}  // namespace

constinit const KernelTable kAvx2Kernels = makeTable();

}  // namespace xpool::xccl::detail
