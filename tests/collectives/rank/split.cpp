// The split scenario: xcclCommSplit by rank parity (each half runs its own
// AllReduce at the same time as the other), by one color with reversed keys
// (new ranks ordered by key), and with XCCL_SPLIT_NOCOLOR (that rank gets
// NULL, the rest a communicator without it). The parent keeps working after
// its children are destroyed.
#include <string>

#include "rank/allreduce_check.h"
#include "rank/scenario.h"

namespace xccltest {
namespace {

// Checks the size, rank and device of a child communicator.
bool checkChild(const Context &ctx, xcclComm_t child, int want_count, int want_rank,
                const std::string &label) {
  int count = -1, rank = -1, device = -1;
  if (!xcclOk(ctx, xcclCommCount(child, &count), label + ": xcclCommCount") ||
      !xcclOk(ctx, xcclCommUserRank(child, &rank), label + ": xcclCommUserRank") ||
      !xcclOk(ctx, xcclCommDevice(child, &device), label + ": xcclCommDevice")) {
    return false;
  }
  bool ok = true;
  if (count != want_count) {
    fail(ctx, label + ": xcclCommCount gave " + std::to_string(count) + ", expected " +
                  std::to_string(want_count));
    ok = false;
  }
  if (rank != want_rank) {
    fail(ctx, label + ": xcclCommUserRank gave " + std::to_string(rank) + ", expected " +
                  std::to_string(want_rank));
    ok = false;
  }
  if (device != ctx.device) {
    fail(ctx, label + ": the child is on device " + std::to_string(device) +
                  ", its parent on device " + std::to_string(ctx.device));
    ok = false;
  }
  return ok;
}

bool exercise(const Context &ctx, xcclComm_t comm, uint64_t seed, const std::string &label) {
  return checkedAllReduce(ctx, comm, ctx.stream, xcclInt32, xcclSum, 4099, seed, label) &&
         checkedAllReduce(ctx, comm, ctx.stream, xcclFloat32, xcclMax, 70000, seed + 1, label) &&
         checkedAllReduce(ctx, comm, nullptr, xcclBfloat16, xcclAvg, 1001, seed + 2, label);
}

}  // namespace

int runSplit(Context &ctx) {
  const int n = ctx.nranks, r = ctx.rank;
  bool ok = true;

  // By parity: ranks 0,2,4.. and 1,3,5..; key = rank keeps the order.
  const int color = r % 2;
  xcclComm_t half = nullptr;
  const std::string half_label = "split by parity (color " + std::to_string(color) + ")";
  if (!xcclOk(ctx, xcclCommSplit(ctx.comm, color, r, &half), "xcclCommSplit " + half_label)) {
    return kExitCheckFailed;
  }
  ok &= checkChild(ctx, half, (n - color + 1) / 2, r / 2, half_label);
  ok &= exercise(ctx, half, 11, half_label);

  // One color, keys reversed: new rank = n-1-rank.
  xcclComm_t reversed = nullptr;
  if (!xcclOk(ctx, xcclCommSplit(ctx.comm, 7, n - r, &reversed),
              "xcclCommSplit with reversed keys")) {
    return kExitCheckFailed;
  }
  ok &= checkChild(ctx, reversed, n, n - 1 - r, "split with reversed keys");
  ok &= exercise(ctx, reversed, 21, "split with reversed keys");

  // Rank 0 opts out; the others form a communicator of n-1 ranks.
  xcclComm_t rest = reinterpret_cast<xcclComm_t>(&ctx);  // must become NULL on rank 0
  if (!xcclOk(ctx, xcclCommSplit(ctx.comm, r == 0 ? XCCL_SPLIT_NOCOLOR : 3, r, &rest),
              "xcclCommSplit with NOCOLOR on rank 0")) {
    return kExitCheckFailed;
  }
  if (r == 0) {
    if (rest != nullptr) {
      fail(ctx, "xcclCommSplit with XCCL_SPLIT_NOCOLOR did not set *newcomm to NULL");
      ok = false;
    }
  } else if (rest == nullptr) {
    fail(ctx, "xcclCommSplit with color 3 gave NULL");
    ok = false;
  } else {
    ok &= checkChild(ctx, rest, n - 1, r - 1, "split without rank 0");
    ok &= exercise(ctx, rest, 31, "split without rank 0");
  }

  if (!xcclOk(ctx, xcclCommDestroy(half), "xcclCommDestroy of the parity split")) ok = false;
  if (!xcclOk(ctx, xcclCommDestroy(reversed), "xcclCommDestroy of the reversed split")) {
    ok = false;
  }
  if (r != 0 && rest != nullptr &&
      !xcclOk(ctx, xcclCommDestroy(rest), "xcclCommDestroy of the split without rank 0")) {
    ok = false;
  }
  ok &= exercise(ctx, ctx.comm, 41, "the parent after its children were destroyed");
  return ok ? kExitOk : kExitCheckFailed;
}

}  // namespace xccltest
