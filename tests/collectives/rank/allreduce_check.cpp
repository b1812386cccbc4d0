#include "rank/allreduce_check.h"

#include <cstring>
#include <vector>

#include "common/types.h"
#include "common/values.h"

namespace xccltest {
namespace {

template <class T>
bool run(const Context &ctx, xcclComm_t comm, xpStream stream, xcclRedOp_t op, size_t count,
         uint64_t seed, const std::string &label) {
  using S = typename T::S;
  int rank = 0, nranks = 0, device = 0;
  if (!xcclOk(ctx, xcclCommUserRank(comm, &rank), label + ": xcclCommUserRank") ||
      !xcclOk(ctx, xcclCommCount(comm, &nranks), label + ": xcclCommCount") ||
      !xcclOk(ctx, xcclCommDevice(comm, &device), label + ": xcclCommDevice")) {
    return false;
  }
  const std::string what = label + ": xcclAllReduce " + typeName(T::kType) + " " + opName(op) +
                           " count=" + std::to_string(count) + " (rank " + std::to_string(rank) +
                           " of " + std::to_string(nranks) + ")";
  const size_t bytes = count * sizeof(S) + sizeof(S);  // never 0, which xpMalloc refuses
  std::vector<S> host(count + 1);
  for (size_t i = 0; i < count; ++i) host[i] = input<T>(rank, i, seed, op, nranks);
  void *send = nullptr, *recv = nullptr;
  bool ok = xpOk(ctx, xpMalloc(device, bytes, &send), what + ": xpMalloc") &&
            xpOk(ctx, xpMalloc(device, bytes, &recv), what + ": xpMalloc") &&
            xpOk(ctx, xpMemcpy(send, host.data(), bytes), what + ": xpMemcpy in") &&
            xcclOk(ctx, xcclAllReduce(send, recv, count, T::kType, op, comm, stream), what) &&
            xpOk(ctx,
                 stream != nullptr ? xpStreamSynchronizeTimeout(stream, kSyncTimeoutMs)
                                   : xpDeviceSynchronize(device),
                 what + ": synchronize") &&
            xpOk(ctx, xpMemcpy(host.data(), recv, bytes), what + ": xpMemcpy out");
  if (ok) {
    for (size_t i = 0; i < count; ++i) {
      const Expected<T> want = reduceAt<T>(op, nranks, i, seed);
      if (!matches<T>(want, host[i])) {
        fail(ctx, what + ": first wrong index " + std::to_string(i) + ": expected " +
                      format<T>(want) + ", got " + format<T>(host[i]));
        ok = false;
        break;
      }
    }
  }
  if (send != nullptr) xpFree(send);
  if (recv != nullptr) xpFree(recv);
  return ok;
}

}  // namespace

bool checkedAllReduce(const Context &ctx, xcclComm_t comm, xpStream stream, xcclDataType_t type,
                      xcclRedOp_t op, size_t count, uint64_t seed, const std::string &label) {
  return withType(type, [&](auto tag) {
    return run<decltype(tag)>(ctx, comm, stream, op, count, seed, label);
  });
}

}  // namespace xccltest
