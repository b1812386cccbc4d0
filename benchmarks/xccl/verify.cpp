#include "verify.h"

#include <cmath>
#include <limits>

namespace xccl_bench {
namespace {

// The value rank `rank` contributes at global element `index`.
int64_t inputValue(const CheckSpec &spec, int rank, size_t index) {
  const uint64_t mix = static_cast<uint64_t>(rank) * 5 + index * 3 + 1;
  if (spec.op == RedOp::kProd) {
    // Powers of two keep every partial product exact (or infinite alike).
    constexpr int64_t kSigned[] = {1, 2, -1};
    constexpr int64_t kUnsigned[] = {1, 2, 1};
    return (isSigned(spec.type) ? kSigned : kUnsigned)[mix % 3];
  }
  const int64_t value = static_cast<int64_t>(mix % 9);  // 0..8
  return isSigned(spec.type) ? value - 4 : value;
}

struct Expected {
  bool checked = true;  // false: the element may hold anything
  int64_t integer = 0;  // integer types: the exact result, wrapped by the store
  double real = 0;      // float types
};

// The reduction over all ranks of element `index`, as the library defines it.
Expected reduced(const CheckSpec &spec, size_t index) {
  int64_t sum = 0, max = std::numeric_limits<int64_t>::min();
  int64_t min = std::numeric_limits<int64_t>::max();
  uint64_t prod = 1;  // unsigned: wraps like the library's narrow integers
  double real_prod = 1;
  for (int r = 0; r < spec.nranks; ++r) {
    const int64_t value = inputValue(spec, r, index);
    sum += value;
    prod *= static_cast<uint64_t>(value);
    real_prod *= static_cast<double>(value);
    if (value > max) max = value;
    if (value < min) min = value;
  }
  Expected out;
  switch (spec.op) {
    case RedOp::kSum:
      out.integer = sum;
      out.real = static_cast<double>(sum);
      break;
    case RedOp::kProd:
      out.integer = static_cast<int64_t>(prod);
      out.real = real_prod;
      break;
    case RedOp::kMax:
      out.integer = max;
      out.real = static_cast<double>(max);
      break;
    case RedOp::kMin:
      out.integer = min;
      out.real = static_cast<double>(min);
      break;
    case RedOp::kAvg:
      out.integer = sum / spec.nranks;  // truncates toward zero, as xccl documents
      out.real = static_cast<double>(sum) / spec.nranks;
      break;
  }
  return out;
}

Expected single(const CheckSpec &spec, int rank, size_t index) {
  Expected out;
  out.integer = inputValue(spec, rank, index);
  out.real = static_cast<double>(out.integer);
  return out;
}

// What element `i` of this rank's output region must hold.
Expected expectedAt(const CheckSpec &spec, size_t i) {
  const Shape &shape = spec.shape;
  switch (spec.coll) {
    case Coll::kAllReduce:
      return reduced(spec, i);
    case Coll::kReduce:
      if (spec.rank != spec.root) return Expected{.checked = false};
      return reduced(spec, i);
    case Coll::kReduceScatter:
      return reduced(spec, spec.rank * shape.count + i);
    case Coll::kBroadcast:
      return single(spec, spec.root, i);
    case Coll::kAllGather:
      return single(spec, static_cast<int>(i / shape.count), i % shape.count);
    case Coll::kAllToAll:  // block q came from rank q, which sent its block `rank`
      return single(spec, static_cast<int>(i / shape.count),
                    spec.rank * shape.count + i % shape.count);
    case Coll::kSendRecv:
      return single(spec, (spec.rank + spec.nranks - 1) % spec.nranks, i);
  }
  return Expected{.checked = false};
}

// A float type's result may be off by the rounding of avg's division; the
// other results are exact. Twice the type's epsilon, relative.
double tolerance(const CheckSpec &spec) {
  if (spec.op != RedOp::kAvg) return 0;
  switch (spec.type) {
    case DataType::kFloat16:
      return 0x1p-9;
    case DataType::kBfloat16:
      return 0x1p-6;
    case DataType::kFloat32:
      return 0x1p-22;
    default:
      return 0x1p-51;
  }
}

bool floatMatches(double got, double want, double tol) {
  if (std::isnan(got) || std::isnan(want)) return false;
  if (got == want) return true;  // includes equal infinities
  return std::fabs(got - want) <= tol * std::fmax(1.0, std::fabs(want));
}

}  // namespace

void fillInput(const CheckSpec &spec, void *send) {
  for (size_t i = 0; i < spec.shape.send_elems; ++i) {
    storeInt(spec.type, send, i, inputValue(spec, spec.rank, i));
  }
}

size_t countWrong(const CheckSpec &spec, const void *recv) {
  const size_t elems = spec.shape.recv_elems;  // reducescatter: its block, count elements
  const double tol = tolerance(spec);
  // The expected element is stored in the type first, so that integers wrap
  // and floats round exactly as the library's output does.
  alignas(8) unsigned char want_bits[8];
  size_t wrong = 0;
  for (size_t i = 0; i < elems; ++i) {
    const Expected want = expectedAt(spec, i);
    if (!want.checked) continue;
    if (isFloat(spec.type)) {
      storeFloat(spec.type, want_bits, 0, want.real);
      const double rounded = tol > 0 ? want.real : loadFloat(spec.type, want_bits, 0);
      if (!floatMatches(loadFloat(spec.type, recv, i), rounded, tol)) ++wrong;
    } else {
      storeInt(spec.type, want_bits, 0, want.integer);
      if (loadInt(spec.type, recv, i) != loadInt(spec.type, want_bits, 0)) ++wrong;
    }
  }
  return wrong;
}

}  // namespace xccl_bench
