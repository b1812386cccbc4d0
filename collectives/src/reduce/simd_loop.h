// The reduction loop shared by the SIMD paths, written once over a "kind":
// a struct that says how one data type is loaded into a register (Reg,
// kLanes elements of kBytes each), combined and stored. A kind may also
// offer loadPart/storePart for the first n < kLanes elements (AVX-512 masks);
// without them the tail goes through a zero-filled scratch copy.
//
// Included only by the reduce_<isa>.cpp files, each compiled for its ISA.
// Their kinds live in anonymous namespaces, which gives every instantiation
// here internal linkage: the linker can never swap one ISA's copy for
// another's. For the same reason these files call no inline or template
// function from outside (standard library included); memcpy is a plain call.
#pragma once

#include <cstddef>
#include <cstring>

#include "kernels.h"

namespace xpool::xccl::detail {

template <class K, KernelOp kOp>
typename K::Reg combine(typename K::Reg a, typename K::Reg b) {
  if constexpr (kOp == kKernelSum) return K::sum(a, b);
  if constexpr (kOp == kKernelProd) return K::prod(a, b);
  if constexpr (kOp == kKernelMax) return K::max(a, b);
  if constexpr (kOp == kKernelMin) return K::min(a, b);
}

// dst may equal a or b: each block is loaded before it is stored, and no
// block is read after another one is written over it.
template <class K, KernelOp kOp>
void reduceLoop(void *dst, const void *a, const void *b, size_t count) {
  constexpr size_t kStep = K::kLanes * K::kBytes;
  auto *out = static_cast<unsigned char *>(dst);
  const auto *x = static_cast<const unsigned char *>(a);
  const auto *y = static_cast<const unsigned char *>(b);
  size_t left = count;
  // Four registers a trip keep enough loads in flight to stay memory-bound.
  for (; left >= 4 * K::kLanes; left -= 4 * K::kLanes) {
#pragma GCC unroll 4
    for (size_t j = 0; j < 4; ++j) {
      K::store(out, combine<K, kOp>(K::load(x), K::load(y)));
      out += kStep;
      x += kStep;
      y += kStep;
    }
  }
  for (; left >= K::kLanes; left -= K::kLanes) {
    K::store(out, combine<K, kOp>(K::load(x), K::load(y)));
    out += kStep;
    x += kStep;
    y += kStep;
  }
  if (left == 0) return;
  if constexpr (requires { K::loadPart(x, left); }) {
    K::storePart(out, combine<K, kOp>(K::loadPart(x, left), K::loadPart(y, left)), left);
  } else {
    alignas(64) unsigned char scratchX[kStep] = {};
    alignas(64) unsigned char scratchY[kStep] = {};
    std::memcpy(scratchX, x, left * K::kBytes);
    std::memcpy(scratchY, y, left * K::kBytes);
    K::store(scratchX, combine<K, kOp>(K::load(scratchX), K::load(scratchY)));
    std::memcpy(out, scratchX, left * K::kBytes);
  }
}

template <class K>
constexpr void addLoops(KernelTable &table, xcclDataType_t type) {
  table.loops[type][kKernelSum] = &reduceLoop<K, kKernelSum>;
  table.loops[type][kKernelProd] = &reduceLoop<K, kKernelProd>;
  table.loops[type][kKernelMax] = &reduceLoop<K, kKernelMax>;
  table.loops[type][kKernelMin] = &reduceLoop<K, kKernelMin>;
}

}  // namespace xpool::xccl::detail
