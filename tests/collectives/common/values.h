// Deterministic inputs and their host references. Every rank's input is a
// function of (rank, index, seed), so each rank can compute what every other
// rank contributed and check its result without talking to anyone.
//
// Inputs are chosen so that the expected result is well defined whatever
// order the library reduces in:
// - signed integers stay small enough that no sum or product overflows
//   (signed overflow would be undefined behaviour in the library);
// - unsigned integers use their whole range (so a signed/unsigned mix-up or a
//   narrowed accumulator shows) and wrap modulo 2^bits, which is the same in
//   any order; only avg keeps them small, since avg of a wrapped sum is not
//   well defined;
// - products use factors whose magnitude stays tiny (one 2 and one 3 per
//   element, the rest +-1), so integer products never trivially become 0;
// - float16/bfloat16 use multiples of 1/4 small enough that every partial
//   sum is exact; float32/float64 use values with full mantissas and are
//   compared within a bound of the reduction order.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "common/types.h"

namespace xccltest {

// Inputs repeat with this period (a prime, so no power-of-two offset, such
// as a chunk or block misplaced by the library, maps an element onto an
// equal one). It lets a checker compute each distinct value once: the
// reference of a 64 MiB buffer costs no more than that of 65521 elements.
constexpr size_t kPeriod = 65521;

inline uint64_t mix(uint64_t seed, int rank, size_t index) {
  // splitmix64 of a combination: neighbouring indices and ranks give
  // unrelated values.
  uint64_t z = seed * 0x9e3779b97f4a7c15ull + static_cast<uint64_t>(rank) * 0xbf58476d1ce4e5b9ull +
               static_cast<uint64_t>(index % kPeriod) + 0x632be59bd9b4e019ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// Unit roundoff of a floating type (half an ulp at 1.0).
template <class T>
constexpr long double unitRoundoff() {
  if constexpr (T::kKind == Kind::kHalf) return 0x1p-11L;
  if constexpr (T::kKind == Kind::kBfloat16) return 0x1p-8L;
  if constexpr (std::is_same_v<typename T::S, float>) return 0x1p-24L;
  return 0x1p-53L;
}

template <class T>
long double toReal(typename T::S value) {
  if constexpr (T::kKind == Kind::kHalf) return halfToFloat(value);
  if constexpr (T::kKind == Kind::kBfloat16) return bfloat16ToFloat(value);
  return static_cast<long double>(value);
}

// Only for values the type represents exactly (the inputs below).
template <class T>
typename T::S fromReal(long double value) {
  if constexpr (T::kKind == Kind::kHalf) return floatToHalf(static_cast<float>(value));
  if constexpr (T::kKind == Kind::kBfloat16) return floatToBfloat16(static_cast<float>(value));
  return static_cast<typename T::S>(value);
}

// For products: rank r's factor at `index` has magnitude 2 for one rank,
// 3 for another, 1 for the rest; the sign comes from the hash.
inline int smallFactor(int rank, size_t index, uint64_t seed, int nranks, uint64_t hash) {
  const uint64_t slot =
      (index % kPeriod + seed + static_cast<uint64_t>(rank)) % static_cast<uint64_t>(nranks);
  const int magnitude = slot == 0 ? 2 : slot == 1 ? 3 : 1;
  return ((hash >> 7) & 3u) == 0 ? -magnitude : magnitude;
}

// Rank `rank`'s element `index`. `op` selects the family of values (copies
// use xcclSum's); `nranks` bounds the values so that reductions stay exact.
template <class T>
typename T::S input(int rank, size_t index, uint64_t seed, xcclRedOp_t op, int nranks) {
  using S = typename T::S;
  const uint64_t h = mix(seed, rank, index);
  const int n = nranks < 1 ? 1 : nranks;
  if constexpr (T::kKind == Kind::kSigned) {
    if (op == xcclProd) return static_cast<S>(smallFactor(rank, index, seed, n, h));
    const uint64_t bound =
        static_cast<uint64_t>(std::numeric_limits<S>::max()) / static_cast<uint64_t>(n < 2 ? 2 : n);
    return static_cast<S>(static_cast<int64_t>(h % (2 * bound + 1)) - static_cast<int64_t>(bound));
  } else if constexpr (T::kKind == Kind::kUnsigned) {
    if (op == xcclProd) return static_cast<S>(h | 1u);  // odd: the product never reaches 0
    if (op == xcclAvg) {
      const uint64_t bound = static_cast<uint64_t>(std::numeric_limits<S>::max()) / n;
      // One rank of uint64: the bound is the whole range (bound + 1 wraps to 0).
      if (bound == std::numeric_limits<uint64_t>::max()) return static_cast<S>(h);
      return static_cast<S>(h % (bound + 1));
    }
    return static_cast<S>(h);
  } else if constexpr (T::kKind == Kind::kFloat) {
    if (op == xcclProd) {
      return static_cast<S>(1.0 + (static_cast<double>(h % 2001) - 1000.0) / 24000.0);
    }
    // Full mantissas (a third of an integer), magnitudes up to about 5.
    return static_cast<S>((static_cast<double>(h % 2000001) - 1000000.0) / 196608.0);
  } else {
    if (op == xcclProd) return fromReal<T>(smallFactor(rank, index, seed, n, h));
    // Quarters in [-q/4, q/4] with q * nranks <= 255: every partial sum has
    // at most 8 significant bits, exact in bfloat16 and float16.
    const int64_t q = n > 15 ? 255 / n : 16;
    const int64_t quarters = static_cast<int64_t>(h % static_cast<uint64_t>(2 * q + 1)) - q;
    return fromReal<T>(static_cast<long double>(quarters) / 4.0L);
  }
}

// The value a reduction must produce at one index: `exact` bits, or a real
// value and a tolerance for the floating types where rounding depends on the
// order of the reduction.
template <class T>
struct Expected {
  typename T::S exact{};
  bool bitwise = true;
  long double value = 0;
  long double tolerance = 0;
};

template <class T>
Expected<T> reduceAt(xcclRedOp_t op, int nranks, size_t index, uint64_t seed) {
  using S = typename T::S;
  Expected<T> out;
  if constexpr (T::kKind == Kind::kSigned) {
    int64_t acc = op == xcclProd ? 1 : 0;  // inputs are bounded: no overflow
    for (int r = 0; r < nranks; ++r) {
      const int64_t v = input<T>(r, index, seed, op, nranks);
      if (r == 0 && (op == xcclMax || op == xcclMin)) acc = v;
      switch (op) {
        case xcclSum:
        case xcclAvg:
          acc += v;
          break;
        case xcclProd:
          acc *= v;
          break;
        case xcclMax:
          acc = v > acc ? v : acc;
          break;
        default:
          acc = v < acc ? v : acc;
          break;
      }
    }
    if (op == xcclAvg) acc /= nranks;  // truncates toward zero, as the header says
    out.exact = static_cast<S>(acc);
  } else if constexpr (T::kKind == Kind::kUnsigned) {
    uint64_t acc = op == xcclProd ? 1 : 0;
    for (int r = 0; r < nranks; ++r) {
      const uint64_t v = input<T>(r, index, seed, op, nranks);
      if (r == 0 && (op == xcclMax || op == xcclMin)) acc = v;
      switch (op) {
        case xcclSum:
        case xcclAvg:
          acc += v;
          break;
        case xcclProd:
          acc *= v;
          break;  // modulo 2^64, then 2^bits: the same in any order
        case xcclMax:
          acc = v > acc ? v : acc;
          break;
        default:
          acc = v < acc ? v : acc;
          break;
      }
    }
    if (op == xcclAvg) acc /= static_cast<uint64_t>(nranks);
    out.exact = static_cast<S>(acc);
  } else {
    long double acc = op == xcclProd ? 1 : 0;
    long double magnitude = 0;  // sum of |inputs|: what rounding errors scale with
    for (int r = 0; r < nranks; ++r) {
      const long double v = toReal<T>(input<T>(r, index, seed, op, nranks));
      if (r == 0 && (op == xcclMax || op == xcclMin)) acc = v;
      magnitude += std::fabs(v);
      switch (op) {
        case xcclSum:
        case xcclAvg:
          acc += v;
          break;
        case xcclProd:
          acc *= v;
          break;
        case xcclMax:
          acc = v > acc ? v : acc;
          break;
        default:
          acc = v < acc ? v : acc;
          break;
      }
    }
    const long double u = unitRoundoff<T>();
    const long double n = nranks;
    out.value = acc;
    if (op == xcclMax || op == xcclMin) {
      out.exact = fromReal<T>(acc);  // one of the inputs: representable
    } else if (op == xcclAvg) {
      out.value = acc / n;
      // One rounding per step (n-1 additions, the division, or a
      // pre-multiplication by 1/n of each input), doubled for margin.
      out.bitwise = false;
      out.tolerance = 2 * (n + 1) * u * magnitude / n;
    } else if (T::kKind != Kind::kFloat) {
      out.exact = fromReal<T>(acc);  // small quarters and factors: every step is exact
    } else if (op == xcclSum) {
      out.bitwise = false;
      out.tolerance = 2 * n * u * magnitude;
    } else {
      out.bitwise = false;
      out.tolerance = 2 * n * u * std::fabs(acc);
    }
  }
  return out;
}

template <class T>
bool sameBits(typename T::S a, typename T::S b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

template <class T>
bool matches(const Expected<T> &want, typename T::S got) {
  if (want.bitwise) return sameBits<T>(want.exact, got);
  const long double value = toReal<T>(got);
  return std::fabs(value - want.value) <= want.tolerance;
}

template <class T>
std::string format(typename T::S value) {
  char text[96];
  if constexpr (T::kKind == Kind::kSigned) {
    std::snprintf(text, sizeof text, "%lld", static_cast<long long>(value));
  } else if constexpr (T::kKind == Kind::kUnsigned) {
    std::snprintf(text, sizeof text, "%llu", static_cast<unsigned long long>(value));
  } else if constexpr (T::kKind == Kind::kFloat) {
    std::snprintf(text, sizeof text, "%.17Lg", static_cast<long double>(value));
  } else {
    std::snprintf(text, sizeof text, "%.9g (bits 0x%04x)", static_cast<double>(toReal<T>(value)),
                  static_cast<unsigned>(value));
  }
  return text;
}

template <class T>
std::string format(const Expected<T> &want) {
  if (want.bitwise) return format<T>(want.exact);
  char text[96];
  std::snprintf(text, sizeof text, "%.17Lg (+- %.3Lg)", want.value, want.tolerance);
  return text;
}

// Inputs and references of one case, each distinct value (index modulo
// kPeriod) computed once: tables of min(kPeriod, limit) entries, made on
// first use. `limit` is one past the largest index the case uses.
template <class T>
class Reference {
 public:
  using S = typename T::S;
  Reference(xcclRedOp_t op, int nranks, uint64_t seed, size_t limit)
      : op_(op),
        nranks_(nranks),
        seed_(seed),
        size_(std::max<size_t>(1, std::min(kPeriod, limit))),
        inputs_(static_cast<size_t>(nranks)) {}

  // Entry i of a table stands for every index congruent to i modulo kPeriod.
  const std::vector<S> &inputs(int rank) {
    std::vector<S> &table = inputs_[static_cast<size_t>(rank)];
    if (table.empty()) {
      table.resize(size_);
      for (size_t i = 0; i < size_; ++i)
        table[i] = xccltest::input<T>(rank, i, seed_, op_, nranks_);
    }
    return table;
  }
  const std::vector<Expected<T>> &reduced() {
    if (reduced_.empty()) {
      reduced_.resize(size_);
      for (size_t i = 0; i < size_; ++i) reduced_[i] = reduceAt<T>(op_, nranks_, i, seed_);
    }
    return reduced_;
  }
  S input(int rank, size_t index) { return inputs(rank)[index % kPeriod]; }

 private:
  xcclRedOp_t op_;
  int nranks_;
  uint64_t seed_;
  size_t size_;
  std::vector<std::vector<S>> inputs_;
  std::vector<Expected<T>> reduced_;
};

}  // namespace xccltest
