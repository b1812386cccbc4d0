// reduce(): picks the reduction loop for the type and op from the table of
// the instruction set chosen once per process, and the choosing itself.
#include "reduce.h"

#include <strings.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>

#include "kernels.h"

namespace xpool::xccl {
namespace {

using detail::KernelTable;

// Widest first.
constexpr const KernelTable *kTables[] = {
#if defined(XCCL_REDUCE_X86)
    &detail::kAvx512Kernels,
    &detail::kAvx2Kernels,
#endif
    &detail::kScalarKernels,
};

bool cpuRuns(const KernelTable *table) {
#if defined(XCCL_REDUCE_X86)
  __builtin_cpu_init();  // may run before libgcc's own constructor does
  if (table == &detail::kAvx512Kernels) {
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("f16c");
  }
  if (table == &detail::kAvx2Kernels) {
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
           __builtin_cpu_supports("f16c");
  }
#endif
  return table == &detail::kScalarKernels;
}

const KernelTable *tableNamed(const char *isa) {
  for (const KernelTable *table : kTables) {
    if (strcasecmp(isa, table->isa) == 0) return table;
  }
  return nullptr;
}

const KernelTable *best() {
  for (const KernelTable *table : kTables) {
    if (cpuRuns(table)) return table;
  }
  return &detail::kScalarKernels;
}

// The widest path the CPU runs, unless XCCL_SIMD names a narrower one. A
// name this CPU cannot run (or no path at all) is reported once on stderr
// and the best path used instead: a reduction must never stop on it.
const KernelTable *defaultChoice() {
  const KernelTable *widest = best();
  const char *wanted = std::getenv("XCCL_SIMD");
  if (wanted == nullptr || *wanted == '\0') return widest;
  const KernelTable *named = tableNamed(wanted);
  if (named == nullptr) {
    std::fprintf(stderr, "xccl: XCCL_SIMD=%s is none of avx512, avx2, scalar; reducing with %s\n",
                 wanted, widest->isa);
    return widest;
  }
  if (!cpuRuns(named)) {
    std::fprintf(stderr,
                 "xccl: XCCL_SIMD=%s, but this CPU or build cannot run it; reducing with %s\n",
                 wanted, widest->isa);
    return widest;
  }
  return named;
}

std::atomic<const KernelTable *> forced{nullptr};

const KernelTable &chosen() {
  if (const KernelTable *table = forced.load(std::memory_order_acquire)) return *table;
  static const KernelTable *const kDefault = defaultChoice();
  return *kDefault;
}

}  // namespace

void reduce(void *dst, const void *a, const void *b, size_t count, xcclDataType_t type,
            xcclRedOp_t op) {
  if (count == 0 || typeSize(type) == 0) return;
  detail::KernelOp kernelOp;
  switch (op) {
    case xcclSum:
    case xcclAvg:  // the caller divides once at the end
      kernelOp = detail::kKernelSum;
      break;
    case xcclProd:
      kernelOp = detail::kKernelProd;
      break;
    case xcclMax:
      kernelOp = detail::kKernelMax;
      break;
    case xcclMin:
      kernelOp = detail::kKernelMin;
      break;
    default:
      return;
  }
  chosen().loops[type][kernelOp](dst, a, b, count);
}

const char *reduceIsa() {
  return chosen().isa;
}

bool reduceForceIsa(const char *isa) {
  if (isa == nullptr) {
    forced.store(nullptr, std::memory_order_release);
    return true;
  }
  const KernelTable *table = tableNamed(isa);
  if (table == nullptr || !cpuRuns(table)) return false;
  forced.store(table, std::memory_order_release);
  return true;
}

}  // namespace xpool::xccl
