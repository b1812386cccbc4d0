// reduce() on every path this CPU runs, against the reference: every type,
// op, length (tails of every size, unrolled main loops), alignment and
// aliasing, with guard bytes around the output and a no-access page after
// the inputs.
#include <sys/mman.h>
#include <unistd.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "inputs.h"
#include "reduce.h"
#include "reference.h"

namespace xccl_reduce_test {
namespace {

using xpool::xccl::opName;
using xpool::xccl::reduce;
using xpool::xccl::reduceForceIsa;
using xpool::xccl::typeName;
using xpool::xccl::typeSize;

constexpr const char *kIsas[] = {"scalar", "avx2", "avx512"};
constexpr xcclDataType_t kTypes[] = {xcclInt8,    xcclUint8,   xcclInt32,   xcclUint32,
                                     xcclInt64,   xcclUint64,  xcclFloat16, xcclFloat32,
                                     xcclFloat64, xcclBfloat16};
constexpr xcclRedOp_t kOps[] = {xcclSum, xcclProd, xcclMax, xcclMin, xcclAvg};
// Empty, shorter than a register, around one register of 16 and 32 lanes,
// around AVX-512's 64-lane int8 register and its four-register trip (256),
// and long enough for many trips with every tail.
constexpr size_t kCounts[] = {0,  1,  3,   15,  16,  17,  31,   33,  63,
                              64, 65, 127, 255, 256, 257, 1000, 4099};

// Element offsets of dst, a, b from a 64-byte boundary.
struct Placement {
  const char *name;
  size_t dst, a, b;
};
constexpr Placement kPlacements[] = {
    {"aligned", 0, 0, 0}, {"all offset by one", 1, 1, 1}, {"mixed offsets", 1, 0, 3}};

// Index of the first element where got and want differ, or count.
size_t firstMismatch(xcclDataType_t type, const void *got, const void *want, size_t count) {
  const size_t size = typeSize(type);
  for (size_t i = 0; i < count; ++i) {
    if (!sameElement(type, got, want, i, size)) return i;
  }
  return count;
}

std::string hexElement(const void *p, size_t i, size_t size) {
  uint64_t bits = 0;
  std::memcpy(&bits, static_cast<const char *>(p) + i * size, size);
  char text[32];
  std::snprintf(text, sizeof text, "0x%0*llx", static_cast<int>(2 * size),
                static_cast<unsigned long long>(bits));
  return text;
}

class ReduceOnIsa : public ::testing::TestWithParam<std::tuple<const char *, xcclDataType_t>> {
 protected:
  void SetUp() override {
    if (!reduceForceIsa(isa())) GTEST_SKIP() << isa() << " is not available on this CPU or build";
  }
  void TearDown() override { reduceForceIsa(nullptr); }
  const char *isa() const { return std::get<0>(GetParam()); }
  xcclDataType_t type() const { return std::get<1>(GetParam()); }
  size_t size() const { return typeSize(type()); }

  // Runs reduce(dst, a, b) and checks it against the reference, for random
  // a and b of `count` elements placed as `where` says.
  void checkRandom(xcclRedOp_t op, size_t count, const Placement &where, uint64_t seed) {
    SCOPED_TRACE(std::string(opName(op)) + " count " + std::to_string(count) + ", " + where.name);
    std::mt19937_64 rng(seed);
    GuardedBuffer a(count, size(), where.a);
    GuardedBuffer b(count, size(), where.b);
    GuardedBuffer dst(count, size(), where.dst);
    fillRandom(a.data(), nullptr, count, type(), size(), rng);
    fillRandom(b.data(), a.data(), count, type(), size(), rng);
    std::vector<unsigned char> want(count * size());
    referenceReduce(want.data(), a.data(), b.data(), count, type(), op);

    reduce(dst.data(), a.data(), b.data(), count, type(), op);

    const size_t bad = firstMismatch(type(), dst.data(), want.data(), count);
    EXPECT_EQ(bad, count) << "element " << bad << ": " << hexElement(a.data(), bad, size()) << " "
                          << opName(op) << " " << hexElement(b.data(), bad, size()) << " gave "
                          << hexElement(dst.data(), bad, size()) << ", want "
                          << hexElement(want.data(), bad, size());
    EXPECT_TRUE(dst.guardsIntact()) << "wrote outside dst";
    EXPECT_TRUE(a.guardsIntact() && b.guardsIntact()) << "wrote outside the inputs";
  }
};

TEST_P(ReduceOnIsa, MatchesReferenceForEveryOpLengthAndAlignment) {
  uint64_t seed = 1;
  for (xcclRedOp_t op : kOps) {
    for (size_t count : kCounts) {
      for (const Placement &where : kPlacements) checkRandom(op, count, where, seed++);
    }
  }
}

// Pointers aligned only to a byte, not to the element: the contract says no
// alignment is needed at all. (For 1-byte types this repeats an offset.)
TEST_P(ReduceOnIsa, AcceptsPointersNotAlignedToTheElement) {
  std::mt19937_64 rng(7);
  const size_t count = 1000;
  std::vector<unsigned char> a(count * size() + 1), b(count * size() + 3), dst(count * size() + 1);
  fillRandom(a.data() + 1, nullptr, count, type(), size(), rng);
  fillRandom(b.data() + 3, a.data() + 1, count, type(), size(), rng);
  for (xcclRedOp_t op : kOps) {
    SCOPED_TRACE(opName(op));
    std::vector<unsigned char> want(count * size());
    referenceReduce(want.data(), a.data() + 1, b.data() + 3, count, type(), op);
    reduce(dst.data() + 1, a.data() + 1, b.data() + 3, count, type(), op);
    EXPECT_EQ(firstMismatch(type(), dst.data() + 1, want.data(), count), count);
  }
}

// dst == a and dst == b: the way the collectives accumulate.
TEST_P(ReduceOnIsa, WorksInPlaceOnEitherInput) {
  for (xcclRedOp_t op : kOps) {
    for (size_t count : {size_t{33}, size_t{1000}, size_t{4099}}) {
      for (int target = 0; target < 2; ++target) {
        SCOPED_TRACE(std::string(opName(op)) + " count " + std::to_string(count) +
                     (target == 0 ? ", dst == a" : ", dst == b"));
        std::mt19937_64 rng(count * 10 + static_cast<uint64_t>(op) * 2 + target);
        GuardedBuffer a(count, size(), 1);
        GuardedBuffer b(count, size(), 1);
        fillRandom(a.data(), nullptr, count, type(), size(), rng);
        fillRandom(b.data(), a.data(), count, type(), size(), rng);
        std::vector<unsigned char> want(count * size());
        referenceReduce(want.data(), a.data(), b.data(), count, type(), op);
        unsigned char *dst = target == 0 ? a.data() : b.data();
        reduce(dst, a.data(), b.data(), count, type(), op);
        EXPECT_EQ(firstMismatch(type(), dst, want.data(), count), count);
        EXPECT_TRUE(a.guardsIntact() && b.guardsIntact());
      }
    }
  }
}

// Buffers that end where a no-access page begins: a tail that read past the
// last element would fault here (masked loads must not touch it).
TEST_P(ReduceOnIsa, ReadsAndWritesNothingPastTheLastElement) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  std::vector<unsigned char *> maps;
  auto endOfPage = [&](size_t bytes) {
    void *map = mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    EXPECT_NE(map, MAP_FAILED);
    auto *base = static_cast<unsigned char *>(map);
    EXPECT_EQ(mprotect(base + page, page, PROT_NONE), 0);
    maps.push_back(base);
    return base + page - bytes;
  };
  // One element short of a page: a tail on every path (even 64-lane int8).
  const size_t count = page / size() - 1;
  unsigned char *a = endOfPage(count * size());
  unsigned char *b = endOfPage(count * size());
  unsigned char *dst = endOfPage(count * size());
  std::mt19937_64 rng(11);
  fillRandom(a, nullptr, count, type(), size(), rng);
  fillRandom(b, a, count, type(), size(), rng);
  for (xcclRedOp_t op : kOps) {
    SCOPED_TRACE(opName(op));
    std::vector<unsigned char> want(count * size());
    referenceReduce(want.data(), a, b, count, type(), op);
    reduce(dst, a, b, count, type(), op);
    EXPECT_EQ(firstMismatch(type(), dst, want.data(), count), count);
  }
  for (unsigned char *map : maps) munmap(map, 2 * page);
}

TEST_P(ReduceOnIsa, ZeroCountTouchesNothing) {
  reduce(nullptr, nullptr, nullptr, 0, type(), xcclSum);  // must not dereference
  unsigned char dst[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  const unsigned char a[8] = {};
  reduce(dst, a, a, 0, type(), xcclMax);
  const unsigned char unchanged[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  EXPECT_EQ(std::memcmp(dst, unchanged, 8), 0);
}

std::string paramName(const ::testing::TestParamInfo<ReduceOnIsa::ParamType> &info) {
  return std::string(std::get<0>(info.param)) + "_" + typeName(std::get<1>(info.param));
}

INSTANTIATE_TEST_SUITE_P(AllPaths, ReduceOnIsa,
                         ::testing::Combine(::testing::ValuesIn(kIsas),
                                            ::testing::ValuesIn(kTypes)),
                         paramName);

// Hand-worked integer cases: wrap-around and signed versus unsigned order,
// repeated so that they land in vector bodies and in tails.
template <class T>
void expectOnEveryPath(xcclDataType_t type, xcclRedOp_t op, T a, T b, T want) {
  const size_t count = 1000;
  const std::vector<T> va(count, a), vb(count, b);
  for (const char *isa : kIsas) {
    if (!reduceForceIsa(isa)) continue;
    std::vector<T> got(count);
    reduce(got.data(), va.data(), vb.data(), count, type, op);
    for (size_t i = 0; i < count; ++i) {
      if (got[i] != want) {
        ADD_FAILURE() << isa << " " << typeName(type) << " " << +a << " " << opName(op) << " " << +b
                      << " gave " << +got[i] << " at " << i << ", want " << +want;
        break;
      }
    }
  }
  reduceForceIsa(nullptr);
}

TEST(ReduceIntegers, SumAndProdWrapAround) {
  expectOnEveryPath<int32_t>(xcclInt32, xcclSum, INT32_MAX, 1, INT32_MIN);
  expectOnEveryPath<int32_t>(xcclInt32, xcclProd, 65536, 65536, 0);
  expectOnEveryPath<int32_t>(xcclInt32, xcclProd, INT32_MIN, -1, INT32_MIN);
  expectOnEveryPath<uint32_t>(xcclUint32, xcclSum, UINT32_MAX, 2, 1);
  expectOnEveryPath<uint8_t>(xcclUint8, xcclSum, 200, 100, 44);
  expectOnEveryPath<uint8_t>(xcclUint8, xcclProd, 16, 17, 16);  // 272 mod 256
  expectOnEveryPath<int8_t>(xcclInt8, xcclSum, 127, 1, -128);
  expectOnEveryPath<int8_t>(xcclInt8, xcclProd, -128, -1, -128);
  expectOnEveryPath<int8_t>(xcclInt8, xcclProd, 11, -13, 113);  // -143 + 256
  expectOnEveryPath<int64_t>(xcclInt64, xcclSum, INT64_MAX, 1, INT64_MIN);
  expectOnEveryPath<int64_t>(xcclInt64, xcclProd, int64_t{1} << 32, int64_t{1} << 32, 0);
  expectOnEveryPath<int64_t>(xcclInt64, xcclProd, -3, 0x5555555555555556, -2);  // -(2^64 + 2)
  expectOnEveryPath<uint64_t>(xcclUint64, xcclProd, 0xFFFFFFFFFFFFFFFFull, 0xFFFFFFFFFFFFFFFFull,
                              1);
  expectOnEveryPath<uint64_t>(xcclUint64, xcclProd, 0x100000001ull, 0x100000001ull, 0x200000001ull);
}

TEST(ReduceIntegers, MinAndMaxFollowSignedness) {
  expectOnEveryPath<int8_t>(xcclInt8, xcclMax, -1, 1, 1);
  expectOnEveryPath<uint8_t>(xcclUint8, xcclMax, 0xFF, 1, 0xFF);
  expectOnEveryPath<int8_t>(xcclInt8, xcclMin, -128, 127, -128);
  expectOnEveryPath<uint8_t>(xcclUint8, xcclMin, 0x80, 0x7F, 0x7F);
  expectOnEveryPath<int32_t>(xcclInt32, xcclMax, -1, 1, 1);
  expectOnEveryPath<uint32_t>(xcclUint32, xcclMax, 0xFFFFFFFFu, 1, 0xFFFFFFFFu);
  expectOnEveryPath<int32_t>(xcclInt32, xcclMin, INT32_MIN, INT32_MAX, INT32_MIN);
  expectOnEveryPath<uint32_t>(xcclUint32, xcclMin, 0x80000000u, 0x7FFFFFFFu, 0x7FFFFFFFu);
  expectOnEveryPath<int64_t>(xcclInt64, xcclMax, -1, 1, 1);
  expectOnEveryPath<int64_t>(xcclInt64, xcclMin, INT64_MIN, INT64_MAX, INT64_MIN);
  expectOnEveryPath<uint64_t>(xcclUint64, xcclMax, ~uint64_t{0}, 1, ~uint64_t{0});
  expectOnEveryPath<uint64_t>(xcclUint64, xcclMin, uint64_t{1} << 63, (uint64_t{1} << 63) - 1,
                              (uint64_t{1} << 63) - 1);
}

// Hand-worked floating cases for the documented max/min semantics.
TEST(ReduceFloats, MaxAndMinAreSymmetricForSignedZerosAndNan) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> a = {0.0f, -0.0f, -0.0f, nan, 1.0f, nan, -INFINITY};
  const std::vector<float> b = {-0.0f, 0.0f, -0.0f, 1.0f, nan, nan, INFINITY};
  const uint32_t wantMax[] = {0x00000000, 0x00000000, 0x80000000, 0, 0, 0, 0x7F800000};
  const uint32_t wantMin[] = {0x80000000, 0x80000000, 0x80000000, 0, 0, 0, 0xFF800000};
  for (const char *isa : kIsas) {
    if (!reduceForceIsa(isa)) continue;
    SCOPED_TRACE(isa);
    std::vector<float> max(a.size()), min(a.size());
    reduce(max.data(), a.data(), b.data(), a.size(), xcclFloat32, xcclMax);
    reduce(min.data(), a.data(), b.data(), a.size(), xcclFloat32, xcclMin);
    for (size_t i = 0; i < a.size(); ++i) {
      SCOPED_TRACE(i);
      if (std::isnan(a[i]) || std::isnan(b[i])) {
        EXPECT_TRUE(std::isnan(max[i]) && std::isnan(min[i]));
      } else {
        EXPECT_EQ(std::bit_cast<uint32_t>(max[i]), wantMax[i]);
        EXPECT_EQ(std::bit_cast<uint32_t>(min[i]), wantMin[i]);
      }
    }
  }
  reduceForceIsa(nullptr);
}

// float16 sums that round: once per element, to nearest even.
TEST(ReduceFloats, HalfSumRoundsOnceToNearestEven) {
  // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: ties to even (1).
  // (1 + 2^-10) + 2^-11 is halfway too: ties to even (1 + 2^-9).
  // 65504 + 16 is halfway to 65536 (out of range): ties to even, infinity.
  const std::vector<uint16_t> a = {0x3C00, 0x3C01, 0x7BFF, 0x0001, 0x8001};
  const std::vector<uint16_t> b = {0x1000, 0x1000, 0x4C00, 0x0001, 0x0001};
  const uint16_t want[] = {0x3C00, 0x3C02, 0x7C00, 0x0002, 0x0000};
  for (const char *isa : kIsas) {
    if (!reduceForceIsa(isa)) continue;
    SCOPED_TRACE(isa);
    std::vector<uint16_t> got(a.size());
    reduce(got.data(), a.data(), b.data(), a.size(), xcclFloat16, xcclSum);
    for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(got[i], want[i]) << "element " << i;
  }
  reduceForceIsa(nullptr);
}

TEST(Reduce, AvgReducesAsSum) {
  const std::vector<int32_t> a = {1, -5, 7}, b = {2, 3, -9};
  std::vector<int32_t> got(3);
  reduce(got.data(), a.data(), b.data(), 3, xcclInt32, xcclAvg);
  EXPECT_EQ(got, (std::vector<int32_t>{3, -2, -2}));
}

TEST(Reduce, InvalidTypeOrOpLeavesDstUntouched) {
  const std::vector<int32_t> a = {1, 2}, b = {3, 4};
  std::vector<int32_t> dst = {7, 7};
  reduce(dst.data(), a.data(), b.data(), 2, static_cast<xcclDataType_t>(xcclNumTypes), xcclSum);
  reduce(dst.data(), a.data(), b.data(), 2, static_cast<xcclDataType_t>(-1), xcclSum);
  reduce(dst.data(), a.data(), b.data(), 2, xcclInt32, static_cast<xcclRedOp_t>(xcclNumOps));
  EXPECT_EQ(dst, (std::vector<int32_t>{7, 7}));
}

}  // namespace
}  // namespace xccl_reduce_test
