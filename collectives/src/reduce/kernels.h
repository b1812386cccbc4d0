// The table of reduction loops one instruction set provides, indexed by data
// type and operation. Each ISA's file defines one table as constant data, so
// nothing compiled for that ISA runs before the dispatcher has checked the CPU.
#pragma once

#include <cstddef>

#include <xpool/xccl.h>

namespace xpool::xccl::detail {

// dst[i] = a[i] op b[i] for i < count; dst may equal a or b.
using ReduceLoop = void (*)(void *dst, const void *a, const void *b, size_t count);

// Avg has no loop of its own: it reduces as Sum.
enum KernelOp { kKernelSum, kKernelProd, kKernelMax, kKernelMin, kNumKernelOps };

struct KernelTable {
  const char *isa;
  ReduceLoop loops[xcclNumTypes][kNumKernelOps];
};

extern const KernelTable kScalarKernels;
#if defined(XCCL_REDUCE_X86)
extern const KernelTable kAvx2Kernels;    // needs AVX2, FMA, F16C
extern const KernelTable kAvx512Kernels;  // needs AVX-512 F, BW, VL, DQ, and F16C
#endif

}  // namespace xpool::xccl::detail
