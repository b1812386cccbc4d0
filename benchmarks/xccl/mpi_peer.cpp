// xccl-mpi-peer: the same collectives, sizes and table as xccl-perf, through
// MPI (run it under mpirun), so that xccl is compared with what an MPI
// program gets on the same machine (compare-mpi.sh runs both).
//
// float32 and sum only: MPI has no bfloat16, and the comparison needs one
// type. Buffers are host memory, allocated and touched once.
// Exit codes: 0 measured, 1 some result was wrong, 2 a call failed.
#include <mpi.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "host_buffer.h"
#include "memcpy_ceiling.h"
#include "options.h"
#include "report.h"
#include "sweep.h"
#include "timing.h"
#include "verify.h"

// Open MPI keeps allocations past MPI_Finalize; under -fsanitize=address
// LeakSanitizer would fail every run for them (this program's own memory is
// all owned by RAII objects).
extern "C" __attribute__((visibility("default"))) const char *__lsan_default_options() {
  return "detect_leaks=0";
}

namespace {

using namespace xccl_bench;

constexpr size_t kLineBytes = 256;

void mpiCheck(int code, const char *call) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  throw std::runtime_error(std::string(call) + ": " +
                           std::string(text, static_cast<size_t>(length)));
}

class MpiRank {
 public:
  explicit MpiRank(const Options &options) : options_(options) {
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks_);
  }
  int rank() const { return rank_; }
  int nranks() const { return nranks_; }

  void allocate(size_t bytes) {
    send_ = touchedBuffer(bytes);
    recv_ = touchedBuffer(bytes);
  }

  std::vector<std::string> rankLines() {
    std::vector<char> mine(kLineBytes, 0), all(kLineBytes * static_cast<size_t>(nranks_), 0);
    std::strncpy(mine.data(), rankLine(rank_, "-", "host memory").c_str(), kLineBytes - 1);
    mpiCheck(MPI_Allgather(mine.data(), kLineBytes, MPI_CHAR, all.data(), kLineBytes, MPI_CHAR,
                           MPI_COMM_WORLD),
             "MPI_Allgather");
    std::vector<std::string> lines;
    for (int r = 0; r < nranks_; ++r)
      lines.emplace_back(all.data() + kLineBytes * static_cast<size_t>(r));
    return lines;
  }

  Measurement measure(Coll coll, const Shape &shape, bool in_place) {
    // MPI_Bcast has one buffer: it is the in-place form; there is no
    // out-of-place one to time.
    if (coll == Coll::kBroadcast && !in_place) return Measurement{};
    const auto launch = [&] { issue(coll, shape, in_place); };
    long wrong = -1;
    if (options_.check) wrong = static_cast<long>(check(coll, shape, in_place));
    const double us = timeCalls(
        options_.warmup, options_.iters, launch, [] {},
        [] { mpiCheck(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier"); });
    double sums[2] = {us, wrong < 0 ? 0.0 : static_cast<double>(wrong)};
    mpiCheck(MPI_Allreduce(MPI_IN_PLACE, sums, 2, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD),
             "MPI_Allreduce (per-rank times)");
    return measurement(sums[0] / nranks_, shape.bytes(sizeof(float)), busBwFactor(coll, nranks_),
                       wrong < 0 ? -1 : static_cast<long>(sums[1]));
  }

 private:
  // Where the in-place variant's input lives (MPI_IN_PLACE reads it from
  // the receive buffer at the same places nccl-tests puts it).
  char *inputOf(const Shape &shape, bool in_place) {
    if (!in_place) return send_.get();
    return recv_.get() + shape.in_place_send_offset * static_cast<size_t>(rank_) * sizeof(float);
  }

  void issue(Coll coll, const Shape &shape, bool in_place) {
    const int count = static_cast<int>(shape.count);
    void *send = in_place ? MPI_IN_PLACE : send_.get();
    char *recv = recv_.get();
    switch (coll) {
      case Coll::kAllReduce:
        mpiCheck(MPI_Allreduce(send, recv, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD),
                 "MPI_Allreduce");
        return;
      case Coll::kAllGather:
        if (in_place) {
          mpiCheck(MPI_Allgather(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, recv, count, MPI_FLOAT,
                                 MPI_COMM_WORLD),
                   "MPI_Allgather");
        } else {
          mpiCheck(MPI_Allgather(send, count, MPI_FLOAT, recv, count, MPI_FLOAT, MPI_COMM_WORLD),
                   "MPI_Allgather");
        }
        return;
      case Coll::kReduceScatter:
        mpiCheck(MPI_Reduce_scatter_block(send, recv, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD),
                 "MPI_Reduce_scatter_block");
        return;
      case Coll::kBroadcast:
        mpiCheck(MPI_Bcast(recv, count, MPI_FLOAT, options_.root, MPI_COMM_WORLD), "MPI_Bcast");
        return;
      case Coll::kReduce: {
        // In place, only the root passes MPI_IN_PLACE; the others' input is
        // the same buffer, and their receive argument means nothing.
        const bool root = rank_ == options_.root;
        const void *input = !in_place ? send : root ? MPI_IN_PLACE : recv;
        void *output = root || !in_place ? recv : nullptr;
        mpiCheck(
            MPI_Reduce(input, output, count, MPI_FLOAT, MPI_SUM, options_.root, MPI_COMM_WORLD),
            "MPI_Reduce");
        return;
      }
      case Coll::kAllToAll:
        mpiCheck(MPI_Alltoall(send, count, MPI_FLOAT, recv, count, MPI_FLOAT, MPI_COMM_WORLD),
                 "MPI_Alltoall");
        return;
      case Coll::kSendRecv:
        throw std::logic_error("xccl-mpi-peer does not offer sendrecv");
    }
  }

  size_t check(Coll coll, const Shape &shape, bool in_place) {
    const CheckSpec spec{coll, DataType::kFloat32, RedOp::kSum, options_.root, rank_, nranks_,
                         shape};
    std::memset(recv_.get(), kPoison, shape.bytes(sizeof(float)));
    fillInput(spec, inputOf(shape, in_place));
    issue(coll, shape, in_place);
    // MPI_Reduce_scatter_block in place leaves the rank's block at the
    // start of the buffer, unlike NCCL (at rank * count); every other
    // output starts at the buffer.
    return countWrong(spec, recv_.get());
  }

  const Options &options_;
  int rank_ = 0, nranks_ = 1;
  HostBuffer send_, recv_;
};

std::string libraryVersion() {
  char text[MPI_MAX_LIBRARY_VERSION_STRING] = {};
  int length = 0;
  MPI_Get_library_version(text, &length);
  std::string version(text, static_cast<size_t>(length));
  const size_t end = version.find_first_of(",\n");  // "Open MPI v4.1.4, package: ..."
  return "MPI: " + version.substr(0, end);
}

int run(const Options &options) {
  MpiRank rank(options);
  if (options.root >= rank.nranks()) {
    throw std::runtime_error("--root " + std::to_string(options.root) + " is not a rank of " +
                             std::to_string(rank.nranks()));
  }
  Report report("xccl-mpi-peer", libraryVersion(), rank.rank() == 0);
  const std::vector<std::string> lines = rank.rankLines();
  MemcpyCeiling ceiling;  // rank 0 alone, the others waiting in the barrier
  if (rank.rank() == 0) ceiling = measureMemcpy(rowBytes(options, rank.nranks()));
  mpiCheck(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier");
  report.preamble(options, rank.nranks(), 1, lines,
                  {memcpyNote(), "MPI: broadcast has only an in-place form (MPI_Bcast)."});
  rank.allocate(options.max_bytes);
  const long wrong = sweepAll(options, rank.nranks(), report, ceiling,
                              [&](Coll coll, const Shape &shape, bool in_place) {
                                return rank.measure(coll, shape, in_place);
                              });
  return wrong > 0 ? 1 : 0;
}

}  // namespace

int main(int argc, char **argv) {
  setvbuf(stdout, nullptr, _IOLBF, 0);
  CLI::App app{"xccl-mpi-peer: MPI collectives in xccl-perf's format (run under mpirun)"};
  Options options;
  addCommonOptions(app, options,
                   Choices{{Coll::kAllReduce, Coll::kAllGather, Coll::kReduceScatter,
                            Coll::kBroadcast, Coll::kReduce, Coll::kAllToAll},
                           {DataType::kFloat32},
                           {RedOp::kSum},
                           false});
  try {
    app.parse(argc, argv);
    finishOptions(options, argc, argv);
  } catch (const CLI::ParseError &error) {
    return app.exit(error) == 0 ? 0 : 2;  // --help is not an error
  }
  // Counts are ints in MPI; the largest size must fit.
  if (options.max_bytes / sizeof(float) > static_cast<size_t>(INT32_MAX)) {
    std::fprintf(stderr, "xccl-mpi-peer: --max-bytes is too large for MPI's int counts\n");
    return 2;
  }
  MPI_Init(&argc, &argv);
  // Errors come back as codes, with MPI's message, instead of aborting.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  int code = 0;
  try {
    code = run(options);
  } catch (const std::exception &error) {
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    std::fprintf(stderr, "xccl-mpi-peer: rank %d: %s\n", rank, error.what());
    MPI_Abort(MPI_COMM_WORLD, 2);  // the other ranks would wait forever
  }
  MPI_Finalize();
  return code;
}
