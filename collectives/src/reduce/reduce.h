// Element-wise reductions on host memory for xccl: one call combines two
// buffers of `count` elements of one xcclDataType_t. The work runs on the
// widest SIMD the CPU has (AVX-512, AVX2, or plain C++), chosen once at first
// use; XCCL_SIMD=scalar|avx2|avx512 asks for a narrower path. Every path gives
// bit-identical results (NaN payloads and signs aside), so ranks on different
// CPUs agree.
//
// Semantics, per element:
//  - Integers: sum and prod wrap around modulo 2^bits; min and max compare
//    signed or unsigned as the type says.
//  - float16 and bfloat16: both operands widened to float, combined, rounded
//    once back to 16 bits, to nearest, ties to even. (For sum and prod this is
//    the correctly rounded result: float has more than twice their precision.)
//  - Floating max and min are commutative: if either operand is NaN the result
//    is a quiet NaN; max(+0, -0) is +0 and min(+0, -0) is -0.
//  - Results assume the default floating-point environment (no FTZ/DAZ).
#pragma once

#include <cstddef>

#include <xpool/xccl.h>

namespace xpool::xccl {

// Bytes per element; 0 for a value that is not an xcclDataType_t.
size_t typeSize(xcclDataType_t type);
// "int8", "uint8", "int32", "uint32", "int64", "uint64", "float16",
// "float32", "float64", "bfloat16"; "invalid" otherwise.
const char *typeName(xcclDataType_t type);
// "sum", "prod", "max", "min", "avg"; "invalid" otherwise.
const char *opName(xcclRedOp_t op);

// dst[i] = a[i] op b[i] for i < count. dst may be a or b (in place) but must
// not otherwise overlap them. Pointers need no alignment at all. Avg
// reduces as Sum: the caller divides once at the end (see divide). An invalid
// type or op leaves dst untouched (callers validate their arguments).
void reduce(void *dst, const void *a, const void *b, size_t count, xcclDataType_t type,
            xcclRedOp_t op);

// dst[i] = dst[i] / divisor, the last step of Avg. Integers truncate toward
// zero; float16 and bfloat16 divide in float and round to nearest even.
// divisor must be at least 1 (a rank count); anything else leaves dst as is.
void divide(void *dst, size_t count, xcclDataType_t type, int divisor);

// The path reduce() runs on: "avx512", "avx2" or "scalar".
const char *reduceIsa();

// For tests and benchmarks: run reduce() on the path named `isa` ("scalar",
// "avx2", "avx512") from now on, or with nullptr, on the default choice again
// (XCCL_SIMD, else the best). Returns false, changing nothing, when this build
// or CPU cannot run that path. The choice is process-wide.
bool reduceForceIsa(const char *isa);

}  // namespace xpool::xccl
