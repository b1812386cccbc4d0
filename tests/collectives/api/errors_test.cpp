// Result strings and the version: every result has its own readable
// string, and values outside the enum still get one (never NULL).
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <thread>

#include "xpool/xccl.h"

namespace {

TEST(XcclErrors, EveryResultHasItsOwnString) {
  std::set<std::string> seen;
  for (int r = 0; r < static_cast<int>(xcclNumResults); ++r) {
    const char *text = xcclGetErrorString(static_cast<xcclResult_t>(r));
    ASSERT_NE(text, nullptr) << "result " << r;
    EXPECT_STRNE(text, "") << "result " << r;
    EXPECT_TRUE(seen.insert(text).second) << "result " << r << " shares its string: " << text;
  }
}

TEST(XcclErrors, ValuesOutsideTheEnumStillGetAString) {
  // Inside the enum's range (0..15): other values would be undefined behaviour in C++.
  for (int r : {static_cast<int>(xcclNumResults), 15}) {
    const char *text = xcclGetErrorString(static_cast<xcclResult_t>(r));
    ASSERT_NE(text, nullptr) << "result " << r;
    EXPECT_STRNE(text, "") << "result " << r;
  }
}

TEST(XcclErrors, VersionIsTheHeadersCode) {
  int version = -1;
  ASSERT_EQ(xcclGetVersion(&version), xcclSuccess);
  EXPECT_EQ(version, XCCL_VERSION_CODE);
  EXPECT_EQ(version, XCCL_MAJOR * 10000 + XCCL_MINOR * 100 + XCCL_PATCH);
}

TEST(XcclErrors, LastErrorIsPerThreadAndNeverNull) {
  int dummy = 0;
  ASSERT_EQ(xcclCommCount(nullptr, &dummy), xcclInvalidArgument);
  const std::string here = xcclGetLastError(nullptr);
  EXPECT_NE(here, "");
  std::string there = "unset";
  std::thread([&] {
    const char *text = xcclGetLastError(nullptr);
    there = text != nullptr ? text : "(NULL)";
  }).join();
  EXPECT_EQ(there, "") << "another thread sees this thread's message";
}

}  // namespace
