// Choosing the instruction set, and the names of types and ops.
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "inputs.h"
#include "reduce.h"
#include "reference.h"

namespace {

using namespace xpool::xccl;

bool runsOnThisCpu(const char *isa) {
  const std::string before = reduceIsa();
  const bool ok = reduceForceIsa(isa);
  reduceForceIsa(nullptr);
  EXPECT_EQ(reduceIsa(), before);
  return ok;
}

TEST(Dispatch, DefaultIsTheWidestPathUnlessXcclSimdAsksOtherwise) {
  const char *wanted = std::getenv("XCCL_SIMD");
  std::string best = "scalar";
  for (const char *isa : {"avx2", "avx512"}) {
    if (runsOnThisCpu(isa)) best = isa;
  }
  if (wanted == nullptr || *wanted == '\0') {
    EXPECT_EQ(std::string(reduceIsa()), best);
  } else if (runsOnThisCpu(wanted)) {
    EXPECT_EQ(std::string(reduceIsa()), wanted);
  } else {
    // A path this CPU lacks, or no path at all: the best one, and no failure.
    EXPECT_EQ(std::string(reduceIsa()), best) << "XCCL_SIMD=" << wanted;
  }
#if defined(XCCL_REDUCE_X86)
  // The detection works: an AVX-512 CPU gets the AVX-512 path.
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq")) {
    EXPECT_EQ(best, "avx512");
  }
#endif
}

// The default path (whatever XCCL_SIMD made it) computes right answers.
TEST(Dispatch, DefaultPathMatchesTheReference) {
  std::mt19937_64 rng(3);
  for (xcclDataType_t type : {xcclFloat32, xcclBfloat16, xcclFloat16, xcclInt8, xcclUint64}) {
    SCOPED_TRACE(typeName(type));
    const size_t count = 1001, size = typeSize(type);
    std::vector<unsigned char> a(count * size), b(count * size), got(count * size),
        want(count * size);
    xccl_reduce_test::fillRandom(a.data(), nullptr, count, type, size, rng);
    xccl_reduce_test::fillRandom(b.data(), a.data(), count, type, size, rng);
    for (xcclRedOp_t op : {xcclSum, xcclMax}) {
      xccl_reduce_test::referenceReduce(want.data(), a.data(), b.data(), count, type, op);
      reduce(got.data(), a.data(), b.data(), count, type, op);
      for (size_t i = 0; i < count; ++i) {
        ASSERT_TRUE(xccl_reduce_test::sameElement(type, got.data(), want.data(), i, size))
            << reduceIsa() << " " << opName(op) << " element " << i;
      }
    }
  }
}

TEST(Dispatch, ForcingSelectsAvailablePathsAndRefusesOthers) {
  ASSERT_TRUE(reduceForceIsa("scalar"));  // every build and CPU has it
  EXPECT_STREQ(reduceIsa(), "scalar");
  EXPECT_FALSE(reduceForceIsa("avx1024"));
  EXPECT_STREQ(reduceIsa(), "scalar") << "a refused name changes nothing";
  EXPECT_FALSE(reduceForceIsa(""));
  ASSERT_TRUE(reduceForceIsa(nullptr));
  const std::string chosen = reduceIsa();
  EXPECT_TRUE(chosen == "scalar" || chosen == "avx2" || chosen == "avx512") << chosen;
}

TEST(Names, TypesHaveSizesAndNames) {
  struct Expected {
    xcclDataType_t type;
    size_t size;
    const char *name;
  };
  const Expected all[] = {
      {xcclInt8, 1, "int8"},         {xcclUint8, 1, "uint8"},     {xcclInt32, 4, "int32"},
      {xcclUint32, 4, "uint32"},     {xcclInt64, 8, "int64"},     {xcclUint64, 8, "uint64"},
      {xcclFloat16, 2, "float16"},   {xcclFloat32, 4, "float32"}, {xcclFloat64, 8, "float64"},
      {xcclBfloat16, 2, "bfloat16"},
  };
  for (const Expected &e : all) {
    EXPECT_EQ(typeSize(e.type), e.size) << e.name;
    EXPECT_STREQ(typeName(e.type), e.name);
  }
  EXPECT_EQ(typeSize(xcclNumTypes), 0u);
  EXPECT_EQ(typeSize(static_cast<xcclDataType_t>(-1)), 0u);
  EXPECT_STREQ(typeName(xcclNumTypes), "invalid");
}

TEST(Names, OpsHaveNames) {
  EXPECT_STREQ(opName(xcclSum), "sum");
  EXPECT_STREQ(opName(xcclProd), "prod");
  EXPECT_STREQ(opName(xcclMax), "max");
  EXPECT_STREQ(opName(xcclMin), "min");
  EXPECT_STREQ(opName(xcclAvg), "avg");
  EXPECT_STREQ(opName(xcclNumOps), "invalid");
}

}  // namespace
