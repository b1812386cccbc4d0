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

// 8 elements of 16 bits (one 128-bit register) widened to 8 floats.
template <class Format>
struct Narrow16 : Float32Math {
  static constexpr size_t kBytes = 2;
  static constexpr size_t kLanes = 8;
  static Reg load(const void *p) {
    return Format::widen(_mm_loadu_si128(static_cast<const __m128i *>(p)));
  }
  static void store(void *p, Reg r) {
    _mm_storeu_si128(static_cast<__m128i *>(p), Format::narrow(r));
  }
};

struct HalfFormat {
  static __m256 widen(__m128i h) { return _mm256_cvtph_ps(h); }
  static __m128i narrow(__m256 f) {
    return _mm256_cvtps_ph(f, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }
};

struct Bfloat16Format {
  static __m256 widen(__m128i h) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
  }
  static __m128i narrow(__m256 f) {
    // As floatToBfloat16: add 0x7FFF plus the lowest kept bit (round to
    // nearest even), but set the quiet bit of NaNs instead.
    const __m256i bits = _mm256_castps_si256(f);
    const __m256i keptLsb = _mm256_and_si256(_mm256_srli_epi32(bits, 16), _mm256_set1_epi32(1));
    const __m256i rounded =
        _mm256_add_epi32(bits, _mm256_add_epi32(keptLsb, _mm256_set1_epi32(0x7FFF)));
    const __m256i quieted = _mm256_or_si256(bits, _mm256_set1_epi32(0x00400000));
    const __m256i isNan = _mm256_castps_si256(_mm256_cmp_ps(f, f, _CMP_UNORD_Q));
    const __m256i top = _mm256_srli_epi32(_mm256_blendv_epi8(rounded, quieted, isNan), 16);
    // packus works within 128-bit lanes: [0..3 0..3 | 4..7 4..7]; gather
    // the two useful quarters into the low half.
    const __m256i packed = _mm256_packus_epi32(top, top);
    return _mm256_castsi256_si128(_mm256_permute4x64_epi64(packed, 0b1000));
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
  addLoops<Narrow16<HalfFormat>>(table, xcclFloat16);
  addLoops<Float32>(table, xcclFloat32);
  addLoops<Float64>(table, xcclFloat64);
  addLoops<Narrow16<Bfloat16Format>>(table, xcclBfloat16);
  return table;
}

}  // namespace

constinit const KernelTable kAvx2Kernels = makeTable();

}  // namespace xpool::xccl::detail
