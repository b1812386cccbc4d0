// Reduction loops for AVX-512 (F, BW, VL, DQ) with F16C: 64 bytes a register,
// tails done with masked loads and stores, which never touch the masked-off
// bytes (no fault past the end of a buffer). Compiled with -mavx512*; runs
// only after the dispatcher has checked the CPU (see reduce.cpp), and must
// match reduce_scalar.cpp bit for bit.

// GCC 12's AVX-512 headers start many intrinsics from a deliberately
// undefined register ("__Y = __Y") and then warn about it once inlined (GCC
// bug 105593, fixed in 13). The pragma must come before the header.
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "simd_loop.h"

namespace xpool::xccl::detail {
namespace {

// Masks for the first n elements, n < lanes.
__mmask8 firstLanes8(size_t n) {
  return static_cast<__mmask8>((1u << n) - 1u);
}
__mmask16 firstLanes16(size_t n) {
  return static_cast<__mmask16>((1u << n) - 1u);
}
__mmask32 firstLanes32(size_t n) {
  return static_cast<__mmask32>((uint64_t{1} << n) - 1u);
}
__mmask64 firstLanes64(size_t n) {
  return (uint64_t{1} << n) - 1u;
}

template <int kBits, bool kSigned>
struct Int {
  using Reg = __m512i;
  static constexpr size_t kBytes = kBits / 8;
  static constexpr size_t kLanes = 64 / kBytes;

  static Reg load(const void *p) { return _mm512_loadu_si512(p); }
  static void store(void *p, Reg r) { _mm512_storeu_si512(p, r); }
  static Reg loadPart(const void *p, size_t n) {
    if constexpr (kBits == 8) return _mm512_maskz_loadu_epi8(firstLanes64(n), p);
    if constexpr (kBits == 32) return _mm512_maskz_loadu_epi32(firstLanes16(n), p);
    if constexpr (kBits == 64) return _mm512_maskz_loadu_epi64(firstLanes8(n), p);
  }
  static void storePart(void *p, Reg r, size_t n) {
    if constexpr (kBits == 8) _mm512_mask_storeu_epi8(p, firstLanes64(n), r);
    if constexpr (kBits == 32) _mm512_mask_storeu_epi32(p, firstLanes16(n), r);
    if constexpr (kBits == 64) _mm512_mask_storeu_epi64(p, firstLanes8(n), r);
  }

  // Two's-complement add and multiply give the wrapped result for signed
  // and unsigned alike.
  static Reg sum(Reg a, Reg b) {
    if constexpr (kBits == 8) return _mm512_add_epi8(a, b);
    if constexpr (kBits == 32) return _mm512_add_epi32(a, b);
    if constexpr (kBits == 64) return _mm512_add_epi64(a, b);
  }
  static Reg prod(Reg a, Reg b) {
    if constexpr (kBits == 8) {
      // No 8-bit multiply: multiply 16-bit lanes, whose low byte is right,
      // once as they are (even bytes) and once shifted down (odd bytes).
      const Reg even = _mm512_mullo_epi16(a, b);
      const Reg odd = _mm512_mullo_epi16(_mm512_srli_epi16(a, 8), _mm512_srli_epi16(b, 8));
      return _mm512_mask_blend_epi8(0xAAAAAAAAAAAAAAAAull, even, _mm512_slli_epi16(odd, 8));
    }
    if constexpr (kBits == 32) return _mm512_mullo_epi32(a, b);
    if constexpr (kBits == 64) return _mm512_mullo_epi64(a, b);
  }
  static Reg max(Reg a, Reg b) {
    if constexpr (kBits == 8) return kSigned ? _mm512_max_epi8(a, b) : _mm512_max_epu8(a, b);
    if constexpr (kBits == 32) return kSigned ? _mm512_max_epi32(a, b) : _mm512_max_epu32(a, b);
    if constexpr (kBits == 64) return kSigned ? _mm512_max_epi64(a, b) : _mm512_max_epu64(a, b);
  }
  static Reg min(Reg a, Reg b) {
    if constexpr (kBits == 8) return kSigned ? _mm512_min_epi8(a, b) : _mm512_min_epu8(a, b);
    if constexpr (kBits == 32) return kSigned ? _mm512_min_epi32(a, b) : _mm512_min_epu32(a, b);
    if constexpr (kBits == 64) return kSigned ? _mm512_min_epi64(a, b) : _mm512_min_epu64(a, b);
  }
};

// Float arithmetic shared by float32, float16 and bfloat16 (the 16-bit types
// are combined in float). max_ps(a, b) is (a > b ? a : b); combining it
// bitwise with max_ps(b, a) makes it symmetric: the two differ only for
// +0/-0 (AND gives +0) and for NaN, which the masked add turns into a quiet
// NaN. min is the same with OR (-0 wins).
struct Float32Math {
  using Reg = __m512;
  static Reg sum(Reg a, Reg b) { return _mm512_add_ps(a, b); }
  static Reg prod(Reg a, Reg b) { return _mm512_mul_ps(a, b); }
  static Reg max(Reg a, Reg b) {
    const Reg either = _mm512_and_ps(_mm512_max_ps(a, b), _mm512_max_ps(b, a));
    return _mm512_mask_add_ps(either, _mm512_cmp_ps_mask(a, b, _CMP_UNORD_Q), a, b);
  }
  static Reg min(Reg a, Reg b) {
    const Reg either = _mm512_or_ps(_mm512_min_ps(a, b), _mm512_min_ps(b, a));
    return _mm512_mask_add_ps(either, _mm512_cmp_ps_mask(a, b, _CMP_UNORD_Q), a, b);
  }
};

struct Float32 : Float32Math {
  static constexpr size_t kBytes = 4;
  static constexpr size_t kLanes = 16;
  static Reg load(const void *p) { return _mm512_loadu_ps(p); }
  static void store(void *p, Reg r) { _mm512_storeu_ps(p, r); }
  static Reg loadPart(const void *p, size_t n) { return _mm512_maskz_loadu_ps(firstLanes16(n), p); }
  static void storePart(void *p, Reg r, size_t n) { _mm512_mask_storeu_ps(p, firstLanes16(n), r); }
};

struct Float64 {
  using Reg = __m512d;
  static constexpr size_t kBytes = 8;
  static constexpr size_t kLanes = 8;
  static Reg load(const void *p) { return _mm512_loadu_pd(p); }
  static void store(void *p, Reg r) { _mm512_storeu_pd(p, r); }
  static Reg loadPart(const void *p, size_t n) { return _mm512_maskz_loadu_pd(firstLanes8(n), p); }
  static void storePart(void *p, Reg r, size_t n) { _mm512_mask_storeu_pd(p, firstLanes8(n), r); }
  static Reg sum(Reg a, Reg b) { return _mm512_add_pd(a, b); }
  static Reg prod(Reg a, Reg b) { return _mm512_mul_pd(a, b); }
  static Reg max(Reg a, Reg b) {  // as Float32Math
    const Reg either = _mm512_and_pd(_mm512_max_pd(a, b), _mm512_max_pd(b, a));
    return _mm512_mask_add_pd(either, _mm512_cmp_pd_mask(a, b, _CMP_UNORD_Q), a, b);
  }
  static Reg min(Reg a, Reg b) {
    const Reg either = _mm512_or_pd(_mm512_min_pd(a, b), _mm512_min_pd(b, a));
    return _mm512_mask_add_pd(either, _mm512_cmp_pd_mask(a, b, _CMP_UNORD_Q), a, b);
  }
};

// 16 float16 (one 256-bit load) widened to 16 floats by F16C.
struct Float16 : Float32Math {
  static constexpr size_t kBytes = 2;
  static constexpr size_t kLanes = 16;
  static Reg load(const void *p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(static_cast<const __m256i *>(p)));
  }
  static void store(void *p, Reg r) { _mm256_storeu_si256(static_cast<__m256i *>(p), narrow(r)); }
  static Reg loadPart(const void *p, size_t n) {
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(firstLanes16(n), p));
  }
  static void storePart(void *p, Reg r, size_t n) {
    _mm256_mask_storeu_epi16(p, firstLanes16(n), narrow(r));
  }
  static __m256i narrow(Reg f) {
    return _mm512_cvtps_ph(f, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }
};

// 32 bfloat16 (one 64-byte load) as two registers of floats, with integer
// instructions only: CPUs without AVX512_BF16 run it, and no shuffle is
// needed. A bfloat16 is the top half of a float, so the odd elements (high
// halves of the 32-bit lanes) are floats once the low halves are cleared,
// and the even ones once shifted up.
struct Bfloat16 {
  struct Reg {
    __m512 even;
    __m512 odd;
  };
  static constexpr size_t kBytes = 2;
  static constexpr size_t kLanes = 32;

  static Reg load(const void *p) { return widen(_mm512_loadu_si512(p)); }
  static void store(void *p, Reg r) { _mm512_storeu_si512(p, narrow(r)); }
  static Reg loadPart(const void *p, size_t n) {
    return widen(_mm512_maskz_loadu_epi16(firstLanes32(n), p));
  }
  static void storePart(void *p, Reg r, size_t n) {
    _mm512_mask_storeu_epi16(p, firstLanes32(n), narrow(r));
  }

  static Reg sum(Reg a, Reg b) { return each<Float32Math::sum>(a, b); }
  static Reg prod(Reg a, Reg b) { return each<Float32Math::prod>(a, b); }
  static Reg max(Reg a, Reg b) { return each<Float32Math::max>(a, b); }
  static Reg min(Reg a, Reg b) { return each<Float32Math::min>(a, b); }

  template <__m512 (*kOp)(__m512, __m512)>
  static Reg each(Reg a, Reg b) {
    return {kOp(a.even, b.even), kOp(a.odd, b.odd)};
  }
  static Reg widen(__m512i pairs) {
    const __m512i highHalves = _mm512_set1_epi32(static_cast<int>(0xFFFF0000u));
    return {_mm512_castsi512_ps(_mm512_slli_epi32(pairs, 16)),
            _mm512_castsi512_ps(_mm512_and_si512(pairs, highHalves))};
  }
  static __m512i narrow(Reg r) {
    const __m512i highHalves = _mm512_set1_epi32(static_cast<int>(0xFFFF0000u));
    return _mm512_or_si512(_mm512_srli_epi32(roundToHighHalf(r.even), 16),
                           _mm512_and_si512(roundToHighHalf(r.odd), highHalves));
  }
  // As floatToBfloat16, leaving the result in the high half of each lane:
  // add 0x7FFF plus the lowest kept bit (round to nearest, ties to even),
  // but for NaN set the quiet bit instead.
  static __m512i roundToHighHalf(__m512 f) {
    const __m512i bits = _mm512_castps_si512(f);
    const __m512i keptLsb = _mm512_and_si512(_mm512_srli_epi32(bits, 16), _mm512_set1_epi32(1));
    const __m512i rounded =
        _mm512_add_epi32(bits, _mm512_add_epi32(keptLsb, _mm512_set1_epi32(0x7FFF)));
    return _mm512_mask_or_epi32(rounded, _mm512_cmp_ps_mask(f, f, _CMP_UNORD_Q), bits,
                                _mm512_set1_epi32(0x00400000));
  }
};

constexpr KernelTable makeTable() {
  KernelTable table{};
  table.isa = "avx512";
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

constinit const KernelTable kAvx512Kernels = makeTable();

}  // namespace xpool::xccl::detail
