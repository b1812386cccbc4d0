#include <atomic>
#include <cstdio>
#include <regex>

#include "common/types.h"
#include "rank/scenario.h"

namespace xccltest {
namespace {

constexpr int kMaxPrinted = 200;
std::atomic<int> g_failures{0};

}  // namespace

void fail(const Context &ctx, const std::string &text) {
  const int count = ++g_failures;
  if (count <= kMaxPrinted) {
    std::fprintf(stderr, "rank %d: FAIL %s\n", ctx.rank, text.c_str());
  } else if (count == kMaxPrinted + 1) {
    std::fprintf(stderr, "rank %d: (further failures are counted, not printed)\n", ctx.rank);
  }
  std::fflush(stderr);
}

int failureCount() {
  return g_failures.load();
}

void note(const Context &ctx, const std::string &text) {
  std::fprintf(stderr, "rank %d: %s\n", ctx.rank, text.c_str());
  std::fflush(stderr);
}

bool xcclOk(const Context &ctx, xcclResult_t result, const std::string &what) {
  if (result == xcclSuccess) return true;
  fail(ctx, what + " returned " + resultName(result) + ": " + xcclGetLastError(ctx.comm));
  return false;
}

bool xpOk(const Context &ctx, xpStatus status, const std::string &what) {
  if (status == XP_SUCCESS) return true;
  fail(ctx, what + " returned " + xpStatusName(status) + ": " + xpGetLastError());
  return false;
}

bool namesRank(const std::string &message, int rank) {
  const std::regex pattern("(rank|peer)[ =:#]*" + std::to_string(rank) + "([^0-9]|$)",
                           std::regex::icase);
  return std::regex_search(message, pattern);
}

}  // namespace xccltest
