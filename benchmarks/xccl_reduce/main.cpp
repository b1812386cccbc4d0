// xccl-reduce-bench: GB/s of xpool::xccl::reduce() (sum, in place, as the
// collectives use it) on every instruction set this CPU runs, each next to
// a baseline measured in alternation with it: Open MPI's MPI_Reduce_local
// for float32, float64 and int32, xccl's own scalar path for float16 and
// bfloat16, which MPI 4.1 has no datatype for. Bytes count both reads and
// the write: 3 x buffer size per call.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "measure.h"
#include "mpi_baseline.h"
#include "reduce.h"

namespace {

using namespace xccl_reduce_bench;
using xpool::xccl::reduce;
using xpool::xccl::reduceForceIsa;
using xpool::xccl::typeName;
using xpool::xccl::typeSize;

// A page-aligned buffer, written once so that no page fault is timed.
class Buffer {
 public:
  explicit Buffer(size_t bytes)
      : data_(static_cast<unsigned char *>(std::aligned_alloc(4096, roundUp(bytes)))) {
    if (data_ == nullptr) throw std::bad_alloc();
    std::memset(data_, 0, roundUp(bytes));
  }
  ~Buffer() { std::free(data_); }
  Buffer(const Buffer &) = delete;
  Buffer &operator=(const Buffer &) = delete;
  unsigned char *data() { return data_; }

 private:
  static size_t roundUp(size_t bytes) { return (bytes + 4095) / 4096 * 4096; }
  unsigned char *data_;
};

// Small values of each type, so that repeated sums stay ordinary numbers
// (no subnormals, whose arithmetic can be slow).
void fillOnes(void *data, size_t count, xcclDataType_t type) {
  auto *bytes = static_cast<unsigned char *>(data);
  for (size_t i = 0; i < count; ++i) {
    const float f = 1.0f;
    const double d = 1.0;
    const int32_t n = 1;
    const uint16_t half = 0x3C00, bfloat = 0x3F80;
    const void *one = type == xcclFloat32   ? static_cast<const void *>(&f)
                      : type == xcclFloat64 ? static_cast<const void *>(&d)
                      : type == xcclInt32   ? static_cast<const void *>(&n)
                      : type == xcclFloat16 ? static_cast<const void *>(&half)
                                            : static_cast<const void *>(&bfloat);
    std::memcpy(bytes + i * typeSize(type), one, typeSize(type));
  }
}

std::string sizeLabel(size_t bytes) {
  if (bytes >= (1u << 20) && bytes % (1u << 20) == 0) return std::to_string(bytes >> 20) + " MiB";
  if (bytes >= (1u << 10) && bytes % (1u << 10) == 0) return std::to_string(bytes >> 10) + " KiB";
  return std::to_string(bytes) + " B";
}

std::string cpuModel() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  }
  return "unknown CPU";
}

}  // namespace

int main(int argc, char **argv) {
  CLI::App app{"Bandwidth of xccl's host reductions against Open MPI's MPI_Reduce_local"};
  std::vector<size_t> sizes{64u << 10, 1u << 20, 64u << 20};
  Sampling sampling;
  bool quick = false;
  app.add_option("--sizes", sizes, "buffer sizes in bytes (each of the two operands)");
  app.add_option("--samples", sampling.samples, "batches per measurement; the median is kept");
  app.add_option("--batch-seconds", sampling.batchSeconds, "least duration of one batch");
  app.add_flag("--quick", quick, "a fast smoke run: small sizes, few samples");
  CLI11_PARSE(app, argc, argv);
  if (quick) {
    sizes = {4096, 64u << 10};
    sampling = {3, 0.0005};
  }

  startMpi(&argc, &argv);
  const std::vector<xcclDataType_t> types = {xcclFloat32, xcclFloat64, xcclInt32, xcclBfloat16,
                                             xcclFloat16};
  std::vector<const char *> isas;
  for (const char *isa : {"avx512", "avx2", "scalar"}) {
    if (reduceForceIsa(isa)) isas.push_back(isa);
  }
  reduceForceIsa(nullptr);

  std::printf("xccl-reduce-bench: %s; default path %s; baseline %s\n", cpuModel().c_str(),
              xpool::xccl::reduceIsa(), mpiLibraryVersion().c_str());
  std::printf("sum in place (dst = in + dst); GB/s = 3 x size / time, median of %d batches\n\n",
              sampling.samples);
  std::printf("%-9s %-7s %-7s %10s   %-18s %10s %8s\n", "type", "size", "path", "xccl GB/s",
              "baseline", "GB/s", "ratio");

  size_t largest = 0;
  for (size_t bytes : sizes) largest = std::max(largest, bytes);
  Buffer in(largest), inout(largest);
  for (xcclDataType_t type : types) {
    const bool mpi = mpiHasType(type);
    for (size_t bytes : sizes) {
      const size_t count = bytes / typeSize(type);
      fillOnes(in.data(), count, type);
      fillOnes(inout.data(), count, type);
      for (const char *isa : isas) {
        const Contender xccl{
            [&] { reduceForceIsa(isa); },
            [&] { reduce(inout.data(), in.data(), inout.data(), count, type, xcclSum); }};
        const Contender baseline =
            mpi ? Contender{[] {}, [&] { mpiSum(in.data(), inout.data(), count, type); }}
                : Contender{[] { reduceForceIsa("scalar"); }, xccl.run};
        const PairTiming t = timeAlternating(xccl, baseline, sampling);
        const double moved = 3.0 * static_cast<double>(count * typeSize(type));
        std::printf("%-9s %-7s %-7s %10.1f   %-18s %10.1f %8.2f\n", typeName(type),
                    sizeLabel(bytes).c_str(), isa, moved / t.first / 1e9,
                    mpi ? "MPI_Reduce_local" : "xccl scalar", moved / t.second / 1e9,
                    t.second / t.first);
      }
    }
  }
  reduceForceIsa(nullptr);
  stopMpi();
  return 0;
}
